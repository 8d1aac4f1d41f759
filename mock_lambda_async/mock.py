"""Activation (decorator, context manager) and the controller a test drives.

``mock_lambda_async`` works like ``responses``/``moto``: one object that is a decorator and a context
manager. While active, the interception hook routes Lambda's async-related operations to us and
everything else to moto. When no moto mock is active we start one (and stop it on exit), so the mock
works alone or stacked with ``@mock_aws`` in either order.
"""

from __future__ import annotations

import functools
import inspect
import io
import os
import threading
import types
import unittest
import zipfile
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

# moto registers its ``before-send`` stub in botocore's BUILTIN_HANDLERS when this module is
# imported; importing it with ours means every client created after ``import mock_lambda_async``
# (even before the mock starts) reaches moto, never AWS, for the operations we do not answer.
import moto.core.models  # noqa: F401

from . import assertions
from .assertions import DeadLetter
from .botocore_loader import share_loaders, stop_sharing
from .clock import Scheduler, VirtualClock
from .interception import interceptor
from .metrics import Attempt, History, MotoWrites, Timeline, TimelineEntry
from .network import guard_network
from .runtime.process_state import ProcessState
from .runtime.scope import in_invocation_thread

if TYPE_CHECKING:
    from .deploy import Stack
    from .faults import Fault, Faults

__all__ = ["LambdaAsyncController", "MockLambdaAsync", "get_controller", "mock_lambda_async"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: Role created for functions declared with ``add_function`` when none is given.
DEFAULT_ROLE_NAME = "mock-lambda-async-role"
#: ``add_function``'s IAM and Lambda clients, by service, region and credentials.
_KEPT_CLIENTS: dict[tuple[str, str, tuple[str | None, ...]], Any] = {}
#: Where a new default session takes its credentials from (moto sets the keys while active).
_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
)


def _credentials_identity(boto3: Any) -> tuple[str | None, ...]:
    """The credentials ``boto3.client`` would sign with now.

    Without a default session (moto clears it at every start) a new one would read them from the
    environment: the variables name them without building a session, which costs more than a
    client. A default session the test set up names its own.
    """
    session = boto3.DEFAULT_SESSION
    if session is None:
        return ("environment", *(os.environ.get(name) for name in _CREDENTIAL_VARIABLES))
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else ()
    return ("session", *frozen)


_TRUST_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)


class LambdaAsyncController:
    """What ``with mock_lambda_async() as lam`` yields: virtual time and the mock's state.

    Per-concern state lives in objects created on first use by :meth:`state` (keyed by their class),
    so each module owns its state and a new controller starts from nothing.
    """

    def __init__(
        self, *, auto_drain: bool = True, start: datetime | None = None, patch_time: bool = True
    ) -> None:
        self.auto_drain = auto_drain
        #: Whether the process's wall clock and ``time.sleep`` follow the virtual clock (wallclock).
        self.patch_time = patch_time
        self.clock = VirtualClock(start)
        self.scheduler = Scheduler(self.clock)
        # Made now, not on first use: handler threads and the test's thread both add to it.
        self._states: dict[type[Any], Any] = {MotoWrites: MotoWrites(self)}
        self._cleanups: list[Callable[[], None]] = []
        self._invocations_running = 0
        self._depth_lock = threading.Lock()
        self._draining = False

    # -- per-module state -----------------------------------------------------------------------
    def state(self, kind: type[T]) -> T:
        """The controller's single instance of ``kind`` (built as ``kind(controller)`` on first use)."""
        found = self._states.get(kind)
        if found is None:
            found = kind(self)  # type: ignore[call-arg]
            self._states[kind] = found
            close = getattr(found, "close", None)
            if callable(close):
                self._cleanups.append(close)
        return cast(T, found)

    def add_cleanup(self, action: Callable[[], None]) -> None:
        """Run ``action`` when the mock stops (last added, first run)."""
        self._cleanups.append(action)

    # -- virtual time ---------------------------------------------------------------------------
    def now(self) -> datetime:
        """Current virtual time (timezone-aware UTC)."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds``, running everything that falls due in order."""
        if seconds < 0:
            raise ValueError("virtual time only moves forward")
        _refuse_inside_invocation()
        self.scheduler.run_for(round(seconds * 1000))

    def drain(self) -> None:
        """Run until nothing is pending, jumping virtual time to each next due item.

        Called while another thread moves time (its own ``drain``, or the settling before an AWS
        call), it waits for that thread to finish, then runs what is left.
        """
        _refuse_inside_invocation()
        self.scheduler.run_until(None)

    # -- interception callbacks -----------------------------------------------------------------
    def before_api_call(self) -> None:
        """Called for every AWS call while active: with ``auto_drain``, settle pending work first;
        then write the logs and metrics waiting for moto (:class:`MotoWrites`), which the call may read.

        Calls made by a running handler, by any thread working for an invocation (one its handler
        started, still running after the handler returned), or while the scheduler itself runs (on
        any thread: calls from several threads of the test), never drain.
        """
        if (
            self.auto_drain
            and not self._draining
            and not self.in_invocation
            and not self.scheduler.running
        ):
            self._draining = True
            try:
                self.scheduler.run_until(None, if_idle=True)
            finally:
                self._draining = False
        self.state(MotoWrites).flush()

    def invocation_started(self) -> None:
        with self._depth_lock:
            self._invocations_running += 1

    def invocation_finished(self) -> None:
        with self._depth_lock:
            self._invocations_running -= 1

    @property
    def in_invocation(self) -> bool:
        """Whether an invocation runs, or the calling thread works for one (a handler's thread
        may outlive it): either way, virtual time must not move now."""
        return self._invocations_running > 0 or in_invocation_thread()

    # -- async behaviour knobs ------------------------------------------------------------------
    def set_account_concurrency(self, limit: int) -> None:
        """Set the account's concurrent-executions limit (per region; AWS's default is 1000)."""
        from .concurrency import Concurrency

        self.state(Concurrency).set_account_limit(limit)

    def set_duration(self, function_name: str, seconds: float) -> None:
        """Make each async attempt of ``function_name`` last ``seconds`` of virtual time.

        The attempt holds a concurrency slot, and its retry or destination waits, until it ends.
        This is how a test creates contention (with reserved or account concurrency) on a clock
        where handlers otherwise take no virtual time. ``0`` restores the default.
        """
        from .concurrency import Concurrency

        self.state(Concurrency).set_duration(function_name, seconds)

    @property
    def faults(self) -> Faults:
        """Fault injection: duplicate deliveries, throttles, service errors, refused deliveries
        and timeouts, per function, for the next N events or a seeded fraction of them."""
        from .faults import Faults

        return self.state(Faults)

    def deliver_async_twice(self, function_name: str | None = None, count: int = 1) -> Fault:
        """Shorthand for ``lam.faults.duplicate_async(function_name, count=count)``.

        Lambda's queue delivers at least once; use this to test that handlers are idempotent.
        Both copies carry the same request id and are retried and delivered independently.
        """
        return self.faults.duplicate_async(function_name, count=count)

    # -- functions from callables ---------------------------------------------------------------
    def add_function(
        self,
        name: str,
        handler: Callable[..., Any],
        *,
        region: str | None = None,
        runtime: str = "python3.12",
        role: str | None = None,
        **config: Any,
    ) -> dict[str, Any]:
        """Create function ``name`` in moto and run the Python callable ``handler`` for it.

        ``config`` takes ``CreateFunction``'s parameters (``Timeout``, ``MemorySize``,
        ``Environment``, ``DeadLetterConfig``, ``Publish`` …). Returns the ``CreateFunction``
        response, so ``GetFunction``/``ListFunctions`` see the function like any other.
        """
        from .functions import function_arn
        from .runtime import Runtime

        region = region or _default_region()
        response = self._create_function(
            name,
            region,
            runtime,
            role,
            Handler=config.pop("Handler", "index.handler"),
            Code={"ZipFile": _placeholder_zip(name)},
            **config,
        )
        arn = function_arn(region, response["FunctionArn"].split(":")[4], name)
        self.state(Runtime).register_callable(arn, handler, response["CodeSha256"])
        return response

    def deploy_function(
        self,
        name: str,
        source: str | os.PathLike[str],
        handler: str = "app.handler",
        *,
        region: str | None = None,
        runtime: str = "python3.12",
        role: str | None = None,
        **config: Any,
    ) -> dict[str, Any]:
        """Create function ``name`` from the folder (or single file) ``source``, zipped as a build
        would zip it; it runs like any zip-deployed function (its own modules, cold starts).

        ``config`` takes ``CreateFunction``'s other parameters; the execution role is created if
        none is given. Returns the ``CreateFunction`` response.
        """
        from .deploy import zip_source

        package = zip_source(source)
        return self._create_function(
            name,
            region or _default_region(),
            runtime,
            role,
            Handler=handler,
            Code={"ZipFile": package},
            **config,
        )

    def deploy(
        self,
        template: str | os.PathLike[str] | dict[str, Any],
        *,
        stack_name: str | None = None,
        parameters: dict[str, Any] | None = None,
        region: str | None = None,
    ) -> Stack:
        """Deploy a SAM, CDK or CloudFormation template through moto's CloudFormation.

        ``template`` is a path (a YAML or JSON file, a ``cdk.out`` folder or a template in one),
        the template's text, or a dict. Local code is zipped and uploaded first, as ``sam
        package``/``cdk deploy`` would; a SAM template is transformed with aws-sam-translator.
        Every resource then behaves as it does when created through boto3. Returns the
        :class:`~mock_lambda_async.deploy.Stack` (``outputs``, ``resources``); a resource type or
        intrinsic function that cannot be deployed faithfully raises ``TemplateError`` naming it.
        """
        import boto3

        from .deploy import deploy_template

        region = region or _default_region()
        return deploy_template(
            lambda service: self._client(boto3, service, region),
            template,
            stack_name=stack_name,
            parameters=parameters,
        )

    def _create_function(
        self, name: str, region: str, runtime: str, role: str | None, **request: Any
    ) -> dict[str, Any]:
        """``CreateFunction`` through boto3, with the default execution role if none is named."""
        import boto3

        if role is None:
            iam = self._client(boto3, "iam", region)
            try:
                role = iam.get_role(RoleName=DEFAULT_ROLE_NAME)["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                role = iam.create_role(
                    RoleName=DEFAULT_ROLE_NAME, AssumeRolePolicyDocument=_TRUST_POLICY
                )["Role"]["Arn"]
        client = self._client(boto3, "lambda", region)
        response: dict[str, Any] = client.create_function(
            FunctionName=name, Runtime=runtime, Role=role, **request
        )
        response.pop("ResponseMetadata", None)
        return response

    def _client(self, boto3: Any, service: str, region: str) -> Any:
        """A client as ``boto3.client`` gives it now, kept for the process per credentials.

        Creating a client costs more than the calls ``add_function`` makes with it (tens of
        milliseconds of a short test), and moto gives every activation a new default session.
        A client stays valid across activations (interception is in botocore's built-in
        handlers), and its account is its credentials': a default session the test set up with
        other credentials gets clients of its own.
        """
        key = (service, region, _credentials_identity(boto3))
        client = _KEPT_CLIENTS.get(key)
        if client is None:
            client = _KEPT_CLIENTS[key] = boto3.client(service, region_name=region)
        return client

    # -- seeing what happened ---------------------------------------------------------------------
    # Reading settles pending work first under ``auto_drain`` (as any AWS call the test makes
    # would); it never runs anything otherwise, and never from inside a handler.
    def invocations(self, function_name: str | None = None) -> list[Attempt]:
        """Every handler run so far, in start order, optionally of one function (name or ARN)."""
        assertions.settle(self)
        return self.state(History).invocations(function_name)

    def timeline(self) -> Timeline:
        """Everything the mock did, in order, on the virtual clock; ``print()`` it to read it."""
        assertions.settle(self)
        return self.state(History).timeline()

    def assert_invoked(
        self, function_name: str, *, times: int | None = None, trigger: str | None = None
    ) -> list[Attempt]:
        """Assert ``function_name`` ran (exactly ``times`` attempts if given); returns them."""
        __tracebackhide__ = True
        return assertions.assert_invoked(self, function_name, times=times, trigger=trigger)

    def assert_succeeded(
        self, function_name: str, *, times: int | None = None, trigger: str | None = None
    ) -> list[Attempt]:
        """Assert ``function_name`` had successful attempts; returns them."""
        __tracebackhide__ = True
        return assertions.assert_succeeded(self, function_name, times=times, trigger=trigger)

    def assert_failed(
        self,
        function_name: str,
        *,
        error_type: str | type[BaseException] | None = None,
        times: int | None = None,
        trigger: str | None = None,
    ) -> list[Attempt]:
        """Assert ``function_name`` had failed attempts (of ``error_type``); returns them."""
        __tracebackhide__ = True
        return assertions.assert_failed(
            self, function_name, error_type=error_type, times=times, trigger=trigger
        )

    def assert_delivered(
        self, destination: str, count: int | None = None, *, condition: str | None = None
    ) -> list[Any]:
        """Assert a destination (queue URL or ARN) holds invocation records; returns them."""
        __tracebackhide__ = True
        return assertions.assert_delivered(self, destination, count, condition=condition)

    def assert_dead_lettered(self, target: str, count: int | None = None) -> list[DeadLetter]:
        """Assert a dead-letter queue (URL or ARN) or topic holds failed events; returns them
        (``DeadLetter``: the body and the message attributes: ``error_message``, ``request_id`` …)."""
        __tracebackhide__ = True
        return assertions.assert_dead_lettered(self, target, count)

    def assert_dropped(
        self,
        function_name: str | None = None,
        *,
        reason: str | None = None,
        count: int | None = None,
    ) -> list[TimelineEntry]:
        """Assert the mock dropped events (whose reason contains ``reason``); returns the entries."""
        __tracebackhide__ = True
        return assertions.assert_dropped(self, function_name, reason=reason, count=count)

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        errors: list[BaseException] = []
        for action in reversed(self._cleanups):
            try:
                action()
            except Exception as error:
                errors.append(error)
        self._cleanups.clear()
        writes = self._states.get(MotoWrites)
        if writes is not None:
            # Last: the cleanups may still log; moto stops only after this.
            try:
                writes.flush()
            except Exception as error:
                errors.append(error)
        # The record of what happened stays readable after the block (``print(lam.timeline())``);
        # everything else is released.
        history = self._states.get(History)
        self._states.clear()
        if history is not None:
            self._states[History] = history
        if errors:
            raise errors[0]


def _refuse_inside_invocation() -> None:
    """A handler (or a thread it started) cannot move virtual time: it runs at one instant."""
    if in_invocation_thread():
        raise RuntimeError("virtual time cannot be moved from inside a running invocation")


def _default_region() -> str:
    import os

    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"


def _placeholder_zip(name: str) -> bytes:
    """A real deployment package, so moto stores a code hash; the callable runs instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "index.py",
            f"# Placeholder for {name}: mock_lambda_async runs the registered callable.\n"
            "def handler(event, context):\n    return None\n",
        )
    return buffer.getvalue()


_ACTIVE: list[LambdaAsyncController] = []


def get_controller() -> LambdaAsyncController:
    """The innermost active controller (for tests decorated with ``@mock_lambda_async``)."""
    try:
        return _ACTIVE[-1]
    except IndexError:  # also when the last mock stops on another thread meanwhile
        raise RuntimeError("mock_lambda_async is not active") from None


class MockLambdaAsync:
    """One activation of the mock: use as a decorator or a context manager."""

    def __init__(
        self, *, auto_drain: bool = True, start: datetime | None = None, patch_time: bool = True
    ) -> None:
        self._options: dict[str, Any] = {
            "auto_drain": auto_drain,
            "start": start,
            "patch_time": patch_time,
        }
        self._controller: LambdaAsyncController | None = None
        self._moto: Any = None

    @property
    def controller(self) -> LambdaAsyncController:
        if self._controller is None:
            raise RuntimeError("mock_lambda_async is not active")
        return self._controller

    def start(self) -> LambdaAsyncController:
        from moto import mock_aws
        from moto.core.models import MockAWS

        from . import operations, wallclock  # noqa: F401 - registers every operation we own

        if self._controller is not None:
            raise RuntimeError("this mock_lambda_async activation is already started")
        share_loaders()
        guard_network()
        if not MockAWS._mocks_active:
            self._moto = mock_aws()
            self._moto.start()
        controller = LambdaAsyncController(**self._options)
        # First, so it runs after every other cleanup.
        controller.add_cleanup(ProcessState.capture().restore)
        self._controller = controller
        _ACTIVE.append(controller)
        interceptor().push(controller)
        try:
            for hook in _START_HOOKS:
                hook(controller)
        except BaseException:
            self.stop(drain=False)
            raise
        return controller

    def stop(self, *, drain: bool = True) -> None:
        """Settle pending work (with ``auto_drain``), then undo everything the activation did.

        ``drain=False`` skips the settling (used when the test body already failed, so the
        original error is the one reported).
        """
        controller = self._controller
        if controller is None:
            return
        try:
            if drain and controller.auto_drain and not controller.scheduler.running:
                controller.drain()
        finally:
            interceptor().remove(controller)
            if controller in _ACTIVE:
                _ACTIVE.remove(controller)
            self._controller = None
            try:
                controller.close()
            finally:
                if self._moto is not None:
                    self._moto.stop()
                    self._moto = None
                stop_sharing()

    def __enter__(self) -> LambdaAsyncController:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop(drain=exc_type is None)

    def __call__(self, target: F) -> F:
        if inspect.isclass(target):
            return cast(F, self._decorate_class(target))
        return self._decorate_callable(target)

    def _fresh(self) -> MockLambdaAsync:
        return MockLambdaAsync(**self._options)

    def _decorate_callable(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._fresh():
                    return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)

        return cast(F, wrapper)

    def _decorate_class(self, klass: type[Any]) -> type[Any]:
        """One activation per test, covering its set-up and tear-down.

        ``unittest.TestCase``: ``run`` is wrapped, so ``setUp``, the test and ``tearDown`` share
        one activation. Other classes (pytest style): ``setup_method`` starts the activation and
        ``teardown_method`` stops it; every ``test*`` method (inherited ones too) also starts its
        own when called without them. Class-level fixtures (``setUpClass``, ``setup_class``) run
        outside any activation, as with moto's ``mock_aws``.
        """
        if issubclass(klass, unittest.TestCase):
            run = inspect.getattr_static(klass, "run")
            # A subclass decorated again runs in its own activation only, not inside its base's.
            inner = run._run if isinstance(run, _RunInActivation) else klass.run
            klass.run = _RunInActivation(self, inner)  # type: ignore[method-assign,assignment]
            return klass
        for name in dir(klass):
            member = inspect.getattr_static(klass, name)
            if name.startswith("test") and inspect.isfunction(member):
                setattr(klass, name, self._decorate_test_method(member))
        original_setup = getattr(klass, "setup_method", None)
        original_teardown = getattr(klass, "teardown_method", None)

        def setup_method(instance: Any, method: Any = None) -> None:
            activation = self._fresh()
            activation.start()
            instance.__dict__[_CLASS_ACTIVATION] = activation
            try:
                _call_with_optional_argument(original_setup, instance, method)
            except BaseException:
                instance.__dict__.pop(_CLASS_ACTIVATION, None)
                activation.stop(drain=False)
                raise

        def teardown_method(instance: Any, method: Any = None) -> None:
            try:
                _call_with_optional_argument(original_teardown, instance, method)
            finally:
                activation = instance.__dict__.pop(_CLASS_ACTIVATION, None)
                if activation is not None:
                    activation.stop()

        klass.setup_method = setup_method
        klass.teardown_method = teardown_method
        return klass

    def _decorate_test_method(self, func: F) -> F:
        """A test method that joins its instance's set-up activation, or starts its own."""
        own = self._decorate_callable(func)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_method(instance: Any, *args: Any, **kwargs: Any) -> Any:
                if _CLASS_ACTIVATION in getattr(instance, "__dict__", {}):
                    return await func(instance, *args, **kwargs)
                return await own(instance, *args, **kwargs)

            return cast(F, async_method)

        @functools.wraps(func)
        def method(instance: Any, *args: Any, **kwargs: Any) -> Any:
            if _CLASS_ACTIVATION in getattr(instance, "__dict__", {}):
                return func(instance, *args, **kwargs)
            return own(instance, *args, **kwargs)

        return cast(F, method)


class _RunInActivation:
    """``unittest.TestCase.run`` inside a fresh activation.

    A descriptor rather than a function on purpose: moto's ``mock_aws`` class decorator wraps
    every plain function in the class, and would wrap ``run`` without resetting its backends, so
    under ``@mock_aws`` its reset before ``setUp`` never happened and each test saw the previous
    test's resources. Left alone, ``run`` starts moto itself (fresh) when no mock is active.
    """

    def __init__(self, activation: MockLambdaAsync, run: Callable[..., Any]) -> None:
        self._activation = activation
        self._run = run

    def __get__(self, test: Any, owner: type[Any] | None = None) -> Any:
        if test is None:
            return self
        return functools.partial(self._run_test, test)

    def __call__(self, test: Any, result: Any = None) -> Any:
        """Called unbound, as a subclass's own ``run`` calls its base's (``super().run``)."""
        return self._run_test(test, result)

    def _run_test(self, test: Any, result: Any = None) -> Any:
        with self._activation._fresh():
            return self._run(test, result)


#: Where a decorated class's instance keeps the activation its ``setup_method`` started.
_CLASS_ACTIVATION = "_mock_lambda_async_activation"


def _call_with_optional_argument(func: Any, instance: Any, argument: Any) -> None:
    """Call an unbound ``setup_method``/``teardown_method`` with ``method`` if it takes one."""
    if func is None:
        return
    bound = func.__get__(instance, type(instance))
    parameters = inspect.signature(bound).parameters
    if parameters:
        bound(argument)
    else:
        bound()


#: Callbacks run with each new controller (modules that must patch something per activation).
_START_HOOKS: list[Callable[[LambdaAsyncController], None]] = []


def on_start(
    hook: Callable[[LambdaAsyncController], None],
) -> Callable[[LambdaAsyncController], None]:
    _START_HOOKS.append(hook)
    return hook


@overload
def mock_lambda_async(target: F, /) -> F: ...
@overload
def mock_lambda_async(
    target: None = None,
    /,
    *,
    auto_drain: bool = True,
    start: datetime | None = None,
    patch_time: bool = True,
) -> MockLambdaAsync: ...
def mock_lambda_async(
    target: Any = None,
    /,
    *,
    auto_drain: bool = True,
    start: datetime | None = None,
    patch_time: bool = True,
) -> Any:
    """Activate the mock: ``@mock_lambda_async``, ``@mock_lambda_async()`` or ``with mock_lambda_async() as lam``.

    ``auto_drain`` (default) runs pending async work before serving each AWS call the test makes and
    on exit; ``False`` runs nothing until ``lam.advance``/``lam.drain``. ``start`` sets the virtual
    clock's start (default: the time ``datetime.now`` shows: the real time, or a test's own
    ``freeze_time``/``time_machine.travel``). While active, the process's wall clock is the virtual
    clock and ``time.sleep`` takes virtual time (:mod:`.wallclock`); ``patch_time=False`` opts out:
    handlers and the test then read the real time and really sleep, and only the mock's records
    and moto's SQS run on the virtual clock.
    """
    activation = MockLambdaAsync(auto_drain=auto_drain, start=start, patch_time=patch_time)
    if target is None:
        return activation
    return activation(target)
