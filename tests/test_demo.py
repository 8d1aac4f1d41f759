"""The demonstration's async section: one failing event, three attempts, OnFailure and DLQ."""

import contextlib
import io
from datetime import datetime, timezone

import pytest

from mock_lambda_async import demo, mock_lambda_async


@pytest.fixture(scope="module")
def printed() -> list[str]:
    """What the section prints, run once for the module, starting at a fixed virtual time."""
    out = io.StringIO()
    start = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    with contextlib.redirect_stdout(out), mock_lambda_async(start=start):
        demo.async_failure_section()
    return out.getvalue().splitlines()


def test_timeline_shows_three_attempts_60_and_120_seconds_apart(printed: list[str]) -> None:
    attempts = [line.split()[0] for line in printed if " async attempt " in line]
    assert attempts == ["12:00:00.000", "12:01:00.000", "12:03:00.000"]


def test_timeline_ends_in_the_on_failure_queue_and_the_dlq(printed: list[str]) -> None:
    last = [line.strip() for line in printed if line.strip().startswith("12:03:00.000")]
    assert "delivered to destination" in last[1] and "orders-failed (RetriesExhausted)" in last[1]
    assert "sent to DLQ" in last[2] and last[2].endswith("orders-dlq")


def test_records_read_back_carry_the_virtual_time(printed: list[str]) -> None:
    [on_failure] = [line for line in printed if line.startswith("OnFailure queue")]
    assert "approximateInvokeCount 3" in on_failure
    assert on_failure.endswith("timestamp 2024-03-01T12:03:00.000Z")
