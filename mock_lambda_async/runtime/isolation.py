"""One interpreter, one ``sys.modules``, one working directory: how packaged functions share them.

The deployment package is extracted once per function version and code hash into a temporary
folder. While an invocation (or the module import that initialises an environment) runs, that
folder is first on ``sys.path`` and the working directory, the environment's modules are in
``sys.modules`` under their own names, and any other module with the same top-level name (another
function's ``utils``, a test helper) is hidden; afterwards everything is put back. Between
invocations the handler module stays in ``sys.modules`` only under a name unique to its
environment (``mock_lambda_async_handler__<function>__<version>__<code hash>``). ``sys.modules``,
the working directory and ``sys.path`` cannot be shared between threads, so invocations of
packaged functions take turns unless one runs inside the other (:func:`_take_package_turn`);
callables registered with ``add_function`` need none of it and run side by side.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .scope import _InvocationScope

    pass

HANDLER_MODULE_PREFIX = "mock_lambda_async_handler__"


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
