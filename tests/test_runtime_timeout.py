"""A handler running past its ``Timeout``: one real 1-second timeout, observed from every side.

The mock runs with ``patch_time=False``, so the handler's sleeps are real and the timeout is the
real-time backstop (a handler that burns CPU meets the same one); sleeps in virtual time are
``test_wallclock_sleep``'s.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from conftest import REGION, create_function

from mock_lambda_async import mock_lambda_async

SLOW = """
import time
COLD = [True]

def handler(event, context):
    cold, COLD[0] = COLD[0], False
    if event.get("spin"):
        print("before the timeout")
        try:
            while True:
                time.sleep(0.01)
        except BaseException:  # swallows the stop, so the thread lives on, abandoned
            time.sleep(0.1)
            print("after the timeout")
    return cold
"""


@dataclass
class TimedOut:
    response: dict[str, Any]
    payload: bytes
    elapsed_s: float
    next_payload: bytes
    tail: str
    logged: list[str]


@pytest.fixture(scope="module")
def timed_out(one_boto3_session: None) -> TimedOut:
    with mock_lambda_async(patch_time=False):
        create_function("slow", SLOW, Timeout=1)
        client = boto3.client("lambda", REGION)
        client.invoke(FunctionName="slow", Payload=b"{}")  # warm the environment up
        started = time.monotonic()
        response = client.invoke(FunctionName="slow", Payload=b'{"spin": true}', LogType="Tail")
        elapsed = time.monotonic() - started
        payload = response["Payload"].read()
        next_payload = client.invoke(FunctionName="slow", Payload=b"{}")["Payload"].read()
        time.sleep(0.3)  # the abandoned handler prints "after the timeout" meanwhile
        events = boto3.client("logs", REGION).filter_log_events(logGroupName="/aws/lambda/slow")
    return TimedOut(
        response,
        payload,
        elapsed,
        next_payload,
        base64.b64decode(response["LogResult"]).decode(),
        [e["message"] for e in events["events"]],
    )


def test_payload_is_sandbox_timedout_with_the_configured_timeout(timed_out: TimedOut) -> None:
    request_id = timed_out.response["ResponseMetadata"]["RequestId"]
    assert timed_out.payload == (
        b'{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: '
        + request_id.encode()
        + b' Error: Task timed out after 1.00 seconds"}'
    )


def test_timeout_is_an_unhandled_function_error_with_status_200(timed_out: TimedOut) -> None:
    assert (timed_out.response["StatusCode"], timed_out.response["FunctionError"]) == (
        200,
        "Unhandled",
    )


def test_invocation_ends_when_the_timeout_is_reached(timed_out: TimedOut) -> None:
    """The function's 1 s timeout applies (not the 3 s default); a loaded machine adds its delay."""
    assert 1.0 <= timed_out.elapsed_s < 3.0


def test_next_invocation_is_a_cold_start(timed_out: TimedOut) -> None:
    assert timed_out.next_payload == b"true"


def test_log_reports_the_timeout(timed_out: TimedOut) -> None:
    request_id = timed_out.response["ResponseMetadata"]["RequestId"]
    line = next(m for m in timed_out.tail.splitlines() if "Task timed out" in m)
    assert line.endswith(f"Z {request_id} Task timed out after 1.00 seconds")


def test_report_line_has_status_timeout(timed_out: TimedOut) -> None:
    report = timed_out.tail.splitlines()[-1]
    assert report.startswith("REPORT RequestId: ")
    assert "\tDuration: 1000.00 ms\t" in report and report.endswith("\tStatus: timeout")


def test_output_before_the_timeout_is_logged(timed_out: TimedOut) -> None:
    assert "before the timeout\n" in timed_out.logged


def test_output_of_the_abandoned_handler_is_discarded(timed_out: TimedOut) -> None:
    assert not any("after the timeout" in message for message in timed_out.logged)
