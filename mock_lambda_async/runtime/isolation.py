"""One interpreter, one ``sys.modules``: how each execution environment gets a world of its own.

On Lambda every execution environment is its own process. Here an environment of a packaged
function (zip code) owns a *world*: its own copies of the package's modules **and of every
installed library they import** (Powertools and the like, with their module-level flags such as
``cold_start``), and its own named loggers (``logging.getLogger("payment")``). While the
environment's code runs (its Init, or an invocation) its world is in ``sys.modules`` and in
``logging``'s logger registry under the real names, and every other module or logger of those
names (the test's, another environment's) is hidden; afterwards the world is taken out again and
what was hidden is put back, object for object. A new environment starts from an empty world, so
it imports everything again, as a cold start does, and a new mock session's environments are new.

Shared, not copied: the standard library, :data:`SHARED_MODULES` (the SDK, moto, this package,
pytest) and the installed distributions they depend on (computed once from their metadata, so
moto's own dependencies are never imported twice), and any package holding a C extension
module (those cannot always be initialised twice in one process). The package's own top-level
names override the shared set except for the standard library and :data:`PROTECTED_MODULES`
(a package that vendors ``requests`` gets its copy; one that vendors ``boto3`` gets the test's,
whose interception keeps calls away from AWS). Add a top-level name to :data:`SHARED_MODULES`
before the session starts to share a library of your own.

The package is extracted once per function version and code hash into a temporary folder, first
on ``sys.path`` and the working directory while its code runs. Between invocations the handler
module stays in ``sys.modules`` only under a name unique to its environment
(``mock_lambda_async_handler__<function>__<version>__<code hash>``). ``sys.modules``, the logger
registry, the working directory and ``sys.path`` cannot be shared between threads, so
invocations of packaged functions take turns unless one runs inside the other
(:func:`_take_package_turn`); callables registered with ``add_function`` are the test's own code:
they run in the test's world, side by side, and only their output is the invocation's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .code import _Code
    from .scope import _InvocationScope

HANDLER_MODULE_PREFIX = "mock_lambda_async_handler__"


#: Modules a deployment package may not shadow in the test process: the standard library (already
#: imported by Lambda's bootstrap before user code, so shadowing fails on Lambda too) and the SDK
#: and mock machinery whose interception keeps every call away from real AWS.
PROTECTED_MODULES = frozenset(sys.stdlib_module_names) | {
    "__main__",
    "__mp_main__",
    "boto3",
    "botocore",
    "s3transfer",
    "urllib3",
    "moto",
    "mock_lambda_async",
    "pytest",
    "_pytest",
}

#: Top-level module names every environment shares with the test instead of importing its own
#: copy (``from mock_lambda_async import SHARED_MODULES; SHARED_MODULES.add("mylib")``). Besides
#: these, the installed dependencies of boto3, moto and pytest are shared (:func:`_dependency_tops`).
SHARED_MODULES: set[str] = {
    *PROTECTED_MODULES,
    "jmespath",
    "dateutil",
    "six",
    "responses",
    "requests",
    "werkzeug",
    "pluggy",
    "hypothesis",
    "xdist",
    "execnet",
    "typing_extensions",
}

#: Distributions whose dependencies are shared; moto's optional ones too (moto imports them lazily,
#: possibly while a handler's code runs, and must find its own copies afterwards).
_SHARED_DISTRIBUTIONS = ("boto3", "botocore", "moto", "pytest")
_ALL_EXTRAS = frozenset({"moto"})


def _dependency_tops() -> frozenset[str]:
    """Top-level module names of the installed dependencies of :data:`_SHARED_DISTRIBUTIONS` and of
    pytest plugins (optional ones only where :data:`_ALL_EXTRAS` says so), read once."""
    if _DEPENDENCY_TOPS:
        return _DEPENDENCY_TOPS[0]

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    roots = list(_SHARED_DISTRIBUTIONS)
    roots += [ep.dist.name for ep in metadata.entry_points(group="pytest11") if ep.dist is not None]
    seen: set[str] = set()
    todo = [normal(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            requirements = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for requirement in requirements:
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            optional = re.search(r"\bextra\s*==", requirement) is not None
            if match and (not optional or name in _ALL_EXTRAS):
                todo.append(normal(match.group(1)))
    # The mock's own distribution counts for its runtime dependencies only (its extras are for
    # its tests: Powertools among them, which handlers must get copies of).
    seen.discard(normal("mock-lambda-async"))
    tops = frozenset(
        top
        for top, names in metadata.packages_distributions().items()
        if any(normal(n) in seen for n in names)
    )
    _DEPENDENCY_TOPS.append(tops)
    return tops


_DEPENDENCY_TOPS: list[frozenset[str]] = []
#: Top-level names found to hold a C extension module: shared from then on.
_EXTENSION_TOPS: set[str] = set()
#: Module names already looked at for extensions (names are checked once: warm turns stay cheap).
_CHECKED_FOR_EXTENSIONS: set[str] = set()
#: Names of modules loaded from a package although their names are shared (a package's own
#: ``xml`` when the standard one was not imported yet): found by their file, not their name.
_SHARED_NAMES_FROM_PACKAGES: set[str] = set()


def _world_predicate(code: _Code) -> Callable[[str], bool]:
    """Whether a module or logger name belongs to the world of an environment running ``code``."""
    shared = SHARED_MODULES | _dependency_tops() | _EXTENSION_TOPS
    own = code.top_names - PROTECTED_MODULES
    tops: dict[str, bool] = {}

    def in_world(name: str) -> bool:
        top = name.partition(".")[0]
        known = tops.get(top)
        if known is None:
            known = tops[top] = not top.startswith(HANDLER_MODULE_PREFIX) and (
                top in own or top not in shared
            )
        return known

    return in_world


def _note_extensions() -> None:
    """Share, from now on, every package holding an extension module (never imported twice)."""
    new = sys.modules.keys() - _CHECKED_FOR_EXTENSIONS
    suffixes = tuple(EXTENSION_SUFFIXES)
    for name in new:
        location = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(location, str) and location.endswith(suffixes):
            _EXTENSION_TOPS.add(name.partition(".")[0])
    _CHECKED_FOR_EXTENSIONS.update(new)


@dataclass(eq=False)
class _World:
    """An environment's own modules and named loggers, out of the process while it does not run."""

    modules: dict[str, ModuleType] = field(default_factory=dict)
    loggers: dict[str, Any] = field(default_factory=dict)

    def clear(self) -> None:
        self.modules.clear()
        self.loggers.clear()


def _take_out(
    in_world: Callable[[str], bool],
    owns: Callable[[str | None], bool],
    by_file: Iterable[str] = (),
) -> _World:
    """Remove from ``sys.modules`` and the logger registry every entry ``in_world`` claims, and the
    modules named in ``by_file`` whose file ``owns`` claims; return them."""
    taken = _World()
    for name in [n for n in sys.modules if in_world(n)]:
        taken.modules[name] = sys.modules.pop(name)
    for name in by_file:
        module = sys.modules.get(name)
        if module is not None and owns(_module_location(module)):
            _SHARED_NAMES_FROM_PACKAGES.add(name)
            taken.modules[name] = sys.modules.pop(name)
    with _logging_lock():
        registry = logging.Logger.manager.loggerDict
        for name in [n for n in registry if in_world(n)]:
            taken.loggers[name] = registry.pop(name)
    return taken


def _put_in(world: _World) -> None:
    """Put a world (an environment's, or what its turn hid) into the process, as it was."""
    sys.modules.update(world.modules)
    with _logging_lock():
        logging.Logger.manager.loggerDict.update(world.loggers)
        for logger in world.loggers.values():
            # Levels are cached per logger; the root's may have changed while it was out.
            cache = getattr(logger, "_cache", None)
            if isinstance(cache, dict):
                cache.clear()


@contextlib.contextmanager
def _logging_lock() -> Iterator[None]:
    """``logging``'s module lock, which guards its logger registry."""
    lock: Any = getattr(logging, "_lock", None)
    if lock is None:
        yield
        return
    with lock:
        yield


@dataclass(eq=False)
class _PackageTurn:
    """A packaged environment's hold on the process-wide import state, and what to put back after."""

    scope: _InvocationScope
    world: _World
    code: _Code
    cwd: str | None
    #: Function, version, code and request id: a duplicate delivery of the same event shares it.
    event: tuple[str, ...] = ()
    #: The environment's Init is over (see :func:`_take_package_turn` on duplicates).
    initialised: bool = False
    hidden: _World = field(default_factory=_World)
    #: The names in ``sys.modules`` once the world was put in: what is new at the end is its.
    before: frozenset[str] = frozenset()


#: Active package turns, oldest first. ``sys.modules``, the logger registry, ``sys.path`` and the
#: working directory cannot be given to two environments at once (two ``lambda_function``
#: modules, two ``/var/task``), so a packaged invocation waits until every active turn belongs to
#: an invocation it runs inside: its handler invoking it, or a thread working for its environment
#: (one its module started at import, a pool) invoking it. The turns then nest, and each undoes
#: its changes in order. Invocations of callables (``add_function``) never wait.
#:
#: Copies of one event delivered at once (a duplicate delivery) run at the same time, each in its
#: own environment, as on Lambda: a copy is let in on top of another copy's turn once that copy's
#: environment has finished its Init (so no import is under way), and the turns nest. Both run
#: the same code from the same folder; what the earlier copy looks up in ``sys.modules`` by name
#: (a lazy ``import``) while the later one runs is the later one's module of that name.
_PACKAGE_TURNS: list[_PackageTurn] = []
_PACKAGE_CHANGED = threading.Condition()


def _take_package_turn(
    scope: _InvocationScope,
    world: _World,
    code: _Code,
    extracted: Path,
    event: tuple[str, ...] = (),
) -> _PackageTurn:
    """Wait for the turn, then give the process to ``world``: hide every other world's modules and
    loggers (the test's, and any module loaded from under ``extracted``), put this one in."""
    outer = list(scope.lineage())
    scopes = {id(s) for s in outer}
    environments = {id(s.environment) for s in outer if s.environment is not None}

    def inside(turn: _PackageTurn) -> bool:
        owner = turn.scope.environment
        if event and turn.event == event and turn.initialised:
            return True
        return id(turn.scope) in scopes or (owner is not None and id(owner) in environments)

    with _PACKAGE_CHANGED:
        _PACKAGE_CHANGED.wait_for(lambda: all(inside(t) for t in _PACKAGE_TURNS))
        try:
            cwd: str | None = os.getcwd()
        except OSError:
            cwd = None
        turn = _PackageTurn(scope, world, code, cwd, event)
        _note_extensions()
        turn.hidden = _take_out(
            _world_predicate(code),
            lambda path: _is_under(path, extracted),
            _SHARED_NAMES_FROM_PACKAGES,
        )
        _put_in(world)
        turn.before = frozenset(sys.modules)
        sys.path[0:0] = [str(path) for path in code.paths]  # the code, then its layers
        os.chdir(code.directory)
        _PACKAGE_TURNS.append(turn)
        return turn


def _initialised(turn: _PackageTurn) -> None:
    """The turn's environment finished its Init: a duplicate of its event may now run beside it."""
    with _PACKAGE_CHANGED:
        turn.initialised = True
        _PACKAGE_CHANGED.notify_all()


def _end_package_turn(turn: _PackageTurn) -> None:
    """Take the environment's world back out and put back what its turn hid, or hand that on.

    A turn that ends while a later one is still active (a handler returned without waiting for a
    thread of its own that invoked a packaged function) finds its world among what the later turn
    hid, takes it from there, and hands its originals and working directory to that turn.
    """
    with _PACKAGE_CHANGED:
        index = _PACKAGE_TURNS.index(turn)
        del _PACKAGE_TURNS[index]
        for path in turn.code.paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(path))
        _note_extensions()
        in_world = _world_predicate(turn.code)
        owns = turn.code.owns
        if index == len(_PACKAGE_TURNS):
            new = (sys.modules.keys() - turn.before) | turn.world.modules.keys()
            collected = _take_out(in_world, owns, new)
            turn.world.modules, turn.world.loggers = collected.modules, collected.loggers
            _put_in(turn.hidden)
            if turn.cwd is not None:
                with contextlib.suppress(OSError):
                    os.chdir(turn.cwd)
        else:
            later = _PACKAGE_TURNS[index]
            later.cwd = turn.cwd
            hidden = later.hidden
            turn.world.modules = {
                n: m for n, m in hidden.modules.items() if in_world(n) or owns(_module_location(m))
            }
            turn.world.loggers = {n: lg for n, lg in hidden.loggers.items() if in_world(n)}
            later.hidden = _World(
                {**_without(hidden.modules, turn.world.modules), **turn.hidden.modules},
                {**_without(hidden.loggers, turn.world.loggers), **turn.hidden.loggers},
            )
        _PACKAGE_CHANGED.notify_all()


def _without(entries: dict[str, Any], taken: dict[str, Any]) -> dict[str, Any]:
    return {n: v for n, v in entries.items() if n not in taken}


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
