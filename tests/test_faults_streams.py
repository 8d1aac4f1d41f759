"""Injected faults on Kinesis and DynamoDB stream mappings: throttles, 5xx, duplicate deliveries,
timeouts, refused OnFailure deliveries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import metric_sum
from test_esm_streams import (
    batches,
    client,
    events,
    failure_queue,
    kinesis_stream,
    map_stream,
    map_with_on_failure,
    on_failure,
    put,
    queued_records,
)
from test_esm_streams_dynamodb import dynamodb_stream


def ok(event: Any, context: Any) -> None:
    return None


def mapped_stream(lam: Any, **params: Any) -> str:
    """A new Kinesis stream mapped to the function "consumer", which succeeds."""
    lam.add_function("consumer", ok)
    stream = kinesis_stream()
    map_stream("consumer", stream, **params)
    return stream


def start_offsets(lam: Any, since: Any) -> list[timedelta]:
    return [attempt.started_at - since for attempt in lam.invocations("consumer")]


# -- throttles and 5xx: retried before the invocation, using no retry ------------------------------
@pytest.mark.parametrize(
    ("fault", "count", "waited_s"),
    # Backoff 1 s, 2 s, 4 s (three throttles) or 1 s, 2 s (two 5xx), then the one invocation.
    [("throttle", 3, 7), ("service_error", 2, 3)],
)
def test_a_refused_stream_batch_is_retried_without_using_a_retry(
    lam: Any, fault: str, count: int, waited_s: int
) -> None:
    """MaximumRetryAttempts=0 is not used up by a throttle or a 5xx before the invocation."""
    stream = mapped_stream(lam, MaximumRetryAttempts=0)
    getattr(lam.faults, fault)("consumer", count=count)
    start = lam.now()
    put(stream, "a")
    assert start_offsets(lam, start) == [timedelta(seconds=waited_s)]


def test_an_injected_stream_throttle_is_counted_in_throttles(lam: Any) -> None:
    stream = mapped_stream(lam)
    lam.faults.throttle("consumer", count=2)
    put(stream, "a")
    assert metric_sum(lam, "Throttles", "consumer") == 2


def test_a_5xx_stream_batch_is_noted_as_a_service_error_not_a_throttle(lam: Any) -> None:
    stream = mapped_stream(lam)
    lam.faults.service_error("consumer")
    put(stream, "a")
    [retry] = lam.timeline().select("retry_scheduled")
    assert (retry.detail["reason"], len(lam.timeline().select("throttled"))) == (
        "ServiceException",
        0,
    )


def test_a_stream_batch_throttled_past_its_maximum_age_goes_to_on_failure(lam: Any) -> None:
    lam.add_function("consumer", ok)
    stream = kinesis_stream()
    url = map_with_on_failure(
        "consumer", stream, MaximumRetryAttempts=0, MaximumRecordAgeInSeconds=60
    )
    lam.faults.throttle("consumer", fraction=1.0)
    put(stream, "a")
    (record,) = queued_records(url)
    assert lam.invocations("consumer") == []
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"


def test_dynamodb_stream_batches_are_throttled_too(lam: Any) -> None:
    lam.add_function("consumer", ok)
    stream = dynamodb_stream()
    map_stream("consumer", stream)
    lam.faults.throttle("consumer")
    client("dynamodb").put_item(TableName="orders", Item={"id": {"S": "o-1"}})
    [fault] = lam.timeline().select("fault")
    assert (fault.detail["fault"], fault.detail["trigger"]) == ("throttle", "dynamodb")
    assert len(lam.invocations("consumer")) == 1


# -- duplicate deliveries: a successful batch is not checkpointed ------------------------------------
def test_a_duplicated_stream_batch_comes_again_before_later_records(lam: Any) -> None:
    stream = mapped_stream(lam, BatchSize=1)
    lam.faults.duplicate_stream("consumer")
    put(stream, "a", "b")
    assert batches(lam, "consumer") == [["a"], ["a"], ["b"]]


def test_the_duplicate_stream_batch_lists_the_fault(lam: Any) -> None:
    stream = mapped_stream(lam)
    lam.faults.duplicate_stream("consumer")
    put(stream, "a")
    assert [a.faults for a in lam.invocations("consumer")] == [(), ("duplicate_delivery",)]


def test_both_halves_of_a_bisected_duplicate_list_the_fault(lam: Any) -> None:
    calls = []

    def fails_after_the_first(event: Any, context: Any) -> None:
        calls.append(event)
        if len(calls) > 1:
            raise ValueError("cannot process")

    lam.add_function("consumer", fails_after_the_first)
    stream = kinesis_stream()
    map_stream("consumer", stream, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0)
    lam.faults.duplicate_stream("consumer")
    put(stream, "a", "b")
    first, *copies = lam.invocations("consumer")
    assert (first.faults, {a.faults for a in copies}, len(copies)) == (
        (),
        {("duplicate_delivery",)},
        3,
    )


def test_a_failed_stream_batch_is_not_duplicated(lam: Any) -> None:
    def fails(event: Any, context: Any) -> None:
        raise ValueError("cannot process")

    lam.add_function("consumer", fails)
    stream = kinesis_stream()
    map_stream("consumer", stream, MaximumRetryAttempts=1)
    rule = lam.faults.duplicate_stream("consumer")
    put(stream, "a")
    assert (len(lam.invocations("consumer")), rule.hits) == (2, 0)


def test_the_duplicate_gets_the_window_state_the_first_copy_got(lam: Any) -> None:
    def counting(event: Any, context: Any) -> Any:
        return {"state": {"count": event["state"].get("count", 0) + len(event["Records"])}}

    lam.add_function("consumer", counting)
    stream = kinesis_stream()
    map_stream("consumer", stream, TumblingWindowInSeconds=60)
    lam.faults.duplicate_stream("consumer")
    put(stream, "a")
    assert [event["state"] for event in events(lam, "consumer")][:2] == [{}, {}]


def test_a_stream_duplicate_rule_leaves_sqs_batches_alone(lam: Any) -> None:
    lam.add_function("consumer", ok)
    url, queue_arn = failure_queue("jobs")
    client("lambda").create_event_source_mapping(FunctionName="consumer", EventSourceArn=queue_arn)
    rule = lam.faults.duplicate_stream()
    client("sqs").send_message(QueueUrl=url, MessageBody="a")
    lam.advance(60)
    assert (len(lam.invocations("consumer")), repr(rule)) == (
        1,
        "<Fault duplicate_delivery (stream) of all: next 1, 0 hits>",
    )


def test_a_timed_out_stream_batch_is_retried(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream()
    map_stream("consumer", stream)
    lam.faults.timeout("consumer")
    put(stream, "a")
    attempts = lam.invocations("consumer")
    assert [(a.error_type, a.faults) for a in attempts] == [
        ("Sandbox.Timedout", ("timeout",)),
        (None, ()),
    ]


def test_a_refused_on_failure_destination_gets_no_record(lam: Any) -> None:
    def fails(event: Any, context: Any) -> None:
        raise ValueError("cannot process")

    lam.add_function("consumer", fails)
    stream = kinesis_stream()
    url, queue_arn = failure_queue()
    map_stream("consumer", stream, MaximumRetryAttempts=0, DestinationConfig=on_failure(queue_arn))
    lam.faults.fail_delivery(queue_arn)
    put(stream, "a")
    lam.assert_delivered(url, 0)
    [failed] = lam.timeline().select("delivery_failed", function_name="consumer")
    assert failed.detail["destination"] == queue_arn
