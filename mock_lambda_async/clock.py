"""Virtual time and the one scheduler every delayed behaviour runs on.

Nothing in the mock sleeps. Work is put on a heap with the virtual time it falls due; ``advance`` and
``drain`` pop it in time order (ties keep insertion order, so runs are deterministic). Pollers (event
source mappings) cannot know in advance when work will appear — a message may enter a queue by any
path — so each time the heap has nothing due the scheduler asks every registered poller for work.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

__all__ = ["Poller", "Scheduler", "VirtualClock", "WallClock"]


class WallClock(Protocol):
    """The process's wall clock while a mock owns it (:class:`..wallclock.World`)."""

    def now_ms(self) -> int | None:
        """The time a test's own time travel shows, when one entered inside the mock rules."""
        ...

    def move_to_ms(self, epoch_ms: int) -> bool:
        """Move such a travel to ``epoch_ms``; ``False`` when the mock's own clock rules."""
        ...


class VirtualClock:
    """A clock that only moves when told to. Starts at the time ``datetime.now`` shows when created
    (the real time, or the time a test's ``freeze_time``/``time_machine.travel`` set), in UTC."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime.now(timezone.utc)
        # Millisecond precision: AWS timestamps carry milliseconds, and whole numbers keep ordering exact.
        self._epoch_ms = round(start.timestamp() * 1000)
        #: Set while the mock owns the process's wall clock; it may defer to a test's travel.
        self.wall: WallClock | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms() / 1000, tz=timezone.utc)

    def now_ms(self) -> int:
        wall = self.wall
        if wall is not None:
            foreign = wall.now_ms()
            if foreign is not None:
                return foreign
        return self._epoch_ms

    def now_s(self) -> float:
        return self.now_ms() / 1000

    def move_to_ms(self, epoch_ms: int) -> None:
        wall = self.wall
        if wall is not None and wall.move_to_ms(epoch_ms):
            return
        if epoch_ms > self._epoch_ms:
            self._epoch_ms = epoch_ms

    def set_ms(self, epoch_ms: int) -> None:
        """Put the clock at ``epoch_ms``, backwards too: a test moved its own time travel there."""
        self._epoch_ms = epoch_ms


class Poller(Protocol):
    """Something that finds its own work (an event source mapping poller)."""

    def poll(self, now_ms: int) -> int | None:
        """Do the work that is ready at ``now_ms``.

        Return the virtual epoch-ms at which it next has something to do (``now_ms`` again if it did
        something and may have more), or ``None`` when idle until new input arrives.
        """
        ...


@dataclass(order=True)
class _Due:
    due_ms: int
    seq: int
    action: Callable[[], None] = field(compare=False)
    label: str = field(compare=False, default="")
    cancelled: bool = field(compare=False, default=False)


class Scheduler:
    """The due-item heap and the loop that runs it on a :class:`VirtualClock`."""

    #: Upper bound on steps in one ``drain``: a handler that re-triggers itself forever must not hang
    #: a test. Lambda's own loop detection stops recursive loops after 16 rounds; this is a backstop.
    MAX_STEPS = 1_000_000

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._heap: list[_Due] = []
        #: Items that run when time passes them but never keep ``drain()`` going (schedules).
        self._timers: list[_Due] = []
        self._seq = itertools.count()
        self._pollers: list[Poller] = []
        self._poll_hints: dict[int, int | None] = {}
        self._lock = threading.RLock()
        #: Signalled when the loop stops, for a thread waiting to run it (see :meth:`_claim`).
        self._idle = threading.Condition(self._lock)
        self._running = False
        self._owner: int | None = None

    # -- scheduling -------------------------------------------------------------------------------
    def call_at(self, due_ms: int, action: Callable[[], None], label: str = "") -> _Due:
        """Run ``action`` when virtual time reaches ``due_ms`` (never earlier than now)."""
        with self._lock:
            item = _Due(max(due_ms, self.clock.now_ms()), next(self._seq), action, label)
            heapq.heappush(self._heap, item)
            return item

    def call_later(self, delay_s: float, action: Callable[[], None], label: str = "") -> _Due:
        return self.call_at(self.clock.now_ms() + round(delay_s * 1000), action, label)

    def call_soon(self, action: Callable[[], None], label: str = "") -> _Due:
        return self.call_at(self.clock.now_ms(), action, label)

    def call_when_passed(self, due_ms: int, action: Callable[[], None], label: str = "") -> _Due:
        """Run ``action`` when virtual time is let pass ``due_ms``: by ``advance``, or by a settle
        reaching it. A recurring schedule is never pending work: ``drain()`` does not run it
        (it would never end), and a timer whose time a drain jumped over runs at the next
        ``advance`` or settle, late; its owner decides what a late run means."""
        with self._lock:
            item = _Due(max(due_ms, self.clock.now_ms()), next(self._seq), action, label)
            heapq.heappush(self._timers, item)
            return item

    @staticmethod
    def cancel(item: _Due) -> None:
        item.cancelled = True

    def add_poller(self, poller: Poller) -> None:
        with self._lock:
            if all(p is not poller for p in self._pollers):
                self._pollers.append(poller)
                self._poll_hints[id(poller)] = self.clock.now_ms()

    def remove_poller(self, poller: Poller) -> None:
        with self._lock:
            self._pollers = [p for p in self._pollers if p is not poller]
            self._poll_hints.pop(id(poller), None)

    def wake_pollers(self) -> None:
        """New input may have arrived: let every poller look again at the current time."""
        with self._lock:
            now = self.clock.now_ms()
            for poller in self._pollers:
                self._poll_hints[id(poller)] = now

    # -- running ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def running_here(self) -> bool:
        """Whether the calling thread is the one running the loop."""
        return self._running and self._owner == threading.get_ident()

    def pending(self) -> int:
        """Scheduled items not yet run (pollers not counted)."""
        with self._lock:
            return sum(1 for item in self._heap if not item.cancelled)

    def next_due_ms(self) -> int | None:
        """The virtual time of the next thing to do, from the heap or any poller."""
        with self._lock:
            while self._heap and self._heap[0].cancelled:
                heapq.heappop(self._heap)
            candidates = [self._heap[0].due_ms] if self._heap else []
            candidates += [h for h in self._poll_hints.values() if h is not None]
            return min(candidates) if candidates else None

    def run_until(self, limit_ms: int | None, *, if_idle: bool = False) -> int:
        """Run everything due up to ``limit_ms`` (``None``: until idle). Returns the steps run.

        Virtual time ends at ``limit_ms`` when given, else at the time of the last item run.
        ``if_idle``: when the scheduler is already running (on this thread or another), return 0
        instead. See :meth:`_claim` for calls made while it runs.
        """
        if not self._claim(if_idle):
            return 0
        try:
            return self._run(limit_ms)
        finally:
            self._release()

    def run_for(self, delta_ms: int) -> int:
        """Run what falls due in the next ``delta_ms`` and end there (``lam.advance``).

        "Next" counts from when this thread gets to run the loop, after any run on another thread.
        """
        self._claim(False)
        try:
            return self._run(self.clock.now_ms() + delta_ms)
        finally:
            self._release()

    def _claim(self, if_idle: bool) -> bool:
        """Take the loop for this thread; ``False`` (with ``if_idle``) when it is taken.

        The claim is atomic, so two threads never run the loop at once. A re-entrant call (an
        action moving time) is refused: time cannot move inside an invocation. A call from another
        thread while the loop runs (the test draining while a thread of its own drains, or settles
        before an AWS call) waits for that run to end, then runs: a drain still returns with
        nothing pending.
        """
        me = threading.get_ident()
        with self._idle:
            if self._running and if_idle:
                return False
            if self._running and self._owner == me:
                raise RuntimeError("virtual time cannot be moved from inside a running invocation")
            while self._running:
                self._idle.wait()
            self._running = True
            self._owner = me
        return True

    def _release(self) -> None:
        with self._idle:
            self._running = False
            self._owner = None
            self._idle.notify_all()

    def _next_timer_ms(self) -> int | None:
        with self._lock:
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            return self._timers[0].due_ms if self._timers else None

    def _run(self, limit_ms: int | None) -> int:
        steps = 0
        while steps < self.MAX_STEPS:
            due = self.next_due_ms()
            # Timers run only where time is let pass (``advance``, a settle up to now): a drain
            # runs pending work, and time it jumps over is no schedule's time (see
            # ``call_when_passed``).
            timer = self._next_timer_ms() if limit_ms is not None else None
            if (
                timer is not None
                and limit_ms is not None
                and timer <= limit_ms
                and (due is None or timer < due)
            ):
                self.clock.move_to_ms(timer)
                steps += self._run_timer()
                continue
            if due is None or (limit_ms is not None and due > limit_ms):
                break
            self.clock.move_to_ms(due)
            steps += self._run_one(due)
        else:
            raise RuntimeError(
                f"the scheduler ran {self.MAX_STEPS} steps without becoming idle; "
                "a trigger loop is feeding itself"
            )
        if limit_ms is not None:
            self.clock.move_to_ms(limit_ms)
        return steps

    def _run_timer(self) -> int:
        with self._lock:
            item = heapq.heappop(self._timers)
        if not item.cancelled:
            item.action()
        return 1

    def _run_one(self, now_ms: int) -> int:
        with self._lock:
            item = None
            if self._heap and self._heap[0].due_ms <= now_ms:
                item = heapq.heappop(self._heap)
        if item is not None:
            if not item.cancelled:
                item.action()
            return 1
        # Nothing on the heap is due: the due time came from a poller.
        ran = 0
        for poller in list(self._pollers):
            hint = self._poll_hints.get(id(poller))
            if hint is not None and hint <= now_ms:
                next_hint = poller.poll(now_ms)
                with self._lock:
                    if id(poller) in self._poll_hints:
                        self._poll_hints[id(poller)] = next_hint
                ran += 1
        return ran


def to_datetime(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)


def iso_ms(epoch_ms: int) -> str:
    """``2019-11-14T18:16:05.568Z``: the timestamp format of destination records."""
    return to_datetime(epoch_ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
