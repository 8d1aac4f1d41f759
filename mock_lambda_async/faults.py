"""Fault injection: what AWS does now and then, on demand, reproducibly (``lam.faults``).

Real Lambda delivers events more than once, throttles, fails with 5xx errors, loses destination
deliveries and times out. Tests rarely see any of it. ``lam.faults`` (the controller's
:class:`Faults`) adds *rules*; each rule picks the events it affects and the engines take the path
AWS takes when it happens:

- :meth:`Faults.duplicate_async`: the async queue hands an event to the function twice (spec §2
  "At-least-once": duplicates occur even without errors). Both copies carry the request id and are
  retried and delivered on their own.
- :meth:`Faults.duplicate_sqs`: a message of a successful SQS batch is not deleted, so SQS delivers
  it again in a later batch. SQS's own account: a delete can miss a server holding a copy, "and you
  might get that message copy again when you receive messages" ([DOCS] SQSDeveloperGuide
  standard-queues-at-least-once-delivery; API_DeleteMessage); Lambda's: "Lambda event source
  mappings process each event at least once, and duplicate processing of records can occur"
  ([DOCS] invocation-eventsourcemapping). INFERENCE: the copy comes back when the receive's
  visibility timeout ends, with ``ApproximateReceiveCount`` + 1 (the queue's redrive policy
  applies), on FIFO queues too (the event source mapping's at-least-once covers them).
- :meth:`Faults.duplicate_stream`: a Kinesis or DynamoDB Streams batch that succeeded is not
  checkpointed, so the mapping invokes the function with the same records again (the same
  [DOCS] invocation-eventsourcemapping warning covers stream mappings). INFERENCE: the shard
  resumes from its last checkpoint at once, so the copy is the lane's next invocation, before any
  later record, with the tumbling window state the first copy was given.
- :meth:`Faults.throttle`: the invocation is refused with 429 before the handler runs, as when no
  concurrency is free: a synchronous ``Invoke`` gets ``TooManyRequestsException``, an async event
  goes back to the queue with backoff (1 s doubling to 5 min, no retry used), an SQS batch returns
  to the queue after its visibility timeout. Counted in ``Throttles``.
- :meth:`Faults.service_error`: Lambda fails with a 5xx before the handler runs. A synchronous
  ``Invoke`` gets ``ServiceException`` (HTTP 500); the async queue retries it like a throttle ("For
  throttling errors (429) and system errors (500-series), Lambda returns the event to the queue",
  spec §2); an SQS batch returns after its visibility timeout.
- Stream mappings (Kinesis, DynamoDB Streams) retry a throttled or 5xx'd batch with backoff
  without using one of ``MaximumRetryAttempts``, until its records expire or pass
  ``MaximumRecordAgeInSeconds``: "If a Lambda event source mapping is unable to invoke the function
  due to throttling or other issues, it retries until the records expire or exceed the maximum
  age" ([DOCS] kinesis-on-failure-destination, "Before invocation"; the retry quota applies only
  "During invocation", to function errors).
- :meth:`Faults.fail_delivery`: a destination or dead-letter queue refuses the record; the caller
  counts it in ``DestinationDeliveryFailures`` / ``DeadLetterErrors`` and notes it.
- :meth:`Faults.timeout`: the attempt ends as ``Sandbox.Timedout`` (configured timeout as its
  duration, environment discarded) without waiting for real: by default after the handler ran (it
  did its work, too late), or with ``run_handler=False`` before it does anything.

Each rule applies to one function (name or ARN; qualifiers are ignored) or, with ``None``, to all
(delivery failures: one destination ARN or SQS queue URL, or all), and to the next ``count``
events (default 1), or to each event with probability ``fraction`` (``count`` then caps how many),
drawn from a ``random.Random`` this object owns: the same seed (:meth:`Faults.seed`, default 0)
gives the same run. Every injection is noted on the timeline (kind ``fault``), and the attempts it
shaped list it in :attr:`~.metrics.Attempt.faults`.

A synchronous 429 or 500 goes through botocore's retries as AWS's would (``retries`` in the
client config, see :mod:`.interception`): each retry is a new attempt, which a rule may take again.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .concurrency import ACCOUNT_LIMIT_REASON, throttle_error
from .functions import parse_function_name
from .interception import AwsError
from .metrics import History, Kind, put_metric

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController

__all__ = [
    "DELIVERY_FAILURE",
    "DUPLICATE_DELIVERY",
    "SERVICE_ERROR",
    "THROTTLE",
    "TIMEOUT",
    "Fault",
    "Faults",
    "Refusal",
]

#: Fault names, as the timeline (``detail["fault"]``) and ``Attempt.faults`` show them.
DUPLICATE_DELIVERY = "duplicate_delivery"
THROTTLE = "throttle"
SERVICE_ERROR = "service_error"
DELIVERY_FAILURE = "delivery_failure"
TIMEOUT = "timeout"

DEFAULT_SEED = 0
#: ``ServiceException`` (HTTP 500, [BC] "The Lambda service encountered an internal error."). The
#: message is the one Lambda was reported sending (mentum/lambdaws#49: "An error occurred and the
#: request cannot be processed. (Service: AWSLambda; Status Code: 500; Error Code:
#: ServiceException ...)"). INFERENCE: ``Type`` is ``Service`` for this server-side fault.
SERVICE_ERROR_CODE = "ServiceException"
SERVICE_ERROR_MESSAGE = "An error occurred and the request cannot be processed."
#: [BC] ``ThrottleReason``: the ``Reason`` a ``TooManyRequestsException`` may carry.
THROTTLE_REASONS = (
    "ConcurrentInvocationLimitExceeded",
    "FunctionInvocationRateLimitExceeded",
    "ReservedFunctionConcurrentInvocationLimitExceeded",
    "ReservedFunctionInvocationRateLimitExceeded",
    "CallerRateLimitExceeded",
    "ConcurrentSnapshotCreateLimitExceeded",
)
_REFUSED = "refused by an injected fault"


class Fault:
    """One rule of :class:`Faults`: what it does, to whom, how often; ``cancel()`` ends it.

    ``target`` is the function name (or the destination ARN for delivery failures), ``None`` for
    all; ``trigger`` is ``"async"``, ``"sqs"`` or ``"stream"`` for duplicate deliveries;
    ``options`` holds the rule's settings (``reason`` of a throttle, ``run_handler`` of a timeout).
    ``hits`` counts the events it affected so far.
    """

    __slots__ = ("_cancelled", "count", "fraction", "hits", "kind", "options", "target", "trigger")

    def __init__(
        self,
        kind: str,
        target: str | None,
        count: int | None,
        fraction: float | None,
        *,
        trigger: str | None = None,
        **options: Any,
    ) -> None:
        self.kind = kind
        self.target = target
        self.trigger = trigger
        self.count = count
        self.fraction = fraction
        self.options = options
        self.hits = 0
        self._cancelled = False

    @property
    def remaining(self) -> int | None:
        """Events it may still affect (``None``: no limit)."""
        if self._cancelled:
            return 0
        return None if self.count is None else self.count - self.hits

    @property
    def active(self) -> bool:
        return self.remaining != 0

    def cancel(self) -> None:
        """Stop the rule; events from now on are left alone."""
        self._cancelled = True

    def __repr__(self) -> str:
        what = self.kind if self.trigger is None else f"{self.kind} ({self.trigger})"
        how = f"next {self.count}" if self.fraction is None else f"{self.fraction:.0%} of events"
        if self.fraction is not None and self.count is not None:
            how += f", at most {self.count}"
        hits = f"{self.hits} hit" if self.hits == 1 else f"{self.hits} hits"
        state = "" if self.active else ", done"
        return f"<Fault {what} of {self.target or 'all'}: {how}, {hits}{state}>"


@dataclass(frozen=True)
class Refusal:
    """An injected 429 or 5xx for an invocation: the error Lambda answers with."""

    error: AwsError

    @property
    def throttle_reason(self) -> str | None:
        """The throttle's ``Reason`` for a 429, ``None`` for a service error."""
        if self.error.status != 429:
            return None
        return str(self.error.fields.get("Reason", ACCOUNT_LIMIT_REASON))


class Faults:
    """The controller's fault rules (``lam.faults``) and their seeded random source."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self._rules: list[Fault] = []
        self._random = random.Random(DEFAULT_SEED)
        self._lock = threading.Lock()
        #: (queue ARN, message id) of SQS messages kept for a second delivery.
        self._redeliveries: set[tuple[str, str]] = set()

    # -- rules ------------------------------------------------------------------------------------
    def seed(self, value: int) -> None:
        """Restart the random draws of ``fraction`` rules from ``value`` (the default seed is 0)."""
        with self._lock:
            self._random = random.Random(value)

    @property
    def rules(self) -> tuple[Fault, ...]:
        """The rules still in force, oldest first."""
        with self._lock:
            return tuple(rule for rule in self._rules if rule.active)

    def clear(self) -> None:
        """Cancel every rule."""
        with self._lock:
            for rule in self._rules:
                rule.cancel()
            self._rules.clear()

    def duplicate_async(
        self,
        function_name: str | None = None,
        *,
        count: int | None = None,
        fraction: float | None = None,
    ) -> Fault:
        """Deliver async events twice (same request id; each copy retried on its own)."""
        return self._add(DUPLICATE_DELIVERY, _function(function_name), count, fraction, "async")

    def duplicate_sqs(
        self,
        function_name: str | None = None,
        *,
        count: int | None = None,
        fraction: float | None = None,
    ) -> Fault:
        """Deliver SQS messages again: a message of a successful batch is not deleted, so it comes
        back in a later batch when its visibility timeout ends. ``count`` counts messages."""
        return self._add(DUPLICATE_DELIVERY, _function(function_name), count, fraction, "sqs")

    def duplicate_stream(
        self,
        function_name: str | None = None,
        *,
        count: int | None = None,
        fraction: float | None = None,
    ) -> Fault:
        """Deliver Kinesis/DynamoDB stream batches again: a batch that succeeded is not
        checkpointed, so its records come once more at once. ``count`` counts batches."""
        return self._add(DUPLICATE_DELIVERY, _function(function_name), count, fraction, "stream")

    def throttle(
        self,
        function_name: str | None = None,
        *,
        count: int | None = None,
        fraction: float | None = None,
        reason: str = ACCOUNT_LIMIT_REASON,
    ) -> Fault:
        """Refuse invocations with 429 ``TooManyRequestsException`` (``Reason`` = ``reason``)."""
        if reason not in THROTTLE_REASONS:
            raise ValueError(f"reason must be one of {', '.join(THROTTLE_REASONS)}, not {reason!r}")
        return self._add(THROTTLE, _function(function_name), count, fraction, reason=reason)

    def service_error(
        self,
        function_name: str | None = None,
        *,
        count: int | None = None,
        fraction: float | None = None,
    ) -> Fault:
        """Fail invocations with Lambda's 500 ``ServiceException`` before the handler runs."""
        return self._add(SERVICE_ERROR, _function(function_name), count, fraction)

    def timeout(
        self,
        function_name: str | None = None,
        *,
        count: int | None = None,
        fraction: float | None = None,
        run_handler: bool = True,
    ) -> Fault:
        """End attempts as ``Sandbox.Timedout`` at once: after the handler ran (its effects stay,
        its result is lost), or before it runs with ``run_handler=False``."""
        return self._add(
            TIMEOUT, _function(function_name), count, fraction, run_handler=bool(run_handler)
        )

    def fail_delivery(
        self,
        destination: str | None = None,
        *,
        count: int | None = None,
        fraction: float | None = None,
    ) -> Fault:
        """Make a destination or dead-letter target (ARN or SQS queue URL; ``None``: every one)
        refuse records."""
        return self._add(DELIVERY_FAILURE, _destination(destination), count, fraction)

    def _add(
        self,
        kind: str,
        target: str | None,
        count: int | None,
        fraction: float | None,
        trigger: str | None = None,
        **options: Any,
    ) -> Fault:
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            raise ValueError(f"count must be an int >= 1, not {count!r}")
        if fraction is not None and (
            isinstance(fraction, bool)
            or not isinstance(fraction, int | float)
            or not math.isfinite(fraction)
            or not 0 < fraction <= 1
        ):
            raise ValueError(f"fraction must be a number in (0, 1], not {fraction!r}")
        if count is None and fraction is None:
            count = 1
        rule = Fault(
            kind,
            target,
            count,
            None if fraction is None else float(fraction),
            trigger=trigger,
            **options,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    # -- the engines' side --------------------------------------------------------------------------
    def take(
        self,
        kind: str,
        target: str,
        *,
        trigger: str | None = None,
        function_name: str | None = None,
        request_id: str | None = None,
        **detail: Any,
    ) -> Fault | None:
        """The rule that affects this event (noted on the timeline), or ``None``.

        Rules are tried oldest first; a ``fraction`` rule draws once per event it could affect.
        """
        if not self._rules:
            return None
        with self._lock:
            chosen = None
            for rule in self._rules:
                if (
                    rule.kind != kind
                    or not rule.active
                    or rule.trigger not in (None, trigger)
                    or rule.target not in (None, target)
                ):
                    continue
                if rule.fraction is not None and self._random.random() >= rule.fraction:
                    continue
                rule.hits += 1
                chosen = rule
                break
            self._rules = [rule for rule in self._rules if rule.active]
        if chosen is not None:
            if trigger is not None:
                detail = {"trigger": trigger, **detail}
            if kind == THROTTLE:
                detail["reason"] = chosen.options["reason"]
            elif kind == SERVICE_ERROR:
                detail["reason"] = SERVICE_ERROR_CODE
            self.controller.state(History).note(
                Kind.FAULT,
                function_name=function_name or (None if kind == DELIVERY_FAILURE else target),
                request_id=request_id,
                fault=kind,
                **detail,
            )
        return chosen

    def keep_for_redelivery(
        self, fn: ResolvedFunction, queue_arn: str, messages: list[Any]
    ) -> list[Any]:
        """The messages of a successful SQS batch to delete, less those a duplicate keeps."""
        if not self._rules:
            return messages
        kept = {
            id(m)
            for m in messages
            if self.take(DUPLICATE_DELIVERY, fn.name, trigger="sqs", message_id=m.id) is not None
        }
        if not kept:
            return messages
        with self._lock:
            self._redeliveries.update((queue_arn, m.id) for m in messages if id(m) in kept)
        return [m for m in messages if id(m) not in kept]

    def redelivery_faults(self, queue_arn: str, messages: Sequence[Any]) -> tuple[str, ...]:
        """``(DUPLICATE_DELIVERY,)`` if the batch carries a message kept for a second delivery."""
        if not self._redeliveries:
            return ()
        with self._lock:
            found = [(queue_arn, m.id) for m in messages if (queue_arn, m.id) in self._redeliveries]
            self._redeliveries.difference_update(found)
        return (DUPLICATE_DELIVERY,) if found else ()


# -- hooks called by the engines ----------------------------------------------------------------------
def duplicate_async(
    controller: LambdaAsyncController, fn: ResolvedFunction, request_id: str
) -> bool:
    """Whether the async queue hands this event over twice."""
    return _duplicated(controller, fn, "async", request_id)


def duplicate_stream(
    controller: LambdaAsyncController, fn: ResolvedFunction, request_id: str | None
) -> bool:
    """Whether a successful stream batch of ``fn`` loses its checkpoint and comes again."""
    return _duplicated(controller, fn, "stream", request_id)


def _duplicated(
    controller: LambdaAsyncController, fn: ResolvedFunction, trigger: str, request_id: str | None
) -> bool:
    """Whether a duplicate-delivery rule for ``trigger`` takes this event."""
    taken = controller.state(Faults).take(
        DUPLICATE_DELIVERY, fn.name, trigger=trigger, request_id=request_id
    )
    return taken is not None


def refusal(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    *,
    trigger: str,
    request_id: str | None = None,
) -> Refusal | None:
    """An injected throttle or service error for this invocation of ``fn``, if any."""
    faults = controller.state(Faults)
    rule = faults.take(THROTTLE, fn.name, trigger=trigger, request_id=request_id)
    if rule is not None:
        return Refusal(throttle_error(rule.options["reason"]))
    rule = faults.take(SERVICE_ERROR, fn.name, trigger=trigger, request_id=request_id)
    if rule is not None:
        return Refusal(
            AwsError(SERVICE_ERROR_CODE, SERVICE_ERROR_MESSAGE, 500, fields={"Type": "Service"})
        )
    return None


def refuse_sync_invoke(controller: LambdaAsyncController, fn: ResolvedFunction) -> None:
    """Raise the injected 429 or 500 a synchronous ``Invoke`` of ``fn`` gets, if any.

    A throttle counts in ``Throttles`` and is noted ``throttled``, like a real one.
    """
    refused = refusal(controller, fn, trigger="sync")
    if refused is None:
        return
    reason = refused.throttle_reason
    if reason is not None:
        put_metric(controller, fn, "Throttles", 1)
        controller.state(History).note(
            Kind.THROTTLED, function_name=fn.name, reason=reason, trigger="sync"
        )
    raise refused.error


def injected_timeout(
    controller: LambdaAsyncController, fn: ResolvedFunction, request_id: str
) -> Fault | None:
    """The timeout rule that ends this run of ``fn``, if any."""
    return controller.state(Faults).take(TIMEOUT, fn.name, request_id=request_id)


def refused_delivery(
    controller: LambdaAsyncController,
    target_arn: str,
    *,
    function_name: str | None = None,
    request_id: str | None = None,
) -> str | None:
    """Why an injected fault refuses this delivery to ``target_arn``, or ``None``."""
    rule = controller.state(Faults).take(
        DELIVERY_FAILURE,
        target_arn,
        function_name=function_name,
        request_id=request_id,
        destination=target_arn,
    )
    return None if rule is None else _REFUSED


# -- arguments --------------------------------------------------------------------------------------
def _function(value: str | None) -> str | None:
    """The function name in a name or ARN (the rule applies to every qualifier)."""
    if value is None:
        return None
    try:
        return parse_function_name(value, "us-east-1", "000000000000").name
    except AwsError as error:
        raise ValueError(f"not a function name or ARN: {value!r} ({error.message})") from None


def _destination(value: str | None) -> str | None:
    """A destination ARN; an SQS queue URL becomes its queue's ARN."""
    if value is None or value.startswith("arn:"):
        return value
    from .assertions import _url_region

    url = urlparse(value)
    path = url.path.strip("/").split("/")
    if url.scheme in ("http", "https") and len(path) == 2:
        return f"arn:aws:sqs:{_url_region(url.hostname or '')}:{path[0]}:{path[1]}"
    raise ValueError(f"not a destination ARN or SQS queue URL: {value!r}")
