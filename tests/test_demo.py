"""The demonstration (``python -m mock_lambda_async demo``) tells its stories as timelines: the
async section (one failing event, three attempts, OnFailure and DLQ) and the SQS partial batch."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import datetime, timezone
from typing import Any

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


def printed_timeline(out: str) -> list[tuple[datetime, str]]:
    """(time, what) of each timeline line the section printed, request ids and ARNs left out."""
    block = out.split("timeline (", 1)[1].split("batches the function received:", 1)[0]
    steps = []
    for line in block.splitlines()[2:]:
        clock, _function, what = line.strip().split(" ", 2)
        what = re.sub(r"\[[^\]]*\] ", "", what).split(" from ")[0].split(" arn:")[0]
        steps.append((datetime.strptime(clock, "%H:%M:%S.%f"), what))
    return steps


def test_the_sqs_partial_batch_story_is_told_as_a_timeline(
    lam: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.sqs_partial_batch_section()
    steps = printed_timeline(capsys.readouterr().out)
    start = steps[0][0]
    assert [((at - start).total_seconds(), what) for at, what in steps] == [
        (0, "polled 4 records"),
        (0, "sqs attempt 1 succeeded"),
        (0, "reported 1 failed item"),
        (30, "polled 1 record"),
        (30, "sqs attempt 2 succeeded"),
        (30, "reported 1 failed item"),
        (60, "polled 1 record"),
        (60, "sqs attempt 3 succeeded"),
        (60, "reported 1 failed item"),
        (90, "sent to DLQ"),
    ]
