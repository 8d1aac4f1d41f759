"""Replacing moto's functions for as long as any mock is active.

Several modules correct moto on the paths the mock delivers (record times, sequence numbers, the
pattern matcher). Each declares a :class:`MotoPatch`; every active controller holds it, the first
holder installs the replacements and the last one to stop puts moto's originals back, so outside
an active mock moto behaves exactly as without this package.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .mock import LambdaAsyncController

__all__ = ["MotoPatch"]


class MotoPatch:
    """``replacements()`` gives ``(owner, attribute, replacement)`` triples, imported lazily."""

    def __init__(self, replacements: Callable[[], list[tuple[Any, str, Any]]]) -> None:
        self._replacements = replacements
        self._lock = threading.Lock()
        self._holders: set[int] = set()
        self._originals: dict[tuple[int, str], tuple[Any, str, Any]] = {}

    def original(self, owner: Any, attribute: str) -> Any:
        """moto's own ``owner.attribute`` while replaced (the attribute itself otherwise).

        ``owner`` may be a subclass of the class patched (an instance's ``type(self)``)."""
        for klass in getattr(owner, "__mro__", (owner,)):
            saved = self._originals.get((id(klass), attribute))
            if saved is not None:
                return saved[2]
        return getattr(owner, attribute)

    def hold(self, controller: LambdaAsyncController) -> None:
        """Keep the replacements in place while ``controller`` is active (idempotent)."""
        with self._lock:
            if id(controller) in self._holders:
                return
            if not self._holders:
                for owner, attribute, replacement in self._replacements():
                    self._originals[(id(owner), attribute)] = (
                        owner,
                        attribute,
                        vars(owner)[attribute],
                    )
                    setattr(owner, attribute, replacement)
            self._holders.add(id(controller))
        controller.add_cleanup(lambda: self._release(controller))

    def _release(self, controller: LambdaAsyncController) -> None:
        with self._lock:
            self._holders.discard(id(controller))
            if not self._holders:
                for owner, attribute, original in self._originals.values():
                    setattr(owner, attribute, original)
                self._originals.clear()
