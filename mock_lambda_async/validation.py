"""Lambda's front end: every intercepted request is checked against the botocore model first.

AWS checks a request in two steps before the operation's own code sees it, and so do we, for
every operation a handler here answers (``interception`` calls :func:`check_request`):

1. **Deserialization.** Path, query-string and header members arrive as text: ``FunctionName=123``
   is the path text ``"123"`` (botocore's serializer ``str()``-s it), ``MaxItems="5"`` is the
   query text ``5``, a number. The handler is given that text (or the number it spells). Body
   members arrive as JSON, whose types Lambda's deserializer does not coerce: ``"1"`` for an
   integer, ``5`` for a structure, ``true`` for a string are refused with 400
   ``SerializationException`` before any constraint is checked (rest-json services answer a
   member of the wrong JSON type so; the wording follows the Coral deserializer's
   ``STRING_VALUE can not be converted to an Integer`` / ``Start of structure or map found where
   not expected.`` messages that other AWS JSON services return — INFERENCE for Lambda, no
   recording of its exact text exists). The first such error ends the check, as a parser stops.
2. **Constraints.** Required members, value ranges, lengths, patterns and enums of the model,
   all reported at once in model member order: ``1 validation error detected: Value '0' at
   'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1``
   (``N validation errors detected: ...; ...``), as 400 ``ValidationException`` (spec section 0).

botocore itself checks types, required members and minimums when ``parameter_validation`` is on
(the default), so for such clients only maximums, patterns and enums are ever found here; a
client built with ``Config(parameter_validation=False)`` reaches all of it, as it reaches AWS.

``FunctionName`` and ``Qualifier`` are type-checked here, and refused empty, but their maximum
lengths and patterns are left to
:mod:`~.functions` where the handler resolves the name itself: it quotes the pattern text Lambda's
recorded messages show (the model's own patterns differ from it).
"""

from __future__ import annotations

import datetime
import json
import re
from typing import TYPE_CHECKING, Any

from .event_invoke_config import DESTINATION_PATTERN_TEXT
from .functions import validation_exception
from .interception import REQUEST_LIMITS, AwsError

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

__all__ = ["check_request", "check_request_size", "java_text"]

#: Top-level members whose length and pattern :mod:`~.functions` checks with recorded wording ...
_CHECKED_BY_HANDLERS = ("FunctionName", "Qualifier")
#: ... except in the operations whose handlers pass the name on to moto, which checks neither.
_NAMED_BY_MOTO = frozenset(
    {
        "CreateFunction",
        "UpdateFunctionConfiguration",
        "GetFunctionConfiguration",
        "PublishVersion",
        "GetFunction",
        "ListFunctions",
        "ListVersionsByFunction",
    }
)
#: Patterns as AWS prints them where its recorded text is newer than botocore's model, by shape.
_RECORDED_PATTERNS = {"DestinationArn": DESTINATION_PATTERN_TEXT}
#: Where a member travels outside the JSON body (botocore ``serialization.location``).
_TEXT_LOCATIONS = ("uri", "querystring", "header")
#: Enum sets as AWS prints them where recorded ([LS] test_api.snapshot.json); else model order.
_ENUM_TEXT = {"startingPosition": "[LATEST, AT_TIMESTAMP, TRIM_HORIZON]"}
#: Java's ranges: a JSON number outside them does not deserialize into the member.
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
#: The Java type each model type deserializes into, as the deserializer names it.
_JAVA_TYPES = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "boolean": "a Boolean",
    "float": "a Float",
    "double": "a Double",
    "blob": "a ByteBuffer",
    "timestamp": "a Date",
    "structure": "a Structure",
    "list": "a List",
    "map": "a Map",
}
_NUMBER_TEXT = re.compile(r"-?[0-9]{1,30}")


def check_request_size(model: OperationModel, params: dict[str, Any]) -> AwsError | None:
    """413 ``RequestEntityTooLargeException`` for a deployment request over Lambda's limit.

    The size is that of the JSON body botocore sends: the zip base64-encoded, plus the other
    members (a close estimate: their JSON text).
    """
    limit = REQUEST_LIMITS.get(model.name)
    if limit is None:
        return None
    code = params.get("Code") if model.name == "CreateFunction" else params
    zip_file = code.get("ZipFile") if isinstance(code, dict) else None
    if not isinstance(zip_file, bytes | bytearray):
        return None
    size = (len(zip_file) + 2) // 3 * 4
    if size <= limit:
        return None
    rest = {k: v for k, v in params.items() if k not in ("Code", "ZipFile")}
    size += len(json.dumps(rest, default=str))
    if size <= limit:
        return None
    # The wire code is not the modelled RequestTooLargeException, so boto3 raises a plain
    # ClientError, as it does against AWS (spec section 1).
    return AwsError(
        "RequestEntityTooLargeException",
        f"Request must be smaller than {limit} bytes for the {model.name} operation",
        413,
        message_key="message",
    )


class _WrongType(Exception):
    """A member whose JSON (or text) value cannot become the model's type."""


def check_request(
    model: OperationModel, params: dict[str, Any]
) -> tuple[dict[str, Any], AwsError | None]:
    """The parameters as Lambda's code would see them, or the error Lambda answers instead.

    The returned parameters hold path, query and header members as the text that went on the
    wire (numbers parsed); body members are unchanged.
    """
    shape = model.input_shape
    if shape is None:
        return dict(params), None
    payload = shape.serialization.get("payload")
    wire: dict[str, Any] = {}
    try:
        for name, value in params.items():
            if value is None:
                continue
            member = shape.members.get(name)
            if member is None:
                raise _WrongType(f"Unknown member '{name}'")
            location = member.serialization.get("location")
            if location in _TEXT_LOCATIONS and member.type_name == "list":
                # A repeated query parameter (``?tagKeys=a&tagKeys=b``): each item is text.
                if not isinstance(value, list | tuple):
                    raise _WrongType(f"{_json_kind(value)} can not be converted to a List")
                wire[name] = [_from_text(member.member, _text(item, location)) for item in value]
            elif location in _TEXT_LOCATIONS:
                wire[name] = _from_text(member, _text(value, location))
            elif name == payload and member.type_name == "blob":
                # The raw request body: its form is the operation's to judge (Invoke's JSON check).
                wire[name] = value
            else:
                _check_json_type(member, value)
                wire[name] = value
    except _WrongType as error:
        return wire, _serialization_exception(str(error))
    problems = _structure_problems(shape, wire, "", top=model.name not in _NAMED_BY_MOTO)
    if problems:
        return wire, validation_exception(problems)
    return wire, None


# -- step 1: types ---------------------------------------------------------------------------------
def _text(value: Any, location: str) -> str:
    """What botocore's rest serializer puts on the wire for a path, query or header value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool) and location == "querystring":
        return str(value).lower()
    return str(value)


def _from_text(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    if kind in _INT_RANGE:
        if not _NUMBER_TEXT.fullmatch(text):
            raise _WrongType(f"STRING_VALUE can not be converted to {_JAVA_TYPES[kind]}")
        return _in_java_range(shape, int(text))
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise _WrongType("STRING_VALUE can not be converted to a Boolean")
        return text.lower() == "true"
    return text


def _in_java_range(shape: Shape, number: int) -> int:
    low, high = _INT_RANGE[shape.type_name]
    if not low <= number <= high:
        raise _WrongType(f"NUMBER_VALUE can not be converted to {_JAVA_TYPES[shape.type_name]}")
    return number


def _json_kind(value: Any) -> str:
    """The JSON token the deserializer meets for ``value``, in its words."""
    if isinstance(value, bool):
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    if isinstance(value, str | bytes | bytearray):
        return "STRING_VALUE"
    return "VALUE"


def _check_json_type(shape: Shape, value: Any) -> None:
    """Refuse a body value whose JSON type is not the member's (None members are not sent)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _mismatch(shape, value)
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                raise _WrongType(f"Unknown member '{name}'")
            if item is not None:
                _check_json_type(member, item)
        return
    if kind == "list":
        if not isinstance(value, list | tuple):
            raise _mismatch(shape, value)
        for item in value:
            if item is not None:
                _check_json_type(shape.member, item)
        return
    if kind == "map":
        if not isinstance(value, dict):
            raise _mismatch(shape, value)
        for key, item in value.items():
            if not isinstance(key, str):
                raise _WrongType(f"{_json_kind(key)} can not be converted to a String")
            if item is not None:
                _check_json_type(shape.value, item)
        return
    if not _scalar_fits(shape, value):
        raise _mismatch(shape, value)


def _scalar_fits(shape: Shape, value: Any) -> bool:
    kind = shape.type_name
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind in _INT_RANGE:
        if not isinstance(value, int):
            return False
        _in_java_range(shape, value)
        return True
    if kind in ("float", "double"):
        return isinstance(value, int | float) and value == value and abs(value) != float("inf")
    if kind == "blob":
        return isinstance(value, bytes | bytearray | str)
    if kind == "timestamp":
        return _is_timestamp(value)
    return True


def _is_timestamp(value: Any) -> bool:
    """A value botocore turns into a timestamp (datetime, epoch number, or text it parses)."""
    from botocore.utils import parse_to_aware_datetime

    if isinstance(value, datetime.datetime | int | float):
        return True
    if not isinstance(value, str):
        return False
    try:
        parse_to_aware_datetime(value)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def _mismatch(shape: Shape, value: Any) -> _WrongType:
    if isinstance(value, dict):
        return _WrongType("Start of structure or map found where not expected.")
    if isinstance(value, list | tuple):
        return _WrongType("Start of list found where not expected")
    return _WrongType(f"{_json_kind(value)} can not be converted to {_JAVA_TYPES[shape.type_name]}")


def _serialization_exception(message: str) -> AwsError:
    """400 ``SerializationException``; body ``{"message": ...}`` like the other front-end errors."""
    error = AwsError("SerializationException", message, message_key="message")
    error.fields.pop("Type", None)
    return error


# -- step 2: constraints ---------------------------------------------------------------------------
def _camel(name: str) -> str:
    """AWS's member path spelling: the first letter lowered (``KMSKeyArn`` -> ``kMSKeyArn``)."""
    return name[:1].lower() + name[1:]


def java_text(value: Any) -> str:
    """A value as the Java service prints it in validation messages."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(java_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes | bytearray):
        return "java.nio.HeapByteBuffer[pos=0 lim={0} cap={0}]".format(len(value))
    return str(value)


def _violation(value: Any, path: str, problem: str) -> str:
    shown = "null" if value is None else f"'{java_text(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {problem}"


def _structure_problems(
    shape: Shape, value: dict[str, Any], path: str, *, top: bool = False
) -> list[str]:
    errors: list[str] = []
    required = set(shape.required_members)
    for name, member in shape.members.items():
        member_path = f"{path}.{_camel(name)}" if path else _camel(name)
        item = value.get(name)
        if item is None:
            if name in required:
                errors.append(_violation(None, member_path, "Member must not be null"))
            continue
        if top and name in _CHECKED_BY_HANDLERS:
            # An empty name or qualifier is refused by length alone; the rest is the handler's.
            if isinstance(item, str) and len(item) < member.metadata.get("min", 0):
                errors += [_violation(item, member_path, p) for p in _length_problems(member, 0)]
            continue
        errors += _problems(member, item, member_path)
    return errors


def _problems(shape: Shape, value: Any, path: str) -> list[str]:
    kind = shape.type_name
    if kind == "structure":
        return _structure_problems(shape, value, path)
    if kind == "list":
        problems = _length_problems(shape, len(value))
        member = shape.member
        if member.type_name == "structure":
            errors = []
            for index, item in enumerate(value, start=1):
                if item is not None:
                    errors += _structure_problems(member, item, f"{path}.{index}.member")
            return [_violation(value, path, p) for p in problems] + errors
        inner = [
            p for item in value if item is not None for p in _scalar_problems(member, item, path)
        ]
        if inner:
            problems.append(
                "Member must satisfy constraint: [" + ", ".join(dict.fromkeys(inner)) + "]"
            )
        return [_violation(value, path, p) for p in problems]
    if kind == "map":
        errors = [_violation(value, path, p) for p in _length_problems(shape, len(value))]
        for key, item in value.items():
            if item is not None:
                errors += _problems(shape.value, item, f"{path}.{key}")
        return errors
    return [_violation(value, path, p) for p in _scalar_problems(shape, value, path)]


def _length_problems(shape: Shape, length: int) -> list[str]:
    meta = shape.metadata
    if "max" in meta and length > meta["max"]:
        return [f"Member must have length less than or equal to {meta['max']}"]
    if "min" in meta and length < meta["min"]:
        return [f"Member must have length greater than or equal to {meta['min']}"]
    return []


def _scalar_problems(shape: Shape, value: Any, path: str) -> list[str]:
    meta = shape.metadata
    kind = shape.type_name
    if kind in _INT_RANGE or kind in ("float", "double"):
        if "max" in meta and value > meta["max"]:
            return [f"Member must have value less than or equal to {meta['max']}"]
        if "min" in meta and value < meta["min"]:
            return [f"Member must have value greater than or equal to {meta['min']}"]
        return []
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return _length_problems(shape, len(value))
    if kind != "string":
        return []
    problems = _length_problems(shape, len(value))
    if "enum" in meta and value not in meta["enum"]:
        values = _ENUM_TEXT.get(path.rsplit(".", 1)[-1]) or "[" + ", ".join(meta["enum"]) + "]"
        problems.append(f"Member must satisfy enum value set: {values}")
    elif "pattern" in meta:
        pattern = _RECORDED_PATTERNS.get(shape.name, meta["pattern"])
        if not re.fullmatch(pattern, value, re.DOTALL):
            problems.append(f"Member must satisfy regular expression pattern: {pattern}")
    return problems
