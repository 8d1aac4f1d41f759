"""Lambda's internal event queue for asynchronous invocations: retries, event age, throttling.

Every async producer (``Invoke`` with ``InvocationType=Event``, ``InvokeAsync``, SNS, EventBridge,
S3, Lambda destinations) hands its event to :func:`enqueue`. The event then lives on the
controller's virtual clock until it is accounted for: a successful run (and its OnSuccess record),
or a failure delivered to the OnFailure destination and/or the DLQ and counted in
``AsyncEventsDropped``. Each step is noted in the history.

Behaviour (spec §2, [DOCS] invocation-async-error-handling, [LS] recorded snapshots):

- *Function errors* (exceptions, timeouts, runtime errors) are retried 60 s after the first attempt
  ends and 120 s after the second, up to ``MaximumRetryAttempts`` (default 2). All attempts share
  the request id.
- *Event age*: when the next try would come at or after ``MaximumEventAgeInSeconds`` from queueing,
  the event is given up at once with condition ``EventAgeExceeded`` (recorded: age 60 gives 1
  attempt, age 90 gives 2).
- *Throttles* (no free concurrency, see :mod:`.concurrency`) put the event back with exponential
  backoff, 1 s doubling up to 5 min, without using a retry. INFERENCE: the same age rule applies.
- *Reserved concurrency 0*: the event goes straight to OnFailure/DLQ, condition
  ``ZeroReservedConcurrency``, ``approximateInvokeCount`` 0.
- *System errors* (5xx invoking the function) take the throttle's way back to the queue, with
  the same backoff ([DOCS] "For throttling errors (429) and system errors (500-series), Lambda
  returns the event to the queue"). Here they only come from fault injection.
- *At least once*: ``lam.faults.duplicate_async(...)`` makes the queue hand the next event(s) to
  the function twice; each copy is then handled (retried, delivered) on its own. The two copies
  are handed over at the same moment, so they overlap: they run at the same time, on two threads,
  each in its own execution environment (so a handler's own duplicate guard, such as Powertools'
  idempotency and its ``IdempotencyAlreadyInProgressError``, sees one copy still in progress).

DLQ ``ErrorCode`` is "the HTTP status code" ([LDG]): 200 after a function error (recorded). For
events that never ran because of throttling or reserved concurrency 0 we send 429 with the throttle
message ``Rate Exceeded.`` (INFERENCE: the status a throttled invoke gets, spec §10.5).
"""

from __future__ import annotations

import contextvars
import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import recursion
from .concurrency import THROTTLE_MESSAGE, Concurrency
from .delivery import DeliveryFailed, deliver_dead_letter, deliver_record, invocation_record
from .event_invoke_config import settings_for
from .faults import DUPLICATE_DELIVERY, duplicate_async, refusal
from .functions import moto_function
from .interception import AwsError
from .metrics import History, put_invocation_metrics, put_metric
from .runtime import InvocationResult, Runtime

if TYPE_CHECKING:
    from .clock import _Due
    from .event_invoke_config import AsyncSettings
    from .functions import ResolvedFunction
    from .metrics import Attempt
    from .mock import LambdaAsyncController

__all__ = ["AsyncQueue", "enqueue"]

#: Delay before retry n (1-based) after a function error: ~1 min, then ~2 min ([DOCS]).
RETRY_DELAYS_S = (60, 120)
#: Throttle backoff: starts at 1 s, doubles, capped at 5 min ([DOCS] "from 1 second to 5 minutes").
THROTTLE_BACKOFF_FIRST_S = 1
THROTTLE_BACKOFF_MAX_S = 300

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
ZERO_RESERVED_CONCURRENCY = "ZeroReservedConcurrency"


@dataclass
class _Event:
    """One queued event (a duplicate delivery is a second ``_Event`` with the same request id)."""

    fn: ResolvedFunction
    payload: bytes
    trigger: str
    request_id: str
    received_ms: int
    attempts: int = 0
    #: Times the event went back to the queue (throttles, system errors): drives the backoff.
    throttles: int = 0
    #: The last attempt's result, and the HTTP status / message a DLQ gets for the last failure.
    result: InvocationResult | None = None
    status: int = 200
    error_message: str = ""
    due: _Due | None = field(default=None, repr=False)
    #: Injected faults every attempt of this copy carries (a duplicate delivery).
    faults: tuple[str, ...] = ()
    #: The chain of requests the event arrived in, and the one its last attempt ran in
    #: (:mod:`.recursion`): what the function hands on, and its destinations, belong to it.
    chain: recursion.Lineage | None = None
    ran_in: recursion.Lineage | None = None
    #: The queue key of a duplicate delivered at the same moment as this first copy.
    twin: int | None = None

    def record_refusal(self, status: int, message: str) -> None:
        """Keep the status and message a DLQ gets for a refusal before the function ran (throttle,
        system error, reserved concurrency 0, recursion stop), unless an attempt already ran: its
        function error then stays what the DLQ reports."""
        if self.result is None:
            self.status, self.error_message = status, message


class AsyncQueue:
    """The controller's async event queue (state only; the flow is in the methods below)."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self.events: dict[int, _Event] = {}
        self._ids = itertools.count(1)

    @property
    def history(self) -> History:
        return self.controller.state(History)

    # -- entry ------------------------------------------------------------------------------------
    def put(
        self,
        fn: ResolvedFunction,
        payload: bytes,
        *,
        trigger: str,
        request_id: str | None,
        source: str | None,
    ) -> str:
        request_id = request_id or str(uuid.uuid4())
        now = self.controller.clock.now_ms()
        detail: dict[str, Any] = {"trigger": trigger}
        if source:
            detail["source"] = source
        self.history.note("queued", function_name=fn.name, request_id=request_id, **detail)
        put_metric(self.controller, fn, "AsyncEventsReceived", 1)
        chain = recursion.current()
        first = _Event(fn, payload, trigger, request_id, now, chain=chain)
        self._schedule(first, now)
        if duplicate_async(self.controller, fn, request_id):
            copy = _Event(
                fn, payload, trigger, request_id, now, faults=(DUPLICATE_DELIVERY,), chain=chain
            )
            first.twin = self._schedule(copy, now)
        return request_id

    def _schedule(self, event: _Event, due_ms: int) -> int:
        key = next(self._ids)
        self.events[key] = event
        event.due = self.controller.scheduler.call_at(
            due_ms, lambda: self._dispatch(key), label=f"async {event.fn.name}"
        )
        return key

    # -- one step of an event's life --------------------------------------------------------------
    def _dispatch(self, key: int) -> None:
        event = self.events.pop(key)
        due, event.due = event.due, None
        twin_key, event.twin = event.twin, None
        twin = self.events.get(twin_key) if twin_key is not None else None
        if twin is None or twin.due is None or due is None or twin.due.due_ms != due.due_ms:
            self._dispatch_event(event)
            return
        # The duplicate is still due at the same moment: both copies go now, side by side.
        self.controller.scheduler.cancel(twin.due)
        twin.due = None
        del self.events[twin_key]  # type: ignore[arg-type]
        self._together(event, twin)

    def _together(self, *events: _Event) -> None:
        """Dispatch copies of one event at once, each on a thread of its own (see the docstring)."""
        failures: list[BaseException] = []

        def dispatch(event: _Event, context: contextvars.Context) -> None:
            try:
                context.run(self._dispatch_event, event)
            except BaseException as error:
                failures.append(error)

        threads = [
            threading.Thread(
                target=dispatch,
                args=(event, contextvars.copy_context()),
                name=f"async-{event.fn.name}-copy-{n}",
                daemon=True,
            )
            for n, event in enumerate(events, 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]

    def _dispatch_event(self, event: _Event) -> None:
        fn = event.fn
        if moto_function(fn.account_id, fn.region, fn.name, fn.version) is None:
            # INFERENCE: events of a deleted function are discarded (its config is gone with it).
            self._drop(event, "FunctionNotFound")
            return
        settings = settings_for(self.controller, fn)
        concurrency = self.controller.state(Concurrency)
        if concurrency.reserved(fn) == 0:
            # [DOCS] invocation-async-retain-records: "Lambda begins sending new events to the
            # configured dead-letter queue or the on-failure event destination, without any retries."
            event.record_refusal(429, THROTTLE_MESSAGE)
            self._give_up(event, settings, ZERO_RESERVED_CONCURRENCY)
            return
        if self._age_ms(event) >= settings.maximum_event_age_s * 1000:
            self._give_up(event, settings, EVENT_AGE_EXCEEDED)
            return
        chain = recursion.admit(
            self.controller,
            fn,
            event.chain,
            trigger=event.trigger,
            request_id=event.request_id,
            note=False,
        )
        if chain is None:
            # Stopped by recursive loop detection: to the OnFailure destination / DLQ, no retry.
            event.record_refusal(recursion.STATUS, recursion.MESSAGE)
            self._give_up(event, settings, recursion.CONDITION)
            return
        refused = refusal(self.controller, fn, trigger=event.trigger, request_id=event.request_id)
        if refused is not None and refused.throttle_reason is None:
            self._system_error(event, settings, refused.error)
            return
        reason = concurrency.throttle_reason(fn) if refused is None else refused.throttle_reason
        if reason is not None:
            self._throttle(event, settings, reason)
            return
        event.ran_in = chain
        self._attempt(event, concurrency)

    def _age_ms(self, event: _Event, at_ms: int | None = None) -> int:
        now = self.controller.clock.now_ms() if at_ms is None else at_ms
        return now - event.received_ms

    def _throttle(self, event: _Event, settings: AsyncSettings, reason: str) -> None:
        put_metric(self.controller, event.fn, "Throttles", 1)
        event.record_refusal(429, THROTTLE_MESSAGE)
        self.history.note(
            "throttled",
            function_name=event.fn.name,
            request_id=event.request_id,
            reason=reason,
            trigger=event.trigger,
        )
        self._back_off(event, settings, "throttled")

    def _system_error(self, event: _Event, settings: AsyncSettings, error: AwsError) -> None:
        """A 5xx invoking the function: back to the queue like a throttle, not counted as one.

        INFERENCE: a DLQ then gets the error's status and message, as it gets 429 for a throttle.
        """
        event.record_refusal(error.status, error.message)
        self._back_off(event, settings, error.code)

    def _back_off(self, event: _Event, settings: AsyncSettings, why: str) -> None:
        """Try again after 1 s, doubling up to 5 min, unless that is past the event's age."""
        event.throttles += 1
        delay = min(THROTTLE_BACKOFF_FIRST_S * 2 ** (event.throttles - 1), THROTTLE_BACKOFF_MAX_S)
        self._retry_after(event, settings, delay, f"{why}, backoff {delay} s")

    def _retry_after(
        self, event: _Event, settings: AsyncSettings, delay_s: int, reason: str
    ) -> None:
        """Queue the event's next try ``delay_s`` from now, noted with ``reason``.

        A retry after a function error and a back-off after a throttle obey the same age rule: a
        try that would come at or after ``MaximumEventAgeInSeconds`` gives the event up now.
        """
        due = self.controller.clock.now_ms() + delay_s * 1000
        if self._age_ms(event, due) >= settings.maximum_event_age_s * 1000:
            self._give_up(event, settings, EVENT_AGE_EXCEEDED)
            return
        self.history.note(
            "retry_scheduled",
            function_name=event.fn.name,
            request_id=event.request_id,
            at=due,
            attempt=event.attempts + 1,
            reason=reason,
        )
        self._schedule(event, due)

    def _attempt(self, event: _Event, concurrency: Concurrency) -> None:
        event.attempts += 1
        fn = event.fn
        put_metric(self.controller, fn, "AsyncEventAge", self._age_ms(event), "Milliseconds")
        record = self.history.start_attempt(
            fn,
            event.payload,
            trigger=event.trigger,
            attempt=event.attempts,
            request_id=event.request_id,
            faults=event.faults,
        )
        try:
            with recursion.running(event.ran_in):
                result = self.controller.state(Runtime).run(
                    fn, event.payload, request_id=event.request_id
                )
        except AwsError as error:
            # The runtime could not run the function at all (e.g. a non-Python runtime): an
            # error response with the service's status, retried like a function error.
            result = InvocationResult.not_run(event.request_id, fn.version, error)
            event.status = error.status
        else:
            event.status = 200
        duration_s, duration_ms = concurrency.attempt_duration(fn, result)
        if duration_s:
            self.controller.scheduler.call_later(
                duration_s,
                lambda: self._complete(event, record, result, duration_ms),
                label=f"async {fn.name} finishes",
            )
        else:
            self._complete(event, record, result, duration_ms)

    def _complete(
        self, event: _Event, record: Attempt, result: InvocationResult, duration_ms: float
    ) -> None:
        """The attempt ends (``duration_ms`` is the virtual duration if one was set)."""
        fn = event.fn
        self.history.finish_attempt(record, result)
        put_invocation_metrics(self.controller, fn, result, duration_ms)
        event.result = result
        settings = settings_for(self.controller, fn)
        if result.ok:
            self._succeed(event, settings)
            return
        event.error_message = result.error_message or ""
        if event.attempts > settings.maximum_retry_attempts:
            self._give_up(event, settings, RETRIES_EXHAUSTED)
            return
        delay = RETRY_DELAYS_S[min(event.attempts, len(RETRY_DELAYS_S)) - 1]
        reason = f"function error, retry {event.attempts} of {settings.maximum_retry_attempts}"
        self._retry_after(event, settings, delay, reason)

    # -- endings ----------------------------------------------------------------------------------
    def _succeed(self, event: _Event, settings: AsyncSettings) -> None:
        if settings.on_success:
            self._deliver(event, settings.on_success, SUCCESS, success=True)

    def _give_up(self, event: _Event, settings: AsyncSettings, condition: str) -> None:
        if settings.on_failure:
            self._deliver(event, settings.on_failure, condition, success=False)
        if settings.dead_letter_target:
            self._dead_letter(event, settings.dead_letter_target)
        self._drop(event, condition)

    def _drop(self, event: _Event, reason: str) -> None:
        put_metric(self.controller, event.fn, "AsyncEventsDropped", 1)
        self.history.note(
            "dropped",
            function_name=event.fn.name,
            request_id=event.request_id,
            reason=reason,
            attempts=event.attempts,
        )

    def _deliver(self, event: _Event, target: str, condition: str, *, success: bool) -> None:
        record = invocation_record(
            self.controller,
            event.fn,
            request_id=event.request_id,
            condition=condition,
            approximate_invoke_count=event.attempts,
            payload=event.payload,
            result=event.result,
        )
        self._send(
            event,
            target,
            lambda: deliver_record(self.controller, target, record, fn=event.fn, success=success),
            failure_metric="DestinationDeliveryFailures",
            failed="delivery_failed",
            sent="delivered",
            condition=condition,
            record=record,
        )

    def _dead_letter(self, event: _Event, target: str) -> None:
        self._send(
            event,
            target,
            lambda: deliver_dead_letter(
                self.controller,
                target,
                event.payload,
                request_id=event.request_id,
                error_code=str(event.status),
                error_message=event.error_message,
                fn=event.fn,
            ),
            # [LDG] invocation-async: on a failed DLQ send Lambda deletes the event and emits
            # DeadLetterErrors.
            failure_metric="DeadLetterErrors",
            failed="dead_letter_failed",
            sent="dead_lettered",
            payload=event.payload,
        )

    def _send(
        self,
        event: _Event,
        target: str,
        send: Callable[[], None],
        *,
        failure_metric: str,
        failed: str,
        sent: str,
        **detail: Any,
    ) -> None:
        """Run ``send`` (a destination record or a DLQ message) in the event's request chain.

        Both ends take the same course: a refused send counts in ``failure_metric`` and is noted
        ``failed`` with the reason (the event is then gone either way); a sent one is noted ``sent``
        with ``detail``.
        """
        try:
            with recursion.running(event.ran_in or event.chain):
                send()
        except DeliveryFailed as failure:
            put_metric(self.controller, event.fn, failure_metric, 1)
            self.history.note(
                failed,
                function_name=event.fn.name,
                request_id=event.request_id,
                destination=target,
                reason=failure.reason,
            )
            return
        self.history.note(
            sent,
            function_name=event.fn.name,
            request_id=event.request_id,
            destination=target,
            **detail,
        )


def enqueue(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    payload: bytes,
    *,
    trigger: str,
    request_id: str | None = None,
    source: str | None = None,
) -> str:
    """Queue ``payload`` for ``fn`` as Lambda's async queue would; returns the request id.

    ``trigger`` names the producer in the history (``async``, ``sns``, ``events``, ``s3``,
    ``destination``); ``source`` optionally records the producer's ARN (topic, rule, bucket,
    function); ``request_id`` lets a producer choose the id (default: a new UUID).
    """
    return controller.state(AsyncQueue).put(
        fn, payload, trigger=trigger, request_id=request_id, source=source
    )
