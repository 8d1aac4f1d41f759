"""The demonstration (``python -m mock_lambda_async demo``) tells its stories as timelines."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from mock_lambda_async.demo import sqs_partial_batch_section


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
    sqs_partial_batch_section()
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
