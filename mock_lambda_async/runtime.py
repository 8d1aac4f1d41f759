"""The in-process Python runtime: every trigger's invocation ends in :meth:`Runtime.run`.

It loads the function's code (the zip moto stores, or a callable given to ``add_function``), sets
the environment and context Lambda would, runs the handler, and turns whatever happens into the
payload and the log real Lambda produces. It knows nothing of queues or retries: callers decide what
a result means. The wording of every runtime error follows the Python runtime interface client
(``awslambdaric/bootstrap.py``, ``lambda_runtime_marshaller.py``, ``lambda_context.py``) and the
platform errors recorded against real AWS (spec section 1).

Execution environments. Each environment has one worker thread (Lambda's runtime process has one
main thread, so thread-locals and module state survive warm invocations), its own copy of the
handler's modules and its own log stream. An environment serves one invocation at a time; a
handler that invokes its own function synchronously gets a second environment, as on Lambda.

Isolation. The deployment package is extracted once per function version and code hash into a
temporary folder. While an invocation (or the module import that initialises an environment) runs,
that folder is first on ``sys.path`` and the working directory, the environment's modules are in
``sys.modules`` under their own names, and any other module with the same top-level name (another
function's ``utils``, a test helper) is hidden; afterwards everything is put back. Between
invocations the handler module stays in ``sys.modules`` only under a name unique to its
environment (``mock_lambda_async_handler__<function>__<version>__<code hash>``). The root
logger's level and handlers, ``sys.stdout``/``sys.stderr`` and ``os._exit`` are set for the
invocation and restored after it; changes the handler makes to its environment variables and the
root logger are replayed on its next warm invocation instead of leaking into the test. Output is
attributed by thread: what threads the handler starts itself print goes to the test's own output,
not to the function's log.

Threads. Invocations may overlap: the test may invoke from several threads, a handler may invoke
functions from a thread pool. Environment variables are therefore never set process-wide:
``os.environ`` shows the threads of an invocation (its worker, and the threads and pool tasks its
handler starts, which inherit the invocation's context) the function's own variables, and every
other thread the untouched process environment (:class:`_RoutedEnviron`). ``sys.modules``, the
working directory and ``sys.path`` cannot be shared that way, so invocations of packaged functions
take turns unless one runs inside the other (:func:`_take_package_turn`); callables registered
with ``add_function`` need none of it and run side by side.

Timeouts: how a handler is stopped. The caller waits for the handler for the function's
``Timeout`` in *real* seconds (handler code runs for real; only the mock's scheduling is virtual).
When the time is up the invocation ends with ``Sandbox.Timedout`` and the environment's worker is
sent an asynchronous ``_SandboxTerminated`` exception (``PyThreadState_SetAsyncExc``). Pure-Python
code stops at its next bytecode; code blocked in C (``time.sleep``, a socket read) stops when that
call returns. Until it stops the thread is abandoned, like a frozen sandbox: its output is
discarded, it can no longer change the invocation's result, and the environment is thrown away so
the next invocation is a cold start, as after a real timeout. A handler that catches
``BaseException`` can swallow the stop and keep running in the background; unlike a frozen
sandbox it can then still make AWS calls, so handlers should not do that.

Process exits. ``sys.exit``/``SystemExit`` and ``os._exit`` (patched for invocation threads while
an invocation runs) end the invocation with ``Runtime.ExitError`` instead of ending the test
process; the environment is discarded. Signals and ``os.abort`` are not intercepted.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import ctypes
import decimal
import importlib
import io
import json
import linecache
import logging
import math
import os
import queue
import re
import shutil
import sys
import sysconfig
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from botocore.handlers import BUILTIN_HANDLERS

from .clock import iso_ms
from .faults import TIMEOUT, injected_timeout
from .functions import ResolvedFunction
from .interception import AwsError, interceptor, render_error, to_botocore
from .metrics import MotoWrites

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from botocore.model import OperationModel

    from .mock import LambdaAsyncController

__all__ = [
    "ClientContext",
    "InvocationResult",
    "LambdaContext",
    "Runtime",
    "decode_client_context",
    "zip_problem",
]

#: Largest response Lambda returns (bytes), from the recorded ``Function.ResponseSizeTooLarge``.
MAX_RESPONSE_BYTES = 6_291_556
#: The Init phase (module import) may take 10 s on on-demand functions [DOCS lambda-runtime-environment].
INIT_TIMEOUT_S = 10.0
#: Deployment package limit, unzipped (InvalidParameterValueException at CreateFunction).
UNZIPPED_LIMIT = 262_144_000
TASK_ROOT = "/var/task"
HANDLER_MODULE_PREFIX = "mock_lambda_async_handler__"
#: Lambda reports ``Max Memory Used``; the mock cannot measure one handler's memory in a shared
#: process, so it reports this (capped at the function's memory size).
REPORTED_MEMORY_USED_MB = 40

_THIS_FILE = os.path.normcase(os.path.abspath(__file__))
_STDLIB = os.path.normcase(sysconfig.get_paths()["stdlib"])
#: Modules a deployment package may not shadow in the test process: the standard library (already
#: imported by Lambda's bootstrap before user code, so shadowing fails on Lambda too) and the SDK
#: and mock machinery whose interception keeps every call away from real AWS.
_PROTECTED_MODULES = frozenset(sys.stdlib_module_names) | {
    "boto3",
    "botocore",
    "s3transfer",
    "moto",
    "mock_lambda_async",
    "pytest",
    "_pytest",
}
_UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


@dataclass
class InvocationResult:
    """What one attempt produced, in Lambda's terms.

    ``payload`` is the response body (the handler's JSON result, or the error document);
    ``log`` the invocation's log from ``START`` to ``REPORT`` (what ``LogType=Tail`` returns the
    end of); ``cold_start`` whether a new execution environment was initialised for it.
    """

    request_id: str
    payload: bytes
    function_error: str | None
    executed_version: str
    duration_ms: float
    #: The log text, or its events as written to CloudWatch Logs (joined when read: a history of
    #: many attempts then holds each line once, shared with moto, instead of a second copy).
    _log: str | tuple[str, ...] = field(default="", repr=False)
    error_type: str | None = None
    error_message: str | None = None
    cold_start: bool = False
    init_duration_ms: float | None = None
    log_stream_name: str | None = None
    #: Injected faults (``lam.faults``) that decided this result, e.g. ``("timeout",)``.
    faults: tuple[str, ...] = ()

    @classmethod
    def not_run(cls, request_id: str, version: str, error: AwsError) -> InvocationResult:
        """The error response of an attempt :meth:`Runtime.run` refused with ``error`` (e.g. a
        runtime we cannot run here): the engines handle it like a function error."""
        return cls(
            request_id,
            json.dumps({"errorMessage": error.message, "errorType": error.code}).encode(),
            "Unhandled",
            version,
            0.0,
            error_type=error.code,
            error_message=error.message,
        )

    @property
    def ok(self) -> bool:
        return self.function_error is None

    @property
    def log(self) -> str:
        return self._log if isinstance(self._log, str) else _join(self._log)

    @log.setter
    def log(self, text: str) -> None:
        self._log = text

    def payload_json(self) -> Any:
        """The response decoded: its JSON value, ``None`` when empty, or, for a payload that is not
        JSON (a handler may return any bytes), its text."""
        if not self.payload:
            return None
        try:
            return json.loads(self.payload)
        except ValueError:  # includes UnicodeDecodeError
            return self.payload.decode("utf-8", "replace")


# -- the context object -----------------------------------------------------------------------------
class Client:
    """``context.client_context.client`` (``awslambdaric.lambda_context.Client``)."""

    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, data: dict[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, data.get(name))


class ClientContext:
    """``context.client_context``: ``custom``, ``env`` and ``client``, as the Python runtime builds it."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, data: dict[str, Any]) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else client


class CognitoIdentity:
    """``context.identity``: always present; both ids ``None`` unless invoked through Cognito."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The context object handed to the handler (mirrors ``awslambdaric.lambda_context``).

    ``client_context`` is set only for synchronous invokes that sent one; its ``w3c`` member is
    removed and exposed through :meth:`w3c`, as the runtime does.
    """

    def __init__(
        self,
        request_id: str,
        fn: ResolvedFunction,
        memory_mb: int,
        timeout_s: float,
        log_group: str,
        log_stream: str,
        client_context: dict[str, Any] | None,
    ) -> None:
        self.aws_request_id = request_id
        self.function_name = fn.name
        self.function_version = fn.version
        # Lambda passes the ARN the caller used: unqualified, or with the version/alias named.
        self.invoked_function_arn = fn.unqualified_arn if fn.qualifier is None else fn.qualified_arn
        self.memory_limit_in_mb = str(memory_mb)
        self.log_group_name = log_group
        self.log_stream_name = log_stream
        self.tenant_id: str | None = None
        data = dict(client_context) if client_context is not None else None
        raw_w3c = data.pop("w3c", None) if data is not None else None
        self._w3c = (
            {k: v for k, v in raw_w3c.items() if k in _W3C_FIELDS and isinstance(v, str)}
            if isinstance(raw_w3c, dict)
            else {}
        )
        self.client_context = ClientContext(data) if data is not None else None
        self.identity = CognitoIdentity()
        self._timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def w3c(self) -> dict[str, str]:
        return dict(self._w3c)

    def log(self, msg: Any) -> None:
        """Write ``msg`` to the invocation's log, as ``context.log`` does."""
        sys.stdout.write(str(msg))

    def _start_clock(self) -> None:
        self._deadline = time.monotonic() + self._timeout_s

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


_W3C_FIELDS = ("traceparent", "tracestate", "baggage")


def decode_client_context(value: str | None) -> dict[str, Any] | None:
    """The ``ClientContext`` header (base64 JSON object), or Lambda's 400 for anything else.

    Message from a real response (boto/boto3#2153).
    """
    if not value:
        return None
    try:
        decoded = json.loads(base64.b64decode(value, validate=True))
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        raise AwsError(
            "InvalidRequestContentException",
            "Client context must be a valid Base64-encoded JSON object.",
            message_key="message",
        )
    return decoded


# -- log capture ------------------------------------------------------------------------------------
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
        if self._stdout is not None and sys.stdout is self._stdout:
            sys.stdout = self._stdout.original
        if self._stderr is not None and sys.stderr is self._stderr:
            sys.stderr = self._stderr.original
        # ``==``: each ``self._exit`` is a new bound method, equal to (not the same as) the one set.
        if self._real_exit is not None and os._exit == self._exit:
            os._exit = self._real_exit  # type: ignore[assignment]
        self._stdout = self._stderr = None

    def _exit(self, status: int) -> NoReturn:
        if threading.get_ident() in self.routes:
            raise _ProcessExit(status)
        assert self._real_exit is not None
        self._real_exit(status)


# -- invocation context: what an invocation's threads share ----------------------------------------
@dataclass(eq=False)
class _InvocationScope:
    """One running invocation, as seen from every thread working for it.

    ``environ`` is the function's environment (what ``os.environ`` shows its threads); ``parent``
    the invocation whose handler started this one (``None`` for the test's own calls and the
    scheduler's), so a nested invocation knows the chain it belongs to.
    """

    environ: dict[str, str]
    parent: _InvocationScope | None = None

    def lineage(self) -> Iterator[_InvocationScope]:
        scope = self.parent
        while scope is not None:
            yield scope
            scope = scope.parent


#: The invocation the current thread works for. The worker runs each phase in a copy of the
#: caller's context with this set; threads and pool tasks a handler starts inherit it (see
#: :func:`_hold_thread_hooks`), so a value the engine puts in a context variable around
#: ``Runtime.run`` reaches every thread of the invocation.
_SCOPE: contextvars.ContextVar[_InvocationScope | None] = contextvars.ContextVar(
    "mock_lambda_async_invocation", default=None
)


class _RoutedEnviron(os._Environ[str]):
    """``os.environ`` while a runtime exists: an invocation's threads see their function's variables.

    Lambda gives each function its own process environment. Here every handler shares the test's
    process, and invocations may overlap (threads of the test, a handler's thread pool), so the
    variables cannot be set process-wide: the threads of an invocation read and write their
    scope's ``environ`` instead, and every other thread the real environment, which the mock never
    changes. The class of the existing object is swapped, so modules holding ``os.environ`` (or
    ``from os import environ``) are covered too. Not covered: ``os.environb``, and C code reading
    the process environment (``getenv`` in an extension, a subprocess started with ``env=None``).
    """

    def __getitem__(self, key: str) -> str:
        scope = _SCOPE.get()
        if scope is None:
            return super().__getitem__(key)
        self.encodekey(key)  # the type checks of the real mapping
        try:
            return scope.environ[key]
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: str) -> None:
        scope = _SCOPE.get()
        if scope is None:
            super().__setitem__(key, value)
            return
        self.encodekey(key)
        self.encodevalue(value)
        scope.environ[key] = value

    def __delitem__(self, key: str) -> None:
        scope = _SCOPE.get()
        if scope is None:
            super().__delitem__(key)
            return
        try:
            del scope.environ[key]
        except KeyError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        scope = _SCOPE.get()
        if scope is None:
            return super().__iter__()
        return iter(list(scope.environ))

    def __len__(self) -> int:
        scope = _SCOPE.get()
        return super().__len__() if scope is None else len(scope.environ)

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"


def in_invocation_thread() -> bool:
    """Whether the calling thread works for a running invocation (a handler, or its threads)."""
    return _SCOPE.get() is not None


def _real_environ() -> dict[str, str]:
    """The process environment itself, whichever invocation the calling thread works for.

    Decoding every variable costs more than the rest of a warm invocation's set-up, so the decoded
    copy is kept and reused while the raw environment compares equal (a C-level comparison).
    """
    environ: Any = os.environ
    raw = environ._data
    cached = _REAL_ENVIRON[0] if _REAL_ENVIRON else None
    if cached is None or cached[0] != raw:
        snapshot = dict(raw)
        decoded = {environ.decodekey(k): environ.decodevalue(v) for k, v in snapshot.items()}
        cached = (snapshot, decoded)
        _REAL_ENVIRON[:] = [cached]
    return dict(cached[1])


#: The raw process environment last decoded by :func:`_real_environ`, and its decoding.
_REAL_ENVIRON: list[tuple[dict[Any, Any], dict[str, str]]] = []


_THREAD_HOOKS_LOCK = threading.Lock()
_THREAD_HOOK_HOLDERS = [0]
_THREAD_HOOK_SAVED: dict[str, Any] = {}
#: The originals, kept for calls that looked up a hook just before it was removed.
_ORIGINAL_START = threading.Thread.start
_ORIGINAL_SUBMIT = ThreadPoolExecutor.submit


def _start_in_invocation(thread: threading.Thread) -> None:
    """``Thread.start``: a thread started for an invocation runs in a copy of its context."""
    if _SCOPE.get() is not None:
        context = contextvars.copy_context()
        run = thread.run
        thread.run = lambda: context.run(run)  # type: ignore[method-assign]
    _THREAD_HOOK_SAVED.get("start", _ORIGINAL_START)(thread)


def _submit_in_invocation(
    executor: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    """``ThreadPoolExecutor.submit``: a task submitted for an invocation runs in its context.

    Pool threads outlive the task that started them (a module-level pool), so the context is the
    submitter's, task by task, like ``asyncio.to_thread``.
    """
    submit = _THREAD_HOOK_SAVED.get("submit", _ORIGINAL_SUBMIT)
    if _SCOPE.get() is not None:
        return submit(executor, contextvars.copy_context().run, fn, *args, **kwargs)
    return submit(executor, fn, *args, **kwargs)


def _hold_thread_hooks() -> None:
    """Install the routed ``os.environ`` and the thread hooks (first holder), counted."""
    with _THREAD_HOOKS_LOCK:
        _THREAD_HOOK_HOLDERS[0] += 1
        if _THREAD_HOOK_HOLDERS[0] > 1:
            return
        _THREAD_HOOK_SAVED.update(
            environ=os.environ,
            environ_class=type(os.environ),
            start=threading.Thread.start,
            submit=ThreadPoolExecutor.submit,
        )
        os.environ.__class__ = _RoutedEnviron
        threading.Thread.start = _start_in_invocation  # type: ignore[method-assign,assignment]
        ThreadPoolExecutor.submit = _submit_in_invocation  # type: ignore[method-assign,assignment]


def _release_thread_hooks() -> None:
    with _THREAD_HOOKS_LOCK:
        _THREAD_HOOK_HOLDERS[0] -= 1
        if _THREAD_HOOK_HOLDERS[0] > 0:
            return
        _THREAD_HOOK_SAVED["environ"].__class__ = _THREAD_HOOK_SAVED["environ_class"]
        threading.Thread.start = _THREAD_HOOK_SAVED["start"]  # type: ignore[method-assign]
        ThreadPoolExecutor.submit = _THREAD_HOOK_SAVED["submit"]  # type: ignore[method-assign]
        _THREAD_HOOK_SAVED.clear()


# -- packages: one interpreter, one sys.modules, one working directory -----------------------------
@dataclass(eq=False)
class _PackageTurn:
    """A packaged function's hold on the process-wide import state, and what to put back after."""

    scope: _InvocationScope
    cwd: str | None
    hidden: dict[str, ModuleType] = field(default_factory=dict)


#: Active package turns, oldest first. ``sys.modules``, ``sys.path`` and the working directory
#: cannot be given to two packages at once (two ``lambda_function`` modules, two ``/var/task``),
#: so a packaged invocation waits until every active turn belongs to an invocation it runs inside
#: (its handler invoking it): the turns then nest, and each undoes its changes in order.
#: Invocations of callables (``add_function``) touch none of that and never wait.
_PACKAGE_TURNS: list[_PackageTurn] = []
_PACKAGE_CHANGED = threading.Condition()


def _take_package_turn(scope: _InvocationScope) -> _PackageTurn:
    outer = {id(s) for s in scope.lineage()}
    with _PACKAGE_CHANGED:
        _PACKAGE_CHANGED.wait_for(lambda: all(id(t.scope) in outer for t in _PACKAGE_TURNS))
        try:
            cwd: str | None = os.getcwd()
        except OSError:
            cwd = None
        turn = _PackageTurn(scope, cwd)
        _PACKAGE_TURNS.append(turn)
        return turn


def _end_package_turn(turn: _PackageTurn, belongs: Callable[[ModuleType], bool]) -> None:
    """Put back the working directory and the hidden modules, or hand them on.

    A turn that ends while a later one is still active (a handler returned without waiting for a
    thread of its own that invoked a packaged function) hands its originals to that turn, and
    takes its own modules back out of what that turn hid.
    """
    with _PACKAGE_CHANGED:
        index = _PACKAGE_TURNS.index(turn)
        del _PACKAGE_TURNS[index]
        if index == len(_PACKAGE_TURNS):
            if turn.cwd is not None:
                with contextlib.suppress(OSError):
                    os.chdir(turn.cwd)
            sys.modules.update(turn.hidden)
        else:
            later = _PACKAGE_TURNS[index]
            later.cwd = turn.cwd
            kept = {n: m for n, m in later.hidden.items() if not belongs(m)}
            later.hidden = {**kept, **turn.hidden}
        _PACKAGE_CHANGED.notify_all()


# -- environments -----------------------------------------------------------------------------------
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


@dataclass
class _Code:
    """A deployment package extracted to disk."""

    directory: Path
    top_names: frozenset[str]


@dataclass(eq=False)
class _Environment:
    """One execution environment: worker, loaded handler, modules, log stream, process state."""

    key: tuple[str, str, str]
    worker: _Worker
    log_stream: str
    code: _Code | None
    handler: Callable[..., Any] | None = None
    handler_module: str | None = None
    modules: dict[str, ModuleType] = field(default_factory=dict)
    alias: str | None = None
    busy: bool = False
    initialised: bool = False
    env_changes: dict[str, str | None] = field(default_factory=dict)
    root_level: int | None = None
    root_handlers: list[logging.Handler] = field(default_factory=list)
    #: The invocation running in this environment (set by ``_scope`` for its phases).
    scope: _InvocationScope | None = None


@dataclass(eq=False)
class _RootState:
    """The root logger as an invocation found it, and the thread it runs on."""

    level: int
    handlers: list[logging.Handler]
    thread: int


@dataclass(frozen=True)
class _Config:
    """The function configuration one invocation runs with (read fresh from moto)."""

    runtime: str
    handler: str
    package_type: str
    timeout_s: float
    memory_mb: int
    code_sha: str
    variables: dict[str, str]

    @classmethod
    def of(cls, moto_fn: Any) -> _Config:
        return cls(
            runtime=str(moto_fn.run_time or ""),
            handler=str(moto_fn.handler or ""),
            package_type=str(getattr(moto_fn, "package_type", None) or "Zip"),
            timeout_s=float(moto_fn.timeout or 3),
            memory_mb=int(moto_fn.memory_size or 128),
            code_sha=str(moto_fn.code_sha_256 or ""),
            variables={str(k): str(v) for k, v in (moto_fn.environment_vars or {}).items()},
        )

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python") or "3"


class _InitError(Exception):
    """The Init phase failed: ``(errorType, errorMessage, stackTrace)`` as the runtime reports it."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class _Fault(Exception):
    """A runtime fault during the Invoke phase (``Runtime.MarshalError``/``UnmarshalError``)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass
class _Outcome:
    """What happened on the worker during one phase."""

    done: bool = False
    body: bytes | None = None
    error: BaseException | None = None
    trace: list[str] = field(default_factory=list)
    fault: _Fault | None = None
    init_error: _InitError | None = None
    exit_status: int | None = None
    duration_ms: float = 0.0


# -- the runtime ------------------------------------------------------------------------------------
class Runtime:
    """Loads and runs handlers for one controller; cleans everything up on :meth:`close`."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self._callables: dict[str, tuple[Callable[..., Any], str]] = {}
        self._pool: dict[tuple[str, str, str], list[_Environment]] = {}
        self._codes: dict[tuple[str, str, str], _Code] = {}
        self._tmp: Path | None = None
        #: Every module name any environment has loaded from a deployment package.
        self._loaded_names: set[str] = set()
        self._capture = _Capture(controller.clock.now_ms)
        self._lock = threading.RLock()
        #: Root logger states to restore, one per running invocation (see ``_scope``).
        self._root_states: list[_RootState] = []
        _hold_thread_hooks()
        self._holds_thread_hooks = True

    # -- registration ---------------------------------------------------------------------------
    def register_callable(
        self, unqualified_arn: str, handler: Callable[..., Any], code_sha256: str
    ) -> None:
        """Run ``handler`` for the function while its code is still the placeholder we gave it."""
        self._callables[unqualified_arn] = (handler, code_sha256)

    def _registered(self, fn: ResolvedFunction, config: _Config) -> Callable[..., Any] | None:
        registered = self._callables.get(fn.unqualified_arn)
        if registered is not None and registered[1] == config.code_sha:
            return registered[0]
        return None

    # -- running --------------------------------------------------------------------------------
    def check_invocable(self, fn: ResolvedFunction) -> None:
        """Raise the service error an Invoke of ``fn`` gets when its code cannot run here at all.

        Only Python handlers run in-process. Other runtimes and container images get
        ``InvalidRuntimeException`` (HTTP 502, the modelled Invoke error for a runtime Lambda
        cannot run), with a message saying so; a package that cannot be unzipped gets
        ``InvalidZipFileException`` (502, "Lambda could not unzip the deployment package." [BC]).
        """
        moto_fn = fn.moto()
        config = _Config.of(moto_fn)
        if self._registered(fn, config) is not None:
            return
        if config.package_type == "Image" or not config.runtime.startswith("python"):
            kind = (
                "is a container image function"
                if config.package_type == "Image"
                else f"uses runtime {config.runtime!r}"
            )
            raise AwsError(
                "InvalidRuntimeException",
                f"mock_lambda_async runs Python handlers in-process only; function {fn.name} "
                f"{kind}. Register a Python callable with add_function() to stand in for it.",
                502,
            )
        self._code(fn, moto_fn, config)

    def run(
        self,
        fn: ResolvedFunction,
        payload: bytes,
        *,
        request_id: str | None = None,
        client_context: dict[str, Any] | None = None,
    ) -> InvocationResult:
        """Invoke ``fn`` with ``payload`` (JSON bytes) once.

        Handler faults of every kind become the result Lambda gives; only a function that cannot
        run here at all raises the service error :meth:`check_invocable` describes.
        """
        request_id = request_id or str(uuid.uuid4())
        self.check_invocable(fn)
        moto_fn = fn.moto()
        config = _Config.of(moto_fn)
        environment = self._acquire(fn, moto_fn, config)
        log_group = f"/aws/lambda/{fn.name}"
        context = LambdaContext(
            request_id,
            fn,
            config.memory_mb,
            config.timeout_s,
            log_group,
            environment.log_stream,
            client_context,
        )
        cold = not environment.initialised
        init_log = _LogBuffer()
        invoke_log = _LogBuffer()
        init = _Outcome(done=True)
        outcome = _Outcome()
        timeout = None
        discard = False
        try:
            with self._scope(environment, fn, config, context):
                if cold:
                    init = self._phase(
                        environment,
                        init_log,
                        "",
                        INIT_TIMEOUT_S,
                        self._init_job(environment, config),
                    )
                    environment.initialised = init.done and init.init_error is None
                if environment.initialised:
                    context._start_clock()
                    timeout = injected_timeout(self.controller, fn, request_id)
                    if timeout is None or timeout.options["run_handler"]:
                        outcome = self._phase(
                            environment,
                            invoke_log,
                            request_id,
                            config.timeout_s,
                            self._invoke_job(environment, config, payload, context),
                        )
                    if timeout is not None:
                        # Ends as a real timeout does (result, log, environment discarded), now.
                        outcome = _Outcome(done=False, duration_ms=config.timeout_s * 1000)
            result = self._result(fn, config, request_id, init, outcome, invoke_log)
            if timeout is not None:
                result.faults = (TIMEOUT,)
            discard = (
                not environment.initialised or not outcome.done or outcome.exit_status is not None
            )
        finally:
            self._release(environment, discard=discard)
        result.cold_start = cold
        result.init_duration_ms = (
            init.duration_ms if cold and environment.code is not None and init.done else None
        )
        result.log_stream_name = environment.log_stream
        init_events = init_log.drain() if cold else []
        if init.init_error is not None:
            init_events.append(
                _error_block(
                    init.init_error.error_type, init.init_error.message, init.init_error.trace
                )
            )
        events = self._invocation_events(fn, config, result, invoke_log.drain())
        result._log = tuple(events)
        self.controller.state(MotoWrites).log(
            fn,
            log_group,
            environment.log_stream,
            self.controller.clock.now_ms(),
            init_events + events,
        )
        return result

    def _phase(
        self,
        environment: _Environment,
        log: _LogBuffer,
        request_id: str,
        timeout_s: float,
        job: Callable[[_Outcome], None],
    ) -> _Outcome:
        """Run one phase (Init or Invoke) on the environment's worker, within ``timeout_s``."""
        outcome = _Outcome()
        ident = environment.worker.ident
        self._capture.routes[ident] = log
        self._capture.request_ids[ident] = request_id
        # The handler runs in a copy of the caller's context, as part of its invocation.
        context = contextvars.copy_context()
        context.run(_SCOPE.set, environment.scope)
        finished = environment.worker.run(lambda: context.run(job, outcome), timeout_s)
        if finished:
            self._capture.routes.pop(ident, None)
            self._capture.request_ids.pop(ident, None)
            return outcome
        # Abandoned: whatever it still prints goes nowhere (a frozen sandbox logs nothing), and
        # whatever it still records lands in an outcome nobody reads.
        self._capture.routes[ident] = _LogBuffer()
        environment.worker.kill()
        return _Outcome(done=False, duration_ms=timeout_s * 1000)

    def _init_job(self, environment: _Environment, config: _Config) -> Callable[[_Outcome], None]:
        def job(outcome: _Outcome) -> None:
            started = time.perf_counter()
            try:
                if environment.handler is None:
                    environment.handler = self._import_handler(environment, config)
            except _SandboxTerminated:
                raise
            except _InitError as error:
                outcome.init_error = error
            except SystemExit as error:
                outcome.exit_status = _exit_status(error, sys.stderr)
            except _ProcessExit as error:
                outcome.exit_status = error.status
            except Exception as error:
                # Any other exception at import: reported with its own type (build_fault_result).
                outcome.init_error = _InitError(
                    type(error).__name__,
                    str(error),
                    _stack_trace(error.__traceback__, environment.code, config),
                )
            except BaseException:
                outcome.exit_status = _crash(environment.code, config)
            outcome.duration_ms = (time.perf_counter() - started) * 1000
            outcome.done = True

        return job

    def _invoke_job(
        self,
        environment: _Environment,
        config: _Config,
        payload: bytes,
        context: LambdaContext,
    ) -> Callable[[_Outcome], None]:
        handler = environment.handler

        def job(outcome: _Outcome) -> None:
            assert handler is not None
            started = time.perf_counter()
            try:
                event = _unmarshal(payload)
                value = handler(event, context)
                outcome.body = _marshal(value, config)
            except _SandboxTerminated:
                raise
            except _Fault as fault:
                outcome.fault = fault
            except SystemExit as error:
                outcome.exit_status = _exit_status(error, sys.stderr)
            except _ProcessExit as error:
                outcome.exit_status = error.status
            except Exception as error:
                outcome.error = error
                outcome.trace = _stack_trace(error.__traceback__, environment.code, config)
            except BaseException:
                # Not caught by the runtime (it catches Exception): the process dies, exit status 1.
                outcome.exit_status = _crash(environment.code, config)
            outcome.duration_ms = (time.perf_counter() - started) * 1000
            outcome.done = True

        return job

    def _import_handler(self, environment: _Environment, config: _Config) -> Callable[..., Any]:
        """``awslambdaric.bootstrap._get_handler``: the same checks, in the same order, same words."""
        spec = config.handler
        try:
            module_name, function_name = spec.rsplit(".", 1)
        except ValueError as error:
            raise _InitError(
                "Runtime.MalformedHandlerName", f"Bad handler '{spec}': {error}"
            ) from None
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise _InitError(
                "Runtime.BuiltInModuleConflict",
                f"Cannot use built-in module {module_name} as a handler module",
            )
        importlib.invalidate_caches()
        try:
            module = importlib.import_module(module_name.replace("/", "."))
        except ImportError as error:
            raise _InitError(
                "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
            ) from None
        except SyntaxError as error:
            filename = _lambda_path(error.filename or "", environment.code, config)
            trace = [f'  File "{filename}" Line {error.lineno}\n    {error.text}']
            raise _InitError(
                "Runtime.UserCodeSyntaxError",
                f"Syntax error in module '{module_name}': {error}",
                trace,
            ) from None
        try:
            handler = getattr(module, function_name)
        except AttributeError:
            raise _InitError(
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
            ) from None
        environment.handler_module = module.__name__
        return handler  # type: ignore[no-any-return]

    # -- per-invocation process state ---------------------------------------------------------------
    @contextlib.contextmanager
    def _scope(
        self,
        environment: _Environment,
        fn: ResolvedFunction,
        config: _Config,
        context: LambdaContext,
    ) -> Iterator[None]:
        """Environment variables, modules, path, logging and output of one invocation, then undone."""
        code = environment.code
        variables = {
            **config.variables,
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": context.memory_limit_in_mb,
            "AWS_LAMBDA_LOG_GROUP_NAME": context.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": context.log_stream_name,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "_HANDLER": config.handler,
            # The real folder, so code that builds paths from it finds its files.
            "LAMBDA_TASK_ROOT": str(code.directory) if code is not None else TASK_ROOT,
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
        }
        scope = _InvocationScope(_real_environ(), parent=_SCOPE.get())
        scope.environ.update(variables)
        _apply_environ(scope.environ, environment.env_changes)
        applied = dict(scope.environ)
        environment.scope = scope
        # Waiting for the package turn happens before taking the runtime's lock, which nested
        # invocations (the turn's holder invoking a function) need.
        turn = _take_package_turn(scope) if code is not None else None
        with self._lock:
            root = logging.getLogger()
            saved_level = root.level
            saved_handlers = list(root.handlers)
            root_state = _RootState(saved_level, saved_handlers, threading.get_ident())
            self._root_states.append(root_state)
            if environment.root_level is not None:
                root.setLevel(environment.root_level)
            added = [h for h in environment.root_handlers if h not in root.handlers]
            if self._capture.handler not in root.handlers:
                # First, so ``logging.getLogger().handlers[0]`` is the runtime's, as on Lambda.
                added.insert(0, self._capture.handler)
            root.handlers[:0] = added
            if code is not None and turn is not None:
                turn.hidden = self._hide_modules(code)
                sys.modules.update(environment.modules)
                present = set(sys.modules)
                sys.path.insert(0, str(code.directory))
                os.chdir(code.directory)
            self._capture.enter()
            self.controller.invocation_started()
        try:
            yield
        finally:
            with self._lock:
                self.controller.invocation_finished()
                self._capture.leave()
                if code is not None and turn is not None:
                    with contextlib.suppress(ValueError):
                        sys.path.remove(str(code.directory))
                    if _PACKAGE_TURNS[-1] is turn:
                        self._collect_modules(environment, code, present)

                    def belongs(module: ModuleType) -> bool:
                        if _is_under(_module_location(module), code.directory):
                            environment.modules.setdefault(module.__name__, module)
                            return True
                        return False

                    _end_package_turn(turn, belongs)
                environment.root_level = root.level if root.level != saved_level else None
                environment.root_handlers = [
                    h
                    for h in root.handlers
                    if h not in saved_handlers and h is not self._capture.handler
                ]
                self._restore_root(root_state)
                environment.env_changes.update(_environ_changes(applied, scope.environ))
        if environment.alias is None and environment.handler_module in environment.modules:
            environment.alias = self._register_alias(fn, config, environment)

    def _restore_root(self, state: _RootState) -> None:
        """Put the root logger back as this invocation found it, or hand that on.

        Invocations may end in any order (threads). One nested in invocations of its own thread
        only restores what it found, so its logging set-up does not leak into its caller. While
        invocations of other threads still run, the root logger stays as it is (they may have set
        it up after this one started) and what this one found passes to the next to have started,
        so the last to end restores what the test had.
        """
        index = next(i for i, found in enumerate(self._root_states) if found is state)
        del self._root_states[index]
        if index < len(self._root_states):
            self._root_states[index].level = state.level
            self._root_states[index].handlers = state.handlers
            return
        if any(other.thread != state.thread for other in self._root_states):
            return
        root = logging.getLogger()
        if root.level != state.level:
            # ``setLevel`` clears the cache of every logger (hundreds with botocore): only when needed.
            root.setLevel(state.level)
        root.handlers[:] = state.handlers

    def _hide_modules(self, code: _Code) -> dict[str, ModuleType]:
        """Take out of ``sys.modules`` what the package's own modules must not collide with.

        That is every module loaded from any deployment package, and anything (a test helper, an
        installed library) under a top-level name the package defines itself.
        """
        names = set(self._loaded_names)
        tops = {t for t in code.top_names if t in sys.modules and t not in _PROTECTED_MODULES}
        if tops:
            names.update(n for n in list(sys.modules) if n.partition(".")[0] in tops)
        hidden = {}
        for name in names:
            module = sys.modules.pop(name, None)
            if module is not None:
                hidden[name] = module
        return hidden

    def _collect_modules(self, environment: _Environment, code: _Code, present: set[str]) -> None:
        """Move the package's modules from ``sys.modules`` into the environment.

        Candidates are the environment's own modules and whatever was imported since the scope
        began (``present`` is what was there then); a new module belongs to the package if its file
        is in the package or its top-level name is one the package defines.
        """
        candidates = (set(sys.modules) - present) | set(environment.modules)
        for name in candidates:
            module = sys.modules.get(name)
            if module is None:
                continue
            top = name.partition(".")[0]
            if (
                name in environment.modules
                or (top in code.top_names and top not in _PROTECTED_MODULES)
                or _is_under(_module_location(module), code.directory)
            ):
                environment.modules[name] = module
                self._loaded_names.add(name)
                del sys.modules[name]

    def _register_alias(
        self, fn: ResolvedFunction, config: _Config, environment: _Environment
    ) -> str:
        base = HANDLER_MODULE_PREFIX + "__".join(
            re.sub(r"\W", "_", part) for part in (fn.name, fn.version, config.code_sha[:12])
        )
        alias, n = base, 1
        while alias in sys.modules:
            n += 1
            alias = f"{base}__{n}"
        assert environment.handler_module is not None
        sys.modules[alias] = environment.modules[environment.handler_module]
        return alias

    # -- environments -----------------------------------------------------------------------------
    def _acquire(self, fn: ResolvedFunction, moto_fn: Any, config: _Config) -> _Environment:
        key = (fn.unqualified_arn, fn.version, config.code_sha)
        with self._lock:
            for other_key, environments in list(self._pool.items()):
                # New code for this version: its old environments are retired.
                if other_key[:2] == key[:2] and other_key != key:
                    for environment in [e for e in environments if not e.busy]:
                        self._retire(environment)
            for environment in self._pool.get(key, []):
                if not environment.busy:
                    environment.busy = True
                    return environment
            registered = self._registered(fn, config)
            code = None if registered is not None else self._code(fn, moto_fn, config)
            day = self.controller.now().strftime("%Y/%m/%d")
            environment = _Environment(
                key=key,
                worker=_Worker(f"lambda-{fn.name}", self._worker_exited),
                log_stream=f"{day}/[{fn.version}]{uuid.uuid4().hex}",
                code=code,
                handler=registered,
                busy=True,
            )
            self._pool.setdefault(key, []).append(environment)
            return environment

    def _release(self, environment: _Environment, *, discard: bool) -> None:
        with self._lock:
            environment.busy = False
            if discard:
                self._retire(environment)

    def _retire(self, environment: _Environment) -> None:
        environments = self._pool.get(environment.key, [])
        if environment in environments:
            environments.remove(environment)
        if not environments:
            self._pool.pop(environment.key, None)
        environment.worker.stop()
        if environment.alias is not None:
            sys.modules.pop(environment.alias, None)
        environment.modules.clear()

    def _worker_exited(self, ident: int) -> None:
        self._capture.routes.pop(ident, None)
        self._capture.request_ids.pop(ident, None)

    def _code(self, fn: ResolvedFunction, moto_fn: Any, config: _Config) -> _Code:
        key = (fn.unqualified_arn, fn.version, config.code_sha)
        with self._lock:
            code = self._codes.get(key)
            if code is None:
                if self._tmp is None:
                    self._tmp = Path(tempfile.mkdtemp(prefix="mock-lambda-async-"))
                safe_name = re.sub(r"[^\w.-]", "_", fn.name)
                target = self._tmp / f"{safe_name}-{uuid.uuid4().hex[:8]}"
                data = bytes(moto_fn.code_bytes or b"")
                if zip_problem(data) is not None:
                    raise AwsError(
                        "InvalidZipFileException",
                        "Lambda could not unzip the deployment package.",
                        502,
                    )
                code = _extract(data, target)
                self._codes[key] = code
            return code

    # -- results and logs ---------------------------------------------------------------------------
    def _result(
        self,
        fn: ResolvedFunction,
        config: _Config,
        request_id: str,
        init: _Outcome,
        outcome: _Outcome,
        invoke_log: _LogBuffer,
    ) -> InvocationResult:
        version = fn.version

        def failure(
            error_type: str, message: str, body: bytes, duration: float
        ) -> InvocationResult:
            return InvocationResult(
                request_id,
                body,
                "Unhandled",
                version,
                duration,
                error_type=error_type,
                error_message=message,
            )

        timeout_message = (
            f"RequestId: {request_id} Error: Task timed out after {config.timeout_s:.2f} seconds"
        )
        if not init.done or (
            init.init_error is None and init.exit_status is None and not outcome.done
        ):
            body = _compact({"errorType": "Sandbox.Timedout", "errorMessage": timeout_message})
            return failure("Sandbox.Timedout", timeout_message, body, config.timeout_s * 1000)
        status = init.exit_status if init.exit_status is not None else outcome.exit_status
        if status is not None:
            reason = (
                "Runtime exited without providing a reason"
                if status == 0
                else f"Runtime exited with error: exit status {status}"
            )
            message = f"RequestId: {request_id} Error: {reason}"
            body = _compact({"errorType": "Runtime.ExitError", "errorMessage": message})
            return failure("Runtime.ExitError", message, body, outcome.duration_ms)
        if init.init_error is not None:
            error = init.init_error
            body = _runtime_error(error.message, error.error_type, request_id, error.trace, config)
            return failure(error.error_type, error.message, body, 0.0)
        if outcome.fault is not None:
            fault = outcome.fault
            invoke_log.event(_error_block(fault.error_type, fault.message, []))
            body = _runtime_error(fault.message, fault.error_type, request_id, [], config)
            return failure(fault.error_type, fault.message, body, outcome.duration_ms)
        if outcome.error is not None:
            error_type, message = type(outcome.error).__name__, str(outcome.error)
            invoke_log.event(_error_block(error_type, message, outcome.trace))
            body = _runtime_error(message, error_type, request_id, outcome.trace, config)
            return failure(error_type, message, body, outcome.duration_ms)
        assert outcome.body is not None
        if len(outcome.body) > MAX_RESPONSE_BYTES:
            message = (
                "Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes)."
            )
            body = _compact({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"})
            return failure("Function.ResponseSizeTooLarge", message, body, outcome.duration_ms)
        return InvocationResult(request_id, outcome.body, None, version, outcome.duration_ms)

    def _invocation_events(
        self, fn: ResolvedFunction, config: _Config, result: InvocationResult, output: list[str]
    ) -> list[str]:
        """``START``, the handler's output, platform error lines, ``END``, ``REPORT``."""
        request_id = result.request_id
        events = [f"START RequestId: {request_id} Version: {fn.version}\n", *output]
        status = ""
        if result.error_type == "Sandbox.Timedout":
            stamp = iso_ms(self.controller.clock.now_ms())
            events.append(
                f"{stamp} {request_id} Task timed out after {config.timeout_s:.2f} seconds\n"
            )
            status = "Status: timeout"
        elif result.error_type == "Runtime.ExitError":
            events.append(f"{result.error_message}\nRuntime.ExitError\n")
            status = "Status: error\tError Type: Runtime.ExitError"
        events.append(f"END RequestId: {request_id}\n")
        events.append(
            _report_line(
                request_id, result.duration_ms, config.memory_mb, result.init_duration_ms, status
            )
        )
        return events

    # -- cleanup ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Undo everything: workers, module aliases, leftover modules, caches, extracted code."""
        self._capture.close()
        if self._holds_thread_hooks:
            self._holds_thread_hooks = False
            _release_thread_hooks()
        with self._lock:
            for environments in list(self._pool.values()):
                for environment in list(environments):
                    if environment.busy:
                        environment.worker.kill()
                    self._retire(environment)
            self._pool.clear()
            self._codes.clear()
            if self._tmp is None:
                return
            tmp = self._tmp
            for name in self._loaded_names:
                sys.modules.pop(name, None)
            self._loaded_names.clear()
            for path in list(sys.path_importer_cache):
                if _is_under(path, tmp):
                    del sys.path_importer_cache[path]
            for path in list(linecache.cache):
                if _is_under(path, tmp):
                    del linecache.cache[path]
            shutil.rmtree(tmp, ignore_errors=True)
            self._tmp = None


# -- helpers ----------------------------------------------------------------------------------------
def _apply_environ(environ: dict[str, str], changes: dict[str, str | None]) -> None:
    for key, value in changes.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value


def _environ_changes(before: dict[str, str], after: dict[str, str]) -> dict[str, str | None]:
    if before == after:
        return {}
    changes: dict[str, str | None] = {k: v for k, v in after.items() if before.get(k) != v}
    changes.update({k: None for k in before if k not in after})
    return changes


def _module_location(module: Any) -> str | None:
    location = getattr(module, "__file__", None)
    if location:
        return str(location)
    paths = getattr(module, "__path__", None)  # namespace packages have no __file__
    if paths:
        with contextlib.suppress(TypeError, StopIteration):
            return str(next(iter(paths)))
    return None


def _is_under(path: str | None, folder: Path) -> bool:
    """Whether the absolute ``path`` is inside ``folder`` (relative paths never are)."""
    if not path or not os.path.isabs(path):
        return False
    return os.path.normcase(path).startswith(os.path.normcase(str(folder)) + os.sep)


def _lambda_path(path: str, code: _Code | None, config: _Config) -> str:
    """Where ``path`` lives on Lambda: the package under ``/var/task``, the stdlib under ``/var/lang``."""
    if code is not None and _is_under(path, code.directory):
        relative = os.path.relpath(path, code.directory).replace(os.sep, "/")
        return f"{TASK_ROOT}/{relative}"
    if _is_under(path, Path(_STDLIB)) and "site-packages" not in path:
        relative = os.path.relpath(path, _STDLIB).replace(os.sep, "/")
        return f"/var/lang/lib/python{config.python_version}/{relative}"
    return path


def _stack_trace(tb: TracebackType | None, code: _Code | None, config: _Config) -> list[str]:
    """``traceback.format_list`` of the frames below the runtime, with Lambda's file paths.

    The runtime drops its own leading frames (``bootstrap.py``); so do we (``runtime.py``). At init,
    the import machinery frames stay, as they do in Lambda's reports.
    """
    frames = traceback.extract_tb(tb)
    while frames and os.path.normcase(os.path.abspath(frames[0].filename)) == _THIS_FILE:
        frames.pop(0)
    entries = [(_lambda_path(f.filename, code, config), f.lineno, f.name, f.line) for f in frames]
    return traceback.format_list(entries)  # type: ignore[arg-type]


def _error_block(error_type: str, message: str, trace: list[str]) -> str:
    """The ``[ERROR]`` log event the runtime writes for a failed phase (``log_error``, text format)."""
    lines = [f"[ERROR] {error_type}: {message}" if message else f"[ERROR] {error_type}"]
    lines.append("Traceback (most recent call last):")
    for entry in trace:
        for line in entry.splitlines():
            stripped = line.lstrip(" ")
            # Indentation becomes no-break spaces (U+00A0), as the runtime writes it.
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines)


def _exit_status(error: SystemExit, stderr: Any) -> int:
    """The process exit status ``SystemExit`` produces (a non-int code is printed, status 1)."""
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    stderr.write(f"{code}\n")
    return 1


def _crash(code: _Code | None, config: _Config) -> int:
    """An exception the runtime does not catch: Python prints the traceback and exits with 1."""
    kind, value, tb = sys.exc_info()
    lines = ["Traceback (most recent call last):\n"]
    lines += _stack_trace(tb, code, config)
    lines += traceback.format_exception_only(kind, value)
    sys.stderr.write("".join(lines))
    return 1


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


def _compact(data: dict[str, Any]) -> bytes:
    """Errors the Lambda platform (not the Python runtime) writes: compact JSON, as recorded."""
    return json.dumps(data, separators=(",", ":")).encode()


def _runtime_error(
    message: str, error_type: str, request_id: str, trace: list[str], config: _Config
) -> bytes:
    """``awslambdaric.bootstrap.make_error``, serialised as the runtime's ``to_json`` does.

    Init errors carry the request id as well: real responses to invokes whose init failed show it
    (``"requestId": "4ff2a5d6-…"`` with ``Runtime.ImportModuleError``), although the runtime's own
    init report leaves it empty.
    """
    return _marshal(
        {
            "errorMessage": message or "",
            "errorType": error_type or "",
            "requestId": request_id,
            "stackTrace": trace,
        },
        config,
    )


class _Encoder(json.JSONEncoder):
    """The runtime's encoder (simplejson, ``use_decimal=False``) as far as the stdlib can follow.

    ``Decimal`` is written as a number (the runtime writes ``str(d)`` raw; here integral values
    become ints and others floats, exact for any value a float holds), ``Decimal('NaN')`` as
    ``NaN``; named tuples become objects (simplejson's ``namedtuple_as_object``).
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            if o.is_nan():
                return math.nan
            return int(o) if o == o.to_integral_value() and o.is_finite() else float(o)
        return super().default(o)

    def iterencode(self, o: Any, _one_shot: bool = False) -> Iterator[str]:
        return super().iterencode(_namedtuples_as_objects(o), _one_shot)


def _namedtuples_as_objects(value: Any) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _namedtuples_as_objects(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _namedtuples_as_objects(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_namedtuples_as_objects(v) for v in value]
    return value


def _marshal(value: Any, config: _Config) -> bytes:
    """The response body (``LambdaMarshaller.marshal_response``): bytes pass through, else JSON.

    The python3.12 runtime writes non-ASCII characters as they are; the others escape them.
    """
    if isinstance(value, bytes):
        return value
    try:
        return _Encoder(ensure_ascii=config.runtime != "python3.12").encode(value).encode("utf-8")
    except Exception as error:
        raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {error}") from None


def _unmarshal(payload: bytes) -> Any:
    """The event (``unmarshal_request``). An empty request body is delivered as ``{}``."""
    if not payload:
        return {}
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as error:
        # ``RecursionError`` too: the runtime interface client catches every exception here.
        raise _Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {error}") from None


# -- deployment packages ----------------------------------------------------------------------------
def zip_problem(data: bytes) -> AwsError | None:
    """What CreateFunction/UpdateFunctionCode answer for a package Lambda cannot unpack, if anything.

    Not a zip: ``InvalidParameterValueException`` "Could not unzip uploaded file. Please check your
    file, then try to upload again." (real responses: boto/boto3#488, terraform-aws-github-runner
    #2269). Unzipped size over 250 MB: "Unzipped size must be smaller than 262144000 bytes".
    INFERENCE: a member whose path would land outside the code folder (absolute, or with ``..``)
    cannot be unpacked into ``/var/task`` either, so it gets the same "Could not unzip" answer.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return AwsError("InvalidParameterValueException", _UNZIP_FAILED, message_key="message")
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", member.filename):
            return AwsError("InvalidParameterValueException", _UNZIP_FAILED, message_key="message")
    if sum(m.file_size for m in members) >= UNZIPPED_LIMIT:
        return AwsError(
            "InvalidParameterValueException",
            f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes",
            message_key="message",
        )
    return None


def _extract(data: bytes, target: Path) -> _Code:
    """Unpack a package already checked by :func:`zip_problem`; list its top-level module names."""
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(target)
    names = set()
    for entry in target.iterdir():
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            names.add(entry.name)
        elif entry.suffix in {".py", ".pyc", ".so", ".pyd"}:
            names.add(entry.name.split(".", 1)[0])
    return _Code(target, frozenset(names))


# -- CreateFunction / UpdateFunctionCode: check the package, then let moto store it -----------------
_CODE_KEY = "mock_lambda_async.code"


def _stash_code(
    params: dict[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
) -> None:
    if interceptor().controller is None:
        return
    code = params.get("Code") if model.name == "CreateFunction" else params
    if isinstance(code, dict):
        context[_CODE_KEY] = {
            k: code.get(k) for k in ("ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion")
        }


def _check_code(
    model: OperationModel,
    params: dict[str, Any],
    request_signer: Any,
    context: dict[str, Any],
    **_: Any,
) -> tuple[AWSResponse, dict[str, Any]] | None:
    """Reject a package Lambda would refuse; anything else goes on to moto unchanged."""
    code = context.pop(_CODE_KEY, None)
    if code is None or interceptor().controller is None:
        return None
    data = _package_bytes(code, request_signer)
    problem = zip_problem(data) if data is not None else None
    if problem is None:
        return None
    return to_botocore(model, render_error(model, problem), str(params.get("url", "")))


def _package_bytes(code: dict[str, Any], request_signer: Any) -> bytes | None:
    zipped = code.get("ZipFile")
    if zipped is not None:
        if isinstance(zipped, str):
            return zipped.encode()
        if isinstance(zipped, bytes | bytearray):
            return bytes(zipped)
        if hasattr(zipped, "read") and hasattr(zipped, "seek"):
            position = zipped.tell()
            data = zipped.read()
            zipped.seek(position)
            return data if isinstance(data, bytes) else str(data).encode()
        return None
    if code.get("S3Bucket") and code.get("S3Key"):
        from moto.iam.models import get_account_id_from
        from moto.s3.models import s3_backends

        credentials = getattr(request_signer, "_credentials", None)
        account = get_account_id_from(getattr(credentials, "access_key", None) or "AKIAEXAMPLE")
        try:
            key = s3_backends[account]["aws"].get_object(
                code["S3Bucket"], code["S3Key"], version_id=code.get("S3ObjectVersion")
            )
        except Exception:
            return None  # moto answers a missing bucket or key itself
        return bytes(key.value) if key is not None else None
    return None


for _operation in ("CreateFunction", "UpdateFunctionCode"):
    BUILTIN_HANDLERS.append((f"before-parameter-build.lambda.{_operation}", _stash_code))
    BUILTIN_HANDLERS.append((f"before-call.lambda.{_operation}", _check_code))
