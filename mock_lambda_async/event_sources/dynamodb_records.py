"""DynamoDB stream records as AWS writes them: item sizes, binary values, stream labels.

moto (seen on 5.2.1) gets three things wrong on the path the mock delivers, and the mock corrects
them while it is active (``streams.hold_arrival_hooks`` installs the corrections):

- ``SizeBytes`` is the length of moto's JSON dump of the record (224, 294, ...); AWS's recordings
  (``test_lambda_integration_dynamodbstreams.snapshot.json``) give the DynamoDB item size of
  ``Keys`` plus the images the record carries (20, 46, 24, 39, 47, 70), which
  :func:`stream_record_size` computes;
- binary values (``B``, ``BS``, also nested in ``M``/``L``) are kept as ``bytes``, which no JSON
  event can hold; Lambda delivers them base64 (``{"B": "Zm9vYmFy"}``, recorded in
  ``TestDynamoDBEventSourceMapping::test_dynamodb_event_source_mapping``): :func:`wire_json`;
- the stream label has microseconds (``2026-01-01T00:00:00.123456``); AWS's has milliseconds
  (``2025-02-17T16:33:01.784``, ``event_source_mapping/test_api.snapshot.json::
  test_create_starting_position_validation_exceptions[dynamodb]``): :func:`stream_label`.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal, InvalidOperation
from typing import Any

from ..clock import to_datetime

__all__ = ["attribute_size", "stream_label", "stream_record_size", "wire_json"]

#: The record parts that count towards ``SizeBytes``: every recorded value is their item size.
_SIZED_PARTS = ("Keys", "NewImage", "OldImage")


def _raw_length(value: Any) -> int:
    """A binary value's raw byte length (moto keeps ``bytes``; base64 text is decoded first)."""
    if isinstance(value, bytes | bytearray):
        return len(value)
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value).encode())


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 ([DOCS] CapacityUnitCalculations: "Leading and
    trailing zeroes are trimmed"). The recorded ``{"N": "42"}`` counts 2."""
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        digits = tuple(int(c) for c in text if c.isdigit())
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    """The size of one attribute value (``{"S": "x"}``), without its name.

    [DOCS] "DynamoDB item sizes and formats" (CapacityUnitCalculations): strings count their UTF-8
    bytes, binaries their raw bytes, numbers as :func:`_number_size`, null and Boolean 1 byte; a
    List or Map counts 3 bytes plus, for each element, its size and 1 byte. INFERENCE: a set
    counts the sum of its elements' sizes (the page gives no overhead for sets).
    """
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return _raw_length(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(item).encode()) for item in inner)
    if kind == "NS":
        return sum(_number_size(str(item)) for item in inner)
    if kind == "BS":
        return sum(_raw_length(item) for item in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_size(v) + 1 for name, v in inner.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    return len(str(inner).encode())


def item_size(attributes: dict[str, Any]) -> int:
    """An item's size: the sum of its attribute names' UTF-8 bytes and their values' sizes."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in attributes.items())


def stream_record_size(dynamodb: dict[str, Any]) -> int:
    """``SizeBytes`` of a stream record: the item sizes of its ``Keys`` and images.

    Checked against every recorded value: ``{"id": "id_value"}`` keys with the same new image give
    20; a MODIFY with a larger new image and an old image 46; the binary item of
    ``test_dynamodb_event_source_mapping`` (NEW_IMAGE) 70.
    """
    return sum(item_size(dynamodb[part]) for part in _SIZED_PARTS if part in dynamodb)


def wire_json(value: Any) -> Any:
    """``value`` with every ``bytes`` replaced by its base64 text, as Lambda serialises records."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: wire_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wire_json(item) for item in value]
    return value


def stream_label(epoch_ms: int) -> str:
    """A stream label as AWS writes it: UTC, millisecond precision, no zone suffix."""
    return to_datetime(epoch_ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}"
