"""Output and logs: what an invocation prints becomes its CloudWatch events and its REPORT line.

Output is attributed by thread: what threads the handler starts itself print goes to the test's
own output, not to the function's log. ``os._exit`` on an invocation thread is caught here too.

A logging handler that writes to the process's standard output or error is part of that output
even if it holds the stream itself: a ``StreamHandler`` made before the invocation (a
module-level Powertools ``Logger`` in the test's own code, used by an ``add_function`` callable)
whose stream is ``sys.__stdout__``/``sys.__stderr__`` or what ``sys.stdout``/``sys.stderr`` were
when the runtime was made or an invocation began writes, from an invocation's thread, one event
per record into that invocation's log, as the same handler would on Lambda.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from ..clock import iso_ms

if TYPE_CHECKING:
    pass

#: Lambda reports ``Max Memory Used``; the mock cannot measure one handler's memory in a shared
#: process, so it reports this (capped at the function's memory size).
REPORTED_MEMORY_USED_MB = 40


class _LogBuffer:
    """One phase's log events: stdout/stderr split into lines, logging records and error blocks whole.

    Lambda turns each line its runtime prints into one CloudWatch event, while a logging record or
    an error report (written through the runtime's telemetry channel) stays one event, newlines
    and all.
    """

    def __init__(self) -> None:
        self.events: list[str] = []
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            if "\n" in self._partial:
                *lines, self._partial = self._partial.split("\n")
                self.events.extend(line + "\n" for line in lines)
        return len(text)

    def event(self, message: str) -> None:
        with self._lock:
            self._flush()
            self.events.append(message)

    def drain(self) -> list[str]:
        with self._lock:
            self._flush()
            events, self.events = self.events, []
            return events

    def _flush(self) -> None:
        if self._partial:
            self.events.append(self._partial)
            self._partial = ""


class _ThreadOutput(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` stand-in: invocation threads write to their log, others pass."""

    def __init__(self, routes: dict[int, _LogBuffer], original: Any) -> None:
        self.routes = routes
        self.original = original

    def write(self, text: str) -> int:
        target = self.routes.get(threading.get_ident())
        if target is not None:
            if not isinstance(text, str):
                raise TypeError(f"write() argument must be str, not {type(text).__name__}")
            # Lambda's stdout is strict UTF-8: ``print("\\udcff")`` raises in the handler.
            text.encode("utf-8")
            return target.write(text)
        return int(self.original.write(text))

    def flush(self) -> None:
        if threading.get_ident() not in self.routes:
            self.original.flush()

    def isatty(self) -> bool:
        return threading.get_ident() not in self.routes and bool(self.original.isatty())

    def fileno(self) -> int:
        return int(self.original.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.original, "encoding", None) or "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class _LambdaLogHandler(logging.Handler):
    """The Python runtime's root log handler: ``[LEVEL]\\t<time>Z\\t<request id>\\t<message>``.

    Format from ``awslambdaric.bootstrap._setup_logging``; the time is the virtual clock's.
    Records emitted on other threads (the test's own logging) are left to the test's handlers.
    """

    def __init__(self, capture: _Capture) -> None:
        super().__init__()
        self.capture = capture
        self._message_format = logging.Formatter("%(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        ident = threading.get_ident()
        target = self.capture.routes.get(ident)
        if target is None:
            return
        try:
            message = self._message_format.format(record)
            message.encode("utf-8")  # the log sink's encoding; logging reports the failure
        except Exception:
            self.handleError(record)
            return
        stamp = iso_ms(self.capture.now_ms())
        request_id = self.capture.request_ids.get(ident, "")
        target.event(f"[{record.levelname}]\t{stamp}\t{request_id}\t{message}\n")


class _ProcessExit(BaseException):
    """``os._exit`` called on an invocation thread: the runtime process would have ended."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Capture:
    """Output capture and the ``os._exit`` guard, installed while any invocation runs."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self.now_ms = now_ms
        self.routes: dict[int, _LogBuffer] = {}
        self.request_ids: dict[int, str] = {}
        self.handler = _LambdaLogHandler(self)
        self._stdout: _ThreadOutput | None = None
        self._stderr: _ThreadOutput | None = None
        self._real_exit: Callable[[int], NoReturn] | None = None
        self._real_emit: Callable[[logging.StreamHandler[Any], logging.LogRecord], None] | None
        self._real_emit = None
        self._emit_hook: object = None
        #: The standard streams seen (see the module docstring), by identity.
        self._consoles: list[Any] = [sys.stdout, sys.stderr]
        self._depth = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            self._stdout = _ThreadOutput(self.routes, sys.stdout)
            self._stderr = _ThreadOutput(self.routes, sys.stderr)
            sys.stdout = self._stdout
            sys.stderr = self._stderr
            self._real_exit = os._exit
            os._exit = self._exit
            self._consoles[2:] = [self._stdout.original, self._stderr.original]
            self._real_emit = logging.StreamHandler.emit
            capture = self

            def emit(handler: logging.StreamHandler[Any], record: logging.LogRecord) -> None:
                capture._emit(handler, record)

            self._emit_hook = emit
            logging.StreamHandler.emit = emit  # type: ignore[method-assign,assignment]

    def leave(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth > 0:
                return
            self._restore()

    def close(self) -> None:
        with self._lock:
            if self._depth > 0:
                self._depth = 0
                self._restore()

    def _restore(self) -> None:
        # Also when a handler replaced them (``sys.stdout = io.StringIO()``): the test's output
        # is the test's again once no invocation runs.
        if self._stdout is not None:
            sys.stdout = self._stdout.original
        if self._stderr is not None:
            sys.stderr = self._stderr.original
        # ``==``: each ``self._exit`` is a new bound method, equal to (not the same as) the one set.
        if self._real_exit is not None and os._exit == self._exit:
            os._exit = self._real_exit  # type: ignore[assignment]
        if self._real_emit is not None and logging.StreamHandler.emit is self._emit_hook:
            logging.StreamHandler.emit = self._real_emit  # type: ignore[method-assign,assignment]
        self._stdout = self._stderr = None

    def _emit(self, handler: logging.StreamHandler[Any], record: logging.LogRecord) -> None:
        """``StreamHandler.emit``: a record to a standard stream, on an invocation's thread, is
        one event of its log."""
        target = self.routes.get(threading.get_ident())
        stream = getattr(handler, "stream", None)
        if target is None or not self._is_console(stream):
            assert self._real_emit is not None
            self._real_emit(handler, record)
            return
        try:
            message = handler.format(record)
        except Exception:
            handler.handleError(record)
            return
        target.event(message + "\n")

    def _is_console(self, stream: Any) -> bool:
        if stream is None or isinstance(stream, _ThreadOutput):
            return stream is not None
        standard = (sys.__stdout__, sys.__stderr__, *self._consoles)
        return any(stream is known for known in standard)

    def _exit(self, status: int) -> NoReturn:
        if threading.get_ident() in self.routes:
            raise _ProcessExit(status)
        assert self._real_exit is not None
        self._real_exit(status)


def _join(events: Sequence[str]) -> str:
    return "".join(e if e.endswith("\n") else e + "\n" for e in events)


def _report_line(
    request_id: str, duration_ms: float, memory_mb: int, init_ms: float | None, status: str
) -> str:
    """The ``REPORT`` line. Since Aug 2025 the Init phase is billed too (billed = init + duration)."""
    billed = max(1, math.ceil(duration_ms + (init_ms or 0.0)))
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {min(memory_mb, REPORTED_MEMORY_USED_MB)} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    line = "\t".join(parts)
    return f"{line}\t{status}\n" if status else f"{line}\t\n"


#: Runtime versions of recorded ``INIT_START`` lines (CloudWatch logs published with the
#: projects that produced them; the ARN's hash names the version, the same in every region).
#: INFERENCE for runtimes with no recording at hand: the next version's name with a hash of
#: the runtime identifier, so the line keeps its shape.
_RUNTIME_VERSIONS = {
    "python3.9": (
        "python:3.9.v133",
        "b46f7bc0f3da8071d1b824471f2c69c8766b756b827eb0455d2118c622ae7bcf",
    ),
    "python3.10": (
        "python:3.10.v36",
        "bbd47e5ef4020932b9374e2ab9f9ed3bac502f27e17a031c35d9fb8935cf1f8c",
    ),
    "python3.11": (
        "python:3.11.v109",
        "49f733259c7ce7e0deee75ff91c6afe35c7d58b04ed300f32701216263b4590c",
    ),
    "python3.12": (
        "python:3.12.mainlinev2.v7",
        "e4ab553846c4e081013ff7d1d608a5358d5b956bb5b81c83c66d2a31da8f6244",
    ),
    "python3.13": (
        "python:3.13.mainlinev2.v11",
        "b80aa8cfc4306316d8164ccc5e4a7effaf5d6038865946d200964f23367ef28b",
    ),
}


def _init_start_line(runtime: str, region: str) -> str:
    """``INIT_START``, logged once per execution environment before its Init output.

    [DOCS runtime-management-identify]: "The runtime version number and ARN are logged in the
    ``INIT_START`` log line, which Lambda emits to CloudWatch Logs each time that it creates a new
    execution environment"; fields separated by a tab as in recorded lines.
    """
    version, digest = _RUNTIME_VERSIONS.get(runtime) or (
        f"python:{runtime.removeprefix('python')}.mainlinev2.v1",
        hashlib.sha256(runtime.encode()).hexdigest(),
    )
    arn = f"arn:aws:lambda:{region}::runtime:{digest}"
    return f"INIT_START Runtime Version: {version}\tRuntime Version ARN: {arn}\n"
