"""Injected faults on SQS event source mappings: duplicate deliveries, throttles, 5xx, timeouts."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import metric_sum
from test_esm_sqs import (
    add_function,
    counts,
    delivered,
    map_queue,
    queue,
    queue_with_dlq,
    receive_counts,
    send,
    start_offsets,
)

from mock_lambda_async import mock_lambda_async


# -- duplicate delivery ------------------------------------------------------------------------------
def test_a_duplicated_message_comes_again_in_a_later_batch(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.duplicate_sqs("worker")
    send(url, "a")
    assert delivered(lam) == [["a"], ["a"]]


def test_the_duplicate_comes_when_the_visibility_timeout_ends() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        url, arn, _ = queue_with_dlq(VisibilityTimeout="45")
        map_queue(add_function(lam), arn)
        lam.faults.duplicate_sqs("worker")
        send(url, "a")
        lam.drain()
        assert start_offsets(lam) == [0, 45]


def test_the_duplicate_is_received_again(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.duplicate_sqs("worker")
    send(url, "a")
    assert receive_counts(lam) == [["1"], ["2"]]
    assert counts(url) == (0, 0)


def test_the_duplicate_batch_lists_the_fault(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.duplicate_sqs("worker")
    send(url, "a")
    assert [a.faults for a in lam.invocations("worker")] == [(), ("duplicate_delivery",)]


def test_count_counts_messages(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.duplicate_sqs("worker")
    send(url, "a", "b", "c")
    assert delivered(lam) == [["a", "b", "c"], ["a"]]


def test_a_duplicate_is_noted_with_its_message_id(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.duplicate_sqs("worker")
    [message_id] = send(url, "a")
    [fault] = lam.timeline().select("fault", function_name="worker")
    assert (fault.detail["fault"], fault.detail["trigger"]) == ("duplicate_delivery", "sqs")
    assert fault.detail["message_id"] == message_id


def test_only_successful_messages_are_duplicated(lam: Any) -> None:
    def fail_b(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "b"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    url, arn, _ = queue_with_dlq()
    map_queue(
        add_function(lam, handler=fail_b), arn, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    lam.faults.duplicate_sqs("worker", fraction=1.0, count=2)
    a, _, c = send(url, "a", "b", "c")
    noted = [e.detail["message_id"] for e in lam.timeline().select("fault")]
    assert noted == [a, c]


def test_an_async_duplicate_rule_leaves_sqs_alone(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.duplicate_async("worker")
    send(url, "a")
    assert delivered(lam) == [["a"]]


def test_a_fifo_duplicate_holds_its_group_until_it_comes_back() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        url, arn = queue("jobs.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        map_queue(add_function(lam), arn, BatchSize=1)
        lam.faults.duplicate_sqs("worker")
        send(url, "a", "b", MessageGroupId="g")
        lam.drain()
        assert delivered(lam) == [["a"], ["a"], ["b"]]
        assert start_offsets(lam) == [0, 30, 30]


def test_a_duplicate_past_max_receive_count_goes_to_the_dlq(lam: Any) -> None:
    url, arn, dlq_url = queue_with_dlq(max_receives=1)
    map_queue(add_function(lam), arn)
    lam.faults.duplicate_sqs("worker")
    send(url, "a")
    assert delivered(lam) == [["a"]]
    assert counts(dlq_url) == (1, 0)


# -- throttles and service errors ----------------------------------------------------------------------
def test_a_throttled_batch_comes_back_after_the_visibility_timeout(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.throttle("worker")
    start = lam.now()
    send(url, "a")
    [attempt] = lam.invocations("worker")
    assert (attempt.started_at - start).total_seconds() == 30
    assert receive_counts(lam) == [["2"]]


def test_a_throttled_batch_counts_in_throttles(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.throttle("worker")
    send(url, "a")
    lam.drain()
    assert metric_sum(lam, "Throttles", "worker") == 1
    [throttled] = lam.timeline().select("throttled", function_name="worker")
    assert throttled.detail["reason"] == "ConcurrentInvocationLimitExceeded"


def test_a_batch_failing_with_5xx_comes_back_after_the_visibility_timeout(lam: Any) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.service_error("worker")
    start = lam.now()
    send(url, "a")
    [attempt] = lam.invocations("worker")
    assert (attempt.started_at - start).total_seconds() == 30
    assert metric_sum(lam, "Throttles", "worker") == 0


def test_batches_refused_past_max_receive_count_go_to_the_dlq(lam: Any) -> None:
    url, arn, dlq_url = queue_with_dlq(max_receives=2)
    map_queue(add_function(lam), arn)
    lam.faults.service_error("worker", fraction=1.0)
    send(url, "a")
    lam.drain()
    assert lam.invocations("worker") == []
    assert counts(dlq_url) == (1, 0)


# -- timeouts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("run_handler", [True, False])
def test_a_timed_out_batch_is_retried(lam: Any, run_handler: bool) -> None:
    url, arn, _ = queue_with_dlq()
    map_queue(add_function(lam), arn)
    lam.faults.timeout("worker", run_handler=run_handler)
    send(url, "a")
    attempts = lam.invocations("worker")
    assert [(a.error_type, a.faults) for a in attempts] == [
        ("Sandbox.Timedout", ("timeout",)),
        (None, ()),
    ]
    assert counts(url) == (0, 0)
