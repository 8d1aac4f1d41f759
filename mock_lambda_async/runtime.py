"""The in-process Python runtime: every trigger's invocation ends in :meth:`Runtime.run`.

It loads the function's code (the zip moto stores, or a callable given to ``add_function``), sets
the environment and context Lambda would, runs the handler on a worker thread so a timeout can be
enforced, and turns whatever happens into the payload real Lambda returns. It knows nothing of
queues or retries: callers decide what a result means.

Timeouts: the handler runs on a daemon thread and the caller waits ``Timeout`` seconds of *real*
time (handler code runs for real; only the mock's scheduling is virtual). On timeout the invocation
ends with ``Sandbox.Timedout``; the thread is sent an asynchronous ``_SandboxTerminated`` exception
(``PyThreadState_SetAsyncExc``), which stops pure-Python code at its next bytecode. Code blocked in
C (a long ``time.sleep``) finishes its call first and is then stopped; its side effects after the
timeout are abandoned, like a sandbox Lambda freezes. The execution environment is then discarded,
so the next invocation is a cold start, as after a real timeout.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import importlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .functions import ResolvedFunction
from .interception import AwsError

if TYPE_CHECKING:
    from .mock import LambdaAsyncController

__all__ = ["InvocationResult", "LambdaContext", "Runtime"]

#: Largest synchronous response Lambda returns (bytes), from the recorded error message.
MAX_RESPONSE_BYTES = 6291556
_TASK_ROOT = "/var/task"


@dataclass
class InvocationResult:
    """What one attempt produced, in Lambda's terms."""

    request_id: str
    payload: bytes
    function_error: str | None
    executed_version: str
    duration_ms: float
    log: str = ""
    error_type: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def payload_json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


class _ClientContextClient:
    def __init__(self, data: dict[str, Any]) -> None:
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    """``context.client_context`` as the Python runtime builds it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = _ClientContextClient(client) if client is not None else None


class LambdaContext:
    """The context object handed to the handler (mirrors ``awslambdaric.lambda_context``)."""

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
        self.invoked_function_arn = fn.unqualified_arn if fn.qualifier is None else fn.qualified_arn
        self.memory_limit_in_mb = str(memory_mb)
        self.log_group_name = log_group
        self.log_stream_name = log_stream
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = None
        self.tenant_id = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _SandboxTerminated(BaseException):
    """Raised inside an abandoned handler thread to stop it."""


@dataclass
class _Environment:
    """One execution environment: code folder, loaded handler, log stream."""

    key: tuple[str, str, str]
    handler: Callable[..., Any] | None
    code_dir: Path | None
    modules: dict[str, Any]
    log_stream: str
    load_error: tuple[str, str] | None = None
    invocations: int = 0


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    tb: Any = None
    done: bool = False
    output: io.StringIO = field(default_factory=io.StringIO)


class _ThreadOutput(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` stand-in routing each invocation thread's output to its log."""

    def __init__(self, original: Any, routes: dict[int, io.StringIO]) -> None:
        self.original = original
        self.routes = routes

    def write(self, text: str) -> int:
        target = self.routes.get(threading.get_ident())
        if target is not None:
            return target.write(text)
        return int(self.original.write(text))

    def flush(self) -> None:
        if threading.get_ident() not in self.routes:
            self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class _LambdaLogHandler(logging.Handler):
    """Lambda's Python log format, for records emitted on invocation threads."""

    def __init__(self, routes: dict[int, io.StringIO], request_ids: dict[int, str]) -> None:
        super().__init__()
        self.routes = routes
        self.request_ids = request_ids

    def emit(self, record: logging.LogRecord) -> None:
        target = self.routes.get(threading.get_ident())
        if target is None:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        millis = int(record.msecs)
        request_id = self.request_ids.get(threading.get_ident(), "")
        target.write(
            f"[{record.levelname}]\t{stamp}.{millis:03d}Z\t{request_id}\t{record.getMessage()}\n"
        )


class Runtime:
    """Loads and runs handlers for one controller; cleans everything up on :meth:`close`."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self._callables: dict[str, tuple[Callable[..., Any], str]] = {}
        self._environments: dict[tuple[str, str, str], _Environment] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="mock-lambda-async-"))
        self._routes: dict[int, io.StringIO] = {}
        self._request_ids: dict[int, str] = {}
        self._env_lock = threading.RLock()
        self._stdout: _ThreadOutput | None = None
        self._stderr: _ThreadOutput | None = None
        self._log_handler: _LambdaLogHandler | None = None

    # -- registration ---------------------------------------------------------------------------
    def register_callable(
        self, unqualified_arn: str, handler: Callable[..., Any], code_sha256: str
    ) -> None:
        """Run ``handler`` for the function while its code is still the placeholder we gave it."""
        self._callables[unqualified_arn] = (handler, code_sha256)

    # -- running --------------------------------------------------------------------------------
    def run(
        self,
        fn: ResolvedFunction,
        payload: bytes,
        *,
        request_id: str | None = None,
        client_context: dict[str, Any] | None = None,
    ) -> InvocationResult:
        """Invoke ``fn`` with ``payload`` (JSON bytes) once; never raises for handler faults."""
        request_id = request_id or str(uuid.uuid4())
        moto_fn = fn.moto()
        runtime_name = str(moto_fn.run_time or "")
        if getattr(moto_fn, "package_type", "Zip") == "Image" or not runtime_name.startswith(
            "python"
        ):
            kind = "image" if moto_fn.package_type == "Image" else f"runtime {runtime_name!r}"
            raise AwsError(
                "InvalidRuntimeException",
                f"mock_lambda_async runs Python handlers in-process only; function {fn.name} "
                f"uses {kind}. Register a Python callable with add_function() to stand in for it.",
                502,
            )
        environment = self._environment(fn, moto_fn)
        timeout_s = float(moto_fn.timeout or 3)
        memory = int(moto_fn.memory_size or 128)
        log_group = f"/aws/lambda/{fn.name}"
        context = LambdaContext(
            request_id, fn, memory, timeout_s, log_group, environment.log_stream, client_context
        )
        started = time.perf_counter()
        outcome = _Outcome()
        if environment.load_error is not None:
            error_type, message = environment.load_error
            result = self._error_result(request_id, fn, error_type, message, None, started)
        else:
            assert environment.handler is not None
            outcome = self._execute(environment, moto_fn, fn, payload, context, timeout_s)
            result = self._result_from(outcome, request_id, fn, timeout_s, started)
            if not outcome.done or isinstance(outcome.error, SystemExit):
                self._discard(environment)
        environment.invocations += 1
        result.log = self._log_text(request_id, fn, outcome.output.getvalue(), result, memory)
        return result

    def _execute(
        self,
        environment: _Environment,
        moto_fn: Any,
        fn: ResolvedFunction,
        payload: bytes,
        context: LambdaContext,
        timeout_s: float,
    ) -> _Outcome:
        outcome = _Outcome()
        try:
            event = json.loads(payload) if payload else {}
        except ValueError:
            event = payload.decode("utf-8", "replace")
        handler = environment.handler
        assert handler is not None

        def target() -> None:
            ident = threading.get_ident()
            self._routes[ident] = outcome.output
            self._request_ids[ident] = context.aws_request_id
            try:
                outcome.value = handler(event, context)
            except _SandboxTerminated:
                return
            except BaseException as error:
                outcome.error = error
                outcome.tb = error.__traceback__
            finally:
                self._routes.pop(ident, None)
                self._request_ids.pop(ident, None)
            outcome.done = True

        with self._invocation_scope(environment, moto_fn, fn, context):
            thread = threading.Thread(target=target, name=f"lambda-{fn.name}", daemon=True)
            thread.start()
            thread.join(timeout_s)
            if thread.is_alive():
                _stop_thread(thread)
        return outcome

    @contextlib.contextmanager
    def _invocation_scope(
        self, environment: _Environment, moto_fn: Any, fn: ResolvedFunction, context: LambdaContext
    ) -> Iterator[None]:
        """Environment variables, modules and output capture for the duration of one invocation."""
        variables = {
            **{str(k): str(v) for k, v in (moto_fn.environment_vars or {}).items()},
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": context.memory_limit_in_mb,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(moto_fn.timeout or 3)),
            "AWS_LAMBDA_LOG_GROUP_NAME": context.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": context.log_stream_name,
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{moto_fn.run_time}",
            "_HANDLER": str(moto_fn.handler or ""),
            "LAMBDA_TASK_ROOT": _TASK_ROOT,
        }
        saved_env = {key: os.environ.get(key) for key in variables}
        saved_modules = {name: sys.modules.get(name) for name in environment.modules}
        self._install_output_capture()
        self.controller.invocation_started()
        with self._env_lock:
            os.environ.update(variables)
            sys.modules.update(environment.modules)
            if environment.code_dir is not None:
                sys.path.insert(0, str(environment.code_dir))
        try:
            yield
        finally:
            with self._env_lock:
                if environment.code_dir is not None:
                    with contextlib.suppress(ValueError):
                        sys.path.remove(str(environment.code_dir))
                for name, module in saved_modules.items():
                    if module is None:
                        sys.modules.pop(name, None)
                    else:
                        sys.modules[name] = module
                for key, value in saved_env.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            self.controller.invocation_finished()

    def _install_output_capture(self) -> None:
        if self._stdout is None:
            self._stdout = _ThreadOutput(sys.stdout, self._routes)
            self._stderr = _ThreadOutput(sys.stderr, self._routes)
            sys.stdout = self._stdout
            sys.stderr = self._stderr
            self._log_handler = _LambdaLogHandler(self._routes, self._request_ids)
            logging.getLogger().addHandler(self._log_handler)

    # -- results --------------------------------------------------------------------------------
    def _result_from(
        self,
        outcome: _Outcome,
        request_id: str,
        fn: ResolvedFunction,
        timeout_s: float,
        started: float,
    ) -> InvocationResult:
        if not outcome.done:
            return self._error_result(
                request_id,
                fn,
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds",
                None,
                started,
                simple=True,
            )
        error = outcome.error
        if isinstance(error, SystemExit):
            return self._error_result(
                request_id,
                fn,
                "Runtime.ExitError",
                f"RequestId: {request_id} Error: Runtime exited without providing a reason",
                None,
                started,
                simple=True,
            )
        if error is not None:
            frames = traceback.extract_tb(outcome.tb)[1:]
            return self._error_result(
                request_id, fn, type(error).__name__, str(error), frames, started
            )
        try:
            body = json.dumps(outcome.value).encode()
        except (TypeError, ValueError) as marshal_error:
            return self._error_result(
                request_id,
                fn,
                "Runtime.MarshalError",
                f"Unable to marshal response: {marshal_error}",
                None,
                started,
            )
        if len(body) > MAX_RESPONSE_BYTES:
            return self._error_result(
                request_id,
                fn,
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
                None,
                started,
                simple=True,
            )
        return InvocationResult(request_id, body, None, fn.version, _elapsed_ms(started))

    def _error_result(
        self,
        request_id: str,
        fn: ResolvedFunction,
        error_type: str,
        message: str,
        frames: list[traceback.FrameSummary] | None,
        started: float,
        *,
        simple: bool = False,
    ) -> InvocationResult:
        data: dict[str, Any]
        if simple:
            data = {"errorType": error_type, "errorMessage": message}
        else:
            data = {
                "errorMessage": message,
                "errorType": error_type,
                "requestId": request_id,
                "stackTrace": traceback.format_list(frames) if frames else [],
            }
        return InvocationResult(
            request_id,
            json.dumps(data).encode(),
            "Unhandled",
            fn.version,
            _elapsed_ms(started),
            error_type=error_type,
            error_message=message,
        )

    def _log_text(
        self,
        request_id: str,
        fn: ResolvedFunction,
        output: str,
        result: InvocationResult,
        memory: int,
    ) -> str:
        duration = result.duration_ms
        billed = max(1, int(duration + 0.999))
        lines = [f"START RequestId: {request_id} Version: {fn.version}\n", output]
        if output and not output.endswith("\n"):
            lines.append("\n")
        if result.error_type is not None and result.error_type.startswith(
            ("Sandbox", "Runtime.Exit")
        ):
            lines.append(
                f"{time.strftime('%Y-%m-%dT%H:%M:%S')}Z {request_id} {result.error_message}\n"
            )
        elif result.function_error:
            lines.append(f"[ERROR] {result.error_type}: {result.error_message}\n")
        lines.append(f"END RequestId: {request_id}\n")
        lines.append(
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: {min(memory, 40)} MB\t\n"
        )
        return "".join(lines)

    # -- environments -----------------------------------------------------------------------------
    def _environment(self, fn: ResolvedFunction, moto_fn: Any) -> _Environment:
        key = (fn.unqualified_arn, fn.version, str(moto_fn.code_sha_256))
        environment = self._environments.get(key)
        if environment is None:
            environment = self._load(key, fn, moto_fn)
            self._environments[key] = environment
        return environment

    def _discard(self, environment: _Environment) -> None:
        self._environments.pop(environment.key, None)

    def _log_stream_name(self, fn: ResolvedFunction) -> str:
        day = self.controller.now().strftime("%Y/%m/%d")
        return f"{day}/[{fn.version}]{uuid.uuid4().hex}"

    def _load(self, key: tuple[str, str, str], fn: ResolvedFunction, moto_fn: Any) -> _Environment:
        stream = self._log_stream_name(fn)
        registered = self._callables.get(fn.unqualified_arn)
        if registered is not None and registered[1] == moto_fn.code_sha_256:
            return _Environment(key, registered[0], None, {}, stream)
        handler_spec = str(moto_fn.handler or "")
        module_name, _, function_name = handler_spec.rpartition(".")
        code_dir = self._tmp / f"{fn.name}-{fn.version.strip('$')}-{uuid.uuid4().hex[:8]}"
        try:
            _extract_zip(bytes(moto_fn.code_bytes or b""), code_dir)
        except zipfile.BadZipFile:
            return _Environment(
                key,
                None,
                None,
                {},
                stream,
                load_error=(
                    "Runtime.ImportModuleError",
                    f"Unable to import module '{module_name}': code is not a zip file",
                ),
            )
        if not module_name or not function_name:
            return _Environment(
                key,
                None,
                code_dir,
                {},
                stream,
                load_error=(
                    "Runtime.MalformedHandlerName",
                    f"Bad handler '{handler_spec}': not enough values to unpack (expected 2, got 1)",
                ),
            )
        before = set(sys.modules)
        sys.path.insert(0, str(code_dir))
        importlib.invalidate_caches()
        try:
            module = importlib.import_module(module_name.replace("/", "."))
        except Exception as error:
            return _Environment(
                key,
                None,
                code_dir,
                {},
                stream,
                load_error=(
                    "Runtime.ImportModuleError",
                    f"Unable to import module '{module_name}': {error}",
                ),
            )
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(code_dir))
            modules = {
                name: sys.modules[name]
                for name in set(sys.modules) - before
                if _is_under(getattr(sys.modules[name], "__file__", None), code_dir)
            }
            for name in modules:
                sys.modules.pop(name, None)
        handler = getattr(module, function_name, None)
        if not callable(handler):
            return _Environment(
                key,
                None,
                code_dir,
                modules,
                stream,
                load_error=(
                    "Runtime.HandlerNotFound",
                    f"Handler '{function_name}' missing on module '{module_name}'",
                ),
            )
        return _Environment(key, handler, code_dir, modules, stream)

    def close(self) -> None:
        """Undo everything: output capture, log handler, loaded modules, extracted code."""
        if self._stdout is not None:
            if sys.stdout is self._stdout:
                sys.stdout = self._stdout.original
            if sys.stderr is self._stderr and self._stderr is not None:
                sys.stderr = self._stderr.original
            self._stdout = self._stderr = None
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler = None
        self._environments.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _is_under(path: str | None, folder: Path) -> bool:
    if not path:
        return False
    try:
        Path(path).resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _extract_zip(data: bytes, target: Path) -> None:
    """Extract a deployment package, refusing members that would land outside ``target``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            path = PurePosixPath(member.filename)
            if path.is_absolute() or ".." in path.parts:
                raise AwsError(
                    "InvalidZipFileException",
                    f"Could not unzip uploaded file. Member {member.filename!r} escapes the "
                    "function's code directory.",
                )
        target.mkdir(parents=True, exist_ok=True)
        archive.extractall(target)


def _stop_thread(thread: threading.Thread) -> None:
    ident = thread.ident
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(ident), ctypes.py_object(_SandboxTerminated)
        )


def decode_client_context(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    decoded = json.loads(base64.b64decode(value))
    return decoded if isinstance(decoded, dict) else None
