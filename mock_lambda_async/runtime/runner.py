""":class:`Runtime`: every trigger's invocation ends in :meth:`Runtime.run`.

It loads the function's code (the zip moto stores, or a callable given to ``add_function``), sets
the environment and context Lambda would, runs the handler on the environment's worker, and turns
whatever happens into the payload and the log real Lambda produces. It knows nothing of queues or
retries: callers decide what a result means.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import linecache
import logging
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import tracing
from ..clock import iso_ms
from ..faults import TIMEOUT, injected_timeout
from ..functions import ResolvedFunction
from ..interception import AwsError
from ..metrics import MotoWrites
from .code import _Code, _extract, zip_problem
from .context import LambdaContext
from .environments import _Config, _Environment, _RootState
from .errors import (
    MAX_RESPONSE_BYTES,
    TASK_ROOT,
    _compact,
    _crash,
    _describe,
    _error_block,
    _exit_status,
    _InitError,
    _lambda_path,
    _runtime_error,
    _stack_trace,
)
from .isolation import (
    HANDLER_MODULE_PREFIX,
    _end_package_turn,
    _initialised,
    _is_under,
    _PackageTurn,
    _take_package_turn,
)
from .layers import with_layers
from .output import _Capture, _init_start_line, _LogBuffer, _ProcessExit, _report_line
from .payloads import _Fault, _marshal, _RuntimeCrash, _unmarshal
from .results import InvocationResult
from .scope import (
    _SCOPE,
    _apply_environ,
    _environ_changes,
    _hold_thread_hooks,
    _InvocationScope,
    _real_environ,
    _release_thread_hooks,
)
from .timeouts import INIT_TIMEOUT_S, PHASE_TIME, PhaseTime, _SandboxTerminated, _Worker

if TYPE_CHECKING:
    from ..mock import LambdaAsyncController


@dataclass
class _Outcome:
    """What happened on the worker during one phase."""

    done: bool = False
    body: bytes | None = None
    #: ``(errorType, errorMessage)`` of the handler's exception, worded on the worker.
    error: tuple[str, str] | None = None
    trace: list[str] = field(default_factory=list)
    fault: _Fault | None = None
    init_error: _InitError | None = None
    exit_status: int | None = None
    duration_ms: float = 0.0
    #: The part of ``duration_ms`` spent in virtual sleeps (see ``timeouts.PhaseTime``).
    virtual_ms: float = 0.0


def _failure(
    outcome: _Outcome, error: BaseException, code: _Code | None, config: _Config
) -> tuple[str, str] | None:
    """What the runtime makes of ``error`` ending a phase (called while it is being handled).

    An exit (``SystemExit``, ``os._exit``) or a crash of the runtime itself (an exception it does
    not catch, or one it cannot word, see ``_describe``) sets ``outcome.exit_status``; any other
    exception is the function's error: its ``(errorType, errorMessage)``, ``outcome.trace`` set.
    """
    if isinstance(error, SystemExit):
        outcome.exit_status = _exit_status(error, sys.stderr)
    elif isinstance(error, _ProcessExit):
        outcome.exit_status = error.status
    elif isinstance(error, _RuntimeCrash):
        outcome.exit_status = _crash(code, config, error.error)
    elif not isinstance(error, Exception):
        # Not caught by the runtime (it catches Exception): the process dies, exit status 1.
        outcome.exit_status = _crash(code, config, error)
    else:
        outcome.trace = _stack_trace(error.__traceback__, code, config)
        try:
            return _describe(error, outcome.trace)
        except Exception:
            outcome.exit_status = _crash(code, config)
    return None


# -- the runtime ------------------------------------------------------------------------------------
class Runtime:
    """Loads and runs handlers for one controller; cleans everything up on :meth:`close`."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self._callables: dict[str, tuple[Callable[..., Any], str]] = {}
        self._pool: dict[tuple[str, str, str], list[_Environment]] = {}
        self._codes: dict[tuple[str, str, str], _Code] = {}
        self._tmp: Path | None = None
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
            with self._scope(environment, fn, config, context) as turn:
                if cold:
                    init = self._phase(
                        environment,
                        init_log,
                        "",
                        INIT_TIMEOUT_S,
                        self._init_job(environment, config),
                    )
                    environment.initialised = (
                        init.done and init.init_error is None and init.exit_status is None
                    )
                if environment.initialised:
                    if turn is not None:
                        _initialised(turn)
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
            result.virtual_ms = outcome.virtual_ms
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
        init_events = (
            [_init_start_line(config.runtime, fn.region), *init_log.drain()] if cold else []
        )
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
        phase = PhaseTime(timeout_s)
        context.run(PHASE_TIME.set, phase)
        finished = environment.worker.run(lambda: context.run(job, outcome), timeout_s, phase.done)
        if finished and not phase.expired:
            self._capture.routes.pop(ident, None)
            self._capture.request_ids.pop(ident, None)
            outcome.duration_ms += phase.slept_ms
            outcome.virtual_ms = phase.slept_ms
            return outcome
        # Abandoned: whatever it still prints goes nowhere (a frozen sandbox logs nothing), and
        # whatever it still records lands in an outcome nobody reads.
        self._capture.routes[ident] = _LogBuffer()
        environment.worker.kill(grace_s=0.1 if phase.expired else 0.0)
        # Timed out by sleeping: the timeout passed in virtual time, not in real time.
        virtual_ms = timeout_s * 1000 if phase.expired else 0.0
        return _Outcome(done=False, duration_ms=timeout_s * 1000, virtual_ms=virtual_ms)

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
            except BaseException as error:
                # Any other exception at import: reported with its own type (build_fault_result).
                described = _failure(outcome, error, environment.code, config)
                if described is not None:
                    outcome.init_error = _InitError(*described, outcome.trace)
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
            except BaseException as error:
                outcome.error = _failure(outcome, error, environment.code, config)
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
    ) -> Iterator[_PackageTurn | None]:
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
            "_X_AMZN_TRACE_ID": tracing.new_header(self.controller.clock.now_ms() / 1000),
            **tracing.XRAY_VARIABLES,
        }
        scope = _InvocationScope(
            _real_environ(),
            parent=_SCOPE.get(),
            environment=environment,
            controller=self.controller,
        )
        scope.environ.update(variables)
        _apply_environ(scope.environ, environment.env_changes)
        applied = dict(scope.environ)
        environment.scope = scope
        # Waiting for the package turn happens before taking the runtime's lock, which nested
        # invocations (the turn's holder invoking a function) need.
        turn = None
        if code is not None:
            assert self._tmp is not None
            event = (*environment.key, context.aws_request_id)
            turn = _take_package_turn(scope, environment.world, code, self._tmp, event)
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
            self._capture.enter()
            self.controller.invocation_started()
        try:
            yield turn
        finally:
            with self._lock:
                self.controller.invocation_finished()
                self._capture.leave()
                if turn is not None:
                    _end_package_turn(turn)
                environment.root_level = root.level if root.level != saved_level else None
                environment.root_handlers = [
                    h
                    for h in root.handlers
                    if h not in saved_handlers and h is not self._capture.handler
                ]
                self._restore_root(root_state)
                environment.env_changes.update(_environ_changes(applied, scope.environ))
        if environment.alias is None and environment.handler_module in environment.world.modules:
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
        sys.modules[alias] = environment.world.modules[environment.handler_module]
        return alias

    # -- environments -----------------------------------------------------------------------------
    def _acquire(self, fn: ResolvedFunction, moto_fn: Any, config: _Config) -> _Environment:
        key = (fn.unqualified_arn, fn.version, config.fingerprint)
        with self._lock:
            for other_key, environments in list(self._pool.items()):
                # New code or configuration for this version: its old environments are retired.
                if other_key[:2] == key[:2] and other_key != key:
                    for environment in list(environments):
                        if environment.busy:
                            environment.stale = True
                        else:
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
            if discard or environment.stale:
                self._retire(environment)

    def _retire(self, environment: _Environment) -> None:
        environments = self._pool.get(environment.key, [])
        if environment in environments:
            environments.remove(environment)
        if not environments:
            self._pool.pop(environment.key, None)
        environment.worker.stop()
        alias = environment.alias
        if alias is not None and sys.modules.get(alias) is environment.world.modules.get(
            environment.handler_module or ""
        ):
            del sys.modules[alias]
        environment.world.clear()

    def _worker_exited(self, ident: int) -> None:
        self._capture.routes.pop(ident, None)
        self._capture.request_ids.pop(ident, None)

    def _code(self, fn: ResolvedFunction, moto_fn: Any, config: _Config) -> _Code:
        key = (fn.unqualified_arn, fn.version, config.code_key)
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
                code = with_layers(
                    code,
                    config.layers,
                    target.with_name(target.name + "-opt"),
                    config.python_version,
                )
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
            error_type, message = outcome.error
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
            for path in list(sys.path_importer_cache):
                if _is_under(path, tmp):
                    del sys.path_importer_cache[path]
            for path in list(linecache.cache):
                if _is_under(path, tmp):
                    del linecache.cache[path]
            shutil.rmtree(tmp, ignore_errors=True)
            self._tmp = None
