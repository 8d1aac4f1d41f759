"""Concurrency limits: reserved concurrency per function and the account limit.

PLACEHOLDER: the async-engine issue implements throttling here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController

__all__ = ["check_sync_invoke"]


def check_sync_invoke(controller: LambdaAsyncController, fn: ResolvedFunction) -> None:
    """Raise Lambda's 429 when a synchronous invoke of ``fn`` would exceed its concurrency."""
    return None
