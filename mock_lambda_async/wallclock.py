"""One clock while the mock is active: the process's wall clock is the virtual clock.

Handlers, the libraries they use (Powertools, botocore's timestamps), moto and the test body read
the time through ``time.time``/``time_ns``, ``datetime.now``/``utcnow``, ``date.today`` and
``time.gmtime``/``localtime``/``strftime``. While a mock is active they all read the
controller's :class:`~.clock.VirtualClock`. ``time.monotonic``/``perf_counter`` stay real: they
measure real durations (the runtime's real-time backstop uses them).

*The tool.* time-machine, not freezegun: it patches those functions at C level, so a module that
did ``from time import time`` or holds ``datetime`` sees the virtual time too, and starting it is
constant time (freezegun walks every loaded module, and each of its fake calls inspects the call
stack, which a sync invoke would pay for at every timestamp botocore takes). The mock puts its
own entry on time-machine's traveller stack (:class:`_Layer`); it reads the controller's clock,
plus, on a thread of a running invocation, the virtual time that invocation has slept.

*A test's own time travel.* Started before the mock (``time_machine.travel`` or freezegun's
``freeze_time``), it sets where the virtual clock starts (``VirtualClock`` reads ``datetime.now``),
and moving it (``shift``/``move_to``, freezegun's ``tick``/``move_to``) moves the virtual clock to
where it moved; what falls due then runs at the next AWS call (``auto_drain``) or at
``advance``/``drain``. Under freezegun time-machine cannot start, so the mock's entry goes on
freezegun's factory stack instead (:class:`_Factory`). Started inside the mock block, a travel
works the same way: while it lasts, it *is* the virtual clock (the mock's records, moto, the
test), the scheduler moves it when it moves time, and when it ends the clock is back where the
mock's own clock stood. (A handler's virtual sleeps are not added to such an inner travel.)

*Sleeping.* ``time.sleep`` (the ``time`` module's attribute: a ``from time import sleep`` made
before the mock started keeps the real one) takes virtual time and no real time: on the thread
that started the mock it is ``lam.advance(s)``; in a handler and the threads it starts it adds to
the invocation's duration (``runtime.timeouts.PhaseTime``); inside a scheduler step it returns
at once; any other thread really sleeps.

*Leaving.* When the mock stops, moto's SQS messages and queues are moved by the difference
between the virtual time and the time the process reads afterwards, so what was invisible for
30 more virtual seconds is invisible for 30 more real seconds (inside an outer ``mock_aws``).

*Opting out* (``mock_lambda_async(patch_time=False)``): none of the above; only the mock's own
records and moto's SQS run on the virtual clock, handlers and the test read the real time, and
``time.sleep`` really sleeps.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, SupportsIndex

import time_machine

from .mock import on_start
from .runtime.timeouts import PHASE_TIME

if TYPE_CHECKING:
    from .mock import LambdaAsyncController

__all__ = ["World"]

_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)
_REAL_SLEEP = time.sleep
_lock = threading.Lock()
#: The worlds of the active controllers, innermost last.
_worlds: list[World] = []


def _freezegun() -> Any:
    """freezegun's ``api`` module when a test imported it (freezegun is not a dependency)."""
    return sys.modules.get("freezegun.api")


def _naive_ms(value: datetime) -> int:
    """A freezegun factory's time (naive UTC) in epoch milliseconds."""
    return (value.replace(tzinfo=None) - _EPOCH) // _MS


class _Layer(time_machine.Traveller):
    """The mock's entry on time-machine's traveller stack: what the patched functions read."""

    def __init__(self, world: World) -> None:
        super().__init__(0, None, False)
        self._world = world

    def time_ns(self) -> int:
        return self._world.wall_ns()


class _Factory:
    """The mock's entry on freezegun's factory stack (when a test's ``freeze_time`` is active)."""

    def __init__(self, world: World) -> None:
        self._world = world

    def __call__(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self._world.wall_ns() // 1000)


class World:
    """The process's wall clock while one controller owns it (:class:`~.clock.WallClock`)."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self.clock = controller.clock
        self.owner = threading.get_ident()
        self._travel: time_machine.travel | None = None
        self._layer = _Layer(self)
        self._factory = _Factory(self)
        #: The test's travel the mock started inside, and its destination as last seen.
        self._below: Any = None
        self._below_mark: Any = None

    # -- entering and leaving ---------------------------------------------------------------------
    def start(self) -> None:
        freezegun = _freezegun()
        if freezegun is not None and freezegun.freeze_factories:
            factories = freezegun.freeze_factories
            self._below = factories[-1]
            factories.append(self._factory)
            freezegun.tz_offsets.append(freezegun.tz_offsets[-1])
            freezegun.ignore_lists.append(freezegun.ignore_lists[-1])
            freezegun.tick_flags.append(False)
        else:
            stack = time_machine.traveller_stack
            self._below = stack[-1] if stack else None
            self._travel = time_machine.travel(0, tick=False)
            self._travel.start()
            stack[-1] = self._layer
        self._below_mark = self._mark(self._below)
        self.clock.wall = self

    def stop(self) -> None:
        """Give the wall clock back; returns after moto's objects are moved to the time it reads."""
        virtual_ms = self.clock.now_ms()
        self.clock.wall = None
        if self._travel is None:
            freezegun = _freezegun()
            index = _index(freezegun.freeze_factories, self._factory)
            if index is not None:
                for stack in (
                    freezegun.freeze_factories,
                    freezegun.tz_offsets,
                    freezegun.ignore_lists,
                    freezegun.tick_flags,
                ):
                    del stack[index]
        else:
            stack = time_machine.traveller_stack
            if stack and stack[-1] is self._layer:
                self._travel.stop()
            else:
                # A travel the test entered inside the block is still open: leave it on top.
                index = _index(stack, self._layer)
                if index is not None:
                    del stack[index]
        _rebase_sqs(time.time_ns() // 1_000_000 - virtual_ms)

    # -- reading ----------------------------------------------------------------------------------
    def wall_ns(self) -> int:
        """The mock's own time, plus the virtual sleeps of the invocation this thread works for."""
        base = self.clock.now_ms() * 1_000_000
        phase = PHASE_TIME.get()
        return base if phase is None else base + phase.slept_ns

    def now_ms(self) -> int | None:
        """The time of a travel the test entered inside the block, if one is active.

        Also adopts a move of the travel the mock started inside.
        """
        top = self._foreign_top()
        if top is not None:
            return _travel_ms(top)
        below = self._below
        if below is not None:
            mark = self._mark(below)
            if mark != self._below_mark:
                self._below_mark = mark
                self.clock.set_ms(
                    _naive_ms(below()) if self._travel is None else below.time_ns() // 1_000_000
                )
        return None

    def move_to_ms(self, epoch_ms: int) -> bool:
        top = self._foreign_top()
        if top is None:
            return False
        delta = timedelta(milliseconds=epoch_ms - _travel_ms(top))
        if delta > timedelta(0):
            if isinstance(top, _FreezegunTop):
                top.factory.tick(delta)
            else:
                top.shift(delta)
        return True

    def _foreign_top(self) -> Any:
        """A travel the test entered inside the block (freezegun's wins: it patches more names)."""
        freezegun = _freezegun()
        if freezegun is not None and freezegun.freeze_factories:
            top = freezegun.freeze_factories[-1]
            # Another mock's entry (a mock nested in this one) is not a travel of the test's.
            return None if isinstance(top, _Factory) else _FreezegunTop(top)
        stack = time_machine.traveller_stack
        if stack and not isinstance(stack[-1], _Layer):
            return stack[-1]
        return None

    def _mark(self, travel: Any) -> Any:
        """What changes when a test moves ``travel`` (not when it merely ticks)."""
        if travel is None:
            return None
        if self._travel is None:
            return getattr(travel, "time_to_freeze", None)
        return getattr(travel, "_destination_timestamp_ns", None)

    # -- sleeping on the test's thread ------------------------------------------------------------
    def test_sleep(self, seconds: float) -> None:
        """``time.sleep`` on the thread that started the mock: ``lam.advance(seconds)``."""
        scheduler = self.controller.scheduler
        if scheduler.running_here():
            return
        scheduler.run_for(round(seconds * 1000))


class _FreezegunTop:
    """A freezegun factory above the mock's entry."""

    __slots__ = ("factory",)

    def __init__(self, factory: Any) -> None:
        self.factory = factory

    def __call__(self) -> datetime:
        value: datetime = self.factory()
        return value


def _travel_ms(top: Any) -> int:
    """The time a test's travel shows, in epoch milliseconds."""
    if isinstance(top, _FreezegunTop):
        return _naive_ms(top())
    return int(top.time_ns()) // 1_000_000


def _index(stack: list[Any], item: Any) -> int | None:
    for index, entry in enumerate(stack):
        if entry is item:
            return index
    return None


def _sleep(seconds: float | SupportsIndex, /) -> None:
    """``time.sleep`` while a mock owns the wall clock (see the module docstring)."""
    if not isinstance(seconds, (int, float)) or not seconds >= 0 or not _wait_virtually(seconds):
        _REAL_SLEEP(seconds)  # also the real errors for a bad argument


def _wait_virtually(seconds: float) -> bool:
    """Let the calling thread wait ``seconds`` of virtual time; ``False`` if it is not the
    mock's to move (a thread neither of an invocation nor the one that started a mock)."""
    phase = PHASE_TIME.get()
    if phase is not None:
        phase.sleep(seconds)
        return True
    me = threading.get_ident()
    for world in reversed(_worlds):
        if world.owner == me:
            world.test_sleep(seconds)
            return True
    return False


def moves_time_here() -> bool:
    """Whether the calling thread's waits are virtual (see :func:`_wait_virtually`)."""
    me = threading.get_ident()
    return PHASE_TIME.get() is not None or any(world.owner == me for world in _worlds)


def waited(controller: LambdaAsyncController, seconds: float) -> None:
    """The calling thread waited ``seconds`` for a synchronous invocation whose handler slept."""
    if seconds and controller.patch_time:
        _wait_virtually(seconds)


def _rebase_sqs(delta_ms: int) -> None:
    """Move every SQS message's and queue's timestamps by ``delta_ms`` (the clock changed)."""
    if not delta_ms:
        return
    from moto.sqs.models import sqs_backends

    delta_s = delta_ms / 1000
    backend: Any
    for _account, _region, backend in sqs_backends.iter_backends():
        for queue in backend.queues.values():
            for name in ("created_timestamp", "last_modified_timestamp"):
                if isinstance(getattr(queue, name, None), (int, float)):
                    setattr(queue, name, getattr(queue, name) + delta_s)
            messages = [*queue._messages, *getattr(queue, "_pending_messages", ())]
            for message in {id(m): m for m in messages}.values():
                for name in ("visible_at", "delayed_until"):
                    value = getattr(message, name, None)
                    if value:
                        setattr(message, name, value + delta_ms)
                for name in ("sent_timestamp", "approximate_first_receive_timestamp"):
                    value = getattr(message, name, None)
                    if value:
                        setattr(message, name, int(value + delta_ms))


@on_start
def install(controller: LambdaAsyncController) -> None:
    """Give the process's wall clock and ``time.sleep`` to ``controller`` while it is active."""
    if not controller.patch_time:
        return
    world = World(controller)
    with _lock:
        world.start()
        if not _worlds:
            time.sleep = _sleep
        _worlds.append(world)

    def release() -> None:
        with _lock:
            _worlds.remove(world)
            if not _worlds:
                time.sleep = _REAL_SLEEP
            world.stop()

    controller.add_cleanup(release)
