"""Concurrency limits: reserved concurrency per function and the account limit.

Lambda throttles an invocation when every execution environment it may use is busy: a function with
reserved concurrency ``R`` may run ``R`` invocations at once; functions without a reservation share
the account's unreserved pool (account limit minus every reservation in the region). The account
limit defaults to 1000 (AWS's default regional quota) and is set with
``lam.set_account_concurrency(n)``.

*What counts as "in use".* The mock runs handlers one after another on a virtual clock, so two
invocations only overlap when the model says so. An invocation occupies one slot from the moment
its attempt starts until it finishes, as recorded in the history (``History.attempts`` entries
without a result). That covers:

- an invocation made while another handler is running (a handler that invokes a function
  synchronously, or a test calling ``invoke`` from several threads);
- attempts given a virtual duration with ``lam.set_duration(function_name, seconds)``, or whose
  handler slept (``time.sleep`` takes virtual time, see :mod:`.wallclock`): the handler runs at
  once, but the attempt (async, SQS or stream batch) only finishes that much virtual time later,
  and holds its slot (and delays its retry, destination or next batch) until then. A synchronous
  invoke from the test makes the test's thread wait that long (``lam.advance``) before it returns.
  By default durations are 0, so events never contend with each other.

Attempts are matched to the checked function's account and region by their function ARN.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .functions import function_arn, lambda_backend, moto_function, parse_function_name
from .interception import AwsError
from .metrics import History, put_metric
from .provisioned_concurrency import (
    ProvisionedConcurrency,
    provisioned_free,
    reservations,
    unreserved_provisioned,
)

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .metrics import Attempt
    from .mock import LambdaAsyncController
    from .runtime import InvocationResult

__all__ = [
    "ACCOUNT_LIMIT_REASON",
    "DEFAULT_ACCOUNT_LIMIT",
    "RESERVED_LIMIT_REASON",
    "Concurrency",
    "check_sync_invoke",
]

#: AWS's default concurrent-executions quota per account and region.
DEFAULT_ACCOUNT_LIMIT = 1000
#: ``TooManyRequestsException.Reason`` values ([BC] ``ThrottleReason``).
RESERVED_LIMIT_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT_REASON = "ConcurrentInvocationLimitExceeded"
#: The 429 message Lambda sends for every throttle reason (recorded, spec §1).
THROTTLE_MESSAGE = "Rate Exceeded."


class Concurrency:
    """Per-controller concurrency model: account limit, virtual durations, slots in use."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self.account_limit = DEFAULT_ACCOUNT_LIMIT
        self._durations: dict[str, float] = {}
        # Index of the oldest attempt that may still be running: attempts before it have finished.
        self._scan_from = 0

    # -- configuration ----------------------------------------------------------------------------
    def set_account_limit(self, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"the account concurrency limit must be an int >= 0, not {limit!r}")
        self.account_limit = limit

    def set_duration(self, function_name: str, seconds: float) -> None:
        """Make every async attempt of ``function_name`` last ``seconds`` of virtual time."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"a duration must be a finite number of seconds >= 0, not {seconds!r}")
        name = parse_function_name(function_name, "us-east-1", "000000000000").name
        if seconds:
            self._durations[name] = float(seconds)
        else:
            self._durations.pop(name, None)

    def duration_s(self, fn: ResolvedFunction) -> float:
        """The virtual duration of one attempt of ``fn`` (0 unless set)."""
        return self._durations.get(fn.name, 0.0)

    def attempt_duration(
        self, fn: ResolvedFunction, result: InvocationResult
    ) -> tuple[float, float]:
        """How long an attempt of ``fn`` that produced ``result`` lasts: (virtual s, Duration ms).

        ``set_duration`` decides when set; otherwise the handler's virtual sleeps
        (``result.virtual_ms``) do, and the Duration is the one measured (which includes them).
        """
        duration_s = self.duration_s(fn)
        if duration_s:
            return duration_s, duration_s * 1000
        return result.virtual_ms / 1000, result.duration_ms

    # -- state ------------------------------------------------------------------------------------
    @staticmethod
    def reserved(fn: ResolvedFunction) -> int | None:
        """``fn``'s reserved concurrency (a function-level setting, stored on ``$LATEST`` by moto)."""
        latest = moto_function(fn.account_id, fn.region, fn.name, "$LATEST")
        value = getattr(latest, "reserved_concurrency", None)
        return None if value is None else int(value)

    def running(self) -> list[Attempt]:
        """Attempts started and not yet finished, oldest first."""
        attempts = self.controller.state(History).attempts
        end = len(attempts)
        start = self._scan_from if self._scan_from <= end else 0
        while start < end and attempts[start].result is not None:
            start += 1
        self._scan_from = start
        return [attempt for attempt in attempts[start:end] if attempt.result is None]

    def throttle_reason(self, fn: ResolvedFunction) -> str | None:
        """Why one more invocation of ``fn`` would be throttled now, or ``None`` if a slot is free."""
        functions = lambda_backend(fn.account_id, fn.region)._lambdas._functions
        reserved = reservations(fn.account_id, fn.region)
        prefix = function_arn(fn.region, fn.account_id, "")
        running = [a for a in self.running() if _in_region(a, prefix, functions)]
        if len(running) >= self.account_limit:
            return ACCOUNT_LIMIT_REASON
        if provisioned_free(self.controller, fn):
            return None
        # Provisioned concurrency is carved out of the reservation, or else the unreserved pool;
        # attempts running in provisioned slots take nothing from the on-demand rest.
        provisioned = self.controller.state(ProvisionedConcurrency)

        def on_demand(name: str) -> int:
            slots = provisioned.by_version(fn.account_id, fn.region, name)
            return provisioned.on_demand_in_use(name, running, slots)

        own = reserved.get(fn.name)
        if own is not None:
            cap = own - provisioned.total(fn.account_id, fn.region, fn.name)
            if on_demand(fn.name) >= cap:
                return RESERVED_LIMIT_REASON
        else:
            pool = (
                self.account_limit
                - sum(reserved.values())
                - unreserved_provisioned(self.controller, fn.account_id, fn.region)
            )
            names = {a.function_name for a in running if a.function_name not in reserved}
            if sum(on_demand(name) for name in names) >= pool:
                return ACCOUNT_LIMIT_REASON
        return None


def _in_region(attempt: Attempt, arn_prefix: str, functions: dict[str, Any]) -> bool:
    """Whether a running attempt belongs to the account and region being checked."""
    arn = getattr(attempt, "function_arn", None)
    if isinstance(arn, str):
        return arn.startswith(arn_prefix)
    return attempt.function_name in functions


def throttle_error(reason: str) -> AwsError:
    """The 429 Lambda answers (recorded body: ``message``, ``Reason``, ``Type``)."""
    return AwsError(
        "TooManyRequestsException",
        THROTTLE_MESSAGE,
        429,
        message_key="message",
        fields={"Reason": reason},
    )


def check_sync_invoke(controller: LambdaAsyncController, fn: ResolvedFunction) -> None:
    """Raise Lambda's 429 when a synchronous invoke of ``fn`` would exceed its concurrency.

    Reserved concurrency 0 always throttles ([DOCS] invocation-async-retain-records: "A sync invoke
    gets 429"). The throttle counts in ``Throttles`` and is noted in the history.
    """
    reason = controller.state(Concurrency).throttle_reason(fn)
    if reason is None:
        return
    _record_throttle(controller, fn, reason, trigger="sync")
    raise throttle_error(reason)


def _record_throttle(
    controller: LambdaAsyncController, fn: ResolvedFunction, reason: str, **detail: Any
) -> None:
    put_metric(controller, fn, "Throttles", 1)
    controller.state(History).note("throttled", function_name=fn.name, reason=reason, **detail)
