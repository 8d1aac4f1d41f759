"""SQS mapping concurrency: pollers, MaximumConcurrency, reserved concurrency and throttles."""

from __future__ import annotations

from collections import Counter
from typing import Any

from conftest import metric_sum
from test_esm_sqs import (
    add_function,
    bodies_in,
    client,
    counts,
    map_queue,
    queue_with_dlq,
    receive_counts,
    send,
    start_offsets,
)

from mock_lambda_async import mock_lambda_async


def reserve(concurrency: int) -> None:
    client("lambda").put_function_concurrency(
        FunctionName="worker", ReservedConcurrentExecutions=concurrency
    )


def test_five_batches_start_together(lam: Any) -> None:
    function = add_function(lam)
    lam.set_duration("worker", 10)
    url, arn, _ = queue_with_dlq()
    map_queue(function, arn, BatchSize=1)
    send(url, *[str(i) for i in range(6)])
    assert start_offsets(lam) == [0, 0, 0, 0, 0, 10]


def test_maximum_concurrency_limits_batches_in_flight(lam: Any) -> None:
    function = add_function(lam)
    lam.set_duration("worker", 10)
    url, arn, _ = queue_with_dlq()
    map_queue(function, arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
    send(url, *[str(i) for i in range(5)])
    assert start_offsets(lam) == [0, 0, 10, 10, 20]


def test_pollers_scale_out_while_a_backlog_waits() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        function = add_function(lam, Timeout=900)
        lam.set_duration("worker", 60)
        url, arn, _ = queue_with_dlq(VisibilityTimeout="900")
        map_queue(function, arn, BatchSize=10)
        lam.drain()
        for start in range(0, 1000, 10):
            send(url, *[str(i) for i in range(start, start + 10)])
        lam.drain()
        # Five batches start at once; a minute later Lambda may run 300 more: the other 95.
        assert Counter(start_offsets(lam)) == {0: 5, 60: 95}


def test_reserved_concurrency_throttles_extra_batches(lam: Any) -> None:
    function = add_function(lam)
    reserve(1)
    url, arn, _ = queue_with_dlq(max_receives=5)
    map_queue(function, arn, BatchSize=1)
    send(url, "a", "b", "c")
    # One batch runs at a time; the throttled ones come back after the visibility timeout.
    assert sorted(receive_counts(lam)) == [["1"], ["2"], ["3"]]
    assert len(lam.timeline().select("throttled")) == 3


def test_maximum_concurrency_within_reserved_concurrency_avoids_throttles(lam: Any) -> None:
    function = add_function(lam)
    reserve(2)
    url, arn, _ = queue_with_dlq()
    map_queue(function, arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
    send(url, *[str(i) for i in range(6)])
    assert (len(lam.invocations("worker")), len(lam.timeline().select("throttled"))) == (6, 0)


def test_zero_reserved_concurrency_sends_messages_to_the_dlq(lam: Any) -> None:
    function = add_function(lam)
    reserve(0)
    url, arn, dlq_url = queue_with_dlq(max_receives=2)
    map_queue(function, arn)
    send(url, "a")
    assert (lam.invocations("worker"), counts(url), bodies_in(dlq_url)) == ([], (0, 0), ["a"])


def test_throttles_are_counted_in_cloudwatch(lam: Any) -> None:
    function = add_function(lam)
    reserve(0)
    url, arn, _ = queue_with_dlq(max_receives=2)
    map_queue(function, arn)
    send(url, "a")
    lam.drain()
    assert metric_sum(lam, "Throttles", "worker") == 2
