"""What the mock observed: the attempt history, the timeline, and CloudWatch metrics in moto.

This module records and reports; it never changes behaviour. Every attempt of every trigger goes
through :meth:`History.start_attempt`/:meth:`History.finish_attempt`, and every decision the mock
takes (queued, retry scheduled, throttled, delivered, dropped …) through :meth:`History.note` with a
word from :class:`Kind`, so ``lam.invocations()`` and ``lam.timeline()`` tell the whole story in
virtual-time order.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, overload

from .clock import to_datetime

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController
    from .runtime import InvocationResult

__all__ = [
    "KINDS",
    "TRIGGERS",
    "Attempt",
    "History",
    "Kind",
    "Timeline",
    "TimelineEntry",
    "put_metric",
]

#: The triggers an attempt can come from.
TRIGGERS = ("sync", "async", "sqs", "kinesis", "dynamodb", "sns", "events", "s3", "destination")


class Kind:
    """The vocabulary of :meth:`History.note`: one word per kind of thing the mock does.

    Engines record with these constants so the timeline, and the assertion helpers reading it,
    speak one language. Each kind lists the detail keywords its line shows; other keywords are
    kept and shown as ``key=value``. ``qualifier`` is shown after the function name. ``at`` is a
    virtual time: epoch milliseconds (the scheduler's unit) or a datetime. ``record``, ``payload``
    and ``event`` are kept on the entry but never printed (they can be large).
    """

    #: An event entered Lambda's internal async queue. ``trigger``; optional ``source`` (an ARN).
    QUEUED: Final = "queued"
    #: An attempt began. ``trigger``, ``attempt``. History records it; when the attempt ends at the
    #: same virtual time, the SUCCEEDED/FAILED entry takes its place, so it shows only for attempts
    #: that last (virtual duration) or never ended.
    STARTED: Final = "started"
    #: An attempt returned without a function error. ``trigger``, ``attempt`` (History does it).
    SUCCEEDED: Final = "succeeded"
    #: An attempt ended in a function error. ``trigger``, ``attempt``, ``error`` (History does it).
    FAILED: Final = "failed"
    #: The event will be tried again. ``at``, ``attempt`` (the next attempt's number), ``reason``.
    RETRY_SCHEDULED: Final = "retry_scheduled"
    #: An invocation was refused for lack of concurrency. ``trigger``, ``reason``.
    THROTTLED: Final = "throttled"
    #: An invocation record reached a destination. ``destination`` (ARN), ``condition``, ``record``.
    DELIVERED: Final = "delivered"
    #: Sending a record to a destination failed. ``destination``, ``reason``.
    DELIVERY_FAILED: Final = "delivery_failed"
    #: A failed event was sent to the function's dead-letter queue. ``destination`` (ARN), ``payload``.
    DEAD_LETTERED: Final = "dead_lettered"
    #: Sending to the dead-letter queue failed (Lambda then deletes the event). ``destination``, ``reason``.
    DEAD_LETTER_FAILED: Final = "dead_letter_failed"
    #: The event is gone without a successful run (after any DLQ/destination). ``reason``.
    DROPPED: Final = "dropped"
    #: An event source mapping read a batch. ``source`` (ARN), ``count``.
    POLLED: Final = "polled"
    #: A mapping's FilterCriteria discarded records. ``source``, ``count``.
    FILTERED: Final = "filtered"
    #: A batch response reported partial failures. ``count`` (failed items).
    BATCH_ITEM_FAILURES: Final = "batch_item_failures"
    #: A failed stream batch was split. ``count`` (records in the failed batch); ``first`` and
    #: ``second`` (the halves' sizes), or ``retrying`` (the records from the first one a partial
    #: response reported); ``attempt`` (the number the next attempt of each part gets: a stream
    #: attempt counts every invocation its records went through, splits included).
    BISECTED: Final = "bisected"
    #: A fault injected with ``lam.faults`` took effect. ``fault`` (``duplicate_delivery``,
    #: ``throttle``, ``service_error``, ``delivery_failure``, ``timeout``); ``trigger`` where it
    #: applies to one (``sync``, ``async``, ``sqs``); ``reason`` (throttle reason, error code),
    #: ``destination`` (delivery failures), ``message_id`` (SQS duplicates).
    FAULT: Final = "fault"


#: Every kind :class:`Kind` defines.
KINDS: tuple[str, ...] = tuple(
    value for name, value in vars(Kind).items() if name.isupper() and isinstance(value, str)
)

#: Detail keys kept on entries but never rendered.
_HIDDEN = frozenset({"record", "payload", "event"})

#: A timeline entry as :class:`History` keeps it: ``(at, kind, function_name, request_id,
#: detail items)``. A tuple of a datetime, strings and tuples of scalars holds nothing the garbage
#: collector tracks, so after a young collection it stops tracking the tuple too: a drain of
#: 100,000 messages leaves some 50,000 entries behind, and as objects they alone were enough to
#: set off a full collection of the whole heap. :class:`TimelineEntry` objects are made on reading.
_Items = tuple[tuple[str, Any], ...]
_Row = tuple[datetime, str, str | None, str | None, _Items]


@dataclass(frozen=True, slots=True, repr=False)
class Attempt:
    """One run of a handler, as ``lam.invocations()`` lists it (a read-only snapshot).

    ``started_at``/``finished_at`` are virtual times (equal unless the attempt was given a virtual
    duration); ``duration_ms`` is the real time the handler ran. ``result`` and ``finished_at`` are
    ``None`` while the attempt is running.
    ``event`` is decoded from the stored payload on each access, so changing it changes nothing.
    ``faults`` names the injected faults (``lam.faults``) that shaped the attempt, e.g.
    ``("timeout",)`` or ``("duplicate_delivery",)`` for a second delivery.
    """

    request_id: str
    function_name: str
    qualifier: str | None
    function_arn: str
    trigger: str
    attempt: int
    payload: bytes
    started_at: datetime
    result: InvocationResult | None = None
    finished_at: datetime | None = None
    faults: tuple[str, ...] = ()

    @property
    def event(self) -> Any:
        """The event the handler received (decoded like the runtime decodes it)."""
        return _decode(self.payload)

    @property
    def finished(self) -> bool:
        return self.result is not None

    @property
    def ok(self) -> bool | None:
        """``True`` if the handler returned, ``False`` on a function error, ``None`` while running."""
        return None if self.result is None else self.result.ok

    @property
    def response(self) -> Any:
        """The handler's return value, or the error payload Lambda returns for a failed attempt."""
        return None if self.result is None else self.result.payload_json()

    @property
    def error_type(self) -> str | None:
        return None if self.result is None else self.result.error_type

    @property
    def error_message(self) -> str | None:
        return None if self.result is None else self.result.error_message

    @property
    def error(self) -> str | None:
        """``"ValueError: boom"`` for a failed attempt, else ``None``."""
        if self.result is None or self.result.ok:
            return None
        return (
            f"{self.result.error_type or self.result.function_error}: {self.result.error_message}"
        )

    @property
    def duration_ms(self) -> float | None:
        return None if self.result is None else self.result.duration_ms

    @property
    def log(self) -> str:
        """The execution log (``START``/``END``/``REPORT`` lines and the handler's output)."""
        return "" if self.result is None else self.result.log

    def __repr__(self) -> str:
        name = f"{self.function_name}:{self.qualifier}" if self.qualifier else self.function_name
        if self.result is None:
            outcome = "running"
        else:
            outcome = "succeeded" if self.result.ok else f"failed ({self.error})"
        if self.faults:
            outcome += f" [injected: {', '.join(self.faults)}]"
        return (
            f"<Attempt {name} {self.trigger} #{self.attempt} {outcome} "
            f"request_id={self.request_id!r} at {_stamp(self.started_at)}>"
        )


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing the mock did, at a virtual time. ``detail`` is read-only."""

    at: datetime
    kind: str
    function_name: str | None
    request_id: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", MappingProxyType(dict(self.detail)))

    @classmethod
    def _sharing(
        cls,
        at: datetime,
        kind: str,
        function_name: str | None,
        request_id: str | None,
        detail: MappingProxyType[str, Any],
    ) -> TimelineEntry:
        """An entry reusing a read-only ``detail`` that :class:`History` shares between entries."""
        entry = object.__new__(cls)
        object.__setattr__(entry, "at", at)
        object.__setattr__(entry, "kind", kind)
        object.__setattr__(entry, "function_name", function_name)
        object.__setattr__(entry, "request_id", request_id)
        object.__setattr__(entry, "detail", detail)
        return entry

    @classmethod
    def _of(cls, row: _Row) -> TimelineEntry:
        """The entry :class:`History` stored as ``row``."""
        at, kind, function_name, request_id, items = row
        return cls._sharing(at, kind, function_name, request_id, MappingProxyType(dict(items)))

    def _row(self) -> _Row:
        return (self.at, self.kind, self.function_name, self.request_id, _items(self.detail))

    def describe(self) -> str:
        """What happened, without the time and the function (``attempt 2 failed: ValueError: x``)."""
        detail = {k: v for k, v in self.detail.items() if k not in _HIDDEN and k != "qualifier"}
        renderer = _RENDERERS.get(self.kind)
        if renderer is not None:
            # A renderer tripping over an odd value falls back to the generic form below.
            with contextlib.suppress(Exception):
                return renderer(dict(detail), self.at)
        text = self.kind.replace("_", " ")
        extra = " ".join(f"{key}={_short(value)}" for key, value in detail.items())
        return f"{text} {extra}" if extra else text

    def render(self) -> str:
        """One line: ``12:00:01.000 orders [3f2a9c1e…] async attempt 2 failed: ValueError: boom``."""
        parts = [_clock(self.at)]
        if self.function_name:
            qualifier = self.detail.get("qualifier")
            parts.append(f"{self.function_name}:{qualifier}" if qualifier else self.function_name)
        if self.request_id:
            short = self.request_id[:8]
            parts.append(f"[{short}…]" if len(self.request_id) > 8 else f"[{short}]")
        parts.append(self.describe())
        return " ".join(parts)

    def __str__(self) -> str:
        return self.render()


class Timeline(Sequence[TimelineEntry]):
    """An ordered, read-only account of what the mock did; ``str()`` gives the readable text.

    Iterate it for :class:`TimelineEntry` objects, or narrow it with :meth:`select`. Times are
    virtual and UTC; a line with the date opens the text and marks each new day.
    """

    def __init__(self, entries: Iterable[TimelineEntry] = ()) -> None:
        self._rows: tuple[_Row, ...] = tuple(entry._row() for entry in entries)

    @classmethod
    def _of_rows(cls, rows: Iterable[_Row]) -> Timeline:
        timeline = cls()
        timeline._rows = tuple(rows)
        return timeline

    @overload
    def __getitem__(self, index: int) -> TimelineEntry: ...
    @overload
    def __getitem__(self, index: slice) -> Timeline: ...
    def __getitem__(self, index: int | slice) -> TimelineEntry | Timeline:
        if isinstance(index, slice):
            return Timeline._of_rows(self._rows[index])
        return TimelineEntry._of(self._rows[index])

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[TimelineEntry]:
        return map(TimelineEntry._of, self._rows)

    def select(
        self,
        kind: str | None = None,
        *,
        function_name: str | None = None,
        request_id: str | None = None,
    ) -> Timeline:
        """The entries of one ``kind`` and/or one function (name or ARN) and/or one request id."""
        name = function_name_of(function_name) if function_name else None
        return Timeline._of_rows(
            row
            for row in self._rows
            if kind in (None, row[1]) and name in (None, row[2]) and request_id in (None, row[3])
        )

    def __str__(self) -> str:
        if not self._rows:
            return "(nothing recorded)"
        entries = list(self)
        lines: list[str] = []
        day: date | None = None
        index = 0
        while index < len(entries):
            entry = entries[index]
            if entry.at.date() != day:
                day = entry.at.date()
                suffix = " (virtual time, UTC)" if not lines else ""
                lines.append(f"{day.isoformat()}{suffix}")
            line = entry.render()
            follower = entries[index + 1] if index + 1 < len(entries) else None
            if follower is not None and _continues(entry, follower):
                line = f"{line}; {follower.describe()}"
                index += 1
            lines.append(line)
            index += 1
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Timeline of {len(self._rows)} entries>"


def _continues(entry: TimelineEntry, follower: TimelineEntry) -> bool:
    """A retry scheduled right after the failure or throttle it answers reads as one line."""
    return (
        entry.kind in (Kind.FAILED, Kind.THROTTLED)
        and follower.kind == Kind.RETRY_SCHEDULED
        and follower.request_id == entry.request_id
        and follower.function_name == entry.function_name
        and follower.at == entry.at
    )


# -- rendering ------------------------------------------------------------------------------------
def _clock(at: datetime) -> str:
    return at.strftime("%H:%M:%S.") + f"{at.microsecond // 1000:03d}"


def _stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%d} {_clock(at)}"


def _short(value: Any) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _when(value: Any, ref: datetime) -> str:
    """A detail time (epoch ms or datetime) on the timeline's clock; the date only if it differs."""
    if isinstance(value, int) and not isinstance(value, bool):
        at = to_datetime(value)
    elif isinstance(value, datetime):
        at = value
    else:
        return _short(value)
    return _clock(at) if at.date() == ref.date() else _stamp(at)


def _plural(count: Any, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _tail(detail: dict[str, Any]) -> str:
    """Keywords no renderer used, shown so nothing an engine records is hidden."""
    return "".join(f" {key}={_short(value)}" for key, value in detail.items())


def _attempt_words(detail: dict[str, Any]) -> str:
    trigger = detail.pop("trigger", None)
    number = detail.pop("attempt", None)
    words = "attempt" if number is None else f"attempt {number}"
    return f"{trigger} {words}" if trigger else words


def _reason(detail: dict[str, Any], key: str = "reason") -> str:
    value = detail.pop(key, None)
    return "" if value is None else f": {_short(value)}"


def _render_queued(d: dict[str, Any], at: datetime) -> str:
    trigger = d.pop("trigger", None)
    source = d.pop("source", None)
    how = " ".join(str(part) for part in (trigger, source and f"from {source}") if part)
    return ("queued" + (f" ({how})" if how else "")) + _tail(d)


def _render_started(d: dict[str, Any], at: datetime) -> str:
    return f"{_attempt_words(d)} started" + _tail(d)


def _render_succeeded(d: dict[str, Any], at: datetime) -> str:
    return f"{_attempt_words(d)} succeeded" + _tail(d)


def _render_failed(d: dict[str, Any], at: datetime) -> str:
    return f"{_attempt_words(d)} failed" + _reason(d, "error") + _tail(d)


def _render_retry(d: dict[str, Any], at: datetime) -> str:
    when = d.pop("at", None)
    number = d.pop("attempt", None)
    text = "retry" + (f" at {_when(when, at)}" if when is not None else "")
    text += f" (attempt {number})" if number is not None else ""
    return text + _reason(d) + _tail(d)


def _render_throttled(d: dict[str, Any], at: datetime) -> str:
    trigger = d.pop("trigger", None)
    return "throttled" + (f" ({trigger})" if trigger else "") + _reason(d) + _tail(d)


def _render_delivered(d: dict[str, Any], at: datetime) -> str:
    destination = d.pop("destination", "?")
    condition = d.pop("condition", None)
    return (
        f"delivered to destination {destination}"
        + (f" ({condition})" if condition else "")
        + _tail(d)
    )


def _render_delivery_failed(d: dict[str, Any], at: datetime) -> str:
    destination = d.pop("destination", "?")
    return f"delivery to destination {destination} failed" + _reason(d) + _tail(d)


def _render_dead_lettered(d: dict[str, Any], at: datetime) -> str:
    return f"sent to DLQ {d.pop('destination', '?')}" + _tail(d)


def _render_dead_letter_failed(d: dict[str, Any], at: datetime) -> str:
    return f"sending to DLQ {d.pop('destination', '?')} failed" + _reason(d) + _tail(d)


def _render_dropped(d: dict[str, Any], at: datetime) -> str:
    return "dropped" + _reason(d) + _tail(d)


def _render_polled(d: dict[str, Any], at: datetime) -> str:
    source = d.pop("source", None)
    text = f"polled {_plural(d.pop('count', '?'), 'record')}"
    return text + (f" from {source}" if source else "") + _tail(d)


def _render_filtered(d: dict[str, Any], at: datetime) -> str:
    source = d.pop("source", None)
    text = f"filtered out {_plural(d.pop('count', '?'), 'record')}"
    return text + (f" from {source}" if source else "") + _tail(d)


def _render_batch_item_failures(d: dict[str, Any], at: datetime) -> str:
    return f"reported {_plural(d.pop('count', '?'), 'failed item')}" + _tail(d)


def _render_bisected(d: dict[str, Any], at: datetime) -> str:
    text = f"split the failed batch of {_plural(d.pop('count', '?'), 'record')}"
    first, second, retrying = d.pop("first", None), d.pop("second", None), d.pop("retrying", None)
    number = d.pop("attempt", None)
    if first is not None and second is not None:
        text += f" into {first} + {second}" + (
            f", each tried next as attempt {number}" if number else ""
        )
    elif retrying is not None:
        text += f" at the first reported failure: the last {retrying} tried next" + (
            f" as attempt {number}" if number else ""
        )
    else:
        text += " in two"
    # Attempt numbers count every invocation of the records; a split uses none of the retries.
    return text + (" (a split uses no retry)" if number else "") + _tail(d)


def _render_fault(d: dict[str, Any], at: datetime) -> str:
    fault = str(d.pop("fault", "?")).replace("_", " ")
    trigger = d.pop("trigger", None)
    destination = d.pop("destination", None)
    text = f"injected fault: {fault}" + (f" ({trigger})" if trigger else "")
    return text + (f" at {destination}" if destination else "") + _reason(d) + _tail(d)


_RENDERERS: dict[str, Callable[[dict[str, Any], datetime], str]] = {
    Kind.QUEUED: _render_queued,
    Kind.STARTED: _render_started,
    Kind.SUCCEEDED: _render_succeeded,
    Kind.FAILED: _render_failed,
    Kind.RETRY_SCHEDULED: _render_retry,
    Kind.THROTTLED: _render_throttled,
    Kind.DELIVERED: _render_delivered,
    Kind.DELIVERY_FAILED: _render_delivery_failed,
    Kind.DEAD_LETTERED: _render_dead_lettered,
    Kind.DEAD_LETTER_FAILED: _render_dead_letter_failed,
    Kind.DROPPED: _render_dropped,
    Kind.POLLED: _render_polled,
    Kind.FILTERED: _render_filtered,
    Kind.BATCH_ITEM_FAILURES: _render_batch_item_failures,
    Kind.BISECTED: _render_bisected,
    Kind.FAULT: _render_fault,
}


def _decode(payload: bytes) -> Any:
    """An event as the runtime hands it to the handler (``{}`` for an empty payload)."""
    try:
        return json.loads(payload) if payload else {}
    except (ValueError, RecursionError):
        return payload.decode("utf-8", "replace")


# -- recording ------------------------------------------------------------------------------------
class History:
    """Per-controller record of attempts and decisions (``controller.state(History)``).

    Thread-safe: handlers that invoke functions from worker threads record concurrently. An
    attempt keeps the position it started at in both lists, so a timeline reads in start order
    even when a nested invocation finishes first.

    Compact: a test may queue 100,000 events, each leaving attempts and entries behind. Entries
    are kept as plain tuples (see ``_Row``); those recorded at the same virtual millisecond share
    one ``at`` datetime, and those whose detail holds only scalars (``{"trigger": "async",
    "attempt": 1}``) share one tuple of its items. Readers get each detail as a read-only mapping.
    """

    #: Distinct shared details kept before the cache starts over (bounds its memory).
    DETAIL_CACHE_SIZE = 4096

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self._attempts: list[Attempt] = []
        self._entries: list[_Row] = []
        #: id of a running attempt's token -> its index in (_attempts, _entries).
        self._running: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._at: tuple[int, datetime] | None = None
        self._details: dict[tuple[Any, ...], _Items] = {}

    def _now(self) -> datetime:
        """The virtual time now, one datetime object per millisecond."""
        now_ms = self.controller.clock.now_ms()
        at = self._at
        if at is None or at[0] != now_ms:
            at = self._at = (now_ms, to_datetime(now_ms))
        return at[1]

    def _entry(
        self,
        at: datetime,
        kind: str,
        function_name: str | None,
        request_id: str | None,
        detail: dict[str, Any],
    ) -> _Row:
        """A timeline entry; a detail of scalars is shared with earlier entries holding the same."""
        if not all(type(value) in _SCALARS for value in detail.values()):
            return (at, kind, function_name, request_id, _items(detail))
        # Types are part of the key: ``1``, ``1.0`` and ``True`` are equal but render differently.
        # By name, so the key holds only strings and scalars too (see ``_Row``).
        key = tuple([(name, type(value).__name__, value) for name, value in detail.items()])
        shared = self._details.get(key)
        if shared is None:
            if len(self._details) >= self.DETAIL_CACHE_SIZE:
                self._details.clear()
            shared = self._details[key] = _items(detail)
        return (at, kind, function_name, request_id, shared)

    @property
    def attempts(self) -> Sequence[Attempt]:
        """The live attempt list, in start order (for engines; tests use :meth:`invocations`).

        Append-only: a running attempt's slot is replaced by its finished snapshot, so an index
        stays valid and ``attempts[i].result is None`` means attempt ``i`` is still running.
        """
        return self._attempts

    def start_attempt(
        self,
        fn: ResolvedFunction,
        payload: bytes,
        *,
        trigger: str,
        attempt: int,
        request_id: str | None = None,
        faults: Iterable[str] = (),
    ) -> Attempt:
        """Record that a handler run begins; pass the returned token to :meth:`finish_attempt`.

        ``faults``: injected faults already known to shape this attempt (a duplicate delivery).
        """
        record = Attempt(
            request_id or "",
            fn.name,
            fn.qualifier,
            # One string per function, not one per attempt.
            sys.intern(fn.qualified_arn if fn.qualifier else fn.unqualified_arn),
            trigger,
            attempt,
            bytes(payload),
            self._now(),
            faults=tuple(faults),
        )
        entry = self._entry(
            record.started_at, Kind.STARTED, fn.name, request_id, _attempt_detail(record)
        )
        with self._lock:
            self._running[id(record)] = (len(self._attempts), len(self._entries))
            self._attempts.append(record)
            self._entries.append(entry)
        return record

    def finish_attempt(self, record: Attempt, result: InvocationResult) -> Attempt:
        """Record the attempt's outcome; returns the finished attempt.

        An attempt that ends at the virtual time it started reads as one line in its start place;
        one that lasted keeps its "started" line and gets its outcome at the time it ended.
        """
        now = self._now()
        faults = record.faults + tuple(f for f in result.faults if f not in record.faults)
        finished = replace(
            record, request_id=result.request_id, result=result, finished_at=now, faults=faults
        )
        detail = _attempt_detail(finished)
        if result.ok:
            kind = Kind.SUCCEEDED
        else:
            kind = Kind.FAILED
            detail["error"] = finished.error
        entry = self._entry(now, kind, record.function_name, result.request_id, detail)
        with self._lock:
            slot = self._running.pop(id(record), None)
            if slot is None:
                self._attempts.append(finished)
            else:
                self._attempts[slot[0]] = finished
            if slot is not None and now == record.started_at:
                self._entries[slot[1]] = entry
            else:
                self._entries.append(entry)
        return finished

    def note(
        self,
        kind: str,
        *,
        function_name: str | None = None,
        request_id: str | None = None,
        **detail: Any,
    ) -> TimelineEntry:
        """Record a decision; ``kind`` is one of :class:`Kind`'s words (see there for detail keys)."""
        entry = self._entry(self._now(), kind, function_name, request_id, detail)
        with self._lock:
            self._entries.append(entry)
        return TimelineEntry._of(entry)

    def invocations(self, function_name: str | None = None) -> list[Attempt]:
        """Every attempt in start order, optionally of one function (name or ARN)."""
        name = function_name_of(function_name) if function_name else None
        with self._lock:
            return [a for a in self._attempts if name in (None, a.function_name)]

    def timeline(self) -> Timeline:
        with self._lock:
            return Timeline._of_rows(self._entries)

    def render(self) -> str:
        return str(self.timeline())


def _items(detail: Mapping[str, Any]) -> _Items:
    """A detail as the tuple of its items; built from a list, so each item exists before the tuple
    (the collector untracks a tuple only after the tuples in it, in the order they were made)."""
    return tuple([(name, value) for name, value in detail.items()])


#: Detail value types an entry may share with other entries (immutable scalars).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _attempt_detail(record: Attempt) -> dict[str, Any]:
    detail: dict[str, Any] = {"trigger": record.trigger, "attempt": record.attempt}
    if record.qualifier:
        detail["qualifier"] = record.qualifier
    return detail


def function_name_of(value: str) -> str:
    """``name`` from a function name or ARN (``arn:aws:lambda:r:acct:function:name[:qualifier]``)."""
    if value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else value
    return value


class MotoWrites:
    """Log lines and metric datapoints on their way into moto, written when something may read them.

    moto keeps each line and datapoint as objects the garbage collector tracks; a drain of
    thousands of invocations made them all while it ran (a sixth of its time), though most tests
    never read them. They wait here, in order, as tuples of plain values (which the collector
    does not track, and which take less room than moto's objects), until the next AWS call (only
    a call reads moto's logs or metrics through boto3: the controller flushes before serving any)
    or the end of the activation.
    """

    def __init__(self, controller: LambdaAsyncController) -> None:
        self._pending: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def metric(self, fn: ResolvedFunction, name: str, value: float, unit: str, at_ms: int) -> None:
        dimensions = _dimension_set(fn)
        with self._lock:
            self._pending.append(
                (_METRIC, fn.account_id, fn.region, name, value, unit, at_ms, dimensions)
            )

    def log(
        self, fn: ResolvedFunction, group: str, stream: str, at_ms: int, lines: Sequence[str]
    ) -> None:
        """Queue ``lines`` for the log stream, unless the group has a subscription filter: moto
        delivers to its destination as it stores the events, and that belongs to this moment."""
        from moto.logs.models import logs_backends

        existing = logs_backends[fn.account_id][fn.region].groups.get(group)
        record = (_LOG, fn.account_id, fn.region, group, stream, at_ms, tuple(lines))
        if existing is not None and existing.subscription_filters:
            self.flush()  # what came before first
            _write(record)
            return
        with self._lock:
            self._pending.append(record)

    def flush(self) -> None:
        """Make every queued write, oldest first (writes queued meanwhile included)."""
        while True:
            with self._lock:
                if not self._pending:
                    return
                writes, self._pending = self._pending, []
            for record in writes:
                _write(record)


_METRIC, _LOG = "metric", "log"
#: One dimension set per function qualifier, shared by its queued datapoints.
_dimension_sets: dict[tuple[str, str | None, str | None, str], tuple[tuple[str, str], ...]] = {}


def _dimension_set(fn: ResolvedFunction) -> tuple[tuple[str, str], ...]:
    """The datapoint's dimensions (see :func:`put_metric`), as one shared tuple per qualifier."""
    alias = fn.version if fn.alias else None
    key = (fn.name, fn.qualifier, alias, fn.region)
    found = _dimension_sets.get(key)
    if found is None:
        dimensions = [("FunctionName", fn.name)]
        if fn.qualifier:
            dimensions.append(("Resource", f"{fn.name}:{fn.qualifier}"))
            if alias is not None:
                dimensions.append(("ExecutedVersion", alias))
        if len(_dimension_sets) >= _DIMENSION_LISTS_SIZE:
            _dimension_sets.clear()
        found = _dimension_sets[key] = tuple(dimensions)
    return found


def _write(record: tuple[Any, ...]) -> None:
    """Make one queued write in moto."""
    if record[0] == _METRIC:
        _, account_id, region, name, value, unit, at_ms, dimensions = record
        from moto.cloudwatch.models import cloudwatch_backends

        metrics = cloudwatch_backends[account_id][region]
        timestamp = _metric_timestamp(at_ms)
        listed = [{"Name": dimension, "Value": text} for dimension, text in dimensions]
        datum = {
            "MetricName": name,
            "Value": value,
            "Unit": unit,
            "Timestamp": timestamp,
            "Dimensions": listed,
        }
        metrics.put_metric_data("AWS/Lambda", [datum])
        _share_dimensions(metrics, name, timestamp, dimensions)
        return
    _, account_id, region, group_name, stream_name, at_ms, lines = record
    from moto.logs.models import logs_backends

    # Straight to the log group (not through ``PutLogEvents``): the virtual clock may be far from
    # the real one and ``PutLogEvents`` rejects events outside [now - 14 days, now + 2 hours];
    # Lambda's own writes are not subject to that window.
    logs = logs_backends[account_id][region]
    logs.ensure_log_group(group_name)
    group = logs.groups[group_name]
    if stream_name not in group.streams:
        group.create_log_stream(stream_name)
    group.put_log_events(stream_name, [{"timestamp": at_ms, "message": m} for m in lines])


def put_metric(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    name: str,
    value: float,
    unit: str = "Count",
) -> None:
    """Emit one ``AWS/Lambda`` datapoint into moto CloudWatch at the current virtual time.

    Lambda publishes each metric per ``FunctionName``, per ``FunctionName`` + ``Resource``
    (``name:qualifier``) for qualified invocations, plus ``ExecutedVersion`` for alias invocations,
    and account-wide without dimensions (the dimension sets of the ``AWS/Lambda`` metrics). moto
    answers a query with every datapoint whose dimensions *include* the requested ones, so one
    datapoint with the most specific set serves all of these queries with the right sums; writing
    one per set would count a qualified invocation twice under ``FunctionName``. The write itself
    waits in :class:`MotoWrites`.
    """
    controller.state(MotoWrites).metric(fn, name, value, unit, controller.clock.now_ms())


#: The last metric timestamp made, reused for every datapoint of the same virtual millisecond.
_last_timestamp: list[tuple[int, datetime]] = []
#: One list of moto ``Dimension`` objects per dimension set, shared by the datapoints that have it.
_dimension_lists: dict[tuple[tuple[str, str], ...], list[Any]] = {}
_DIMENSION_LISTS_SIZE = 1024


def _metric_timestamp(now_ms: int) -> datetime:
    """The datapoint's time: naive UTC, one object per virtual millisecond.

    moto keeps naive UTC datetimes (what its own parser produces) and compares them with the
    StartTime/EndTime of queries: an aware one would make get_metric_statistics fail.
    """
    last = _last_timestamp[0] if _last_timestamp else None
    if last is None or last[0] != now_ms:
        last = (now_ms, to_datetime(now_ms).replace(tzinfo=None))
        _last_timestamp[:] = [last]
    return last[1]


def _share_dimensions(
    backend: Any, name: str, timestamp: datetime, dimensions: tuple[tuple[str, str], ...]
) -> None:
    """Give the datapoint just stored an equal dimension list shared with earlier datapoints.

    moto builds new ``Dimension`` objects for every datapoint (about 180 bytes each); a test with
    100,000 async events stores several datapoints per event. moto only reads them, so datapoints
    with the same dimensions can share one list. The datapoint is recognised by its name and our
    own timestamp object; anything else (another thread's datapoint) is left as it is.
    """
    data = backend.metric_data
    datum = data[-1] if data else None
    if datum is None or datum.timestamp is not timestamp or datum.name != name:
        return
    if tuple((d.name, d.value) for d in datum.dimensions) != dimensions:
        return
    shared = _dimension_lists.get(dimensions)
    if shared is None:
        if len(_dimension_lists) >= _DIMENSION_LISTS_SIZE:
            _dimension_lists.clear()
        shared = _dimension_lists[dimensions] = datum.dimensions
        return
    datum.dimensions = shared


def put_invocation_metrics(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    result: InvocationResult,
    duration_ms: float | None = None,
) -> None:
    """``Invocations``, ``Duration`` and (for a function error) ``Errors`` of one attempt.

    Every trigger counts an attempt the same way; ``duration_ms`` overrides the measured duration
    when the attempt was given a virtual one.
    """
    put_metric(controller, fn, "Invocations", 1)
    duration = result.duration_ms if duration_ms is None else duration_ms
    put_metric(controller, fn, "Duration", duration, "Milliseconds")
    if not result.ok:
        put_metric(controller, fn, "Errors", 1)
