"""Delivery of outcomes: invocation records to destinations, failed events to dead-letter queues.

PLACEHOLDER until the async-engine issue. Callers decide *whether* to deliver; this module decides
*how* a record reaches SQS, SNS, Lambda, EventBridge or S3 in moto, and reports failure by raising
:class:`DeliveryFailed` (never anything else), so callers can count it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController

__all__ = ["DeliveryFailed", "deliver_dead_letter", "deliver_record"]


class DeliveryFailed(Exception):
    """The target refused or does not exist; ``reason`` says why (for the timeline)."""


def deliver_record(
    controller: LambdaAsyncController,
    target_arn: str,
    record: dict[str, Any],
    *,
    fn: ResolvedFunction,
    success: bool,
) -> None:
    """Send an invocation record to a destination (SQS, SNS, Lambda, EventBridge, S3)."""
    raise DeliveryFailed("delivery is not implemented yet")


def deliver_dead_letter(
    controller: LambdaAsyncController,
    target_arn: str,
    payload: bytes,
    *,
    request_id: str,
    error_code: str,
    error_message: str,
) -> None:
    """Send a failed event's original payload to a function DLQ (SQS or SNS)."""
    raise DeliveryFailed("dead-letter delivery is not implemented yet")
