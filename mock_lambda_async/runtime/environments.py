"""Execution environments: one worker thread, one loaded handler, one log stream each.

Lambda's runtime process has one main thread, so thread-locals and module state survive warm
invocations; here each environment has one worker thread, its own copy of the handler's modules
and its own log stream. An environment serves one invocation at a time; a handler that invokes
its own function synchronously gets a second environment, as on Lambda. Changes the handler makes
to its environment variables and the root logger are replayed on its next warm invocation
instead of leaking into the test.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .code import _Code
from .scope import _InvocationScope
from .timeouts import _Worker

if TYPE_CHECKING:
    pass


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
        """What the code an environment runs depends on: the package and the layers."""
        return self.code_sha + "|" + ",".join(self.layers) if self.layers else self.code_sha

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python") or "3"
