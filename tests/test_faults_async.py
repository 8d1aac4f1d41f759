"""Injected faults on asynchronous invocations: duplicates, throttles, 5xx, timeouts."""

import json

import boto3
import pytest
from conftest import REGION, client, make_queue, metric_sum

pytestmark = [
    pytest.mark.lambda_async(auto_drain=False),
    pytest.mark.usefixtures("one_boto3_session"),
]


def _invoke(lambda_client, name="orders", payload=b'{"order": 1}'):
    lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)


def _offsets(lam, name="orders"):
    """Seconds from the first attempt to each attempt."""
    attempts = lam.invocations(name)
    return [(a.started_at - attempts[0].started_at).total_seconds() for a in attempts]


def _faults(lam, kind=None):
    return [e for e in lam.timeline().select("fault") if kind in (None, e.detail["fault"])]


# -- duplicate delivery --------------------------------------------------------------------------
def test_the_second_copy_lists_the_duplicate_delivery(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.duplicate_async("orders")
    _invoke(lambda_client)
    lam.drain()
    assert [a.faults for a in lam.invocations("orders")] == [(), ("duplicate_delivery",)]


# -- throttles ------------------------------------------------------------------------------------
def test_a_throttled_event_runs_after_a_one_second_backoff(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.throttle("orders")
    _invoke(lambda_client)
    lam.advance(0.999)
    assert lam.invocations("orders") == []
    lam.advance(0.001)
    [attempt] = lam.invocations("orders")
    assert (attempt.attempt, attempt.ok) == (1, True)


def test_throttle_backoff_doubles(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.throttle("orders", count=3)
    start = lam.now()
    _invoke(lambda_client)
    lam.drain()
    [attempt] = lam.invocations("orders")
    assert (attempt.started_at - start).total_seconds() == 1 + 2 + 4


def test_a_throttle_counts_in_throttles_not_invocations(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.throttle("orders")
    _invoke(lambda_client)
    lam.drain()
    assert (metric_sum(lam, "Throttles"), metric_sum(lam, "Invocations")) == (1, 1)


def test_a_throttle_uses_no_retry(lam, lambda_client):
    def fails(event, context):
        raise ValueError("boom")

    lam.add_function("orders", fails)
    lam.faults.throttle("orders")
    _invoke(lambda_client)
    lam.drain()
    assert [a.attempt for a in lam.invocations("orders")] == [1, 2, 3]


def test_a_throttle_is_noted_with_its_reason(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.throttle("orders", reason="ReservedFunctionConcurrentInvocationLimitExceeded")
    _invoke(lambda_client)
    lam.drain()
    [fault] = _faults(lam)
    [throttled] = lam.timeline().select("throttled")
    assert fault.detail["trigger"] == "async"
    assert throttled.detail["reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert "injected fault: throttle (async)" in str(lam.timeline())


def test_an_event_throttled_past_its_age_goes_to_the_dlq_with_429(lam, lambda_client):
    url, arn = make_queue(client("sqs"), "dlq")
    lam.add_function("orders", lambda event, context: None, DeadLetterConfig={"TargetArn": arn})
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders", MaximumEventAgeInSeconds=60
    )
    lam.faults.throttle("orders", fraction=1.0)
    _invoke(lambda_client)
    lam.drain()
    [message] = lam.assert_dead_lettered(url, 1)
    assert (message.body, message.error_code) == ({"order": 1}, "429")
    assert lam.invocations("orders") == []


# -- service errors -------------------------------------------------------------------------------
def test_a_service_error_is_retried_after_a_backoff(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.service_error("orders")
    _invoke(lambda_client)
    lam.advance(0.999)
    assert lam.invocations("orders") == []
    lam.advance(0.001)
    [attempt] = lam.invocations("orders")
    assert (attempt.attempt, attempt.ok) == (1, True)


def test_a_service_error_is_not_a_throttle(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.service_error("orders")
    _invoke(lambda_client)
    lam.drain()
    assert metric_sum(lam, "Throttles") == 0
    assert len(lam.timeline().select("throttled")) == 0


def test_a_service_error_is_noted_with_its_code(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.service_error("orders")
    _invoke(lambda_client)
    lam.drain()
    [fault] = _faults(lam, "service_error")
    [retry] = lam.timeline().select("retry_scheduled")
    assert fault.detail["reason"] == "ServiceException"
    assert retry.detail["reason"] == "ServiceException, backoff 1 s"


def test_an_event_failing_with_5xx_past_its_age_reaches_the_dlq_with_500(lam, lambda_client):
    sqs = boto3.client("sqs", region_name=REGION)
    url, arn = make_queue(client("sqs"), "dlq")
    lam.add_function("orders", lambda event, context: None, DeadLetterConfig={"TargetArn": arn})
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders", MaximumEventAgeInSeconds=60
    )
    lam.faults.service_error("orders", fraction=1.0)
    _invoke(lambda_client)
    lam.drain()
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ErrorCode"] == "500"
    assert attributes["ErrorMessage"] == "An error occurred and the request cannot be processed."


def test_the_on_failure_record_after_5xx_has_no_response(lam, lambda_client):
    url, arn = make_queue(client("sqs"), "failures")
    lam.add_function("orders", lambda event, context: None)
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders",
        MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    lam.faults.service_error("orders", fraction=1.0)
    _invoke(lambda_client)
    lam.drain()
    [record] = lam.assert_delivered(url, 1, condition="EventAgeExceeded")
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record


# -- timeouts -------------------------------------------------------------------------------------
def test_a_timed_out_attempt_fails_with_sandbox_timedout(lam, lambda_client):
    lam.add_function("orders", lambda event, context: {"done": True}, Timeout=3)
    lam.faults.timeout("orders")
    _invoke(lambda_client)
    lam.advance(0)
    [attempt] = lam.invocations("orders")
    assert attempt.error_type == "Sandbox.Timedout"
    assert attempt.error_message == (
        f"RequestId: {attempt.request_id} Error: Task timed out after 3.00 seconds"
    )


def test_a_timed_out_attempt_lists_the_fault(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.timeout("orders")
    _invoke(lambda_client)
    lam.advance(0)
    [attempt] = lam.invocations("orders")
    assert attempt.faults == ("timeout",)
    assert [e.request_id for e in _faults(lam, "timeout")] == [attempt.request_id]


def test_a_timeout_lasts_the_configured_timeout_without_waiting(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None, Timeout=900)
    lam.faults.timeout("orders")
    _invoke(lambda_client)
    lam.advance(0)
    [attempt] = lam.invocations("orders")
    assert attempt.duration_ms == 900_000
    assert "Status: timeout" in attempt.log


def test_a_timeout_is_retried_as_a_function_error(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.timeout("orders")
    _invoke(lambda_client)
    lam.drain()
    assert [a.ok for a in lam.invocations("orders")] == [False, True]
    assert _offsets(lam) == [0, 60]


def test_by_default_the_handler_ran_before_the_timeout(lam, lambda_client):
    charged = []
    lam.add_function("orders", lambda event, context: charged.append(event))
    lam.faults.timeout("orders")
    _invoke(lambda_client)
    lam.advance(0)
    assert charged == [{"order": 1}]


def test_run_handler_false_times_out_before_the_handler(lam, lambda_client):
    charged = []
    lam.add_function("orders", lambda event, context: charged.append(event))
    lam.faults.timeout("orders", run_handler=False)
    _invoke(lambda_client)
    lam.advance(0)
    assert charged == []
    assert lam.invocations("orders")[0].error_type == "Sandbox.Timedout"


def test_the_next_invocation_after_a_timeout_is_a_cold_start(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    for _ in range(2):
        _invoke(lambda_client)
    lam.faults.timeout("orders")
    lam.advance(0)
    assert [a.result.cold_start for a in lam.invocations("orders")] == [True, True]


def test_a_warm_environment_stays_warm_without_a_timeout(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    for _ in range(2):
        _invoke(lambda_client)
    lam.advance(0)
    assert [a.result.cold_start for a in lam.invocations("orders")] == [True, False]


def test_a_timeout_reaches_the_on_failure_record(lam, lambda_client):
    url, arn = make_queue(client("sqs"), "failures")
    lam.add_function("orders", lambda event, context: None)
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    lam.faults.timeout("orders")
    _invoke(lambda_client)
    lam.drain()
    [record] = lam.assert_delivered(url, 1, condition="RetriesExhausted")
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert json.dumps(record["requestPayload"]) == '{"order": 1}'
