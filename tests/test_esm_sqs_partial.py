"""SQS partial batch responses (ReportBatchItemFailures), with plain handlers and with Powertools."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_esm_sqs import (
    add_function,
    bodies_in,
    counts,
    delivered,
    map_queue,
    queue_with_dlq,
    receive_counts,
    records,
    send,
)

from mock_lambda_async.event_sources.sqs import batch_item_failures

REPORT = ["ReportBatchItemFailures"]


def respond_with(response: Any) -> Any:
    """A handler answering ``response`` (or ``response(event)``) once, then ``None``."""
    calls: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            return None
        return response(event) if callable(response) else response

    return handler


def first_id(event: dict[str, Any]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_only_reported_messages_come_back(lam: Any) -> None:
    function = add_function(lam, handler=respond_with(first_id))
    url, arn, _ = queue_with_dlq()
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "a", "b", "c")
    assert delivered(lam) == [["a", "b", "c"], ["a"]]
    assert receive_counts(lam)[1] == ["2"]


@pytest.mark.parametrize(
    "response",
    [None, "", [], {}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"other": 1}],
    ids=[
        "null",
        "empty-string",
        "empty-array",
        "empty-object",
        "empty-list",
        "null-list",
        "no-key",
    ],
)
def test_complete_success_responses_delete_the_batch(lam: Any, response: Any) -> None:
    function = add_function(lam, handler=respond_with(response))
    url, arn, _ = queue_with_dlq()
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "a", "b")
    assert (len(lam.invocations("worker")), counts(url)) == (1, (0, 0))


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"foo": "notvalid"}]},
        {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": 123}]},
        {"batchItemFailures": ["x"]},
        {"batchItemFailures": "x"},
        ["not", "an", "object"],
    ],
    ids=[
        "empty-id",
        "null-id",
        "wrong-key",
        "unknown-id",
        "number-id",
        "not-an-object",
        "not-a-list",
        "list-response",
    ],
)
def test_invalid_responses_fail_the_whole_batch(lam: Any, response: Any) -> None:
    function = add_function(lam, handler=respond_with(response))
    url, arn, _ = queue_with_dlq()
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "a", "b")
    assert delivered(lam) == [["a", "b"], ["a", "b"]]


def test_a_function_error_fails_the_whole_batch(lam: Any) -> None:
    calls: list[int] = []

    def fails_once(event: dict[str, Any], context: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    function = add_function(lam, handler=fails_once)
    url, arn, _ = queue_with_dlq()
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "a", "b")
    assert delivered(lam) == [["a", "b"], ["a", "b"]]


def test_partial_failures_are_on_the_timeline(lam: Any) -> None:
    function = add_function(lam, handler=respond_with(first_id))
    url, arn, _ = queue_with_dlq()
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "a", "b")
    [entry] = lam.timeline().select("batch_item_failures")
    assert entry.detail["count"] == 1


def test_poison_message_story(lam: Any) -> None:
    """One bad message in a batch: the good ones are deleted, the bad one is redelivered with a
    growing receive count and ends in the queue's DLQ."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        bad = [r["messageId"] for r in event["Records"] if r["body"] == "poison"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in bad]}

    function = add_function(lam, handler=handler)
    url, arn, dlq_url = queue_with_dlq(max_receives=3, VisibilityTimeout="30")
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "order-1", "poison", "order-2")
    assert delivered(lam) == [["order-1", "poison", "order-2"], ["poison"], ["poison"]]
    assert [batch[0]["attributes"]["ApproximateReceiveCount"] for batch in records(lam)] == [
        "1",
        "2",
        "3",
    ]
    assert (counts(url), bodies_in(dlq_url)) == ((0, 0), ["poison"])


# -- Powertools -------------------------------------------------------------------------------------
def powertools_handler(fail_on: str, *, fifo: bool = False, raise_all: bool = True) -> Any:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        SqsFifoPartialProcessor,
        process_partial_response,
    )

    processor: Any = (
        SqsFifoPartialProcessor()
        if fifo
        else BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=raise_all)
    )

    def record_handler(record: Any) -> None:
        if record.body == fail_on:
            raise ValueError(f"cannot process {record.body}")

    def handler(event: dict[str, Any], context: Any) -> Any:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


def test_powertools_batch_processor_returns_only_the_failed_record(lam: Any) -> None:
    function = add_function(lam, handler=powertools_handler("bad"))
    url, arn, dlq_url = queue_with_dlq(max_receives=2)
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "good-1", "bad", "good-2")
    assert delivered(lam) == [["good-1", "bad", "good-2"], ["bad"]]
    assert bodies_in(dlq_url) == ["bad"]


def test_powertools_entire_batch_failure_retries_the_whole_batch(lam: Any) -> None:
    function = add_function(lam, handler=powertools_handler("bad"))
    url, arn, dlq_url = queue_with_dlq(max_receives=2)
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "bad")
    [first, second] = lam.invocations("worker")
    assert (first.error_type, second.error_type) == ("BatchProcessingError",) * 2
    assert bodies_in(dlq_url) == ["bad"]


def test_powertools_fifo_processor_returns_the_failure_and_everything_after(lam: Any) -> None:
    function = add_function(lam, handler=powertools_handler("b", fifo=True))
    url, arn, _ = queue_with_dlq(
        "jobs.fifo", max_receives=5, FifoQueue="true", ContentBasedDeduplication="true"
    )
    map_queue(function, arn, FunctionResponseTypes=REPORT)
    send(url, "a", "b", "c", MessageGroupId="g")
    assert delivered(lam)[:2] == [["a", "b", "c"], ["b", "c"]]


# -- the response contract, property-based ------------------------------------------------------------
@given(
    ids=st.lists(st.uuids().map(str), min_size=1, max_size=10, unique=True),
    data=st.data(),
)
def test_any_subset_of_batch_ids_is_what_comes_back(ids: list[str], data: Any) -> None:
    reported = data.draw(st.lists(st.sampled_from(ids), unique=True))
    payload = json.dumps({"batchItemFailures": [{"itemIdentifier": i} for i in reported]})
    assert batch_item_failures(payload.encode(), set(ids)) == set(reported)


@given(
    ids=st.lists(st.uuids().map(str), min_size=1, max_size=10, unique=True),
    bad=st.one_of(
        st.just({"itemIdentifier": ""}),
        st.just({"itemIdentifier": None}),
        st.integers().map(lambda n: {"itemIdentifier": n}),
        st.text(min_size=1).map(lambda key: {f"x{key}": "id"}),
        st.text().map(lambda text: {"itemIdentifier": f"unknown-{text}"}),
    ),
    data=st.data(),
)
def test_one_invalid_entry_fails_the_whole_batch(
    ids: list[str], bad: dict[str, Any], data: Any
) -> None:
    good = [{"itemIdentifier": i} for i in data.draw(st.lists(st.sampled_from(ids), unique=True))]
    position = data.draw(st.integers(min_value=0, max_value=len(good)))
    entries = [*good[:position], bad, *good[position:]]
    payload = json.dumps({"batchItemFailures": entries}).encode()
    assert batch_item_failures(payload, set(ids)) is None
