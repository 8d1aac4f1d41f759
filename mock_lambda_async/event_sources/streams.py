"""The Kinesis and DynamoDB Streams event source mapping poller.

One :class:`StreamPoller` per enabled mapping reads the stream's shards straight from moto's
backends and invokes the function synchronously (``Runtime.run``) with batches of records, the way
Lambda's stream ESM does ([LDG] with-kinesis.md, with-ddb.md; spec §7):

- each shard is read in order; a failing batch blocks its shard (or, with ``ParallelizationFactor``
  N, the one of N lanes its partition keys hash to) until it succeeds or is discarded;
- a batch is invoked once it has ``BatchSize`` records, reaches the 6 MB payload limit, or its
  ``MaximumBatchingWindowInSeconds`` (virtual time) ran out; the window opens when the previous
  invocation of the lane completed ("the next window begins as soon as the previous function
  invocation completes", [DOCS] invocation-eventsourcemapping batching);
- a failed batch is retried until it succeeds, ``MaximumRetryAttempts`` is used up,
  ``MaximumRecordAgeInSeconds`` passes or the records expire; ``BisectBatchOnFunctionError``
  splits it in two without using a retry; ``ReportBatchItemFailures`` checkpoints at the lowest
  reported sequence number;
- discarded records are described (never included, except for S3) in an OnFailure record with
  ``KinesisBatchInfo``/``DDBStreamBatchInfo`` and the shard moves on;
- ``TumblingWindowInSeconds`` passes ``state`` between the invocations of one window and ends the
  window with an ``isFinalInvokeForWindow`` invocation.

Record times are virtual: while the mock is active, every record moto stores gets the virtual time
of its arrival (``approximateArrivalTimestamp``, ``ApproximateCreationDateTime``), so ages, windows
and retention all run on the mock's clock. Progress (the checkpoints) is kept per mapping UUID in
the controller, so a disabled and re-enabled mapping resumes where it stopped ([LDG]: "Lambda keeps
track of the last record processed and resumes processing from that point when it's reenabled").

Known gap: moto re-writes a split or merged shard's records into the child shards, so a mapping
sees those records again after ``SplitShard``/``MergeShards``/``UpdateShardCount``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..clock import iso_ms, to_datetime
from ..concurrency import Concurrency
from ..delivery import DeliveryFailed, deliver_record
from ..faults import DUPLICATE_DELIVERY, duplicate_stream, refusal
from ..functions import moto_function
from ..interception import AwsError
from ..metrics import History, put_invocation_metrics, put_metric
from ..mock import get_controller, on_start
from ..moto_patch import MotoPatch
from ..runtime import InvocationResult, Runtime
from .dynamodb_records import stream_label, stream_record_size, wire_json
from .filtering import matches_filters, parse_filter_criteria
from .patterns import EventPattern

if TYPE_CHECKING:
    from ..functions import ResolvedFunction
    from ..mock import LambdaAsyncController
    from .mappings import EventSourceMapping

__all__ = ["StreamPoller", "StreamProgress"]

#: Lambda's synchronous invocation payload limit (6 MB), which also caps a stream batch ([LDG]:
#: "as long as the total size of the events doesn't exceed the payload limit for synchronous
#: invocation (6 MB)").
MAX_BATCH_PAYLOAD_BYTES = 6 * 1024 * 1024
#: DynamoDB Streams keeps records for 24 hours ([LDG] with-ddb.md).
DYNAMODB_RETENTION_MS = 24 * 3600 * 1000
#: "Your state can be a maximum of 1 MB per shard. If it exceeds that size, Lambda terminates the
#: window early." ([LDG] with-kinesis.md, Time windows).
MAX_WINDOW_STATE_BYTES = 1024 * 1024
#: INFERENCE: AWS documents no delay between stream retries (the recorded [expire-while-retrying]
#: case saw 8 invocations within a 60 s maximum age). Retries, throttled attempts and pre-invoke
#: errors wait 1 s, doubling each time, at most 5 minutes (so a record blocking its shard for the
#: default day of retention costs a few hundred invocations, not thousands); splits run at once.
RETRY_BACKOFF_FIRST_MS = 1000
RETRY_BACKOFF_MAX_MS = 300_000

RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
#: The condition LocalStack's AWS-validated snapshots record for records past their maximum age
#: (spec §7, appendix (d)). INFERENCE: records that expire from the stream while retrying use it too.
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


# -- virtual arrival times -------------------------------------------------------------------------
def _active_controller() -> LambdaAsyncController | None:
    try:
        return get_controller()
    except RuntimeError:
        return None


def kinesis_first_sequence_number(shard_index: int) -> int:
    """The sequence number of a shard's first record while the mock is active.

    moto numbers each shard's records 1, 2, ... (seen on 5.2.1); Kinesis's are 56-digit numbers,
    increasing within a shard ([LDG] with-kinesis sample event:
    ``"sequenceNumber": "49590338271490256608559692538361571095921575989136588898"``). The first
    record of shard N gets ``49`` followed by N in the next 18 digits, then ``1``; moto numbers
    the records after it one up each, as it does from 1. INFERENCE: AWS's numbers also encode time
    and leave gaps; code should compare them, never compute with them.
    """
    return 49 * 10**54 + shard_index * 10**36 + 1


def _stamped_put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
    first = not self.records
    put_record = _ARRIVAL_HOOKS.original(type(self), "put_record")
    sequence_number: str = put_record(self, partition_key, data, explicit_hash_key)
    controller = _active_controller()
    if controller is not None and first and sequence_number == "1":
        record = self.records.pop(1)
        record.sequence_number = kinesis_first_sequence_number(int(self._shard_id))
        self.records[record.sequence_number] = record
        sequence_number = str(record.sequence_number)
    if controller is not None:
        record = self.records.get(int(sequence_number))
        if record is not None:
            now_ms = controller.clock.now_ms()
            record.created_at_datetime = to_datetime(now_ms).replace(tzinfo=None)
            record.created_at = now_ms / 1000
        controller.scheduler.wake_pollers()
    return sequence_number


def _stamped_add(self: Any, old: Any, new: Any) -> None:
    count = len(self.items)
    _ARRIVAL_HOOKS.original(type(self), "add")(self, old, new)
    controller = _active_controller()
    if controller is not None:
        now_ms = controller.clock.now_ms()
        for item in self.items[count:]:
            stamp = to_datetime(now_ms).replace(tzinfo=None)
            stored = item.record["dynamodb"]
            stored["ApproximateCreationDateTime"] = stamp
            stored["SizeBytes"] = stream_record_size(stored)
            item.mock_arrival_ms = now_ms
        controller.scheduler.wake_pollers()


def _labelled_stream_specification(self: Any, streams: dict[str, Any] | None) -> None:
    label = self.latest_stream_label
    _ARRIVAL_HOOKS.original(type(self), "set_stream_specification")(self, streams)
    controller = _active_controller()
    if controller is not None and self.latest_stream_label not in (None, label):
        self.latest_stream_label = stream_label(controller.clock.now_ms())


def _arrival_replacements() -> list[tuple[Any, str, Any]]:
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.kinesis.models import Shard

    return [
        (Shard, "put_record", _stamped_put_record),
        (StreamShard, "add", _stamped_add),
        (Table, "set_stream_specification", _labelled_stream_specification),
    ]


_ARRIVAL_HOOKS = MotoPatch(_arrival_replacements)


@on_start
def hold_arrival_hooks(controller: LambdaAsyncController) -> None:
    """Stamp the records moto stores with the virtual time and wake the pollers, while active.

    moto stamps Kinesis records and DynamoDB stream records with the real time; the mock's clock
    is virtual. The same hooks correct what moto 5.2.1 gets wrong in those records: Kinesis
    sequence numbers (:func:`kinesis_first_sequence_number`), DynamoDB ``SizeBytes`` and stream
    labels (:mod:`.dynamodb_records`). The patch is in place while any controller holds it
    (idempotent per controller).
    """
    _ARRIVAL_HOOKS.hold(controller)


# -- the records and the state kept per mapping ----------------------------------------------------
@dataclass
class _Record:
    """One stream record as the function receives it, plus what the poller needs to know."""

    sequence_number: str
    arrival_ms: int
    partition_key: str
    event: dict[str, Any]
    size: int


@dataclass
class _Batch:
    """Records invoked together, and their history: splits inherit it, retries add to it."""

    records: list[_Record]
    window_start: int | None = None
    final: bool = False
    terminated_early: bool = False
    invocations: int = 0
    retries: int = 0
    waits: int = 0
    due_ms: int = 0
    result: InvocationResult | None = None
    status: int = 200
    request_id: str | None = None
    #: Injected faults that shape its invocations (a duplicate delivery).
    faults: tuple[str, ...] = ()


@dataclass
class _Lane:
    """One of a shard's ``ParallelizationFactor`` concurrent batch sequences."""

    batches: deque[_Batch] = field(default_factory=deque)
    idle_since_ms: int = 0
    #: An invocation that lasts virtual time (a sleeping handler, ``set_duration``) ends then.
    busy_until_ms: int = 0
    window_start: int | None = None
    window_state: Any = field(default_factory=dict)
    terminate_early: bool = False


@dataclass
class _Shard:
    shard_id: str
    position: int
    parents: tuple[str, ...] = ()
    pending: list[_Record] = field(default_factory=list)
    lanes: dict[int, _Lane] = field(default_factory=dict)

    def busy(self) -> bool:
        return bool(self.pending) or any(
            lane.batches or lane.window_start is not None for lane in self.lanes.values()
        )


@dataclass
class _Progress:
    initialized: bool = False
    shards: dict[str, _Shard] = field(default_factory=dict)


class StreamProgress:
    """Per-controller checkpoints of stream mappings, by mapping UUID (survives disable/enable)."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self.by_mapping: dict[str, _Progress] = {}


# -- the stream sources (moto's backends) ----------------------------------------------------------
@dataclass(frozen=True)
class _ShardInfo:
    shard_id: str
    parents: tuple[str, ...]
    is_open: bool


class _Source:
    """What differs between Kinesis and DynamoDB Streams: where the records are and their shape."""

    kind: str
    batch_info_key: str
    data_key: str

    def __init__(self, arn: str) -> None:
        parts = arn.split(":", 5)
        self.arn = arn
        self.region = parts[3]
        self.account_id = parts[4]
        self.resource = parts[5]

    def _backend(self, backends: Any) -> Any | None:
        """The source's account and region in one of moto's backend dicts (``None`` where moto has
        no such region): both sources look their stream up afresh there on every read."""
        try:
            return backends[self.account_id][self.region]
        except KeyError:
            return None

    def shards(self) -> list[_ShardInfo] | None:
        raise NotImplementedError

    def last_position(self, shard_id: str) -> int:
        raise NotImplementedError

    def position_before(self, shard_id: str, at_ms: int) -> int:
        raise NotImplementedError

    def read(self, shard_id: str, after: int, fn: ResolvedFunction) -> tuple[list[_Record], int]:
        """The records after position ``after`` and the new position."""
        raise NotImplementedError

    def retention_ms(self) -> int:
        raise NotImplementedError

    def filter_view(self, record: _Record) -> dict[str, Any]:
        """The record as FilterCriteria patterns see it."""
        raise NotImplementedError

    def arrival_text(self, epoch_ms: int) -> str:
        return iso_ms(epoch_ms)


class _KinesisSource(_Source):
    kind = "kinesis"
    batch_info_key = "KinesisBatchInfo"
    data_key = "data"

    def __init__(self, arn: str) -> None:
        super().__init__(arn)
        # ``stream/<name>`` or a consumer ARN ``stream/<name>/consumer/<consumer>:<ts>``.
        self.stream_name = self.resource.split("/")[1]
        self.stream_arn = arn.split("/consumer/")[0]

    def _stream(self) -> Any | None:
        from moto.kinesis.models import kinesis_backends

        backend = self._backend(kinesis_backends)
        stream = None if backend is None else backend.streams.get(self.stream_name)
        if stream is None or stream.arn != self.stream_arn:
            return None
        return stream

    def _shard(self, shard_id: str) -> Any | None:
        stream = self._stream()
        return None if stream is None else stream.shards.get(shard_id)

    def shards(self) -> list[_ShardInfo] | None:
        stream = self._stream()
        if stream is None:
            return None
        return [
            _ShardInfo(
                shard.shard_id,
                tuple(p for p in (shard.parent, shard.adjacent_parent) if p),
                bool(shard.is_open),
            )
            for shard in sorted(stream.shards.values(), key=lambda s: s.shard_id)
        ]

    def last_position(self, shard_id: str) -> int:
        shard = self._shard(shard_id)
        return int(shard.get_max_sequence_number()) if shard is not None else 0

    def position_before(self, shard_id: str, at_ms: int) -> int:
        shard = self._shard(shard_id)
        position = 0
        if shard is not None:
            for number, record in shard.records.items():
                if _kinesis_arrival_ms(record) >= at_ms:
                    break
                position = int(number)
        return position

    def read(self, shard_id: str, after: int, fn: ResolvedFunction) -> tuple[list[_Record], int]:
        shard = self._shard(shard_id)
        if shard is None or not shard.records:
            return [], after
        last = int(shard.get_max_sequence_number())
        if last <= after:
            return [], after
        stream = self._stream()
        encryption = str(getattr(stream, "encryption_type", "NONE") or "NONE")
        role = str(fn.moto().role) if moto_function(*_fn_key(fn)) is not None else ""
        found = []
        # A shard's numbers are consecutive from its first record's (moto adds one each time).
        for number in range(max(after + 1, int(shard.get_min_sequence_number())), last + 1):
            record = shard.records.get(number)
            if record is not None:
                found.append(self._record(shard_id, record, role, encryption))
        return found, last

    def _record(self, shard_id: str, record: Any, role: str, encryption: str) -> _Record:
        arrival_ms = _kinesis_arrival_ms(record)
        data = record.data
        if isinstance(data, bytes):
            data = base64.b64encode(data).decode()
        sequence_number = str(record.sequence_number)
        kinesis: dict[str, Any] = {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key,
            "sequenceNumber": sequence_number,
            "data": data,
            "approximateArrivalTimestamp": arrival_ms / 1000,
        }
        if encryption == "KMS":
            # Records of a server-side encrypted stream say so ([JE] kinesis_event.json puts
            # ``encryptionType`` last); the recorded unencrypted records have no such key.
            kinesis["encryptionType"] = encryption
        event = {
            "kinesis": kinesis,
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{sequence_number}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": role,
            "awsRegion": self.region,
            "eventSourceARN": self.stream_arn,
        }
        return _Record(
            sequence_number, arrival_ms, str(record.partition_key), event, _json_size(event)
        )

    def retention_ms(self) -> int:
        stream = self._stream()
        hours = int(getattr(stream, "retention_period_hours", 24) or 24)
        return hours * 3600 * 1000

    def filter_view(self, record: _Record) -> dict[str, Any]:
        # "Kinesis event source mappings only support filtering on the data key", matched as the
        # base64-decoded JSON ([DOCS] with-kinesis-filtering).
        raw = base64.b64decode(record.event["kinesis"]["data"])
        try:
            return {"data": raw.decode("utf-8")}
        except UnicodeDecodeError:
            return {"data": raw}


class _DynamoDBSource(_Source):
    kind = "dynamodb"
    batch_info_key = "DDBStreamBatchInfo"
    data_key = "dynamodb"

    def __init__(self, arn: str) -> None:
        super().__init__(arn)
        # ``table/<name>/stream/<label>``
        pieces = self.resource.split("/")
        self.table_name = pieces[1]
        self.label = "/".join(pieces[3:])

    def _stream_shard(self) -> Any | None:
        from moto.dynamodb.models import dynamodb_backends

        backend = self._backend(dynamodb_backends)
        table = None if backend is None else backend.tables.get(self.table_name)
        if table is None or table.latest_stream_label != self.label:
            return None
        return table.stream_shard

    def shards(self) -> list[_ShardInfo] | None:
        shard = self._stream_shard()
        if shard is None:
            return None
        return [_ShardInfo(str(shard.id), (), True)]

    def last_position(self, shard_id: str) -> int:
        shard = self._stream_shard()
        return len(shard.items) if shard is not None else 0

    def position_before(self, shard_id: str, at_ms: int) -> int:
        shard = self._stream_shard()
        position = 0
        if shard is not None:
            for index, item in enumerate(shard.items):
                if _dynamodb_arrival_ms(item) >= at_ms:
                    break
                position = index + 1
        return position

    def read(self, shard_id: str, after: int, fn: ResolvedFunction) -> tuple[list[_Record], int]:
        shard = self._stream_shard()
        if shard is None or len(shard.items) <= after:
            return [], after
        items = shard.items[after:]
        return [self._record(item) for item in items], after + len(items)

    def _record(self, item: Any) -> _Record:
        source = item.record
        stored = source["dynamodb"]
        arrival_ms = _dynamodb_arrival_ms(item)
        # Key order and types as Lambda delivers them ([PT] tests/events/dynamoStreamEvent.json):
        # ``ApproximateCreationDateTime`` in epoch seconds (second precision), eventVersion 1.1.
        # Binary values go out base64 (:func:`.dynamodb_records.wire_json`), which also copies.
        dynamodb: dict[str, Any] = {
            "ApproximateCreationDateTime": float(arrival_ms // 1000),
            "Keys": wire_json(stored["Keys"]),
        }
        for image in ("NewImage", "OldImage"):
            if image in stored:
                dynamodb[image] = wire_json(stored[image])
        dynamodb["SequenceNumber"] = str(stored["SequenceNumber"])
        dynamodb["SizeBytes"] = stream_record_size(stored)
        dynamodb["StreamViewType"] = stored["StreamViewType"]
        event = {
            "eventID": source["eventID"],
            "eventName": source["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "dynamodb": dynamodb,
            "eventSourceARN": self.arn,
        }
        # INFERENCE: with ParallelizationFactor, order is kept per item (its key attributes).
        key = json.dumps(dynamodb["Keys"], sort_keys=True)
        return _Record(dynamodb["SequenceNumber"], arrival_ms, key, event, _json_size(event))

    def retention_ms(self) -> int:
        return DYNAMODB_RETENTION_MS

    def filter_view(self, record: _Record) -> dict[str, Any]:
        return record.event

    def arrival_text(self, epoch_ms: int) -> str:
        # DDBStreamBatchInfo arrival times have second precision (spec appendix (d)).
        return to_datetime(epoch_ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kinesis_arrival_ms(record: Any) -> int:
    return round(float(record.created_at) * 1000)


def _dynamodb_arrival_ms(item: Any) -> int:
    stamped = getattr(item, "mock_arrival_ms", None)
    if stamped is not None:
        return int(stamped)
    created = item.record["dynamodb"]["ApproximateCreationDateTime"]
    if isinstance(created, datetime):
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return round(created.timestamp() * 1000)
    return round(float(created) * 1000)


def _fn_key(fn: ResolvedFunction) -> tuple[str, str, str, str]:
    return fn.account_id, fn.region, fn.name, fn.version


def _json_size(value: Any) -> int:
    return len(json.dumps(value).encode())


def _source_for(mapping: EventSourceMapping) -> _Source:
    if mapping.source_type == "dynamodb":
        return _DynamoDBSource(mapping.source_arn)
    return _KinesisSource(mapping.source_arn)


# -- the poller ------------------------------------------------------------------------------------
@dataclass
class _Outcome:
    """How Lambda reads one invocation: success, partial success from ``split_at``, or failure."""

    ok: bool
    split_at: int = 0
    function_error: bool = False
    state: Any = None
    has_state: bool = False


class StreamPoller:
    """Reads one Kinesis stream or DynamoDB stream for one mapping and invokes its function."""

    def __init__(self, controller: LambdaAsyncController, mapping: EventSourceMapping) -> None:
        hold_arrival_hooks(controller)
        self.controller = controller
        self.mapping = mapping
        self.source = _source_for(mapping)
        self.history = controller.state(History)
        self._closed = False
        self._filter_key: str | None = None
        self._patterns: list[EventPattern] = []
        store = controller.state(StreamProgress)
        self.progress = store.by_mapping.setdefault(mapping.uuid, _Progress())
        if not self.progress.initialized:
            self._start()

    # -- settings (read live: UpdateEventSourceMapping changes them between polls) -------------------
    def _setting(self, name: str, default: Any) -> Any:
        value = self.mapping.config.get(name)
        return default if value is None else value

    def _patterns_now(self) -> list[EventPattern]:
        criteria = self.mapping.config.get("FilterCriteria")
        key = json.dumps(criteria, sort_keys=True, default=str)
        if key != self._filter_key:
            self._patterns = parse_filter_criteria(criteria)
            self._filter_key = key
        return self._patterns

    def _on_failure_destination(self) -> str | None:
        config = self.mapping.config.get("DestinationConfig") or {}
        destination = (config.get("OnFailure") or {}).get("Destination")
        return str(destination) if destination else None

    def _age_limit_ms(self) -> int:
        retention = self.source.retention_ms()
        maximum_age = int(self._setting("MaximumRecordAgeInSeconds", -1))
        return retention if maximum_age < 0 else min(retention, maximum_age * 1000)

    # -- lifecycle -----------------------------------------------------------------------------------
    def _start(self) -> None:
        """Place each shard's iterator at the starting position, at the time the mapping starts."""
        shards = self.source.shards()
        if shards is None:
            return
        position = str(self._setting("StartingPosition", "LATEST"))
        at_ms = _epoch_ms(self.mapping.config.get("StartingPositionTimestamp"))
        for info in shards:
            if position == "TRIM_HORIZON":
                start = 0
            elif position == "AT_TIMESTAMP" and at_ms is not None:
                start = self.source.position_before(info.shard_id, at_ms)
            else:
                start = self.source.last_position(info.shard_id)
            self.progress.shards[info.shard_id] = _Shard(info.shard_id, start, info.parents)
        self.progress.initialized = True

    def close(self) -> None:
        """Stop polling; the checkpoints stay, so re-enabling the mapping resumes from them."""
        self._closed = True
        self.controller.scheduler.remove_poller(self)

    # -- polling -------------------------------------------------------------------------------------
    def poll(self, now_ms: int) -> int | None:
        """Invoke what is ready at ``now_ms``; return ``now_ms`` after work, else the next due time."""
        if self._closed or not self.mapping.enabled:
            return None
        if not self.progress.initialized:
            self._start()
            if not self.progress.initialized:
                return None
        infos = self.source.shards()
        if infos is None:
            return None
        self._read(infos)
        open_shards = {info.shard_id for info in infos if info.is_open}
        worked = False
        dues: list[int] = []
        for shard in list(self.progress.shards.values()):
            if not self._parents_done(shard, open_shards):
                continue
            for lane_id in self._lane_ids(shard):
                did, due = self._step(shard, lane_id, now_ms)
                worked = worked or did
                if due is not None:
                    dues.append(due)
        if worked:
            return now_ms
        return min(dues) if dues else None

    def _read(self, infos: list[_ShardInfo]) -> None:
        """Move new records from moto into each shard's pending list, dropping filtered ones."""
        fn = self.mapping.function
        patterns = self._patterns_now()
        for info in infos:
            shard = self.progress.shards.get(info.shard_id)
            if shard is None:
                # A shard created after the mapping started (resharding) is read from its start.
                shard = _Shard(info.shard_id, 0, info.parents)
                self.progress.shards[info.shard_id] = shard
            records, shard.position = self.source.read(shard.shard_id, shard.position, fn)
            if not records:
                continue
            kept = [
                record
                for record in records
                if matches_filters(patterns, self.source.filter_view(record), self.source.data_key)
            ]
            if len(kept) < len(records):
                self.history.note(
                    "filtered",
                    function_name=fn.name,
                    source=self.source.arn,
                    count=len(records) - len(kept),
                )
            shard.pending.extend(kept)

    def _parents_done(self, shard: _Shard, open_shards: set[str]) -> bool:
        """A child shard waits until its parents are closed and fully processed."""
        for parent_id in shard.parents:
            parent = self.progress.shards.get(parent_id)
            if parent is not None and (parent_id in open_shards or parent.busy()):
                return False
        return True

    def _parallelization(self) -> int:
        return max(1, int(self._setting("ParallelizationFactor", 1)))

    def _lane_of(self, record: _Record) -> int:
        factor = self._parallelization()
        if factor == 1:
            return 0
        # Stable across runs (``hash()`` of a str is salted per process).
        digest = hashlib.md5(record.partition_key.encode(), usedforsecurity=False).digest()
        return int.from_bytes(digest[:8], "big") % factor

    def _lane_ids(self, shard: _Shard) -> list[int]:
        ids = {lane_id for lane_id, lane in shard.lanes.items() if lane.batches}
        ids |= {lane_id for lane_id, lane in shard.lanes.items() if lane.window_start is not None}
        ids |= {self._lane_of(record) for record in shard.pending}
        return sorted(ids)

    def _step(self, shard: _Shard, lane_id: int, now_ms: int) -> tuple[bool, int | None]:
        """Advance one lane by at most one invocation (or discard). Returns (worked, next due)."""
        lane = shard.lanes.setdefault(lane_id, _Lane())
        if lane.busy_until_ms > now_ms:
            return False, lane.busy_until_ms
        if lane.batches:
            batch = lane.batches[0]
            if batch.due_ms > now_ms:
                return False, batch.due_ms
            return self._attempt(shard, lane, batch, now_ms), None
        blocked = {
            record.partition_key
            for other in shard.lanes.values()
            for waiting in other.batches
            for record in waiting.records
        }
        candidates = [
            record
            for record in shard.pending
            if self._lane_of(record) == lane_id and record.partition_key not in blocked
        ]
        if candidates and self._expire_pending(shard, candidates, now_ms):
            return True, None
        window_ms = int(self._setting("TumblingWindowInSeconds", 0)) * 1000
        window_start: int | None = None
        if window_ms:
            if lane.window_start is not None:
                window_end = lane.window_start + window_ms
                next_window = (
                    candidates[0].arrival_ms // window_ms * window_ms if candidates else None
                )
                if lane.terminate_early or (
                    next_window != lane.window_start
                    and (next_window is not None or now_ms >= window_end)
                ):
                    final = _Batch(
                        [],
                        window_start=lane.window_start,
                        final=True,
                        terminated_early=lane.terminate_early,
                    )
                    lane.batches.append(final)
                    return self._attempt(shard, lane, final, now_ms), None
                if not candidates:
                    return False, window_end
            if not candidates:
                return False, None
            window_start = candidates[0].arrival_ms // window_ms * window_ms
            in_window = [
                r for r in candidates if r.arrival_ms // window_ms * window_ms == window_start
            ]
            # A batch never spans two windows: records of the next one close this batch.
            closed = len(in_window) < len(candidates)
            candidates = in_window
        else:
            closed = False
        if not candidates:
            return False, None
        batch_size = int(self._setting("BatchSize", 100))
        chosen: list[_Record] = []
        size = 0
        for record in candidates:
            if len(chosen) >= batch_size:
                break
            if chosen and size + record.size > MAX_BATCH_PAYLOAD_BYTES:
                break
            chosen.append(record)
            size += record.size + 1
        full = closed or len(chosen) >= batch_size or len(chosen) < len(candidates)
        batching_window_ms = int(self._setting("MaximumBatchingWindowInSeconds", 0)) * 1000
        if not full and batching_window_ms:
            due = max(lane.idle_since_ms, chosen[0].arrival_ms) + batching_window_ms
            if now_ms < due:
                return False, due
        taken = {id(record) for record in chosen}
        shard.pending = [record for record in shard.pending if id(record) not in taken]
        batch = _Batch(chosen, window_start=window_start)
        lane.batches.append(batch)
        self.history.note(
            "polled",
            function_name=self.mapping.function.name,
            source=self.source.arn,
            count=len(chosen),
            shard=shard.shard_id,
        )
        return self._attempt(shard, lane, batch, now_ms), None

    def _expire_pending(self, shard: _Shard, candidates: list[_Record], now_ms: int) -> bool:
        """Discard records that aged out before their first invocation; True if any did."""
        limit = self._age_limit_ms()
        expired = []
        for record in candidates:
            if now_ms - record.arrival_ms <= limit:
                break
            expired.append(record)
        if not expired:
            return False
        gone = {id(record) for record in expired}
        shard.pending = [record for record in shard.pending if id(record) not in gone]
        maximum_age = int(self._setting("MaximumRecordAgeInSeconds", -1))
        if 0 <= maximum_age * 1000 <= self.source.retention_ms():
            # [LS] test_kinesis_maximum_record_age_exceeded_discard_records: records already past
            # MaximumRecordAgeInSeconds when read go to the OnFailure destination; the count is 1
            # ([expire-before-ingestion]).
            batch_size = int(self._setting("BatchSize", 100))
            for start in range(0, len(expired), batch_size):
                chunk = _Batch(expired[start : start + batch_size])
                self._discard(shard, chunk, chunk.records, RECORD_AGE_EXCEEDED, now_ms)
        else:
            # INFERENCE: records the stream trimmed before Lambda read them are simply gone, as
            # Lambda never sees them (the iterator moves to the trim horizon).
            self.history.note(
                "dropped",
                function_name=self.mapping.function.name,
                reason="RecordExpired",
                count=len(expired),
                shard=shard.shard_id,
            )
        return True

    # -- one invocation ------------------------------------------------------------------------------
    def _attempt(self, shard: _Shard, lane: _Lane, batch: _Batch, now_ms: int) -> bool:
        """Invoke ``batch`` (or discard what aged out of it); always changes the lane's state."""
        fn = self.mapping.function
        limit = self._age_limit_ms()
        if batch.final and now_ms - self._window_end(batch) > limit:
            # INFERENCE: a final invocation that keeps failing is given up once its window is as
            # old as the records it aggregated may get; the state goes with it.
            lane.batches.popleft()
            self._drop_window(shard, lane, batch, RECORD_AGE_EXCEEDED)
            return True
        if not batch.final:
            expired = [r for r in batch.records if now_ms - r.arrival_ms > limit]
            if expired:
                self._discard(shard, batch, expired, RECORD_AGE_EXCEEDED, now_ms)
                batch.records = batch.records[len(expired) :]
                if not batch.records:
                    lane.batches.popleft()
                    lane.idle_since_ms = now_ms
                    return True
        if moto_function(*_fn_key(fn)) is None:
            # "If Lambda ... returns an error without invoking the function, Lambda retries until
            # the records expire or exceed the maximum age" ([LDG] with-kinesis.md).
            self._wait(lane, batch, now_ms, "function not found")
            return True
        # Injected faults (lam.faults) are refused before the invocation, like a real throttle:
        # retried without using a retry (see ..faults, "Stream mappings").
        refused = refusal(self.controller, fn, trigger=self.source.kind)
        if refused is not None and refused.throttle_reason is None:
            self._wait(lane, batch, now_ms, refused.error.code)
            return True
        reason = self._throttle_reason(fn) if refused is None else refused.throttle_reason
        if reason is not None:
            put_metric(self.controller, fn, "Throttles", 1)
            self.history.note(
                "throttled", function_name=fn.name, trigger=self.source.kind, reason=reason
            )
            self._wait(lane, batch, now_ms, "throttled")
            return True
        event = self._event(shard, lane, batch)
        payload = json.dumps(event).encode()
        request_id = str(uuid.uuid4())
        record = self.history.start_attempt(
            fn,
            payload,
            trigger=self.source.kind,
            attempt=batch.invocations + 1,
            request_id=request_id,
            faults=batch.faults,
        )
        try:
            result = self.controller.state(Runtime).run(fn, payload, request_id=request_id)
            batch.status = 200
        except AwsError as error:
            # The runtime could not run the function at all: an error response, handled like a
            # function error (as the asynchronous engine does).
            result = InvocationResult.not_run(request_id, fn.version, error)
            batch.status = error.status
        duration_s, duration_ms = self.controller.state(Concurrency).attempt_duration(fn, result)

        def finish(end_ms: int) -> None:
            self.history.finish_attempt(record, result)
            put_invocation_metrics(self.controller, fn, result, duration_ms)
            # The values GetEventSourceMapping shows ([LDG] with-kinesis.md CLI output).
            self.mapping.last_processing_result = (
                "OK" if result.ok else "PROBLEM: Function call failed"
            )
            batch.invocations += 1
            batch.result = result
            batch.request_id = result.request_id
            lane.idle_since_ms = end_ms
            self._settle(shard, lane, batch, self._judge(batch, result), end_ms)

        if not duration_s:
            finish(now_ms)
            return True
        # The lane's next batch waits until this invocation ends, as it would on Lambda.
        end_ms = now_ms + round(duration_s * 1000)
        lane.busy_until_ms = end_ms

        def finish_later() -> None:
            finish(end_ms)
            self.controller.scheduler.wake_pollers()

        self.controller.scheduler.call_at(
            end_ms, finish_later, label=f"{self.source.kind} batch for {fn.name} finishes"
        )
        return True

    def _throttle_reason(self, fn: ResolvedFunction) -> str | None:
        from .. import concurrency

        model = getattr(concurrency, "Concurrency", None)
        if model is None:
            return None
        reason: str | None = self.controller.state(model).throttle_reason(fn)
        return reason

    def _event(self, shard: _Shard, lane: _Lane, batch: _Batch) -> dict[str, Any]:
        event: dict[str, Any] = {"Records": [record.event for record in batch.records]}
        window_ms = int(self._setting("TumblingWindowInSeconds", 0)) * 1000
        if window_ms and batch.window_start is not None:
            # The KinesisTimeWindowEvent / DynamodbTimeWindowEvent shape ([LDG] with-kinesis.md,
            # Time windows). INFERENCE: windows are aligned on multiples of their length since the
            # epoch (the documented example window is 07:04:00Z-07:06:00Z for 120 s).
            event["window"] = {
                "start": _iso_s(batch.window_start),
                "end": _iso_s(batch.window_start + window_ms),
            }
            event["state"] = lane.window_state
            event["shardId"] = shard.shard_id
            event["eventSourceARN"] = self.source.arn
            event["isFinalInvokeForWindow"] = batch.final
            event["isWindowTerminatedEarly"] = batch.terminated_early
        return event

    def _judge(self, batch: _Batch, result: InvocationResult) -> _Outcome:
        """Read the response as Lambda does (spec §7, appendix (d); [LDG] batch failure reporting)."""
        if not result.ok:
            return _Outcome(False, function_error=True)
        response = result.payload_json()
        outcome = _Outcome(True)
        if int(self._setting("TumblingWindowInSeconds", 0)):
            # "If the response does not contain a state property, Lambda considers this a failed
            # invocation." INFERENCE: the state must be a JSON object (a map, as documented).
            if not isinstance(response, dict) or not isinstance(response.get("state"), dict):
                return _Outcome(False)
            outcome.state, outcome.has_state = response["state"], True
        if batch.final or "ReportBatchItemFailures" not in (
            self.mapping.config.get("FunctionResponseTypes") or []
        ):
            return outcome
        failed = _failed_positions(response, [record.sequence_number for record in batch.records])
        if failed is None:
            return _Outcome(False, state=outcome.state, has_state=outcome.has_state)
        if failed:
            self.history.note(
                "batch_item_failures",
                function_name=self.mapping.function.name,
                request_id=result.request_id,
                count=len(failed),
            )
            return _Outcome(
                False, split_at=min(failed), state=outcome.state, has_state=outcome.has_state
            )
        return outcome

    def _settle(
        self, shard: _Shard, lane: _Lane, batch: _Batch, outcome: _Outcome, now_ms: int
    ) -> None:
        """Checkpoint, split, retry or discard after an invocation."""
        if outcome.ok and self._checkpoint_lost(lane, batch):
            return
        if outcome.has_state and not batch.final:
            self._keep_state(lane, batch, outcome.state)
        if outcome.ok:
            lane.batches.popleft()
            if batch.final:
                self._close_window(lane, batch)
            elif batch.records:
                age = now_ms - batch.records[-1].arrival_ms
                # [LDG]: IteratorAge is emitted when the function finishes processing a batch.
                put_metric(
                    self.controller, self.mapping.function, "IteratorAge", age, "Milliseconds"
                )
            return
        bisect = bool(self._setting("BisectBatchOnFunctionError", False))
        if outcome.split_at:
            # Records before the lowest reported failure are done: retry from there ([LDG]).
            batch.records = batch.records[outcome.split_at :]
            if bisect:
                # "the batch is bisected at the returned sequence number and Lambda retries only
                # the remaining records"; splitting does not count towards the retry quota.
                self.history.note(
                    "bisected",
                    function_name=self.mapping.function.name,
                    request_id=batch.request_id,
                    count=len(batch.records) + outcome.split_at,
                    retrying=len(batch.records),
                    attempt=batch.invocations + 1,
                )
                batch.due_ms = now_ms
                return
        elif outcome.function_error and bisect and len(batch.records) > 1:
            # "If your invocation fails and BisectBatchOnFunctionError is turned on, the batch is
            # bisected regardless of your ReportBatchItemFailures setting" ([LDG]).
            middle = len(batch.records) // 2
            self.history.note(
                "bisected",
                function_name=self.mapping.function.name,
                request_id=batch.request_id,
                count=len(batch.records),
                first=middle,
                second=len(batch.records) - middle,
                attempt=batch.invocations + 1,
            )
            second = _Batch(
                batch.records[middle:],
                window_start=batch.window_start,
                invocations=batch.invocations,
                retries=batch.retries,
                due_ms=now_ms,
                result=batch.result,
                status=batch.status,
                request_id=batch.request_id,
                faults=batch.faults,
            )
            batch.records = batch.records[:middle]
            batch.due_ms = now_ms
            lane.batches.insert(1, second)
            return
        maximum = int(self._setting("MaximumRetryAttempts", -1))
        if 0 <= maximum <= batch.retries:
            lane.batches.popleft()
            if batch.final:
                self._drop_window(shard, lane, batch, RETRY_ATTEMPTS_EXHAUSTED)
            else:
                self._discard(shard, batch, batch.records, RETRY_ATTEMPTS_EXHAUSTED, now_ms)
            return
        batch.retries += 1
        batch.due_ms = self._capped_due(batch, now_ms + _backoff_ms(batch.retries))
        cause = "function error" if outcome.function_error else "batch failure"
        self.history.note(
            "retry_scheduled",
            function_name=self.mapping.function.name,
            request_id=batch.request_id,
            at=batch.due_ms,
            attempt=batch.invocations + 1,
            reason=f"{cause}, retry {batch.retries}" + (f" of {maximum}" if maximum >= 0 else ""),
        )

    def _checkpoint_lost(self, lane: _Lane, batch: _Batch) -> bool:
        """Whether an injected duplicate delivery makes a successful batch come again: it is
        replaced by a fresh copy of its records, invoked next (see ..faults.duplicate_stream)."""
        fn = self.mapping.function
        if batch.final or not batch.records:
            return False
        if not duplicate_stream(self.controller, fn, batch.request_id):
            return False
        lane.batches[0] = _Batch(
            batch.records,
            window_start=batch.window_start,
            due_ms=batch.due_ms,
            faults=(DUPLICATE_DELIVERY,),
        )
        return True

    def _wait(self, lane: _Lane, batch: _Batch, now_ms: int, reason: str) -> None:
        """Try again later without counting a retry (throttles and pre-invoke errors)."""
        batch.waits += 1
        batch.due_ms = self._capped_due(batch, now_ms + _backoff_ms(batch.waits))
        self.history.note(
            "retry_scheduled",
            function_name=self.mapping.function.name,
            at=batch.due_ms,
            attempt=batch.invocations + 1,
            reason=reason,
        )

    def _capped_due(self, batch: _Batch, due_ms: int) -> int:
        """Never wait past the moment the batch's oldest record ages out, so it is seen at once."""
        if batch.final:
            oldest = self._window_end(batch)
        elif batch.records:
            oldest = batch.records[0].arrival_ms
        else:
            return due_ms
        return min(due_ms, oldest + self._age_limit_ms() + 1)

    def _window_end(self, batch: _Batch) -> int:
        window_ms = int(self._setting("TumblingWindowInSeconds", 0)) * 1000
        return (batch.window_start or 0) + window_ms

    # -- tumbling windows ----------------------------------------------------------------------------
    def _keep_state(self, lane: _Lane, batch: _Batch, state: Any) -> None:
        lane.window_start = batch.window_start
        lane.window_state = state
        if _json_size(state) > MAX_WINDOW_STATE_BYTES:
            # INFERENCE: the early termination is a final invocation flagged
            # isWindowTerminatedEarly; the same window then continues with a fresh state.
            lane.terminate_early = True

    def _drop_window(self, shard: _Shard, lane: _Lane, batch: _Batch, condition: str) -> None:
        """Give up a final invocation: no records to report, the window's state is lost."""
        self.history.note(
            "dropped",
            function_name=self.mapping.function.name,
            request_id=batch.request_id,
            reason=f"window state discarded ({condition})",
            shard=shard.shard_id,
        )
        self._close_window(lane, batch)

    @staticmethod
    def _close_window(lane: _Lane, batch: _Batch) -> None:
        lane.window_state = {}
        lane.terminate_early = False
        if not batch.terminated_early:
            lane.window_start = None

    # -- discarding ----------------------------------------------------------------------------------
    def _discard(
        self,
        shard: _Shard,
        batch: _Batch,
        records: list[_Record],
        condition: str,
        now_ms: int,
    ) -> None:
        """Send the OnFailure record for ``records`` (if a destination is set) and move on."""
        fn = self.mapping.function
        destination = self._on_failure_destination()
        if destination:
            failure = self._failure_record(shard, batch, records, condition, now_ms)
            if destination.split(":")[2] == "s3":
                # "For Amazon S3 destinations, Lambda also sends the entire invocation record
                # along with the metadata" ([DOCS] kinesis-on-failure-destination).
                failure["payload"] = {"Records": [record.event for record in records]}
            try:
                deliver_record(
                    self.controller,
                    destination,
                    failure,
                    fn=fn,
                    success=False,
                    s3_prefix=f"aws/lambda/{self.mapping.uuid}/{shard.shard_id}",
                )
            except DeliveryFailed as error:
                put_metric(self.controller, fn, "DestinationDeliveryFailures", 1)
                self.history.note(
                    "delivery_failed",
                    function_name=fn.name,
                    request_id=failure["requestContext"]["requestId"],
                    destination=destination,
                    reason=str(error),
                )
            else:
                self.history.note(
                    "delivered",
                    function_name=fn.name,
                    request_id=failure["requestContext"]["requestId"],
                    destination=destination,
                    condition=condition,
                    record=failure,
                )
        self.history.note(
            "dropped",
            function_name=fn.name,
            request_id=batch.request_id,
            reason=condition,
            count=len(records),
            shard=shard.shard_id,
        )

    def _failure_record(
        self,
        shard: _Shard,
        batch: _Batch,
        records: list[_Record],
        condition: str,
        now_ms: int,
    ) -> dict[str, Any]:
        """The OnFailure record, keys in the recorded order (spec §7 and appendix (d))."""
        fn = self.mapping.function
        # INFERENCE from the recorded counts (8 while retrying, 1 before the first invocation):
        # for aged-out records the count includes the attempt that found them too old.
        aged = condition == RECORD_AGE_EXCEEDED
        count = batch.invocations + 1 if aged else batch.invocations
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": batch.request_id or str(uuid.uuid4()),
                "functionArn": fn.unqualified_arn,
                "condition": condition,
                "approximateInvokeCount": count,
            }
        }
        if condition != RECORD_AGE_EXCEEDED and batch.result is not None:
            # A function error gives "Unhandled"; a failure reported in the response gives null.
            record["responseContext"] = {
                "statusCode": batch.status,
                "executedVersion": batch.result.executed_version,
                "functionError": batch.result.function_error,
            }
        record["version"] = "1.0"
        record["timestamp"] = iso_ms(now_ms)
        record[self.source.batch_info_key] = {
            "shardId": shard.shard_id,
            "startSequenceNumber": records[0].sequence_number,
            "endSequenceNumber": records[-1].sequence_number,
            "approximateArrivalOfFirstRecord": self.source.arrival_text(records[0].arrival_ms),
            "approximateArrivalOfLastRecord": self.source.arrival_text(records[-1].arrival_ms),
            "batchSize": len(records),
            "streamArn": getattr(self.source, "stream_arn", self.source.arn),
        }
        return record


def _failed_positions(response: Any, sequence_numbers: list[str]) -> list[int] | None:
    """Positions of the reported failures in the batch; ``[]`` for success, ``None`` for a
    complete failure.

    Success: ``null``, ``""``, ``[]``, ``{}``, ``{"batchItemFailures": []}`` or ``null`` (recorded).
    Complete failure: an identifier that is empty, null, not a string, or missing ("a bad key
    name") (recorded). INFERENCE: any other response that is not an object, and an identifier
    that is not a sequence number of the batch, are complete failures too.
    """
    if not response:
        return []
    if not isinstance(response, dict):
        return None
    items = response.get("batchItemFailures")
    if not items:
        return []
    if not isinstance(items, list):
        return None
    index = {number: position for position, number in enumerate(sequence_numbers)}
    positions = []
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in index:
            return None
        positions.append(index[identifier])
    return positions


def _backoff_ms(count: int) -> int:
    return int(min(RETRY_BACKOFF_FIRST_MS * 2 ** (count - 1), RETRY_BACKOFF_MAX_MS))


def _iso_s(epoch_ms: int) -> str:
    return to_datetime(epoch_ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch_ms(value: Any) -> int | None:
    """``StartingPositionTimestamp`` as stored by the mapping API (datetime or epoch seconds)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return round(moment.timestamp() * 1000)
    if isinstance(value, int | float):
        return round(float(value) * 1000)
    try:
        return round(datetime.fromisoformat(str(value)).timestamp() * 1000)
    except ValueError:
        return round(float(value) * 1000)
