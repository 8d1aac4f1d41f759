"""The event source mapping API (Create/Get/Update/Delete/List) and the mapping registry.

PLACEHOLDER API until the event-sources issue; the data model below is shared by the pollers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..functions import ResolvedFunction
    from ..mock import LambdaAsyncController

__all__ = ["EventSourceMapping", "MappingPoller", "MappingRegistry"]


@dataclass
class EventSourceMapping:
    """One mapping. ``config`` holds the settings under their API names (``BatchSize``,
    ``MaximumBatchingWindowInSeconds``, ``StartingPosition``, ``StartingPositionTimestamp``,
    ``MaximumRetryAttempts``, ``MaximumRecordAgeInSeconds``, ``BisectBatchOnFunctionError``,
    ``ParallelizationFactor``, ``TumblingWindowInSeconds``, ``DestinationConfig``,
    ``FunctionResponseTypes``, ``FilterCriteria``, ``ScalingConfig``) with defaults filled in, so
    pollers read ``mapping.config["BatchSize"]`` and see updates live.
    """

    uuid: str
    arn: str
    function: ResolvedFunction
    source_arn: str
    source_type: str  # "sqs" | "kinesis" | "dynamodb"
    config: dict[str, Any]
    enabled: bool = True
    state: str = "Creating"
    state_transition_reason: str = "USER_INITIATED"
    last_modified_ms: int = 0
    last_processing_result: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class MappingPoller(Protocol):
    """A poller for one mapping, registered on the scheduler while the mapping is enabled."""

    def poll(self, now_ms: int) -> int | None: ...

    def close(self) -> None: ...


class MappingRegistry:
    """Per-controller mappings by UUID."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self.mappings: dict[str, EventSourceMapping] = {}
