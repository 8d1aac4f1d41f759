"""The SQS event source mapping poller: Lambda's queue consumer, on moto's queue, in virtual time.

Messages reach a mapping however they enter the queue (``SendMessage``, SNS fan-out, EventBridge,
S3 notifications, destinations, a redrive): every path ends in moto's ``Queue.add_message``, which
we wrap while a mock is active to wake the pollers of that queue. The poller then works on moto's
``Queue`` and ``Message`` objects directly, doing what ``ReceiveMessage``/``DeleteMessage`` do
(receive count, receipt handle, visibility, FIFO group locks, redrive to the queue's DLQ) without
their per-call cost: moto recomputes queue attributes on each call, which is O(queue length).

Behaviour (spec §6, [LDG] with-sqs, [DOCS] services-sqs-scaling / -errorhandling, [LS] snapshots):

- A batch holds up to ``BatchSize`` messages (and at most 6 MB of event). With
  ``MaximumBatchingWindowInSeconds`` Lambda waits up to that long (virtual) for a full batch.
- The batch is invoked synchronously (trigger ``sqs`` in the history). Success deletes it. A
  function error leaves every message in flight; each becomes visible again when the queue's
  visibility timeout (counted from the receive) ends, and the next receive increments
  ``ApproximateReceiveCount``. A message whose count reached the queue's ``maxReceiveCount`` is
  moved to the queue's DLQ at the next receive, as SQS does (recorded: maxReceiveCount 2 gives
  deliveries with counts 1 and 2, then the DLQ).
- With ``ReportBatchItemFailures`` only the reported messages stay; see :func:`batch_item_failures`.
- FIFO: messages are delivered in order per ``MessageGroupId``; a group is in at most one batch at a
  time and stays locked while any of its messages is in flight, so a failing group blocks only
  itself.
- ``FilterCriteria``: messages that match no filter are deleted without an invocation.
- Concurrency: "Lambda starts processing five batches at a time" and adds "up to 300 more
  instances per minute" while messages keep waiting, up to 1,000 or ``ScalingConfig``'s
  ``MaximumConcurrency``. Batches started at the same virtual instant run concurrently: each takes
  a concurrency slot (:mod:`..concurrency`), and a batch that finds none (reserved concurrency, the
  account limit) is throttled, so its messages return to the queue after the visibility timeout.
  INFERENCE: Lambda's own invoke retries inside the visibility window are not modelled. Handlers
  take no virtual time unless ``lam.set_duration`` says otherwise; a batch then holds its slot, and
  its messages stay in flight, until it ends.
- Visibility: a received message is hidden for exactly ``VisibilityTimeout`` seconds, for the
  poller and for a test's own ``ReceiveMessage``/``ChangeMessageVisibility`` alike (moto tests
  ``now > visible_at``; we store the deadline one millisecond early, so ``lam.advance(30)`` after a
  failure redelivers a message of a 30 s queue, and a visibility of 0 shows it at once).
- Retention: a message older than the queue's ``MessageRetentionPeriod`` is deleted (SQS's rule).
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import math
import sys
import threading
from array import array
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .. import recursion, tracing
from ..concurrency import Concurrency
from ..faults import Faults, refusal
from ..functions import ResolvedFunction, resolve
from ..interception import AwsError
from ..metrics import History, Kind, put_invocation_metrics, put_metric
from ..mock import get_controller, on_start
from ..moto_time import sqs_models  # (importing it puts moto's SQS on the virtual clock)
from ..runtime import InvocationResult, Runtime
from .filtering import matches_filters, parse_filter_criteria

if TYPE_CHECKING:
    from ..metrics import Attempt
    from ..mock import LambdaAsyncController
    from ..recursion import Lineage
    from .mappings import EventSourceMapping
    from .patterns import EventPattern

__all__ = ["SqsPoller", "batch_item_failures", "lambda_record", "sqs_queue"]

#: "When messages are available, Lambda starts processing five batches at a time" ([DOCS]
#: services-sqs-scaling), then "up to 300 more instances per minute", at most 1,000.
START_CONCURRENCY = 5
SCALE_UP_PER_MINUTE = 300
MAX_CONCURRENCY = 1000
#: A batch's event stays within the synchronous invocation payload limit (6 MB, [LDG] with-sqs).
MAX_BATCH_BYTES = 6_291_456
#: Estimated bytes of a record besides its body and attributes (ids, handle, md5s, ARN).
_RECORD_OVERHEAD = 700


def sqs_queue(account_id: str, region: str, name: str) -> Any | None:
    """moto's ``Queue`` called ``name``, or ``None``."""
    from moto.sqs.models import sqs_backends

    return sqs_backends[account_id][region].queues.get(name)


class SqsPoller:
    """Reads one SQS mapping's queue; registered on the scheduler while the mapping is enabled."""

    def __init__(self, controller: LambdaAsyncController, mapping: EventSourceMapping) -> None:
        self.controller = controller
        self.mapping = mapping
        parts = mapping.source_arn.split(":", 5)
        self.region, self.account_id, self.queue_name = parts[3], parts[4], parts[5]
        self.dirty = True
        self.closed = False
        self._next_due: int | None = None
        self._window_start: int | None = None
        self._backlog_since: int | None = None
        self._in_flight = 0
        self._filters_source: Any = None
        self._filters: list[EventPattern] = []
        #: The list the last round scanned, its layout then, and the range it read (``_remove``
        #: compacts only that range).
        self._scanned: tuple[list[Any], int, int, int] = ([], 0, 0, 0)
        self._head: tuple[list[Any], int, int, int, Any, int | None] | None = None

    # -- scheduler protocol -----------------------------------------------------------------------
    def poll(self, now_ms: int) -> int | None:
        """One round: receive what is ready, invoke the batches, settle their messages."""
        if self.closed or not self.mapping.enabled:
            return None
        if not self.dirty and (self._next_due is None or now_ms < self._next_due):
            return self._next_due
        self.dirty = False
        self._next_due = self._round(now_ms)
        return self._next_due

    def close(self) -> None:
        self.closed = True

    def wake(self) -> None:
        self.dirty = True

    # -- one round --------------------------------------------------------------------------------
    def _round(self, now_ms: int) -> int | None:
        queue = sqs_queue(self.account_id, self.region, self.queue_name)
        if queue is None:
            return None
        try:
            fn = self._function()
        except AwsError:
            # INFERENCE: the function was deleted; messages stay in the queue, untouched.
            return None
        config = self.mapping.config
        batch_size = int(config["BatchSize"])
        slots = self._width(now_ms) - self._in_flight
        if slots <= 0:
            return None  # a finishing batch wakes us
        scanned, next_due = self._scan(queue, now_ms, slots * batch_size)
        available = self._filter(queue, fn, scanned)
        if not available:
            self._window_start = None
            self._backlog_since = None
            # Everything read was filtered out (and deleted): more may be waiting behind it.
            return now_ms if scanned else next_due
        batches = self._batches(queue, available, batch_size, slots)
        window_ms = int(config["MaximumBatchingWindowInSeconds"]) * 1000
        if window_ms and not queue.fifo_queue:
            if self._window_start is None:
                self._window_start = now_ms
            deadline = self._window_start + window_ms
            if now_ms < deadline:
                batches = [b for b in batches if _full(b, batch_size)]
                if not batches:
                    return deadline if next_due is None else min(deadline, next_due)
            else:
                self._window_start = None
        if len(available) >= slots * batch_size:
            # More may be waiting than the pollers could take: Lambda scales out.
            self._backlog_since = now_ms if self._backlog_since is None else self._backlog_since
        else:
            self._backlog_since = None
        self._run_batches(queue, fn, batches, now_ms)
        return now_ms

    def _function(self) -> ResolvedFunction:
        """The mapping's function, resolved now (an alias may point elsewhere since creation)."""
        fn = self.mapping.function
        return resolve(fn.name, fn.region, fn.account_id, fn.qualifier)

    def _width(self, now_ms: int) -> int:
        """How many batches may be in flight at once (scaling, capped by MaximumConcurrency)."""
        scaling = self.mapping.config.get("ScalingConfig") or {}
        cap = int(scaling.get("MaximumConcurrency") or MAX_CONCURRENCY)
        width = START_CONCURRENCY
        if self._backlog_since is not None:
            width += (now_ms - self._backlog_since) * SCALE_UP_PER_MINUTE // 60_000
        return min(cap, width)

    # -- reading the queue ------------------------------------------------------------------------
    def _scan(self, queue: Any, now_ms: int, want: int) -> tuple[list[Any], int | None]:
        """Up to ``want`` receivable messages in queue order, and when more may become ready.

        Applies what a receive applies on the way: expired messages are deleted, messages past
        ``maxReceiveCount`` go to the DLQ, visible messages leave the in-flight set.
        """
        fifo = queue.fifo_queue
        pending = queue.pending_messages
        locked: set[Any] = set()
        if fifo:
            locked = {m.group_id for m in pending if now_ms <= m.visible_at}
        max_receives: int | None = None
        if queue.dead_letter_queue is not None and queue.redrive_policy:
            max_receives = int(queue.redrive_policy["maxReceiveCount"])
        retention_ms = int(queue.message_retention_period) * 1000
        available: list[Any] = []
        expired: list[Any] = []
        redriven: list[Any] = []
        messages = _stored_messages(queue)
        gap = _gap(queue)
        end = len(messages)
        start, soonest = self._hidden_head(messages, gap, now_ms)
        head_open = True  # messages[:position] are all still in flight or delayed
        for position in _positions(start, end, gap):
            message = messages[position]
            if message.sent_timestamp + retention_ms <= now_ms:
                expired.append(message)
                head_open = False
                continue
            if now_ms <= message.visible_at or now_ms < message.delayed_until:
                if now_ms <= message.visible_at:
                    ready_at = math.floor(message.visible_at) + 1
                else:
                    ready_at = math.ceil(message.delayed_until)
                soonest = ready_at if soonest is None or ready_at < soonest else soonest
                if head_open:
                    self._head = (
                        messages,
                        now_ms,
                        _moto_changes[0],
                        position + 1,
                        message,
                        soonest,
                    )
                continue
            head_open = False
            if fifo:
                if message in pending:
                    pending.discard(message)  # its consumer timed out: visible again
                if message.group_id in locked:
                    continue
            if max_receives is not None and message.approximate_receive_count >= max_receives:
                redriven.append(message)
                continue
            available.append(message)
            if len(available) >= want:
                soonest = None  # stopped early: there may be more right now
                end = position + 1
                break
        # Everything this round takes or removes lies in ``messages[start:end]``: before ``start``
        # the run of hidden messages, after ``end`` later sends.
        self._scanned = (messages, _layout(queue), start, end)
        if expired or redriven:
            self._remove(queue, expired + redriven, deleted=expired)
            for message in expired:
                self._note(Kind.DROPPED, reason="MessageRetentionPeriod", message_id=message.id)
            for message in redriven:
                self._redrive(queue, message)
        return available, soonest

    def _hidden_head(
        self, messages: list[Any], gap: tuple[int, int], now_ms: int
    ) -> tuple[int, int | None]:
        """Where to start scanning: past the run of hidden messages a previous round saw.

        Failed messages stay in flight at the front of the queue; rounds at the same virtual time
        would otherwise step over them again and again. The remembered run still holds while time
        has not moved, nothing outside the poller changed a visibility, and the list was only
        appended to or shortened after the run (its last message is still where it was, and not
        in the gap, whose slots may repeat a message).
        """
        head = self._head
        if head is None:
            return 0, None
        listed, at, changes, length, last, soonest = head
        if (
            listed is messages
            and at == now_ms
            and changes == _moto_changes[0]
            and length <= len(messages)
            and not gap[0] < length <= gap[1]
            and messages[length - 1] is last
        ):
            return length, soonest
        self._head = None
        return 0, None

    def _redrive(self, queue: Any, message: Any) -> None:
        """SQS moves a message past ``maxReceiveCount`` to the queue's dead-letter queue."""
        dlq = queue.dead_letter_queue
        message.dead_letter_queue_source_arn = queue.queue_arn
        dlq.add_message(message)
        self._note(
            Kind.DEAD_LETTERED,
            destination=dlq.queue_arn,
            message_id=message.id,
            receive_count=message.approximate_receive_count,
        )

    def _batching_window(self) -> bool:
        return bool(self.mapping.config.get("MaximumBatchingWindowInSeconds"))

    def _filter(self, queue: Any, fn: ResolvedFunction, messages: list[Any]) -> list[Any]:
        criteria = self.mapping.config.get("FilterCriteria")
        if not criteria:
            return messages
        if criteria is not self._filters_source:
            self._filters = parse_filter_criteria(criteria)
            self._filters_source = criteria
        region, window = queue.region, self._batching_window()
        kept = [
            m
            for m in messages
            if matches_filters(
                self._filters, lambda_record(m, queue.queue_arn, region, window), "body"
            )
        ]
        if len(kept) < len(messages):
            keep = {id(m) for m in kept}
            dropped = [m for m in messages if id(m) not in keep]
            # [LDG] invocation-eventfiltering: SQS messages that match no filter are deleted.
            self._remove(queue, dropped, deleted=dropped)
            self._note(Kind.FILTERED, source=queue.queue_arn, count=len(dropped))
        return kept

    def _batches(
        self, queue: Any, messages: list[Any], batch_size: int, slots: int
    ) -> list[list[Any]]:
        """Split ready messages into at most ``slots`` batches.

        FIFO: a batch may mix groups but keeps each group's order, and a group goes to one batch
        only; a group whose batch is full waits for the next round.
        """
        batches: list[list[Any]] = [[]]
        sizes = [0]
        home: dict[Any, int] = {}
        closed: set[Any] = set()
        for message in messages:
            size = _estimated_bytes(message)
            group = message.group_id if queue.fifo_queue else None
            if group is not None and group in closed:
                continue
            current = len(batches) - 1
            fits = len(batches[current]) < batch_size and sizes[current] + size <= MAX_BATCH_BYTES
            if group is not None and group in home:
                if home[group] == current and fits:
                    batches[current].append(message)
                    sizes[current] += size
                else:
                    closed.add(group)
                continue
            if not fits and batches[current]:
                if len(batches) >= slots:
                    break
                batches.append([])
                sizes.append(0)
                current += 1
            if group is not None:
                home[group] = current
            batches[current].append(message)
            sizes[current] += size
        return [batch for batch in batches if batch]

    # -- invoking -------------------------------------------------------------------------------------
    def _run_batches(
        self, queue: Any, fn: ResolvedFunction, batches: list[list[Any]], now_ms: int
    ) -> None:
        concurrency = self.controller.state(Concurrency)
        history = self.controller.state(History)
        faults = self.controller.state(Faults)
        visibility_ms = max(int(queue.visibility_timeout) * 1000, 1)
        started: list[tuple[list[Any], bytes, Attempt, Lineage]] = []
        for batch in batches:
            for message in batch:
                _receive(queue, message, now_ms, visibility_ms)
            chain = recursion.admit(
                self.controller, fn, recursion.of_messages(batch), trigger="sqs", count=len(batch)
            )
            if chain is None:
                # RecursiveInvocationException to the mapping: the batch stays in flight and comes
                # back after its visibility timeout, until the queue's redrive policy moves it.
                continue
            # Injected faults (lam.faults): a throttle takes the path below; a 5xx leaves the
            # batch in flight, so it comes back when its visibility timeout ends.
            refused = refusal(self.controller, fn, trigger="sqs")
            if refused is not None and refused.throttle_reason is None:
                continue
            reason = concurrency.throttle_reason(fn) if refused is None else refused.throttle_reason
            if reason is not None:
                put_metric(self.controller, fn, "Throttles", 1)
                self._note(Kind.THROTTLED, trigger="sqs", reason=reason, count=len(batch))
                continue
            payload = _event_payload(batch, queue.queue_arn, queue.region, self._batching_window())
            self._note(Kind.POLLED, source=queue.queue_arn, count=len(batch))
            attempt = max(m.approximate_receive_count for m in batch)
            record = history.start_attempt(
                fn,
                payload,
                trigger="sqs",
                attempt=attempt,
                faults=faults.redelivery_faults(self.mapping.source_arn, batch),
            )
            started.append((batch, payload, record, chain))
        finished: list[Any] = []
        for batch, payload, record, chain in started:
            with recursion.running(chain), tracing.continuing(tracing.header_of_messages(batch)):
                result = self._invoke(fn, payload)
            duration_s, duration_ms = concurrency.attempt_duration(fn, result)
            if duration_s:
                self._in_flight += 1
                self.controller.scheduler.call_later(
                    duration_s,
                    self._finish_later(queue, fn, batch, record, result, duration_ms),
                    label=f"sqs batch for {fn.name} finishes",
                )
                continue
            finished += self._complete(fn, batch, record, result, duration_ms)
        if finished:
            self._remove(queue, finished, deleted=finished)

    def _invoke(self, fn: ResolvedFunction, payload: bytes) -> InvocationResult:
        try:
            return self.controller.state(Runtime).run(fn, payload)
        except AwsError as error:
            # The runtime could not run the function at all: the batch fails like a function error.
            return InvocationResult.not_run("", fn.version, error)

    def _finish_later(
        self,
        queue: Any,
        fn: ResolvedFunction,
        batch: list[Any],
        record: Attempt,
        result: InvocationResult,
        duration_ms: float,
    ) -> Callable[[], None]:
        def finish() -> None:
            self._in_flight -= 1
            done = self._complete(fn, batch, record, result, duration_ms)
            if done:
                self._remove(queue, done, deleted=done)
            self.dirty = True
            self.controller.scheduler.wake_pollers()

        return finish

    def _complete(
        self,
        fn: ResolvedFunction,
        batch: list[Any],
        record: Attempt,
        result: InvocationResult,
        duration_ms: float,
    ) -> list[Any]:
        """Record the outcome; returns the messages to delete (less any an injected duplicate
        delivery keeps in flight, see :meth:`..faults.Faults.duplicate_sqs`)."""
        delete = self._settle_batch(fn, batch, record, result, duration_ms)
        queue_arn = self.mapping.source_arn
        return self.controller.state(Faults).keep_for_redelivery(fn, queue_arn, delete)

    def _settle_batch(
        self,
        fn: ResolvedFunction,
        batch: list[Any],
        record: Attempt,
        result: InvocationResult,
        duration_ms: float,
    ) -> list[Any]:
        self.controller.state(History).finish_attempt(record, result)
        put_invocation_metrics(self.controller, fn, result, duration_ms)
        if not result.ok:
            return []
        if "ReportBatchItemFailures" not in (
            self.mapping.config.get("FunctionResponseTypes") or []
        ):
            return batch
        failed = batch_item_failures(result.payload, {m.id for m in batch})
        if failed is None:
            self._note(
                Kind.BATCH_ITEM_FAILURES,
                request_id=result.request_id,
                count=len(batch),
                reason="invalid partial batch response: the whole batch is retried",
            )
            return []
        if failed:
            self._note(Kind.BATCH_ITEM_FAILURES, request_id=result.request_id, count=len(failed))
        return [m for m in batch if m.id not in failed]

    # -- helpers -------------------------------------------------------------------------------------
    def _remove(self, queue: Any, messages: list[Any], *, deleted: list[Any]) -> None:
        """Take ``messages`` out of the queue; ``deleted`` ones count as deleted.

        When the queue's list is still laid out as this round scanned it, only the scanned range
        is touched (see :func:`_compact`): neither the backlog behind it nor the failed messages
        in flight before it are copied or moved for every batch, which made a drain quadratic.
        """
        gone = {id(m) for m in messages}
        scanned, layout, start, end = self._scanned
        removed = 0
        if _stored_messages(queue) is scanned and _layout(queue) == layout:
            removed, start, end = _compact(queue, scanned, start, end, gone)
            self._scanned = (scanned, _layout(queue), start, end)
        if removed < len(gone):
            queue._messages = [m for m in queue._messages if id(m) not in gone]
        pending = queue.pending_messages
        handles = queue.deleted_messages
        if type(handles) is not _DeletedHandles:
            handles = queue.deleted_messages = _DeletedHandles(handles)
        for message in deleted:
            pending.discard(message)
            handles.update(message.all_receipt_handles)
        if len(deleted) < len(messages):
            for message in messages:
                pending.discard(message)

    def _note(self, kind: str, *, request_id: str | None = None, **detail: Any) -> None:
        self.controller.state(History).note(
            kind, function_name=self.mapping.function.name, request_id=request_id, **detail
        )


class _DeletedHandles:
    """The receipt handles of a queue's deleted messages, for moto's "deleting again succeeds".

    moto keeps each handle string in a set, so a drain of 100,000 messages kept some 130,000
    strings of 180 characters alive: 30 MB of small objects spread through the allocator's pools,
    which slowed everything else the drain allocates. moto only asks ``handle in`` (when
    DeleteMessage gets a handle no longer in the queue) and calls ``update``, so a 64-bit hash per
    handle in an array is enough. A made-up handle matches only on a hash collision (2**-64).
    """

    __slots__ = ("_hashes",)

    def __init__(self, handles: Iterable[str | None] = ()) -> None:
        self._hashes = array("q")
        self.update(handles)

    def update(self, handles: Iterable[str | None]) -> None:
        self._hashes.extend(hash(handle) for handle in handles if handle)

    def __contains__(self, handle: object) -> bool:
        return isinstance(handle, str) and hash(handle) in self._hashes


# -- messages and records ---------------------------------------------------------------------------
def _receive(queue: Any, message: Any, now_ms: int, visibility_ms: int) -> None:
    """What ``ReceiveMessage`` does to a message (moto's ``mark_received``), without its cost."""
    from moto.moto_api._internal import mock_random

    if not message.approximate_first_receive_timestamp:
        message.approximate_first_receive_timestamp = now_ms
    message.approximate_receive_count += 1
    _generation[0] += 1
    # Visible again once ``now > visible_at``, i.e. exactly ``visibility_ms`` after this receive.
    message.visible_at = float(now_ms + visibility_ms - 1)
    if message.receipt_handle is not None:
        message._old_receipt_handles.append(message.receipt_handle)
    # A receipt handle shaped like SQS's ("AQEB" + base64), from moto's seedable random source.
    message.receipt_handle = "AQEB" + base64.b64encode(
        mock_random.getrandbits(1056).to_bytes(132, "big")
    ).decode("ascii")
    if queue.fifo_queue:
        queue.pending_messages.add(message)
        if message.sequence_number is None:
            message.sequence_number = str(mock_random.getrandbits(64)).rjust(20, "0")


def _full(batch: list[Any], batch_size: int) -> bool:
    return len(batch) >= batch_size or sum(map(_estimated_bytes, batch)) > MAX_BATCH_BYTES * 0.9


def _estimated_bytes(message: Any) -> int:
    size = len(message.body) + _RECORD_OVERHEAD
    for name, value in message.message_attributes.items():
        size += (
            len(name) + len(str(value.get("StringValue") or value.get("BinaryValue") or "")) + 90
        )
    return size


def lambda_record(
    message: Any, queue_arn: str, region: str, batching_window: bool = False
) -> dict[str, Any]:
    """One message as Lambda puts it in the event (recorded shape, spec appendix (c)).

    ``md5OfMessageAttributes`` of a message without attributes depends on the mapping: AWS's
    recordings leave the key out for a mapping without a batching window
    (``MaximumBatchingWindowInSeconds`` 0: ``test_lambda_integration_sqs.snapshot.json::
    test_report_batch_item_failures_invalid_result_json_batch_fails``) and give ``null`` with one
    (window 1: ``TestSQSEventSourceMapping::test_sqs_event_source_mapping``).
    """
    fifo = queue_arn.endswith(".fifo")
    attributes: dict[str, str] = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
    }
    if fifo:
        attributes["SequenceNumber"] = str(message.sequence_number)
        attributes["MessageGroupId"] = str(message.group_id)
    attributes["SenderId"] = str(message.sender_id)
    if fifo:
        attributes["MessageDeduplicationId"] = str(message.deduplication_id)
    attributes["ApproximateFirstReceiveTimestamp"] = str(
        message.approximate_first_receive_timestamp
    )
    trace = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace:
        attributes["AWSTraceHeader"] = str(trace.get("StringValue"))
    source = getattr(message, "dead_letter_queue_source_arn", None)
    if source:
        attributes["DeadLetterQueueSourceArn"] = source
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.message_attributes.items()
        },
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    elif batching_window:
        record["md5OfMessageAttributes"] = None
    record["md5OfBody"] = message.body_md5
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """``{"stringValue": "6", "stringListValues": [], "binaryListValues": [], "dataType": "Number"}``."""
    entry: dict[str, Any] = {}
    if value.get("StringValue") is not None:
        entry["stringValue"] = value["StringValue"]
    binary = value.get("BinaryValue")
    if binary is not None:
        entry["binaryValue"] = (
            base64.b64encode(binary).decode("ascii") if isinstance(binary, bytes) else binary
        )
    entry["stringListValues"] = list(value.get("StringListValues") or [])
    entry["binaryListValues"] = list(value.get("BinaryListValues") or [])
    entry["dataType"] = value.get("DataType")
    return entry


def _event_payload(batch: list[Any], queue_arn: str, region: str, batching_window: bool) -> bytes:
    return json.dumps(
        {"Records": [lambda_record(m, queue_arn, region, batching_window) for m in batch]}
    ).encode()


def batch_item_failures(payload: bytes, batch_ids: set[str]) -> set[str] | None:
    """The message ids a ``ReportBatchItemFailures`` response returns; ``None``: the whole batch.

    Success (nothing returns) for an empty or null response, ``""``, ``[]``, ``{}``, and an empty or
    null ``batchItemFailures`` list ([LDG] with-sqs "success and failure conditions"; [LS] recorded
    ``{}`` for SQS, and ``""``, ``[]``, ``null`` for Kinesis, whose responses Lambda reads the same
    way: INFERENCE for SQS). Whole-batch failure for a response that is not an object
    (invalid JSON; INFERENCE for other JSON values such as a non-empty list or a number), a
    ``batchItemFailures`` that is not a list (INFERENCE), and any entry whose ``itemIdentifier`` is
    missing (a wrong key, recorded), null, empty, not a string (recorded ``123`` on Kinesis) or not a
    message of the batch.
    """
    if not payload:
        return set()
    try:
        response = json.loads(payload)
    except ValueError:
        return None
    if response is None or response == "" or response == []:
        return set()
    if not isinstance(response, dict):
        return None
    entries = response.get("batchItemFailures")
    if entries is None:
        return set()
    if not isinstance(entries, list):
        return None
    failed: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        identifier = entry.get("itemIdentifier")
        if not isinstance(identifier, str) or not identifier or identifier not in batch_ids:
            return None
        failed.add(identifier)
    return failed


# -- the gap: taking messages out of moto's list without moving the backlog behind them ------------
#: Keys the poller keeps in a moto ``Queue``'s ``__dict__``.
_GAP = "_mock_lambda_async_gap"
_LAYOUT = "_mock_lambda_async_layout"
_NO_GAP = (sys.maxsize, sys.maxsize)
#: Queues whose list holds a gap, by id (closed before the hooks come off).
_gapped: dict[int, Any] = {}
_gap_lock = threading.Lock()


def _stored_messages(queue: Any) -> list[Any]:
    """moto's message list as stored, gap included: the poller's own view of it."""
    messages: list[Any] = vars(queue)["_messages"]
    return messages


def _gap(queue: Any) -> tuple[int, int]:
    """The slots ``[start, end)`` of the stored list that are no longer messages of the queue."""
    gap: tuple[int, int] = vars(queue).get(_GAP, _NO_GAP)
    return gap


def _layout(queue: Any) -> int:
    """Changes whenever positions in the stored list may have moved (a compaction, a new list)."""
    layout: int = vars(queue).get(_LAYOUT, 0)
    return layout


def _positions(start: int, end: int, gap: tuple[int, int]) -> Iterable[int]:
    """Positions ``start`` to ``end`` of the stored list, stepping over the gap."""
    gap_start, gap_end = gap
    if gap_end <= start or end <= gap_start:
        return range(start, end)
    if gap_start <= start:
        return range(gap_end, end)
    return itertools.chain(range(start, gap_start), range(gap_end, end))


def _compact(
    queue: Any, messages: list[Any], start: int, end: int, gone: set[int]
) -> tuple[int, int, int]:
    """Drop the messages whose ids are in ``gone`` from ``messages[start:end]``, in place.

    The messages kept move to the front of the range and the rest of it becomes the queue's gap,
    so nothing behind the range moves: a drain removes each round's batches from the front of a
    backlog of up to 100,000 messages, and deleting them from a list would move that whole
    backlog every round. The gap's slots are stale (they may repeat a message), so every read of
    ``queue._messages`` from outside the poller (moto, a test, our assertions) first closes the
    gap (see :func:`_read_messages`); the next round's range spans the gap and widens it instead.
    Returns how many were removed and the range's bounds afterwards.
    """
    gap = vars(queue).get(_GAP)
    if gap is not None and not start <= gap[0] <= gap[1] <= end:
        _close_gap(queue)  # rare: a range elsewhere (a new virtual time, a scan that stopped early)
        start, end = _past_gap(start, gap), _past_gap(end, gap)
        gap = None
    region = (
        messages[start:end] if gap is None else messages[start : gap[0]] + messages[gap[1] : end]
    )
    kept = [m for m in region if id(m) not in gone]
    removed = len(region) - len(kept)
    if not removed:
        return 0, start, end
    cut = start + len(kept)
    messages[start:cut] = kept
    if end == len(messages):
        del messages[cut:]  # nothing behind the range: nothing to keep in place
        _relaid(queue, None)
        return removed, start, cut
    _relaid(queue, (cut, end))
    return removed, start, end


def _relaid(queue: Any, gap: tuple[int, int] | None) -> None:
    """Record that positions in the queue's stored list moved, and where its gap now is."""
    state = vars(queue)
    if gap is None:
        state.pop(_GAP, None)
        _gapped.pop(id(queue), None)
    else:
        state[_GAP] = gap
        _gapped[id(queue)] = queue
    state[_LAYOUT] = _layout(queue) + 1


def _past_gap(position: int, gap: tuple[int, int]) -> int:
    """Where ``position`` of the stored list is once ``gap`` is closed."""
    if position >= gap[1]:
        return position - (gap[1] - gap[0])
    return min(position, gap[0])


def _close_gap(queue: Any) -> None:
    # Locked, and the gap forgotten only once closed: a handler's threads may read the queue
    # at once, and none may see the list before the gap is gone.
    with _gap_lock:
        state = vars(queue)
        gap = state.get(_GAP)
        if gap is None:
            return
        del state["_messages"][gap[0] : gap[1]]
        _relaid(queue, None)
        _generation[0] += 1


def _read_messages(queue: Any) -> list[Any]:
    """``Queue._messages`` while a mock is active: the list, its gap closed first."""
    if _GAP in vars(queue):
        _close_gap(queue)
    return _stored_messages(queue)


def _write_messages(queue: Any, messages: list[Any]) -> None:
    """``queue._messages = ...`` (moto's delete and purge build a new list): any gap goes with it."""
    vars(queue)["_messages"] = messages
    _relaid(queue, None)


# -- moto hooks: waking pollers, and the queue counters moto recomputes per call --------------------
_lock = threading.Lock()
_active = 0
_saved: dict[str, Any] = {}
#: Bumped whenever a message's visibility or delay changes (invalidates cached queue counts).
_generation = [0]
#: Bumped when moto (a receive, ChangeMessageVisibility, a delay) changes a visibility or delay.
_moto_changes = [0]


def _notify(queue: Any) -> None:
    """A message may be ready in ``queue``: wake its pollers."""
    from .mappings import MappingRegistry

    try:
        controller = get_controller()
    except RuntimeError:
        return
    registry = controller.state(MappingRegistry)
    pollers = registry.pollers_of(queue.queue_arn)
    if not pollers:
        return
    for poller in pollers:
        if isinstance(poller, SqsPoller):
            poller.wake()
    controller.scheduler.wake_pollers()


def _counts(queue: Any) -> tuple[int, int, int]:
    """(visible and not delayed, not visible, delayed): moto's three message counts, cached.

    moto computes each by scanning the queue, and ``SendMessage`` reads all three (through
    ``Queue.attributes``) for every message sent, which makes filling a queue quadratic. We count
    in one pass and, while time stands still and messages are only appended, count just the new
    ones. Any change of a message's visibility or delay, a removal or a new virtual time starts over.
    """
    models = sqs_models()

    messages = queue._messages
    now = models.unix_time_millis()
    count = len(messages)
    cache = getattr(queue, "_mock_lambda_async_counts", None)
    start, ready, hidden, delayed = 0, 0, 0, 0
    if cache is not None:
        list_id, length, last, at, generation, c_ready, c_hidden, c_delayed = cache
        if (
            list_id == id(messages)
            and at == now
            and generation == _generation[0]
            and length <= count
            and (length == 0 or messages[length - 1] is last)
        ):
            start, ready, hidden, delayed = length, c_ready, c_hidden, c_delayed
    for index in range(start, count):
        message = messages[index]
        visible = now > message.visible_at
        is_delayed = now < message.delayed_until
        if not visible:
            hidden += 1
        if is_delayed:
            delayed += 1
        if visible and not is_delayed:
            ready += 1
    queue._mock_lambda_async_counts = (
        id(messages),
        count,
        messages[-1] if count else None,
        now,
        _generation[0],
        ready,
        hidden,
        delayed,
    )
    return ready, hidden, delayed


def _patch() -> None:
    models = sqs_models()

    add_message = models.Queue.add_message
    change_visibility = models.SQSBackend.change_message_visibility
    message_change_visibility = models.Message.change_visibility
    message_delay = models.Message.delay

    def add_message_and_wake(self: Any, message: Any) -> None:
        add_message(self, message)
        recursion.tag(message)
        _notify(self)

    def change_visibility_and_wake(
        self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        change_visibility(self, queue_name, receipt_handle, visibility_timeout)
        _notify(self.get_queue(queue_name))

    def message_change_visibility_counted(self: Any, visibility_timeout: int) -> None:
        _generation[0] += 1
        _moto_changes[0] += 1
        message_change_visibility(self, visibility_timeout)
        # moto shows a message again once ``now > visible_at``; SQS hides it for exactly the
        # timeout (0 shows it at once), so the deadline is stored one millisecond early.
        self.visible_at -= 1

    def message_delay_counted(self: Any, delay_seconds: int) -> None:
        _generation[0] += 1
        _moto_changes[0] += 1
        message_delay(self, delay_seconds)

    _saved.update(
        add_message=add_message,
        change_visibility=change_visibility,
        message_change_visibility=message_change_visibility,
        message_delay=message_delay,
        camelcase_to_underscores=models.camelcase_to_underscores,
        counts=(
            models.Queue.approximate_number_of_messages,
            models.Queue.approximate_number_of_messages_not_visible,
            models.Queue.approximate_number_of_messages_delayed,
        ),
    )
    models.Queue.add_message = add_message_and_wake
    models.SQSBackend.change_message_visibility = change_visibility_and_wake
    models.Message.change_visibility = message_change_visibility_counted
    models.Message.delay = message_delay_counted
    # ``Queue.attributes`` converts every attribute name on every call: a pure function, cached.
    models.camelcase_to_underscores = functools.lru_cache(maxsize=256)(
        models.camelcase_to_underscores
    )
    # Every read of a queue's list from outside the poller sees it without the gap (see _compact).
    models.Queue._messages = property(_read_messages, _write_messages)
    models.Queue.approximate_number_of_messages = property(lambda self: _counts(self)[0])
    models.Queue.approximate_number_of_messages_not_visible = property(
        lambda self: _counts(self)[1]
    )
    models.Queue.approximate_number_of_messages_delayed = property(lambda self: _counts(self)[2])


def _unpatch() -> None:
    models = sqs_models()

    for queue in list(_gapped.values()):
        _close_gap(queue)
    del models.Queue._messages

    models.Queue.add_message = _saved.pop("add_message")
    models.SQSBackend.change_message_visibility = _saved.pop("change_visibility")
    models.Message.change_visibility = _saved.pop("message_change_visibility")
    models.Message.delay = _saved.pop("message_delay")
    models.camelcase_to_underscores = _saved.pop("camelcase_to_underscores")
    (
        models.Queue.approximate_number_of_messages,
        models.Queue.approximate_number_of_messages_not_visible,
        models.Queue.approximate_number_of_messages_delayed,
    ) = _saved.pop("counts")


@on_start
def _install(controller: LambdaAsyncController) -> None:
    global _active
    with _lock:
        if _active == 0:
            _patch()
        _active += 1

    def release() -> None:
        global _active
        with _lock:
            _active -= 1
            if _active == 0:
                _unpatch()

    controller.add_cleanup(release)
