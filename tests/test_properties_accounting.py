"""Accounting: every event the mock was given ends somewhere a user can see.

The property tests (``test_properties_*``) throw arbitrary configurations, payloads and handler
responses at the mock and then check, with the helpers here, that nothing was lost:

- an async event (``queued`` on the timeline) ends in exactly one way: a successful attempt, or a
  ``dropped`` entry after its OnFailure destination and DLQ were tried; nothing of it is left in the
  queue, and ``AsyncEventsReceived``/``AsyncEventsDropped`` agree with the timeline;
- an SQS message sent to a mapped queue is gone from it (nothing visible, in flight or delayed),
  and is either in the queue's DLQ, or was in a successful batch, or was filtered or expired;
- a stream record was in a successful batch or is covered by a discard (``dropped`` with a count,
  and the OnFailure record describing it when a destination is set).

The helpers read only what a user can read: ``lam.invocations()``, ``lam.timeline()``, moto's
queues and CloudWatch metrics.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from conftest import REGION, metric_sum

from mock_lambda_async import mock_lambda_async
from mock_lambda_async.metrics import Kind

pytestmark = pytest.mark.usefixtures("one_boto3_session")

#: Timeline kinds that end an async event (one per event).
ENDINGS = (Kind.SUCCEEDED, Kind.DROPPED)


@dataclass
class AsyncFate:
    """What became of one async event (one request id)."""

    request_id: str
    function_name: str
    trigger: str
    kinds: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def endings(self) -> list[str]:
        return [kind for kind in self.kinds if kind in ENDINGS]

    @property
    def ending(self) -> str:
        """``succeeded`` or ``dropped`` (raises when there is not exactly one)."""
        [only] = self.endings
        return only


def async_fates(lam: Any, function_name: str | None = None) -> dict[str, AsyncFate]:
    """Every queued async event (of one function) and the timeline kinds that followed it."""
    timeline = lam.timeline()
    fates: dict[str, AsyncFate] = {}
    for entry in timeline:
        if entry.kind != Kind.QUEUED or entry.request_id is None:
            continue
        if function_name not in (None, entry.function_name):
            continue
        fates[entry.request_id] = AsyncFate(
            entry.request_id, str(entry.function_name), str(entry.detail.get("trigger"))
        )
    for entry in timeline:
        fate = fates.get(entry.request_id or "")
        if fate is None or entry.function_name != fate.function_name or entry.kind == Kind.QUEUED:
            continue
        fate.kinds.append(entry.kind)
        if entry.kind == Kind.DROPPED:
            fate.reasons.append(str(entry.detail.get("reason")))
    return fates


def assert_async_accounted(lam: Any, function_name: str) -> dict[str, AsyncFate]:
    """Each queued event of ``function_name`` ended exactly once; the metrics say the same."""
    from mock_lambda_async.async_queue import AsyncQueue

    lam.drain()
    fates = async_fates(lam, function_name)
    for fate in fates.values():
        assert len(fate.endings) == 1, f"{fate} has {len(fate.endings)} endings\n{lam.timeline()}"
        if fate.ending == Kind.SUCCEEDED:
            # Nothing is retried or given up after a success.
            after = fate.kinds[fate.kinds.index(Kind.SUCCEEDED) + 1 :]
            assert not set(after) & {Kind.FAILED, Kind.RETRY_SCHEDULED, Kind.DEAD_LETTERED}, fate
        else:
            # The DLQ and the OnFailure destination are tried before the drop, never after.
            after = fate.kinds[fate.kinds.index(Kind.DROPPED) + 1 :]
            assert not after, f"{fate}: {after} after the drop"
    waiting = [e for e in lam.state(AsyncQueue).events.values() if e.fn.name == function_name]
    assert waiting == [], f"events still queued for {function_name}"
    dropped = sum(1 for fate in fates.values() if fate.ending == Kind.DROPPED)
    assert metric_sum(lam, "AsyncEventsReceived", function_name) == len(fates)
    assert metric_sum(lam, "AsyncEventsDropped", function_name) == dropped
    return fates


# -- SQS ----------------------------------------------------------------------------------------------
def queue_message_ids(queue_url: str) -> list[str]:
    """Ids of every message a queue holds (visible, in flight or delayed), read without receiving."""
    from moto.sqs.models import sqs_backends

    account, name = queue_url.rstrip("/").split("/")[-2:]
    queue = sqs_backends[account][REGION].queues[name]
    return [message.id for message in list(queue._messages)]


def sqs_fates(
    lam: Any, function_name: str | None, queue_url: str, sent: list[str], dlq_url: str | None
) -> dict[str, str]:
    """``{message id: fate}``: ``in queue``, ``dead-lettered``, ``processed`` or ``lost``.

    ``function_name``: the mapped function, or ``None`` for any (several mappings on one queue).

    ``processed``: gone from the queue after being in a batch that succeeded (its id in the event
    of a successful attempt), or filtered out / expired as the timeline says.
    """
    left = set(queue_message_ids(queue_url))
    dead = set(queue_message_ids(dlq_url)) if dlq_url else set()
    succeeded: set[str] = set()
    for attempt in lam.invocations(function_name):
        if attempt.trigger == "sqs" and attempt.ok:
            succeeded.update(r["messageId"] for r in attempt.event["Records"])
    timeline = lam.timeline().select(function_name=function_name)
    expired = {str(e.detail.get("message_id")) for e in timeline.select(Kind.DROPPED)}
    filtered = sum(int(e.detail.get("count", 0)) for e in timeline.select(Kind.FILTERED))
    fates: dict[str, str] = {}
    for message_id in sent:
        if message_id in left:
            fates[message_id] = "in queue"
        elif message_id in dead:
            fates[message_id] = "dead-lettered"
        elif message_id in succeeded or message_id in expired:
            fates[message_id] = "processed"
        elif filtered:
            filtered -= 1
            fates[message_id] = "processed"
        else:
            fates[message_id] = "lost"
    return fates


def assert_sqs_accounted(
    lam: Any, function_name: str | None, queue_url: str, sent: list[str], dlq_url: str | None
) -> dict[str, str]:
    """After draining, every sent message left the queue and none was lost."""
    lam.drain()
    fates = sqs_fates(lam, function_name, queue_url, sent, dlq_url)
    unsettled = {m: fate for m, fate in fates.items() if fate in ("in queue", "lost")}
    assert unsettled == {}, f"{unsettled}\n{lam.timeline()}"
    # A dead-lettered message never also succeeded in its last delivery (it would be deleted).
    return fates


# -- streams ------------------------------------------------------------------------------------------
def assert_stream_accounted(
    lam: Any, function_name: str, sequence_numbers: list[str], destination_url: str | None
) -> Counter[str]:
    """Every record was processed or discarded; discards match the OnFailure records.

    Returns how many records ended each way (``processed``, ``discarded``).
    """
    lam.drain()
    seen: set[str] = set()
    for attempt in lam.invocations(function_name):
        for record in attempt.event.get("Records", []):
            seen.add(record["kinesis"]["sequenceNumber"])
    timeline = lam.timeline().select(function_name=function_name)
    discarded = sum(int(e.detail.get("count", 0)) for e in timeline.select(Kind.DROPPED))
    filtered = sum(int(e.detail.get("count", 0)) for e in timeline.select(Kind.FILTERED))
    covered = seen | _discarded_ranges(lam, destination_url, sequence_numbers)
    unseen = set(sequence_numbers) - covered
    # Without a destination a discard says how many records it dropped, not which.
    uncounted = filtered + (discarded if destination_url is None else 0)
    assert len(unseen) <= uncounted, f"records never delivered nor discarded: {unseen}"
    if destination_url is not None:
        records = [json.loads(body) for body in _bodies(destination_url)]
        delivered = lam.timeline().select(Kind.DELIVERED, function_name=function_name)
        failed = lam.timeline().select(Kind.DELIVERY_FAILED, function_name=function_name)
        assert len(records) == len(delivered)
        described = sum(r["KinesisBatchInfo"]["batchSize"] for r in records)
        if not failed:
            assert described == discarded
    assert discarded <= len(sequence_numbers)
    return Counter(processed=len(sequence_numbers) - discarded, discarded=discarded)


def _discarded_ranges(lam: Any, destination_url: str | None, numbers: list[str]) -> set[str]:
    if destination_url is None:
        return set()
    covered: set[str] = set()
    for body in _bodies(destination_url):
        info = json.loads(body)["KinesisBatchInfo"]
        low, high = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
        covered.update(n for n in numbers if low <= int(n) <= high)
    return covered


def _bodies(queue_url: str) -> list[str]:
    from moto.sqs.models import sqs_backends

    account, name = queue_url.rstrip("/").split("/")[-2:]
    queue = sqs_backends[account][REGION].queues[name]
    return [message.body for message in list(queue._messages)]


# -- the helpers themselves -------------------------------------------------------------------------
def test_a_successful_event_is_accounted_as_succeeded(lam):
    lam.add_function("fine", lambda event, context: None)
    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="fine", InvocationType="Event", Payload=b"{}"
    )
    [fate] = assert_async_accounted(lam, "fine").values()
    assert (fate.ending, fate.trigger) == (Kind.SUCCEEDED, "async")


def test_a_failed_event_is_accounted_as_dropped_after_its_retries(lam):
    def fail(event: Any, context: Any) -> None:
        raise ValueError("no")

    lam.add_function("broken", fail)
    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="broken", InvocationType="Event", Payload=b"{}"
    )
    [fate] = assert_async_accounted(lam, "broken").values()
    assert fate.ending == Kind.DROPPED
    assert fate.kinds.count(Kind.FAILED) == 3
    assert fate.reasons == ["RetriesExhausted"]


def test_an_event_that_has_not_run_has_no_ending_yet():
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("later", lambda event, context: None)
        boto3.client("lambda", region_name=REGION).invoke(
            FunctionName="later", InvocationType="Event", Payload=b"{}"
        )
        [fate] = async_fates(lam, "later").values()
        assert fate.endings == []
        [fate] = assert_async_accounted(lam, "later").values()
        assert fate.ending == Kind.SUCCEEDED


def test_sqs_messages_are_accounted_processed_or_dead_lettered(lam):
    sqs = boto3.client("sqs", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName="acct-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = sqs.create_queue(QueueName="acct", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    arn = dlq_arn.replace("acct-dlq", "acct")

    def handler(event: Any, context: Any) -> None:
        if any(r["body"] == "bad" for r in event["Records"]):
            raise ValueError("bad")

    lam.add_function("acct", handler)
    boto3.client("lambda", region_name=REGION).create_event_source_mapping(
        FunctionName="acct", EventSourceArn=arn, BatchSize=1
    )
    good = sqs.send_message(QueueUrl=url, MessageBody="good")["MessageId"]
    bad = sqs.send_message(QueueUrl=url, MessageBody="bad")["MessageId"]
    fates = assert_sqs_accounted(lam, "acct", url, [good, bad], dlq_url)
    assert fates == {good: "processed", bad: "dead-lettered"}
