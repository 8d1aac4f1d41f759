"""Event filtering for event source mappings (``FilterCriteria``), on moto's EventBridge matcher.

Lambda applies EventBridge pattern syntax to the record's metadata and to its data key (``body`` for
SQS, ``data`` for Kinesis, ``dynamodb`` for DynamoDB Streams). The data key is matched as JSON only if
it parses as JSON. Filters are OR-ed: a record matching any of them is delivered.
"""

from __future__ import annotations

import json
from typing import Any, cast

from moto.events.models import EventPattern, EventPatternParser

from ..interception import AwsError

__all__ = ["matches_filters", "parse_filter_criteria"]


def parse_filter_criteria(filter_criteria: dict[str, Any] | None) -> list[EventPattern]:
    """Parse ``FilterCriteria``; invalid patterns get AWS's error."""
    patterns = []
    for entry in (filter_criteria or {}).get("Filters") or []:
        raw = entry.get("Pattern")
        try:
            patterns.append(EventPattern(raw, EventPatternParser(raw).parse()))
        except Exception as error:
            raise AwsError(
                "InvalidParameterValueException",
                "Invalid filter pattern definition.",
                message_key="message",
            ) from error
    return patterns


def matches_filters(patterns: list[EventPattern], record: dict[str, Any], data_key: str) -> bool:
    """True when ``record`` matches any pattern (or there are none).

    ``record[data_key]`` is replaced by its JSON value when it parses as JSON; a pattern on the
    data key never matches non-JSON data.
    """
    if not patterns:
        return True
    candidate = dict(record)
    data = candidate.get(data_key)
    if isinstance(data, str | bytes):
        try:
            candidate[data_key] = json.loads(data)
        except ValueError:
            candidate.pop(data_key, None)
    return any(pattern.matches_event(cast(Any, candidate)) for pattern in patterns)
