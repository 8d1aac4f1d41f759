"""Which invocation a thread works for, and the ``os.environ`` its threads see.

Invocations may overlap: the test may invoke from several threads, a handler may invoke
functions from a thread pool. Environment variables are therefore never set process-wide:
``os.environ`` shows the threads of an invocation (its worker, and the threads and pool tasks its
handler starts, which inherit the invocation's context) the function's own variables, and every
other thread the untouched process environment (:class:`_RoutedEnviron`).
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..mock import LambdaAsyncController


@dataclass(eq=False)
class _InvocationScope:
    """One running invocation, as seen from every thread working for it.

    ``environ`` is the function's environment (what ``os.environ`` shows its threads); ``parent``
    the invocation whose handler started this one (``None`` for the test's own calls and the
    scheduler's), so a nested invocation knows the chain it belongs to; ``environment`` the
    execution environment it runs in (threads a module starts at import keep working for it);
    ``controller`` the mock it runs under.
    """

    environ: dict[str, str]
    parent: _InvocationScope | None = None
    environment: object | None = None
    #: The controller the invocation runs for: its threads may outlive it (``network.py``).
    controller: LambdaAsyncController | None = None

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
