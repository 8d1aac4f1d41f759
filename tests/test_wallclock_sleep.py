"""``time.sleep`` takes virtual time and no real time, in the test and in handlers."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from conftest import REGION, make_queue
from test_esm_streams import kinesis_stream, map_stream, put

from mock_lambda_async import mock_lambda_async

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _lambda() -> Any:
    return boto3.client("lambda", REGION)


def _fails(event: Any, context: Any) -> None:
    raise RuntimeError("boom")


def _sleeps(seconds: float) -> Any:
    def handler(event: Any, context: Any) -> dict[str, Any]:
        before = datetime.now(timezone.utc)
        remaining = context.get_remaining_time_in_millis()
        time.sleep(seconds)
        return {
            "before": before.isoformat(),
            "after": datetime.now(timezone.utc).isoformat(),
            "dropped_ms": remaining - context.get_remaining_time_in_millis(),
        }

    return handler


# -- on the test's thread -------------------------------------------------------------------------
def test_sleeping_in_the_test_advances_the_virtual_clock_at_once() -> None:
    with mock_lambda_async(start=START) as lam:
        started = time.monotonic()
        time.sleep(3600)
        assert lam.now() == START + timedelta(hours=1)
        assert time.monotonic() - started < 60


def test_sleeping_61_seconds_in_the_test_sees_the_first_async_retry() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("fails", _fails)
        _lambda().invoke(FunctionName="fails", InvocationType="Event")
        lam.advance(0)
        time.sleep(61)
        assert [a.attempt for a in lam.invocations("fails")] == [1, 2]


def test_another_thread_of_the_test_sleeps_for_real() -> None:
    with mock_lambda_async(start=START) as lam:
        thread = threading.Thread(target=time.sleep, args=(0.01,))
        thread.start()
        thread.join()
        assert lam.now() == START


def test_a_bad_sleep_argument_gets_the_real_error() -> None:
    with mock_lambda_async():
        try:
            time.sleep(-1)
        except ValueError as error:
            assert "non-negative" in str(error)
        else:
            raise AssertionError("time.sleep(-1) did not raise")


# -- in a handler -----------------------------------------------------------------------------------
def test_a_handler_sleep_moves_its_clock_and_its_remaining_time() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("sleeper", _sleeps(5), Timeout=30)
        response = _lambda().invoke(FunctionName="sleeper")
        seen = json.loads(response["Payload"].read())
        assert datetime.fromisoformat(seen["before"]) == START
        assert datetime.fromisoformat(seen["after"]) == START + timedelta(seconds=5)
        assert seen["dropped_ms"] >= 5000


def test_a_sync_invoke_of_a_sleeping_handler_takes_its_time_for_the_caller() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("sleeper", _sleeps(5), Timeout=30)
        _lambda().invoke(FunctionName="sleeper")
        assert lam.now() == START + timedelta(seconds=5)


def test_a_thread_the_handler_starts_sleeps_in_virtual_time() -> None:
    def handler(event: Any, context: Any) -> str:
        seen: list[str] = []

        def work() -> None:
            time.sleep(2)
            seen.append(datetime.now(timezone.utc).isoformat())

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return seen[0]

    with mock_lambda_async(start=START) as lam:
        lam.add_function("threads", handler, Timeout=30)
        payload = _lambda().invoke(FunctionName="threads")["Payload"].read()
        assert datetime.fromisoformat(json.loads(payload)) == START + timedelta(seconds=2)


def test_the_report_duration_includes_the_sleep() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("sleeper", _sleeps(5), Timeout=30)
        response = _lambda().invoke(FunctionName="sleeper", LogType="Tail")
        tail = base64.b64decode(response["LogResult"]).decode()
        report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
        duration = float(report.split("Duration: ")[1].split(" ms")[0])
        assert 5000 <= duration < 6000


def test_the_duration_metric_includes_the_sleep() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("sleeper", _sleeps(5), Timeout=30)
        _lambda().invoke(FunctionName="sleeper")
        stats = boto3.client("cloudwatch", REGION).get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Duration",
            Dimensions=[{"Name": "FunctionName", "Value": "sleeper"}],
            StartTime=START - timedelta(hours=1),
            EndTime=START + timedelta(hours=1),
            Period=60,
            Statistics=["Maximum"],
        )
        [point] = stats["Datapoints"]
        assert 5000 <= point["Maximum"] < 6000


def test_a_15_minute_timeout_is_reached_in_virtual_time() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("slow", lambda event, context: time.sleep(1000), Timeout=900)
        started = time.monotonic()
        response = _lambda().invoke(FunctionName="slow")
        elapsed = time.monotonic() - started
        body = json.loads(response["Payload"].read())
        assert body["errorType"] == "Sandbox.Timedout"
        assert body["errorMessage"].endswith("Task timed out after 900.00 seconds")
        assert lam.now() == START + timedelta(seconds=900)
        assert elapsed < 1


def test_an_async_attempt_of_a_sleeping_handler_holds_its_concurrency_slot() -> None:
    with mock_lambda_async(auto_drain=False, start=START) as lam:
        lam.add_function("sleeper", _sleeps(10), Timeout=30)
        _lambda().put_function_concurrency(FunctionName="sleeper", ReservedConcurrentExecutions=1)
        _lambda().invoke(FunctionName="sleeper", InvocationType="Event")
        _lambda().invoke(FunctionName="sleeper", InvocationType="Event")
        lam.drain()
        first, second = lam.invocations("sleeper")
        assert second.started_at - first.started_at >= timedelta(seconds=10)


def test_an_async_attempt_of_a_sleeping_handler_finishes_after_its_sleep() -> None:
    with mock_lambda_async(auto_drain=False, start=START) as lam:
        lam.add_function("sleeper", _sleeps(10), Timeout=30)
        _lambda().invoke(FunctionName="sleeper", InvocationType="Event")
        lam.advance(5)
        assert [a.finished for a in lam.invocations("sleeper")] == [False]
        lam.advance(5)
        assert [a.finished for a in lam.invocations("sleeper")] == [True]


def test_sqs_batches_of_a_sleeping_handler_hold_the_message_in_flight() -> None:
    with mock_lambda_async(auto_drain=False, start=START) as lam:
        lam.add_function("worker", _sleeps(20), Timeout=30)
        sqs = boto3.client("sqs", REGION)
        url, arn = make_queue(sqs, "jobs", VisibilityTimeout="60")
        _lambda().create_event_source_mapping(FunctionName="worker", EventSourceArn=arn)
        sqs.send_message(QueueUrl=url, MessageBody="x")
        lam.advance(10)
        assert [a.finished for a in lam.invocations("worker")] == [False]
        lam.advance(15)
        assert [a.ok for a in lam.invocations("worker")] == [True]


def test_kinesis_batches_are_spaced_by_a_sleeping_handler() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("reader", _sleeps(5), Timeout=30)
        assert _kinesis_batch_spacing(lam) == timedelta(seconds=5)


def test_patch_time_false_handlers_really_sleep() -> None:
    with mock_lambda_async(start=START, patch_time=False) as lam:
        lam.add_function("sleeper", _sleeps(0.05), Timeout=30)
        started = time.monotonic()
        _lambda().invoke(FunctionName="sleeper")
        assert time.monotonic() - started >= 0.05
        assert lam.now() == START


def test_set_duration_spaces_kinesis_batches_too() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("reader", lambda event, context: None)
        lam.set_duration("reader", 7)
        assert _kinesis_batch_spacing(lam) == timedelta(seconds=7)


def _kinesis_batch_spacing(lam: Any) -> timedelta:
    """Two records through a Kinesis mapping to ``reader``, one per batch: the start-time gap."""
    stream = kinesis_stream()
    map_stream("reader", stream, BatchSize=1)
    put(stream, "a", "b")
    lam.drain()
    first, second = lam.invocations("reader")
    return second.started_at - first.started_at
