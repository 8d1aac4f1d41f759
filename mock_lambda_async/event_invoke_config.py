"""The FunctionEventInvokeConfig API and the async settings it gives each function qualifier.

PLACEHOLDER until the async-engine issue: only :func:`settings_for` with AWS's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController

__all__ = ["AsyncSettings", "settings_for"]


@dataclass(frozen=True)
class AsyncSettings:
    """What governs one async event: retries, age, destinations, DLQ."""

    maximum_retry_attempts: int = 2
    maximum_event_age_s: int = 21600
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter_target: str | None = None


def settings_for(controller: LambdaAsyncController, fn: ResolvedFunction) -> AsyncSettings:
    """The settings an async invoke of ``fn`` (as qualified by the caller) runs under."""
    return AsyncSettings()
