"""EventBridge event patterns: parsing, validation and matching, as AWS documents them.

One matcher serves both places AWS uses this syntax: EventBridge rules (moto's matcher is replaced
by this one while a mock is active, see :func:`install`) and event source mapping
``FilterCriteria`` (:mod:`.filtering`). Sources: [DOCS] EventBridge user guide, "Event pattern
syntax", "Comparison operators for use in event patterns", "Content filtering", "Arrays in event
patterns"; Lambda developer guide, "Control which events Lambda sends to your function".

Semantics:

- A pattern is a JSON object. A key whose value is an object matches into the event's object of
  that name; a key whose value is an array is a *leaf*: it matches if any of its matchers matches
  (OR), and all keys of an object must match (AND). ``"$or": [p1, p2, ...]`` at any level matches
  if one of its patterns does.
- An event array matches if any of its elements does ("the event pattern matches if the
  intersection of the event pattern array and the event array is non-empty"). This holds for
  arrays of objects too: a nested pattern matches an array of objects if one element matches all
  of it (moto, seen on 5.2.1, flattens the event and never looks into arrays of objects).
- Leaf matchers: a literal (string, number, ``true``/``false``, ``null``: equal value and type;
  numbers by value, ``3.018e2`` equals ``301.8``), ``prefix``/``suffix`` (optionally
  ``{"equals-ignore-case": ...}``), ``equals-ignore-case``, ``wildcard`` (``*`` any run of
  characters, ``\\*`` a literal star), ``anything-but`` (a value, a list of only strings or only
  numbers, or ``prefix``/``suffix``/``equals-ignore-case``/``wildcard``), ``numeric`` (one
  comparison, or a lower and an upper bound), ``cidr`` (IPv4 and IPv6), ``exists``.
- Comparison operators only work on leaf values: a field holding an object matches no leaf
  matcher, and ``{"exists": false}`` matches it ("it would also match the following event because
  ``c-count`` is not a leaf node"). ``anything-but`` needs the field: an absent field matches
  nothing but ``{"exists": false}``.

Anything else is an invalid pattern (:class:`PatternError`): a leaf that is not an array, an
unknown operator, an operator with an operand of the wrong type, ``anything-but`` on a list of
mixed types, a ``numeric`` list that is not one comparison or a lower then an upper bound, an
invalid CIDR block. INFERENCE: AWS's own validation messages are not recorded; callers give the
error AWS names for their API (``InvalidEventPatternException``, "Invalid filter pattern
definition.").
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..mock import on_start
from ..moto_patch import MotoPatch

if TYPE_CHECKING:
    from ..mock import LambdaAsyncController

__all__ = ["EventPattern", "PatternError", "install"]

Matcher = Callable[[Any], bool]

#: An absent field (distinct from JSON ``null``).
_MISSING: Any = object()

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_LOWER, _UPPER = (">", ">="), ("<", "<=")


class PatternError(ValueError):
    """The pattern is not valid event pattern syntax."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_literal(expected: Any, value: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, numbers compare by value."""
    if expected is None or value is None:
        return expected is None and value is None
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool) and expected == value
    if _is_number(expected):
        return _is_number(value) and math.isclose(float(expected), float(value), rel_tol=1e-15)
    return isinstance(value, str) and value == expected


def _string_operand(name: str, operand: Any) -> str:
    if not isinstance(operand, str):
        raise PatternError(f"{name} must be a string")
    return operand


def _wildcard(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; ``\\*`` and ``\\\\`` are a literal star and backslash."""
    if "**" in pattern.replace("\\*", ""):
        raise PatternError("consecutive wildcard characters are not allowed")
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "*\\":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _affix(name: str, operand: Any) -> Matcher:
    """``prefix``/``suffix``, plain or ``{"equals-ignore-case": ...}``."""
    fold = False
    if isinstance(operand, dict):
        if list(operand) != ["equals-ignore-case"]:
            raise PatternError(f"{name} takes a string or equals-ignore-case")
        operand, fold = operand["equals-ignore-case"], True
    text = _string_operand(name, operand)
    if fold:
        text = text.casefold()

    def matches(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        subject = value.casefold() if fold else value
        return subject.startswith(text) if name == "prefix" else subject.endswith(text)

    return matches


def _strings(name: str, operand: Any) -> list[str]:
    items = operand if isinstance(operand, list) else [operand]
    if not items:
        raise PatternError(f"{name} needs a value")
    return [_string_operand(name, item) for item in items]


def _ignore_case(operand: Any, many: bool) -> Matcher:
    folded = {text.casefold() for text in (_strings("equals-ignore-case", operand))}
    if not many and isinstance(operand, list):
        raise PatternError("equals-ignore-case must be a string")
    return lambda value: isinstance(value, str) and value.casefold() in folded


def _wildcards(operand: Any, many: bool) -> Matcher:
    if not many and isinstance(operand, list):
        raise PatternError("wildcard must be a string")
    compiled = [_wildcard(text) for text in _strings("wildcard", operand)]
    return lambda value: isinstance(value, str) and any(c.fullmatch(value) for c in compiled)


def _anything_but(operand: Any) -> Matcher:
    """Matches a present leaf value that the inner test does not."""
    inner: Matcher
    if isinstance(operand, dict):
        if len(operand) != 1:
            raise PatternError("anything-but takes one operator")
        ((name, value),) = operand.items()
        if name in ("prefix", "suffix"):
            # A string or a list of strings, none empty, no equals-ignore-case (AWS refuses
            # ``{"prefix": ""}`` and ``{"prefix": {"equals-ignore-case": ...}}`` here).
            affixes = [_affix(name, text) for text in _strings(name, value) if text]
            if len(affixes) != len(_strings(name, value)):
                raise PatternError(f"anything-but {name} must not be empty")

            def inner(candidate: Any) -> bool:
                # Non-strings never have the prefix, so anything-but matches them.
                return any(affix(candidate) for affix in affixes)

        elif name == "equals-ignore-case":
            inner = _ignore_case(value, many=True)
        elif name == "wildcard":
            inner = _wildcards(value, many=True)
        else:
            raise PatternError(f"anything-but does not take {name}")
    else:
        values = operand if isinstance(operand, list) else [operand]
        if not values:
            raise PatternError("anything-but needs a value")
        if not (all(isinstance(v, str) for v in values) or all(_is_number(v) for v in values)):
            raise PatternError("anything-but takes only strings or only numbers")

        def inner(candidate: Any) -> bool:
            return any(_same_literal(v, candidate) for v in values)

    return lambda value: not inner(value)


def _numeric(operand: Any) -> Matcher:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise PatternError("numeric takes one or two comparisons")
    pairs = list(zip(operand[::2], operand[1::2], strict=True))
    for op, bound in pairs:
        if op not in _COMPARISONS or not _is_number(bound):
            raise PatternError("numeric comparisons are an operator and a number")
    if len(pairs) == 2 and not (pairs[0][0] in _LOWER and pairs[1][0] in _UPPER):
        raise PatternError("a numeric range is a lower bound then an upper bound")
    tests = [(_COMPARISONS[op], float(bound)) for op, bound in pairs]
    return lambda value: _is_number(value) and all(t(float(value), b) for t, b in tests)


def _cidr(operand: Any) -> Matcher:
    try:
        network = ipaddress.ip_network(_string_operand("cidr", operand), strict=False)
    except ValueError as error:
        raise PatternError(f"invalid cidr {operand!r}") from error

    def matches(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return matches


def _operator(entry: dict[str, Any]) -> tuple[Matcher | None, bool | None]:
    """One ``{"operator": operand}``: a value test, or (for ``exists``) the wanted presence."""
    if len(entry) != 1:
        raise PatternError("a matcher object holds exactly one operator")
    ((name, operand),) = entry.items()
    if name == "exists":
        if not isinstance(operand, bool):
            raise PatternError("exists takes true or false")
        return None, operand
    builders: dict[str, Callable[[Any], Matcher]] = {
        "prefix": lambda o: _affix("prefix", o),
        "suffix": lambda o: _affix("suffix", o),
        "equals-ignore-case": lambda o: _ignore_case(o, many=False),
        "wildcard": lambda o: _wildcards(o, many=False),
        "anything-but": _anything_but,
        "numeric": _numeric,
        "cidr": _cidr,
    }
    if name not in builders:
        raise PatternError(f"unknown operator {name}")
    return builders[name](operand), None


def _literal(expected: Any) -> Matcher:
    return lambda value: _same_literal(expected, value)


def _leaf_values(value: Any) -> list[Any]:
    """The leaf values at a field: scalars (and ``null``), those of arrays included; no objects."""
    if value is _MISSING or isinstance(value, dict):
        return []
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaf_values(item)]
    return [value]


class _Leaf:
    """A field's list of matchers, OR-ed."""

    def __init__(self, entries: list[Any]) -> None:
        if not entries:
            raise PatternError("a leaf array must not be empty")
        self.tests: list[Matcher] = []
        self.presence: list[bool] = []
        for entry in entries:
            if isinstance(entry, dict):
                test, presence = _operator(entry)
                if test is not None:
                    self.tests.append(test)
                if presence is not None:
                    self.presence.append(presence)
            elif entry is None or isinstance(entry, str | bool) or _is_number(entry):
                self.tests.append(_literal(entry))
            else:
                raise PatternError("a leaf holds values and matcher objects only")

    def matches(self, value: Any) -> bool:
        leaves = _leaf_values(value)
        if any(bool(leaves) == wanted for wanted in self.presence):
            return True
        return any(test(leaf) for leaf in leaves for test in self.tests)


def _nest(path: str, value: Any) -> Any:
    """``"a.b", v`` as ``{"a": {"b": v}}``."""
    for part in reversed(path.split(".")):
        value = {part: value}
    return value


class _Node:
    """An object of the pattern: every key must match."""

    def __init__(self, pattern: Any) -> None:
        if not isinstance(pattern, dict):
            raise PatternError("a pattern is a JSON object")
        self.fields: list[tuple[str, _Node | _Leaf, _Node | None]] = []
        self.alternatives: list[list[_Node]] = []
        for key, value in pattern.items():
            if key == "$or":
                if not isinstance(value, list) or not value:
                    raise PatternError("$or takes a list of patterns")
                self.alternatives.append([_Node(item) for item in value])
                continue
            child: _Node | _Leaf
            if isinstance(value, dict):
                child = _Node(value)
            elif isinstance(value, list):
                child = _Leaf(value)
            else:
                raise PatternError(f"the value of {key!r} must be an object or an array")
            # EventBridge matches on flattened, dot-joined paths: a pattern key "state.status"
            # also matches {"state": {"status": ...}} ([DOCS] eb-event-patterns,
            # "Considerations when creating event patterns").
            dotted = None
            if "." in key.strip("."):
                head, rest = key.split(".", 1)
                dotted = _Node({head: _nest(rest, value)})
            self.fields.append((key, child, dotted))

    def matches(self, value: Any) -> bool:
        if isinstance(value, list):
            elements = [item for item in value if item is not None]
            if elements:
                return any(self.matches(item) for item in elements)
            value = _MISSING
        fields = value if isinstance(value, dict) else {}
        for key, child, dotted in self.fields:
            if key not in fields and dotted is not None:
                if not dotted.matches(value):
                    return False
            elif not child.matches(fields.get(key, _MISSING)):
                return False
        return all(any(node.matches(value) for node in options) for options in self.alternatives)


class EventPattern:
    """A parsed pattern; ``matches(event)`` applies it to a JSON-like event."""

    def __init__(self, pattern: str | dict[str, Any]) -> None:
        if isinstance(pattern, str):
            try:
                pattern = json.loads(pattern)
            except ValueError as error:
                raise PatternError("the pattern is not JSON") from error
        self.pattern = pattern
        self._root = _Node(pattern)

    def matches(self, event: Any) -> bool:
        return self._root.matches(event)


# -- EventBridge rules in moto --------------------------------------------------------------------
_compiled: dict[str, EventPattern | None] = {}


def _compiled_pattern(raw: dict[str, Any]) -> EventPattern | None:
    """``raw`` compiled once (``None``: our matcher refuses it)."""
    key = json.dumps(raw, sort_keys=True)
    if key not in _compiled:
        try:
            _compiled[key] = EventPattern(raw)
        except PatternError:
            _compiled[key] = None
    return _compiled[key]


def _rule_matches(moto_pattern: Any, event: Any) -> bool:
    """``moto.events.models.EventPattern.matches_event`` on our matcher.

    A pattern stored before the mock was active, which our validation refuses, keeps moto's
    matching.
    """
    raw = moto_pattern.get_pattern()
    if not raw:
        return True
    compiled = _compiled_pattern(raw)
    if compiled is None:
        original = _RULE_MATCHING.original(type(moto_pattern), "matches_event")
        return bool(original(moto_pattern, event))
    return compiled.matches(json.loads(json.dumps(event, default=str)))


def _parse_rule_pattern(parser: Any) -> dict[str, Any]:
    """``moto.events.models.EventPatternParser.parse`` with our validation after moto's.

    ``PutRule`` refuses what this module refuses with ``InvalidEventPatternException`` ("Event
    pattern is not valid. Reason: ..."). INFERENCE: AWS's reasons are not recorded; ours name
    the rule broken.
    """
    from moto.events.exceptions import InvalidEventPatternException

    parsed: dict[str, Any] = _RULE_MATCHING.original(type(parser), "parse")(parser)
    if parsed:
        try:
            EventPattern(parsed)
        except PatternError as error:
            raise InvalidEventPatternException(reason=str(error)) from error
    return parsed


def _rule_replacements() -> list[tuple[Any, str, Any]]:
    from moto.events.models import EventPattern as MotoEventPattern
    from moto.events.models import EventPatternParser

    return [
        (MotoEventPattern, "matches_event", _rule_matches),
        (EventPatternParser, "parse", _parse_rule_pattern),
    ]


_RULE_MATCHING = MotoPatch(_rule_replacements)


@on_start
def install(controller: LambdaAsyncController) -> None:
    """Match EventBridge rules with this module while ``controller`` is active (moto 5.2.1's
    matcher misses patterns into arrays of objects, among others)."""
    _RULE_MATCHING.hold(controller)
