"""Asynchronous ``Invoke``/``InvokeAsync``: the 202 answer, the queue, and when the handler runs."""

import json

import pytest
from botocore.exceptions import ClientError
from conftest import metric_sum


def test_event_invoke_answers_202_with_an_empty_payload(lam, lambda_client):
    lam.add_function("later", lambda event, context: {"ignored": True})
    response = lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert "ExecutedVersion" not in response


def test_invoke_async_answers_202(lam, lambda_client):
    lam.add_function("legacy", lambda event, context: None)
    response = lambda_client.invoke_async(FunctionName="legacy", InvokeArgs=b'{"a": 1}')
    assert response["Status"] == 202


def test_invoke_async_event_reaches_the_handler(lam, lambda_client):
    seen = []
    lam.add_function("legacy", lambda event, context: seen.append(event))
    lambda_client.invoke_async(FunctionName="legacy", InvokeArgs=b'{"a": 1}')
    lam.drain()
    assert seen == [{"a": 1}]


def _error(action):
    with pytest.raises(ClientError) as raised:
        action()
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def test_event_payload_over_1_mb_is_request_entity_too_large(lam, lambda_client):
    lam.add_function("later", lambda event, context: None)
    payload = json.dumps("x" * 1_048_575).encode()  # 1 MB + 1 byte
    assert _error(
        lambda: lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=payload)
    ) == (
        413,
        {
            "Code": "RequestEntityTooLargeException",
            "Message": "1048577 byte payload is too large for the Event invocation type "
            "(limit 1048576 bytes)",
        },
    )
    assert lam.invocations("later") == []


def test_event_payload_of_exactly_1_mb_is_queued(lam, lambda_client):
    lam.add_function("later", lambda event, context: len(event))
    payload = json.dumps("x" * 1_048_574).encode()
    response = lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=payload)
    assert response["StatusCode"] == 202
    assert [a.response for a in lam.invocations("later")] == [1_048_574]


def test_invoke_async_args_over_256_kb_are_request_entity_too_large(lam, lambda_client):
    lam.add_function("legacy", lambda event, context: None)
    args = json.dumps("x" * 262_143).encode()  # 256 KB + 1 byte
    status, error = _error(
        lambda: lambda_client.invoke_async(FunctionName="legacy", InvokeArgs=args)
    )
    assert (status, error["Code"]) == (413, "RequestEntityTooLargeException")
    assert lam.invocations("legacy") == []


def test_invoke_async_args_of_exactly_256_kb_are_queued(lam, lambda_client):
    lam.add_function("legacy", lambda event, context: None)
    args = json.dumps("x" * 262_142).encode()
    assert lambda_client.invoke_async(FunctionName="legacy", InvokeArgs=args)["Status"] == 202


@pytest.mark.lambda_async(auto_drain=False)
def test_queued_event_waits_for_virtual_time_to_move(lambda_async, lambda_client):
    lambda_async.add_function("later", lambda event, context: None)
    lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
    assert lambda_async.invocations("later") == []
    lambda_async.advance(0)
    assert len(lambda_async.invocations("later")) == 1


def test_handler_receives_the_event_payload(lam, lambda_client):
    seen = []
    lam.add_function("later", lambda event, context: seen.append(event))
    lambda_client.invoke(
        FunctionName="later", InvocationType="Event", Payload=json.dumps({"order": 42})
    )
    lam.drain()
    assert seen == [{"order": 42}]


def test_handler_sees_the_request_id_the_queue_recorded(lam, lambda_client):
    seen = []
    lam.add_function("later", lambda event, context: seen.append(context.aws_request_id))
    lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
    [queued] = lam.timeline().select("queued", function_name="later")
    assert seen == [queued.request_id]


def test_queued_event_is_counted_in_async_events_received(lam, lambda_client):
    lam.add_function("later", lambda event, context: None)
    for _ in range(3):
        lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
    assert metric_sum(lam, "AsyncEventsReceived", "later") == 3


def test_successful_event_runs_exactly_once(lam, lambda_client):
    lam.add_function("later", lambda event, context: "ok")
    lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
    lam.advance(6 * 3600)
    assert [attempt.ok for attempt in lam.invocations("later")] == [True]


def test_event_invoke_through_an_alias_runs_the_alias_version(lam, lambda_client):
    lam.add_function("aliased", lambda event, context: context.function_version, Publish=True)
    lambda_client.create_alias(FunctionName="aliased", Name="live", FunctionVersion="1")
    lambda_client.invoke(
        FunctionName="aliased", Qualifier="live", InvocationType="Event", Payload=b"{}"
    )
    [attempt] = lam.invocations("aliased")
    assert attempt.response == "1"
    assert attempt.qualifier == "live"


@pytest.mark.lambda_async(auto_drain=False)
def test_events_of_a_deleted_function_are_dropped_without_running(lambda_async, lambda_client):
    lambda_async.add_function("gone", lambda event, context: None)
    lambda_client.invoke(FunctionName="gone", InvocationType="Event", Payload=b"{}")
    lambda_client.delete_function(FunctionName="gone")
    lambda_async.drain()
    assert lambda_async.invocations("gone") == []
    [dropped] = lambda_async.timeline().select("dropped", function_name="gone")
    assert dropped.detail["reason"] == "FunctionNotFound"
