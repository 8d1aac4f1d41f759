"""What the mock observed: the attempt history, the timeline, and CloudWatch metrics in moto.

This module records and reports; it never changes behaviour. Every attempt of every trigger goes
through :meth:`History.start_attempt`/:meth:`History.finish_attempt`, and every decision the mock
takes (queued, retry scheduled, throttled, delivered, dropped …) through :meth:`History.note`, so
``lam.invocations()`` and ``lam.timeline()`` tell the whole story in virtual-time order.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .clock import to_datetime

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController
    from .runtime import InvocationResult

__all__ = ["Attempt", "History", "TimelineEntry", "put_metric"]

#: The triggers an attempt can come from.
TRIGGERS = ("sync", "async", "sqs", "kinesis", "dynamodb", "sns", "events", "s3", "destination")


@dataclass
class Attempt:
    """One run of a handler, as ``lam.invocations()`` lists it."""

    request_id: str
    function_name: str
    qualifier: str | None
    trigger: str
    attempt: int
    event: Any
    started_at: datetime
    result: InvocationResult | None = None

    @property
    def ok(self) -> bool | None:
        return None if self.result is None else self.result.ok

    @property
    def response(self) -> Any:
        """The handler's return value, or the error payload for a failed attempt."""
        return None if self.result is None else self.result.payload_json()

    @property
    def error_type(self) -> str | None:
        return None if self.result is None else self.result.error_type

    @property
    def duration_ms(self) -> float | None:
        return None if self.result is None else self.result.duration_ms


@dataclass
class TimelineEntry:
    """One thing the mock did, at a virtual time."""

    at: datetime
    kind: str
    function_name: str | None
    request_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        stamp = self.at.strftime("%H:%M:%S.") + f"{self.at.microsecond // 1000:03d}"
        who = f" {self.function_name}" if self.function_name else ""
        rid = f" [{self.request_id[:8]}]" if self.request_id else ""
        extra = " ".join(f"{k}={_short(v)}" for k, v in self.detail.items())
        return f"{stamp}{who}{rid} {self.kind}" + (f" {extra}" if extra else "")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


class History:
    """Per-controller record of attempts and decisions."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self.attempts: list[Attempt] = []
        self.entries: list[TimelineEntry] = []
        self._lock = threading.Lock()

    def start_attempt(
        self,
        fn: ResolvedFunction,
        payload: bytes,
        *,
        trigger: str,
        attempt: int,
        request_id: str | None = None,
    ) -> Attempt:
        try:
            event = json.loads(payload) if payload else {}
        except ValueError:
            event = payload.decode("utf-8", "replace")
        record = Attempt(
            request_id or "",
            fn.name,
            fn.qualifier,
            trigger,
            attempt,
            event,
            self.controller.now(),
        )
        with self._lock:
            self.attempts.append(record)
        return record

    def finish_attempt(self, record: Attempt, result: InvocationResult) -> None:
        record.result = result
        record.request_id = result.request_id
        detail: dict[str, Any] = {"trigger": record.trigger, "attempt": record.attempt}
        if result.ok:
            self.note(
                "succeeded",
                function_name=record.function_name,
                request_id=result.request_id,
                **detail,
            )
        else:
            detail["error"] = f"{result.error_type}: {result.error_message}"
            self.note(
                "failed", function_name=record.function_name, request_id=result.request_id, **detail
            )

    def note(
        self,
        kind: str,
        *,
        function_name: str | None = None,
        request_id: str | None = None,
        **detail: Any,
    ) -> TimelineEntry:
        entry = TimelineEntry(self.controller.now(), kind, function_name, request_id, detail)
        with self._lock:
            self.entries.append(entry)
        return entry

    def invocations(self, function_name: str | None = None) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if function_name in (None, a.function_name)]

    def render(self) -> str:
        with self._lock:
            return "\n".join(entry.render() for entry in self.entries)


def put_metric(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    name: str,
    value: float,
    unit: str = "Count",
) -> None:
    """Emit one ``AWS/Lambda`` datapoint into moto CloudWatch at the current virtual time.

    Lambda publishes each metric per ``FunctionName`` and, for qualified invocations, per
    ``Resource`` (``name:qualifier``) as well.
    """
    from moto.cloudwatch.models import cloudwatch_backends

    backend = cloudwatch_backends[fn.account_id][fn.region]
    timestamp = to_datetime(controller.clock.now_ms())
    dimension_sets = [[{"Name": "FunctionName", "Value": fn.name}]]
    if fn.qualifier:
        dimension_sets.append(
            [
                {"Name": "FunctionName", "Value": fn.name},
                {"Name": "Resource", "Value": f"{fn.name}:{fn.qualifier}"},
            ]
        )
    backend.put_metric_data(
        "AWS/Lambda",
        [
            {
                "MetricName": name,
                "Value": value,
                "Unit": unit,
                "Timestamp": timestamp,
                "Dimensions": dims,
            }
            for dims in dimension_sets
        ],
    )
