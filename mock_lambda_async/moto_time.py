"""Virtual time inside moto's SQS: timestamps, visibility timeouts, delays and long polls.

moto's SQS models read the clock through ``unix_time``/``unix_time_millis`` imported into
``moto.sqs.models``, which read ``datetime.now``: while a mock owns the process's wall clock
(:mod:`.wallclock`, the default) they read the virtual time with everything else, so
``SentTimestamp``, ``ApproximateFirstReceiveTimestamp``, ``VisibilityTimeout``, ``DelaySeconds``
and retention all run on virtual time, for the event source mapping poller and for a test's own
``ReceiveMessage`` alike. A mock started with ``patch_time=False`` leaves the wall clock real;
for it those two names are replaced by functions reading its clock, so SQS mappings still work.

*Long polls.* moto's ``receive_message`` loops until a message arrives or ``WaitTimeSeconds`` have
passed on the clock, sleeping one real second per round: with a clock that only moves when told,
that loop would never end. We wrap it: a long poll (``WaitTimeSeconds`` > 0, or the queue's
``ReceiveMessageWaitTimeSeconds``) *waits in virtual time*. It runs the scheduler (as ``advance``
does) until a message can be received or the wait is over, then receives without waiting. Time
only moves when the controller may run work on the caller's behalf, i.e. with ``auto_drain`` (the
default) and outside a running handler or scheduler step; otherwise the long poll returns at once
with what is available, as if the wait had ended with nothing new. A long poll from a thread of
the test's other than the one that started the mock waits in real time instead, for at most its
``WaitTimeSeconds``, like that thread's ``time.sleep`` (:mod:`.wallclock`): what it waits for
comes from another real thread.
"""

from __future__ import annotations

import datetime
import importlib
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .mock import get_controller, on_start
from .wallclock import moves_time_here

if TYPE_CHECKING:
    from .clock import VirtualClock
    from .mock import LambdaAsyncController

__all__ = ["install", "sqs_models"]

_lock = threading.Lock()
_saved: dict[str, Any] = {}
#: The active controllers, innermost last.
_holders: list[LambdaAsyncController] = []
#: The clocks of those started with ``patch_time=False``, innermost last (moto reads the innermost).
_clocks: list[VirtualClock] = []


def sqs_models() -> Any:
    """``moto.sqs.models``, typed loosely: we replace some of its names while a mock is active."""
    return importlib.import_module("moto.sqs.models")


def _virtual_unix_time(dt: datetime.datetime | None = None) -> float:
    if dt is None and _clocks:
        return _clocks[-1].now_s()
    return float(_saved["unix_time"](dt))


def _virtual_unix_time_millis(dt: datetime.datetime | None = None) -> float:
    if dt is None and _clocks:
        return float(_clocks[-1].now_ms())
    return float(_saved["unix_time_millis"](dt))


def _receivable_or_next(queue: Any, now_ms: int) -> tuple[bool, int | None]:
    """Whether ``queue`` has a message a receive would return now, else when one may appear.

    Mirrors moto's ``receive_message`` tests: visible (``now > visible_at``), not delayed
    (``now >= delayed_until``), and for FIFO queues not in a message group with a message in flight.
    """
    pending_groups = {
        m.group_id
        for m in queue.pending_messages
        if m.group_id is not None and now_ms <= m.visible_at
    }
    soonest: int | None = None
    for message in queue._messages:
        available_from = max(math.floor(message.visible_at) + 1, math.ceil(message.delayed_until))
        if available_from <= now_ms:
            if not (queue.fifo_queue and message.group_id in pending_groups):
                return True, None
            continue
        soonest = available_from if soonest is None else min(soonest, available_from)
    return False, soonest


def _wait_virtually(controller: LambdaAsyncController, queue: Any, wait_s: int) -> None:
    """Run virtual time for up to ``wait_s`` seconds, stopping once ``queue`` has a message."""
    scheduler = controller.scheduler
    deadline = controller.clock.now_ms() + wait_s * 1000
    while True:
        now = controller.clock.now_ms()
        if now >= deadline:
            return
        ready, soonest = _receivable_or_next(queue, now)
        if ready:
            return
        target = deadline if soonest is None else min(deadline, soonest)
        due = scheduler.next_due_ms()
        if due is not None:
            target = min(target, max(due, now))
        # Runs everything due up to ``target`` (work due now included) and moves the clock there.
        scheduler.run_until(target)


def _wait_really(controller: LambdaAsyncController, queue: Any, wait_s: int) -> None:
    """Wait up to ``wait_s`` real seconds for ``queue`` to have a message (virtual time stands)."""
    deadline = time.monotonic() + wait_s
    pause = threading.Event()
    while time.monotonic() < deadline:
        if _receivable_or_next(queue, controller.clock.now_ms())[0]:
            return
        pause.wait(0.01)


def _wrap_receive(original: Callable[..., Any]) -> Callable[..., Any]:
    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        if wait_seconds_timeout:
            try:
                controller: LambdaAsyncController | None = get_controller()
            except RuntimeError:
                controller = None
            if controller is not None and controller.patch_time and not moves_time_here():
                _wait_really(controller, self.get_queue(queue_name), int(wait_seconds_timeout))
            elif (
                controller is not None
                and controller.auto_drain
                and not controller.in_invocation
                and not controller.scheduler.running
            ):
                _wait_virtually(controller, self.get_queue(queue_name), int(wait_seconds_timeout))
        return original(self, queue_name, count, 0, visibility_timeout, message_attribute_names)

    receive_message.__wrapped__ = original  # type: ignore[attr-defined]
    return receive_message


def _patch() -> None:
    models = sqs_models()

    _saved["unix_time"] = models.unix_time
    _saved["unix_time_millis"] = models.unix_time_millis
    _saved["receive_message"] = models.SQSBackend.receive_message
    models.unix_time = _virtual_unix_time
    models.unix_time_millis = _virtual_unix_time_millis
    models.SQSBackend.receive_message = _wrap_receive(_saved["receive_message"])


def _unpatch() -> None:
    models = sqs_models()

    models.unix_time = _saved.pop("unix_time")
    models.unix_time_millis = _saved.pop("unix_time_millis")
    models.SQSBackend.receive_message = _saved.pop("receive_message")


@on_start
def install(controller: LambdaAsyncController) -> None:
    """Put moto's SQS on virtual time (long polls; timestamps for ``patch_time=False``)."""
    clock = controller.clock
    with _lock:
        if not _holders:
            _patch()
        _holders.append(controller)
        if not controller.patch_time:
            _clocks.append(clock)

    def release() -> None:
        with _lock:
            _holders.remove(controller)
            if clock in _clocks:
                _clocks.remove(clock)
            if not _holders:
                _unpatch()

    controller.add_cleanup(release)
