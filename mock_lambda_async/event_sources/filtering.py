"""Event filtering for event source mappings (``FilterCriteria``), on :mod:`.patterns`.

Lambda applies EventBridge pattern syntax to the record's metadata and to its data key (``body`` for
SQS, ``data`` for Kinesis, ``dynamodb`` for DynamoDB Streams). The data key is matched as JSON only if
it is a JSON object or array, else as a plain string. Filters are OR-ed: a record matching any of
them is delivered.

INFERENCE: Lambda's filtering guide lists fewer operators than EventBridge's (no ``wildcard`` or
``cidr``); whether Lambda refuses them is not recorded, so every EventBridge operator is accepted.
"""

from __future__ import annotations

import json
from typing import Any

from ..interception import AwsError
from .patterns import EventPattern, PatternError

__all__ = ["matches_filters", "parse_filter_criteria"]


def parse_filter_criteria(filter_criteria: dict[str, Any] | None) -> list[EventPattern]:
    """Parse ``FilterCriteria``; invalid patterns get AWS's error (recorded:
    ``test_lambda_integration_dynamodbstreams.snapshot.json::test_dynamodb_invalid_event_filter``).
    """
    patterns = []
    for entry in (filter_criteria or {}).get("Filters") or []:
        raw = entry.get("Pattern")
        try:
            patterns.append(EventPattern(raw if raw is not None else ""))
        except PatternError as error:
            raise AwsError(
                "InvalidParameterValueException",
                "Invalid filter pattern definition.",
                message_key="message",
            ) from error
    return patterns


def matches_filters(patterns: list[EventPattern], record: dict[str, Any], data_key: str) -> bool:
    """True when ``record`` matches any pattern (or there are none).

    ``record[data_key]`` is matched as JSON when it is a JSON object or array, else as the plain
    string it is. So a pattern on the data key's fields never matches plain-string data, and a
    plain-string pattern (``{"body": [{"prefix": "order-"}]}``) never matches JSON data: Lambda drops
    the record in both cases ([LDG] invocation-eventfiltering, "Filtering on message formats":
    plain string + plain string filters; plain string + JSON pattern, or JSON + plain string
    pattern, drops).
    """
    if not patterns:
        return True
    candidate = dict(record)
    data = candidate.get(data_key)
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
        candidate[data_key] = data
    if isinstance(data, str) and data.lstrip()[:1] in ("{", "["):
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            # Nested too deep to decode here: matched as the plain string it is (INFERENCE), so a
            # producer's message can never stop the poller.
            parsed = None
        if isinstance(parsed, dict | list):
            candidate[data_key] = parsed
    return any(pattern.matches(candidate) for pattern in patterns)
