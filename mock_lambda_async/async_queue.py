"""Lambda's internal event queue for asynchronous invocations: retries, event age, throttling.

PLACEHOLDER: runs each event once. The async-engine issue replaces this with the full queue.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from .metrics import History
from .runtime import Runtime

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController

__all__ = ["enqueue"]


def enqueue(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    payload: bytes,
    *,
    trigger: str,
) -> str:
    """Queue ``payload`` for ``fn`` as Lambda's async queue would; returns the request id."""
    request_id = str(uuid.uuid4())
    history = controller.state(History)
    history.note("queued", function_name=fn.name, request_id=request_id, trigger=trigger)

    def attempt() -> None:
        record = history.start_attempt(
            fn, payload, trigger=trigger, attempt=1, request_id=request_id
        )
        result = controller.state(Runtime).run(fn, payload, request_id=request_id)
        history.finish_attempt(record, result)

    controller.scheduler.call_soon(attempt, label=f"async {fn.name}")
    return request_id
