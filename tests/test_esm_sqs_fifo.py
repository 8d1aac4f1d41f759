"""SQS FIFO mappings: order per message group, one batch in flight per group."""

from __future__ import annotations

from typing import Any

from test_esm_sqs import add_function, client, delivered, map_queue, queue_with_dlq

from mock_lambda_async import mock_lambda_async


def fifo_queue() -> tuple[str, str, str]:
    return queue_with_dlq(
        "jobs.fifo", max_receives=2, FifoQueue="true", ContentBasedDeduplication="true"
    )


def send_groups(url: str, *messages: tuple[str, str]) -> None:
    """SendMessageBatch ``(group, body)`` pairs in order."""
    client("sqs").send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "MessageBody": body, "MessageGroupId": group}
            for i, (group, body) in enumerate(messages)
        ],
    )


def test_a_group_is_delivered_in_order_across_batches(lam: Any) -> None:
    function = add_function(lam)
    url, arn, _ = fifo_queue()
    map_queue(function, arn, BatchSize=2)
    send_groups(url, *[("g", str(i)) for i in range(5)])
    assert [body for batch in delivered(lam) for body in batch] == ["0", "1", "2", "3", "4"]


def test_a_batch_may_mix_groups_in_send_order(lam: Any) -> None:
    function = add_function(lam)
    url, arn, _ = fifo_queue()
    map_queue(function, arn)
    send_groups(url, ("a", "a1"), ("b", "b1"), ("a", "a2"))
    assert delivered(lam) == [["a1", "b1", "a2"]]


def test_one_batch_in_flight_per_group(lam: Any) -> None:
    function = add_function(lam)
    lam.set_duration("worker", 10)
    url, arn, _ = fifo_queue()
    map_queue(function, arn, BatchSize=1)
    send_groups(url, ("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2"))
    attempts = lam.invocations("worker")
    start = attempts[0].started_at
    started = {
        a.event["Records"][0]["body"]: (a.started_at - start).total_seconds() for a in attempts
    }
    # Each batch lasts 10 s: a2 waits for a1's batch to end, b2 for b1's.
    assert started == {"a1": 0, "b1": 0, "a2": 10, "b2": 10}


def test_a_failed_group_blocks_only_itself() -> None:
    def fail_group_a(event: dict[str, Any], context: Any) -> None:
        if any(r["attributes"]["MessageGroupId"] == "a" for r in event["Records"]):
            raise ValueError("group a is broken")

    with mock_lambda_async(auto_drain=False) as lam:
        function = add_function(lam, handler=fail_group_a)
        url, arn, _ = fifo_queue()
        map_queue(function, arn, BatchSize=1)
        lam.drain()
        send_groups(url, ("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2"))
        lam.advance(1)
        # a1 failed and is in flight: a2 waits behind it, while group b went through.
        assert delivered(lam) == [["a1"], ["b1"], ["b2"]]


def test_a_failed_group_is_retried_before_its_later_messages(lam: Any) -> None:
    calls: list[str] = []

    def fail_first(event: dict[str, Any], context: Any) -> None:
        calls.append(event["Records"][0]["body"])
        if calls == ["a1"]:
            raise ValueError("first try fails")

    function = add_function(lam, handler=fail_first)
    url, arn, _ = fifo_queue()
    map_queue(function, arn, BatchSize=1)
    send_groups(url, ("a", "a1"), ("a", "a2"))
    lam.drain()
    assert calls == ["a1", "a1", "a2"]


def test_a_group_moves_on_once_its_message_is_dead_lettered(lam: Any) -> None:
    def fail_a1(event: dict[str, Any], context: Any) -> None:
        if event["Records"][0]["body"] == "a1":
            raise ValueError("poison")

    function = add_function(lam, handler=fail_a1)
    url, arn, _dlq_url = fifo_queue()
    map_queue(function, arn, BatchSize=1)
    send_groups(url, ("a", "a1"), ("a", "a2"))
    assert delivered(lam) == [["a1"], ["a1"], ["a2"]]
