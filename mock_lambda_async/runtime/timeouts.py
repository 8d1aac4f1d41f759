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
"""

from __future__ import annotations

import ctypes
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

#: The Init phase (module import) may take 10 s on on-demand functions [DOCS lambda-runtime-environment].
INIT_TIMEOUT_S = 10.0


class _SandboxTerminated(BaseException):
    """Raised inside an abandoned worker thread to stop it."""


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

    def run(self, job: Callable[[], None], timeout_s: float) -> bool:
        """Run ``job`` on the worker; ``False`` if it did not finish within ``timeout_s``."""
        done = threading.Event()

        def wrapped() -> None:
            try:
                job()
            finally:
                done.set()

        self._jobs.put(wrapped)
        return done.wait(timeout_s)

    def stop(self) -> None:
        self._jobs.put(None)

    def kill(self) -> None:
        """Stop the running job at its next bytecode (see the module docstring), then the thread."""
        if self._thread.is_alive():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self.ident), ctypes.py_object(_SandboxTerminated)
            )
        self.stop()
