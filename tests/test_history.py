"""``lam.invocations()``: every attempt, in order, as a read-only record."""

import dataclasses
import json
import threading
from datetime import datetime, timezone

import boto3
import pytest

from mock_lambda_async import Attempt, mock_lambda_async


def _fails(event, context):
    raise ValueError(f"bad order {event['order']}")


def test_sync_invoke_is_recorded_with_event_and_response(lam, lambda_client):
    lam.add_function("echo", lambda event, context: {"got": event})
    lambda_client.invoke(FunctionName="echo", Payload=json.dumps({"a": 1}))
    [attempt] = lam.invocations()
    assert (attempt.function_name, attempt.trigger, attempt.attempt) == ("echo", "sync", 1)
    assert (attempt.event, attempt.response, attempt.ok) == ({"a": 1}, {"got": {"a": 1}}, True)


def test_failed_attempt_carries_the_error(lam, lambda_client):
    lam.add_function("orders", _fails)
    lambda_client.invoke(FunctionName="orders", Payload=json.dumps({"order": 7}))
    [attempt] = lam.invocations()
    assert attempt.ok is False
    assert (attempt.error_type, attempt.error_message) == ("ValueError", "bad order 7")
    assert attempt.error == "ValueError: bad order 7"
    assert attempt.response["errorType"] == "ValueError"


def test_request_id_is_the_one_the_handler_saw(lam, lambda_client):
    seen = []
    lam.add_function("who", lambda event, context: seen.append(context.aws_request_id))
    lambda_client.invoke(FunctionName="who")
    assert lam.invocations()[0].request_id == seen[0]


def test_async_attempt_keeps_the_queued_request_id(lam, lambda_client):
    lam.add_function("later", lambda event, context: None)
    lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
    [attempt] = lam.invocations()
    queued = lam.timeline().select("queued", function_name="later")
    assert attempt.trigger == "async"
    assert attempt.request_id == queued[0].request_id


def test_filtering_by_function_name_or_arn(lam, lambda_client):
    created = lam.add_function("a", lambda event, context: None)
    lam.add_function("b", lambda event, context: None)
    for name in ("a", "b", "a"):
        lambda_client.invoke(FunctionName=name)
    assert [x.function_name for x in lam.invocations("a")] == ["a", "a"]
    assert len(lam.invocations(created["FunctionArn"])) == 2


def test_attempts_are_listed_in_start_order_when_nested(lam, lambda_client):
    lam.add_function("inner", lambda event, context: "inner")

    def outer(event, context):
        return boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="inner")[
            "StatusCode"
        ]

    lam.add_function("outer", outer)
    lambda_client.invoke(FunctionName="outer")
    assert [x.function_name for x in lam.invocations()] == ["outer", "inner"]


def test_qualifier_and_arn_are_as_invoked(lam, lambda_client):
    lam.add_function("pub", lambda event, context: None, Publish=True)
    lambda_client.invoke(FunctionName="pub", Qualifier="1")
    [attempt] = lam.invocations()
    assert attempt.qualifier == "1"
    assert attempt.function_arn.endswith(":function:pub:1")


def test_unqualified_attempt_has_no_qualifier(lam, lambda_client):
    lam.add_function("plain", lambda event, context: None)
    lambda_client.invoke(FunctionName="plain")
    [attempt] = lam.invocations()
    assert attempt.qualifier is None
    assert attempt.function_arn.endswith(":function:plain")


def test_start_time_is_virtual():
    start = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    with mock_lambda_async(start=start) as lam:
        lam.add_function("t", lambda event, context: None)
        lam.advance(90)
        boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="t")
        [attempt] = lam.invocations()
    assert attempt.started_at == datetime(2024, 5, 1, 12, 1, 30, tzinfo=timezone.utc)
    assert attempt.finished_at == attempt.started_at


def test_duration_and_log_come_from_the_run(lam, lambda_client):
    lam.add_function("logs", lambda event, context: print("hello"))
    lambda_client.invoke(FunctionName="logs")
    [attempt] = lam.invocations()
    assert attempt.duration_ms is not None and attempt.duration_ms >= 0
    assert f"START RequestId: {attempt.request_id}" in attempt.log
    assert "hello" in attempt.log


def test_attempt_cannot_be_changed(lam, lambda_client):
    lam.add_function("frozen", lambda event, context: None)
    lambda_client.invoke(FunctionName="frozen", Payload=b'{"k": 1}')
    [attempt] = lam.invocations()
    with pytest.raises(dataclasses.FrozenInstanceError):
        attempt.trigger = "async"  # type: ignore[misc]
    attempt.event["k"] = 2
    assert lam.invocations()[0].event == {"k": 1}


def test_running_attempt_is_visible_from_inside_the_handler(lam, lambda_client):
    seen: list[Attempt] = []
    lam.add_function("self", lambda event, context: seen.extend(lam.invocations()))
    lambda_client.invoke(FunctionName="self")
    assert [(a.finished, a.ok, a.result) for a in seen] == [(False, None, None)]


def test_reading_without_auto_drain_runs_nothing():
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("idle", lambda event, context: None)
        client = boto3.client("lambda", region_name="us-east-1")
        client.invoke(FunctionName="idle", InvocationType="Event", Payload=b"{}")
        assert lam.invocations() == []
        assert lam.scheduler.pending() == 1


def test_reading_with_auto_drain_settles_pending_events(lam, lambda_client):
    lam.add_function("soon", lambda event, context: None)
    lambda_client.invoke(FunctionName="soon", InvocationType="Event", Payload=b"{}")
    assert [a.trigger for a in lam.invocations()] == ["async"]


def test_invokes_from_many_threads_are_all_recorded(lam, lambda_client):
    lam.add_function("many", lambda event, context: event["n"])

    def call(n: int) -> None:
        boto3.client("lambda", region_name="us-east-1").invoke(
            FunctionName="many", Payload=json.dumps({"n": n})
        )

    threads = [threading.Thread(target=call, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    attempts = lam.invocations("many")
    assert sorted(a.response for a in attempts) == list(range(12))
    assert len({a.request_id for a in attempts}) == 12


def test_history_stays_readable_after_the_mock_exits():
    from mock_lambda_async import mock_lambda_async

    with mock_lambda_async() as controller:
        controller.add_function("after-exit", lambda event, context: "done")
        boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="after-exit")
    assert [a.function_name for a in controller.invocations()] == ["after-exit"]
    assert "after-exit" in str(controller.timeline())
