"""The environment's worker thread, and how a handler that runs past its ``Timeout`` is stopped.

The caller waits for the handler for the function's ``Timeout`` in *real* seconds (handler code
runs for real; only the mock's scheduling is virtual). When the time is up the invocation ends
with ``Sandbox.Timedout`` and the environment's worker is sent an asynchronous
``_SandboxTerminated`` exception (``PyThreadState_SetAsyncExc``). Pure-Python code stops at its
next bytecode; code blocked in C (``time.sleep``, a socket read) stops when that call returns.
Until it stops the thread is abandoned, like a frozen sandbox: its output is discarded, it can no
longer change the invocation's result, and the environment is thrown away so the next invocation
is a cold start, as after a real timeout. A handler that catches ``BaseException`` can swallow the
stop and keep running in the background; unlike a frozen sandbox it can then still make AWS
calls, so handlers should not do that.

*Virtual sleeps.* While the mock owns the wall clock (see :mod:`..wallclock`), ``time.sleep`` in
the threads of a phase returns at once and adds its length to the phase's
:class:`PhaseTime`: the handler's clock, its remaining time and its ``Duration`` include it. A
sleep that reaches the phase's ``Timeout`` ends the phase there (the same ``Sandbox.Timedout``),
so a 15-minute timeout is tested in milliseconds; the real-time wait above stays the backstop
for a handler that burns CPU.
"""

from __future__ import annotations

import contextvars
import ctypes
import queue
import threading
import time
from collections.abc import Callable

#: The Init phase (module import) may take 10 s on on-demand functions [DOCS lambda-runtime-environment].
INIT_TIMEOUT_S = 10.0


class _SandboxTerminated(BaseException):
    """Raised inside an abandoned worker thread to stop it."""


class PhaseTime:
    """The virtual time one phase (Init or Invoke) has slept, and whether that ran out its timeout."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_ns = round(timeout_s * 1e9)
        self._started = time.perf_counter_ns()
        self._lock = threading.Lock()
        self.slept_ns = 0
        self.expired = False
        #: Set when the phase ends: by its worker, or by a sleep that ran out the timeout.
        self.done = threading.Event()

    @property
    def slept_ms(self) -> float:
        return self.slept_ns / 1e6

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` in a thread of the phase: no real wait, ``seconds`` of virtual time.

        Reaching the timeout stops the sleeping thread (as the sandbox's end stops every thread)
        and ends the phase as timed out.
        """
        with self._lock:
            if not self.expired:
                self.slept_ns += round(seconds * 1e9)
                real_ns = time.perf_counter_ns() - self._started
                self.expired = real_ns + self.slept_ns >= self._timeout_ns
            expired = self.expired
        if expired:
            self.done.set()
            raise _SandboxTerminated


#: The phase the current thread works for (set in the context its worker runs it in; threads the
#: handler starts inherit it).
PHASE_TIME: contextvars.ContextVar[PhaseTime | None] = contextvars.ContextVar(
    "mock_lambda_async_phase_time", default=None
)


def slept_ms() -> float:
    """The virtual time the current thread's phase has slept (0 outside a phase)."""
    phase = PHASE_TIME.get()
    return 0.0 if phase is None else phase.slept_ms


class _Worker:
    """An execution environment's single runtime thread, running one job at a time."""

    def __init__(self, name: str, on_exit: Callable[[int], None]) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._on_exit = on_exit
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def ident(self) -> int:
        ident = self._thread.ident
        assert ident is not None
        return ident

    def _loop(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                job()
        except _SandboxTerminated:
            pass
        finally:
            self._on_exit(threading.get_ident())

    def run(
        self, job: Callable[[], None], timeout_s: float, done: threading.Event | None = None
    ) -> bool:
        """Run ``job`` on the worker; ``False`` if ``done`` was not set within ``timeout_s``.

        ``done`` (default: a new event) is set when the job ends; a virtual timeout sets it too.
        """
        done = done or threading.Event()

        def wrapped() -> None:
            try:
                job()
            finally:
                done.set()

        self._jobs.put(wrapped)
        return done.wait(timeout_s)

    def stop(self) -> None:
        self._jobs.put(None)

    def kill(self, grace_s: float = 0.0) -> None:
        """Stop the running job at its next bytecode (see the module docstring), then the thread.

        ``grace_s``: first let a thread that is already stopping (a sleep ran out its timeout)
        end by itself, so the stop does not land in its exit.
        """
        if grace_s:
            self._thread.join(grace_s)
        if self._thread.is_alive():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self.ident), ctypes.py_object(_SandboxTerminated)
            )
        self.stop()
