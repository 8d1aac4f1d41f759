"""Throttling: reserved concurrency, the account limit, virtual durations, and the 429 answer."""

import itertools
import json
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import NO_RETRIES, REGION, metric_sum

pytestmark = pytest.mark.lambda_async(auto_drain=False)


def _ok(event, context):
    return "ok"


def _fails(event, context):
    raise ValueError("boom")


def _event(lambda_client, name, payload=b"{}"):
    lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)


def _one_slot(lam, lambda_client, name="busy", handler=_ok, seconds=10):
    """A function that can run once at a time, each attempt lasting ``seconds`` of virtual time."""
    lam.add_function(name, handler)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    lam.set_duration(name, seconds)


# -- synchronous invokes -------------------------------------------------------------------------
def test_sync_invoke_at_reserved_concurrency_zero_is_throttled(lam, lambda_client):
    lam.add_function("off", _ok)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException) as raised:
        lambda_client.invoke(FunctionName="off", Payload=b"{}")
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"]["Message"] == "Rate Exceeded."


def test_throttle_error_names_the_reserved_concurrency_reason(lam, lambda_client):
    lam.add_function("off", _ok)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException) as raised:
        lambda_client.invoke(FunctionName="off", Payload=b"{}")
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert raised.value.response["Type"] == "User"


def test_throttled_sync_invoke_does_not_run_the_handler(lam, lambda_client):
    lam.add_function("off", _ok)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError):
        lambda_client.invoke(FunctionName="off", Payload=b"{}")
    assert lam.invocations("off") == []


def test_throttled_sync_invoke_counts_in_throttles(lam, lambda_client):
    lam.add_function("off", _ok)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    once = boto3.client("lambda", region_name=REGION, config=NO_RETRIES)
    with pytest.raises(ClientError):
        once.invoke(FunctionName="off", Payload=b"{}")
    assert metric_sum(lam, "Throttles", "off") == 1


def test_sync_invoke_runs_again_once_reservation_is_removed(lam, lambda_client):
    lam.add_function("off", _ok)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    lambda_client.delete_function_concurrency(FunctionName="off")
    assert lambda_client.invoke(FunctionName="off", Payload=b"{}")["StatusCode"] == 200


def test_sync_invoke_is_throttled_while_an_async_attempt_holds_the_slot(lam, lambda_client):
    _one_slot(lam, lambda_client)
    _event(lambda_client, "busy")
    lam.advance(0)
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException):
        lambda_client.invoke(FunctionName="busy", Payload=b"{}")


def test_sync_invoke_runs_after_the_async_attempt_ends(lam, lambda_client):
    _one_slot(lam, lambda_client)
    _event(lambda_client, "busy")
    lam.advance(10)
    assert lambda_client.invoke(FunctionName="busy", Payload=b"{}")["StatusCode"] == 200


def test_handler_invoking_itself_at_reserved_one_is_throttled(lam, lambda_client):
    errors = []

    def recursive(event, context):
        if event.get("outer"):
            try:
                boto3.client("lambda", region_name=REGION).invoke(
                    FunctionName="self", Payload=b"{}"
                )
            except ClientError as error:
                errors.append(error.response["Error"]["Code"])

    lam.add_function("self", recursive)
    lambda_client.put_function_concurrency(FunctionName="self", ReservedConcurrentExecutions=1)
    lambda_client.invoke(FunctionName="self", Payload=json.dumps({"outer": True}))
    assert errors == ["TooManyRequestsException"]


# -- asynchronous events -------------------------------------------------------------------------
def test_async_event_at_reserved_concurrency_zero_is_never_attempted(lam, lambda_client):
    lam.add_function("off", _ok)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    _event(lambda_client, "off")
    lam.drain()
    assert lam.invocations("off") == []
    [dropped] = lam.timeline().select("dropped", function_name="off")
    assert dropped.detail["reason"] == "ZeroReservedConcurrency"


def test_async_event_at_reserved_concurrency_zero_counts_as_dropped(lam, lambda_client):
    lam.add_function("off", _ok)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    _event(lambda_client, "off")
    lam.drain()
    assert metric_sum(lam, "AsyncEventsDropped", "off") == 1


def test_async_events_run_again_once_the_zero_reservation_is_deleted(lam, lambda_client):
    lam.add_function("off", _ok)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    lambda_client.delete_function_concurrency(FunctionName="off")
    _event(lambda_client, "off")
    lam.drain()
    assert [a.ok for a in lam.invocations("off")] == [True]


def test_second_event_is_throttled_while_the_first_holds_the_only_slot(lam, lambda_client):
    _one_slot(lam, lambda_client)
    _event(lambda_client, "busy")
    _event(lambda_client, "busy")
    lam.advance(0)
    assert len(lam.invocations("busy")) == 1
    [throttled] = lam.timeline().select("throttled", function_name="busy")
    assert throttled.detail["reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_attempt_with_a_duration_finishes_that_much_later(lam, lambda_client):
    _one_slot(lam, lambda_client, seconds=10)
    _event(lambda_client, "busy")
    lam.advance(9)
    assert lam.invocations("busy")[0].ok is None
    lam.advance(1)
    [attempt] = lam.invocations("busy")
    assert attempt.ok is True
    assert attempt.finished_at - attempt.started_at == timedelta(seconds=10)


def test_throttled_event_runs_once_the_slot_is_free(lam, lambda_client):
    _one_slot(lam, lambda_client, seconds=1.5)
    _event(lambda_client, "busy")
    _event(lambda_client, "busy")
    start = lam.now()
    lam.drain()
    _first, second = lam.invocations("busy")
    # Throttled at 0 s, retried at 1 s (still busy), then 2 s later: at 3 s.
    assert second.started_at - start == timedelta(seconds=3)
    assert second.ok is True


def test_throttle_backoff_doubles_from_one_second_up_to_five_minutes(lam, lambda_client):
    _one_slot(lam, lambda_client, seconds=3600)
    _event(lambda_client, "busy")
    _event(lambda_client, "busy")
    lam.advance(1800)
    times = [e.at for e in lam.timeline().select("throttled", function_name="busy")]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert set(gaps[10:]) == {300}


def test_throttles_do_not_use_up_retries(lam, lambda_client):
    _one_slot(lam, lambda_client, handler=_fails, seconds=5)
    _event(lambda_client, "busy")
    _event(lambda_client, "busy")
    lam.drain()
    requests = {a.request_id for a in lam.invocations("busy")}
    for request_id in requests:
        attempts = [a for a in lam.invocations("busy") if a.request_id == request_id]
        assert [a.attempt for a in attempts] == [1, 2, 3]


def test_async_throttles_count_in_throttles(lam, lambda_client):
    _one_slot(lam, lambda_client, seconds=1.5)
    _event(lambda_client, "busy")
    _event(lambda_client, "busy")
    lam.drain()
    assert metric_sum(lam, "Throttles", "busy") == 2


def test_async_throttles_count_neither_in_invocations_nor_in_errors(lam, lambda_client):
    _one_slot(lam, lambda_client, seconds=1.5)
    _event(lambda_client, "busy")
    _event(lambda_client, "busy")
    lam.drain()
    assert (metric_sum(lam, "Invocations", "busy"), metric_sum(lam, "Errors", "busy")) == (2, 0)


def test_throttled_event_is_given_up_when_it_would_exceed_its_age(lam, lambda_client):
    _one_slot(lam, lambda_client, seconds=7 * 3600)
    _event(lambda_client, "busy")
    _event(lambda_client, "busy")
    lam.drain()
    assert len(lam.invocations("busy")) == 1
    [dropped] = lam.timeline().select("dropped", function_name="busy")
    assert dropped.detail["reason"] == "EventAgeExceeded"
    assert dropped.detail["attempts"] == 0


def test_account_limit_throttles_functions_without_reservation(lam, lambda_client):
    lam.set_account_concurrency(1)
    lam.add_function("first", _ok)
    lam.add_function("second", _ok)
    lam.set_duration("first", 10)
    _event(lambda_client, "first")
    _event(lambda_client, "second")
    lam.advance(0)
    [throttled] = lam.timeline().select("throttled", function_name="second")
    assert throttled.detail["reason"] == "ConcurrentInvocationLimitExceeded"


def test_reservation_is_kept_out_of_the_unreserved_pool(lam, lambda_client):
    lam.add_function("reserved", _ok)
    lambda_client.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=1)
    lam.set_account_concurrency(2)
    lam.add_function("a", _ok)
    lam.add_function("b", _ok)
    lam.set_duration("a", 10)
    _event(lambda_client, "a")
    _event(lambda_client, "b")
    lam.advance(0)
    assert len(lam.invocations("b")) == 0
    assert len(lam.timeline().select("throttled", function_name="b")) == 1


def test_reserved_function_runs_while_the_unreserved_pool_is_full(lam, lambda_client):
    lam.add_function("reserved", _ok)
    lambda_client.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=1)
    lam.set_account_concurrency(2)
    lam.add_function("a", _ok)
    lam.set_duration("a", 10)
    _event(lambda_client, "a")
    _event(lambda_client, "reserved")
    lam.advance(0)
    assert len(lam.invocations("reserved")) == 1


def test_duration_delays_the_retry_of_a_failed_attempt(lam, lambda_client):
    lam.add_function("slow", _fails)
    lam.set_duration("slow", 10)
    _event(lambda_client, "slow")
    lam.advance(69)
    assert len(lam.invocations("slow")) == 1
    lam.advance(1)
    assert len(lam.invocations("slow")) == 2


def test_duration_is_reported_in_the_duration_metric(lam, lambda_client):
    lam.add_function("slow", _ok)
    lam.set_duration("slow", 2.5)
    _event(lambda_client, "slow")
    lam.drain()
    assert metric_sum(lam, "Duration", "slow") == 2500


def test_events_without_duration_never_contend(lam, lambda_client):
    lam.add_function("quick", _ok)
    lambda_client.put_function_concurrency(FunctionName="quick", ReservedConcurrentExecutions=1)
    for _ in range(5):
        _event(lambda_client, "quick")
    lam.drain()
    assert len(lam.invocations("quick")) == 5
    assert len(lam.timeline().select("throttled")) == 0


def test_account_concurrency_must_be_a_non_negative_int(lam):
    with pytest.raises(ValueError):
        lam.set_account_concurrency(-1)


def test_duration_must_be_a_non_negative_number(lam):
    with pytest.raises(ValueError):
        lam.set_duration("anything", -1)
