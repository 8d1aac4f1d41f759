"""Execution environments: one worker thread, one loaded handler, one log stream each.

Lambda's runtime process has one main thread, so thread-locals and module state survive warm
invocations; here each environment has one worker thread, its own world of modules and named
loggers (see :mod:`.isolation`) and its own log stream. An environment is kept for one
configuration: an ``UpdateFunctionCode`` or ``UpdateFunctionConfiguration`` retires it (at once if
idle, when its invocation ends if busy), so queued events and retries run on the new code and
configuration in new environments, which import everything again (recorded by LocalStack's
AWS-validated ``test_async_invoke_queue_upon_function_update``). An environment serves one invocation at a time; a handler that invokes
its own function synchronously gets a second environment, as on Lambda. Changes the handler makes
to its environment variables and the root logger are replayed on its next warm invocation
instead of leaking into the test.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .code import _Code
from .isolation import _World
from .scope import _InvocationScope
from .timeouts import _Worker

if TYPE_CHECKING:
    pass


@dataclass(eq=False)
class _Environment:
    """One execution environment: worker, loaded handler, modules, log stream, process state."""

    #: Function ARN, version and the fingerprint of the configuration it was made for.
    key: tuple[str, str, str]
    worker: _Worker
    log_stream: str
    code: _Code | None
    handler: Callable[..., Any] | None = None
    handler_module: str | None = None
    world: _World = field(default_factory=_World)
    alias: str | None = None
    busy: bool = False
    #: The function was updated while this environment was busy: retire it when it is released.
    stale: bool = False
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
    #: Layer version ARNs, in order.
    layers: tuple[str, ...] = ()

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
            layers=tuple(str(layer["Arn"]) for layer in getattr(moto_fn, "layers", None) or []),
        )

    @property
    def code_key(self) -> str:
        """What the extracted code depends on: the package and the layers."""
        return self.code_sha + "|" + ",".join(self.layers) if self.layers else self.code_sha

    @property
    def fingerprint(self) -> str:
        """Identifies the code and configuration; environments made for another are retired."""
        fields = [self.runtime, self.handler, self.package_type, self.timeout_s, self.memory_mb]
        fields += [self.code_sha, sorted(self.variables.items()), list(self.layers)]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python") or "3"
