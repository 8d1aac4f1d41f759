"""Process-wide state a handler may change, taken when a mock starts and put back when it stops.

Handlers share the test's interpreter, so what one changes for the whole process would outlive
its mock: ``sys.stdout``/``sys.stderr`` replaced, ``sys.modules`` entries injected, replaced or
removed, ``sys.path``, the working directory (``os.chdir``, from callables too), ``logging.disable``,
the levels of existing non-root loggers, and ``sys.setrecursionlimit``. :class:`ProcessState`
records them at the start of an activation and restores them at its end, after every other
cleanup (the runtime's own undoing of packaged code, the root logger and the output capture).

Restored only where they changed, so a mock that changed nothing costs a comparison each. Modules
imported during the block (by the test or a handler: ``import decimal``) stay: the import system
made them (they have a ``__spec__``), and dropping them would give later imports a second copy.
Not undone: changes inside objects (a module's attributes, a logger's handlers), the root logger
(restored after each invocation, see ``runner.py``) and threads a handler started, which may keep
running; their AWS calls are refused once the mock has stopped (``network.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["ProcessState"]


@dataclass
class ProcessState:
    """What :meth:`capture` found; :meth:`restore` puts it back."""

    stdout: Any
    stderr: Any
    modules: dict[str, Any]
    path: list[str]
    cwd: str | None
    logging_disable: int
    logger_levels: dict[str, int]
    recursion_limit: int

    @classmethod
    def capture(cls) -> ProcessState:
        try:
            cwd: str | None = os.getcwd()
        except OSError:
            cwd = None
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            modules=dict(sys.modules),
            path=list(sys.path),
            cwd=cwd,
            logging_disable=logging.root.manager.disable,
            logger_levels=_logger_levels(),
            recursion_limit=sys.getrecursionlimit(),
        )

    def restore(self) -> None:
        sys.stdout, sys.stderr = self.stdout, self.stderr
        self._restore_modules()
        if sys.path != self.path:
            sys.path[:] = self.path
        if self.cwd is not None:
            with contextlib.suppress(OSError):
                if os.getcwd() != self.cwd:
                    os.chdir(self.cwd)
        if logging.root.manager.disable != self.logging_disable:
            logging.disable(self.logging_disable)
        for name, level in _logger_levels().items():
            saved = self.logger_levels.get(name)
            if saved is not None and saved != level:
                # ``setLevel`` clears every logger's cache: only where a level changed.
                logging.getLogger(name).setLevel(saved)
        if sys.getrecursionlimit() != self.recursion_limit:
            sys.setrecursionlimit(self.recursion_limit)

    def _restore_modules(self) -> None:
        modules = sys.modules
        for name, module in self.modules.items():
            if modules.get(name) is not module:
                modules[name] = module
        for name in [n for n in modules if n not in self.modules]:
            if getattr(modules[name], "__spec__", None) is None:
                del modules[name]


def _logger_levels() -> dict[str, int]:
    """The level of every non-root logger (placeholders have none)."""
    return {
        name: logger.level
        for name, logger in list(logging.root.manager.loggerDict.items())
        if isinstance(logger, logging.Logger)
    }
