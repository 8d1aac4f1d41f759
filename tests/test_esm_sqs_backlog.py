"""A backlog drained round by round while the handler, the test or a second mapping reads the queue.

Each round takes its batches from the front of the backlog. The messages it deleted must be gone
for every reader at once (the handler's own SQS calls, the test's, another mapping's), and nothing
behind them may be lost or delivered twice.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from moto import mock_aws
from test_esm_sqs import (
    add_function,
    bodies_in,
    client,
    counts,
    delivered,
    map_queue,
    queue,
)

from mock_lambda_async import mock_lambda_async

pytestmark = pytest.mark.lambda_async(auto_drain=False)


def fill(url: str, count: int) -> list[str]:
    """Send ``count`` messages with bodies ``"0"``, ``"1"``, ... in batches of ten."""
    bodies = [str(n) for n in range(count)]
    for first in range(0, count, 10):
        entries = [{"Id": body, "MessageBody": body} for body in bodies[first : first + 10]]
        client("sqs").send_message_batch(QueueUrl=url, Entries=entries)
    return bodies


def test_a_handler_counting_its_own_queue_sees_each_round_s_deletions(lam: Any) -> None:
    url, arn = queue()
    seen: list[tuple[int, int]] = []
    map_queue(
        add_function(lam, handler=lambda event, context: seen.append(counts(url))), arn, BatchSize=1
    )
    fill(url, 12)
    lam.drain()
    # Five batches start per round; a round's messages are deleted once its batches end.
    assert seen == [(7, 5)] * 5 + [(2, 5)] * 5 + [(0, 2)] * 2


def peek(url: str) -> list[str]:
    """The bodies one ReceiveMessage returns, leaving the messages visible."""
    response = client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return [m["Body"] for m in response.get("Messages", [])]


def assert_peeking_never_gets_a_deleted_message(lam: Any, count: int, threads: int) -> None:
    """A handler of batches of one peeks at its own queue from ``threads`` threads at once."""
    url, arn = queue()
    calls: list[tuple[str, list[str]]] = []

    def peeking(event: dict[str, Any], context: Any) -> None:
        with ThreadPoolExecutor(threads) as pool:
            received = [body for bodies in pool.map(peek, [url] * threads) for body in bodies]
        calls.append((event["Records"][0]["body"], received))

    map_queue(add_function(lam, handler=peeking), arn, BatchSize=1)
    bodies = fill(url, count)
    lam.drain()
    order = [body for body, _ in calls]
    assert sorted(order, key=int) == bodies
    for index, (_, received) in enumerate(calls):
        deleted = set(order[: index - index % 5])  # the batches of earlier rounds
        assert deleted.isdisjoint(received), (index, received)


def test_a_handler_receiving_from_its_own_queue_never_gets_a_deleted_message(lam: Any) -> None:
    assert_peeking_never_gets_a_deleted_message(lam, 12, threads=1)


def test_a_handler_s_threads_reading_its_own_queue_at_once_never_get_a_deleted_message(
    lam: Any,
) -> None:
    assert_peeking_never_gets_a_deleted_message(lam, 30, threads=4)


def test_the_test_reading_the_queue_mid_drain_sees_what_is_left(lam: Any) -> None:
    url, arn = queue()
    map_queue(add_function(lam), arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
    lam.set_duration("worker", 10)
    fill(url, 12)
    lam.advance(10)  # the first two end and are deleted; the next two start
    assert counts(url) == (8, 2)
    assert sorted(bodies_in(url), key=int) == [str(n) for n in range(4, 12)]


def test_sending_to_the_source_queue_mid_drain_keeps_every_message(lam: Any) -> None:
    url, arn = queue()

    def resending(event: dict[str, Any], context: Any) -> None:
        body = event["Records"][0]["body"]
        if not body.startswith("again-"):
            client("sqs").send_message(QueueUrl=url, MessageBody=f"again-{body}")

    map_queue(add_function(lam, handler=resending), arn, BatchSize=1)
    bodies = fill(url, 12)
    lam.drain()
    got = Counter(body for batch in delivered(lam) for body in batch)
    assert got == Counter(bodies + [f"again-{body}" for body in bodies])
    assert counts(url) == (0, 0)


def test_two_mappings_draining_one_backlog_deliver_each_message_once(lam: Any) -> None:
    url, arn = queue()
    map_queue(add_function(lam, "one"), arn, BatchSize=2)
    map_queue(add_function(lam, "two"), arn, BatchSize=3)
    bodies = fill(url, 60)
    lam.drain()
    got = Counter(
        body for name in ("one", "two") for batch in delivered(lam, name) for body in batch
    )
    assert got == Counter(bodies)
    assert delivered(lam, "one") and delivered(lam, "two")


def test_moto_alone_sees_the_backlog_a_mock_left_mid_drain() -> None:
    with mock_aws():
        with mock_lambda_async(auto_drain=False) as lam:
            url, arn = queue()
            map_queue(add_function(lam), arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
            lam.set_duration("worker", 10)
            fill(url, 12)
            lam.advance(10)  # two deleted, two in flight
        assert counts(url) == (8, 2)
        assert sorted(bodies_in(url), key=int) == [str(n) for n in range(4, 12)]
