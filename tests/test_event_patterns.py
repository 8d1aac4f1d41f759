"""The event pattern matcher: AWS's documented and recorded cases, and properties of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_lambda_async.event_sources.patterns import EventPattern, PatternError

#: LocalStack's ``tests/aws/services/events/event_pattern_templates/<name>.json5``, run against
#: AWS by ``test_events_patterns.py::TestEventPattern::test_event_pattern`` (AWS-validated): a name
#: without suffix matched, ``_NEG`` did not, ``_EXC`` was refused as invalid.
TEMPLATES = "LocalStack event_pattern_templates"
EVENT_BASE = {
    "id": "1",
    "source": "test-source",
    "detail-type": "test-detail-type",
    "account": "123456789012",
    "region": "us-east-2",
    "time": "2022-07-13T13:48:01Z",
}

MATCHING: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # -- LocalStack templates (AWS-validated) ------------------------------------------------
    (
        f"{TEMPLATES}/arrays",
        {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "arn:other"]},
        {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "arn:x"]},
        True,
    ),
    (f"{TEMPLATES}/arrays_NEG", {"resources": ["arn:a"]}, {"resources": ["arn:b"]}, False),
    (f"{TEMPLATES}/arrays_empty_null_NEG", {"resources": []}, {"resources": [None]}, False),
    (
        f"{TEMPLATES}/complex_or",
        {"detail": {"c-count": 0, "d-count": 0, "x-limit": 9.018e2}},
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        },
        True,
    ),
    (
        f"{TEMPLATES}/content_anything_but_string_null",
        {"detail": {"state": None}},
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        True,
    ),
    (
        f"{TEMPLATES}/content_anything_but_ignorecase_null",
        {"detail": {"state": None}},
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}},
        True,
    ),
    (
        f"{TEMPLATES}/content_anything_but_ignorecase_list_missing_NEG",
        {"detail": {}},
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}},
        False,
    ),
    (
        f"{TEMPLATES}/content_anything_but_number_zero",
        {"detail": {"x-limit": 789}},
        {"detail": {"x-limit": [{"anything-but": 0}]}},
        True,
    ),
    (
        f"{TEMPLATES}/content_anything_prefix_int_value",
        {"detail": {"state": 12}},
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        True,
    ),
    (
        f"{TEMPLATES}/content_anything_prefix_list",
        {"detail": {"state": "post-init"}},
        {"detail": {"state": [{"anything-but": {"prefix": ["init", "test"]}}]}},
        True,
    ),
    (
        f"{TEMPLATES}/content_anything_wildcard_int",
        {"detail": {"FilePath": 123}},
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/dir/*"}}]}},
        True,
    ),
    (
        f"{TEMPLATES}/content_anything_wildcard_empty",
        {"detail": {"FilePath": "dir/init/file"}},
        {"detail": {"FilePath": [{"anything-but": {"wildcard": ""}}]}},
        True,
    ),
    (
        f"{TEMPLATES}/content_exists_NEG",
        {"detail": {"c-count": {"c1": 100}}},
        {"detail": {"state": [{"exists": True}]}},
        False,
    ),
    (
        f"{TEMPLATES}/content_exists_false",
        {"detail": {"level1": {"level2": "l2 value"}}},
        {"detail": {"level1": {"level2:": {"level3": {"level4": [{"exists": False}]}}}}},
        True,
    ),
    (
        f"{TEMPLATES}/content_exists_false_NEG",
        {"detail": {"level1": {"level2": {"level3": {"level4": "l4 value"}}}}},
        {"detail": {"level1": {"level2": {"level3": {"level4": [{"exists": False}]}}}}},
        False,
    ),
    (
        f"{TEMPLATES}/exists_list_empty_NEG",
        {"resources": []},
        {"resources": [{"exists": True}]},
        False,
    ),
    (
        f"{TEMPLATES}/content_ignorecase_empty_NEG",
        {"detail": {"value": "test-value"}},
        {"detail": {"value": [{"equals-ignore-case": ""}]}},
        False,
    ),
    (
        f"{TEMPLATES}/content_ip_address_v6",
        {"detail": {"sourceIPAddress": "2001:0db8:1234:1a00:0000:0000:0000:0000"}},
        {"detail": {"sourceIPAddress": [{"cidr": "2001:db8:1234:1a00::/64"}]}},
        True,
    ),
    (
        f"{TEMPLATES}/content_ip_address_bad_type_NEG",
        {"detail": {"sourceIPAddress": 123}},
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        False,
    ),
    (f"{TEMPLATES}/boolean_NEG", {"boolean": True}, {"boolean": [False]}, False),
    (
        f"{TEMPLATES}/dot_joining_pattern",
        {"detail": {"state": {"status": "running"}}},
        {"detail": {"state.status": ["running"]}},
        True,
    ),
    (
        f"{TEMPLATES}/list_within_dict",
        {"detail": {"automations": [{"key1": "v1"}, {"id": "match-does-exist"}, {"k": "v"}]}},
        {"detail": {"automations": {"id": [{"exists": True}]}}},
        True,
    ),
    (
        f"{TEMPLATES}/or-exists-parent",
        {"dynamodb": {"NewImage": {"purchased": {"N": "789"}}}},
        {
            "dynamodb": {
                "NewImage": {"homemade": {"S": [{"anything-but": ["roses"]}, {"exists": False}]}}
            }
        },
        True,
    ),
    (
        f"{TEMPLATES}/operator_multiple_list",
        {"my_key": "my-value"},
        {"my_key": [{"exists": True}, {"prefix": "IGNORED"}, {"suffix": "IGNORED"}]},
        True,
    ),
    (
        f"{TEMPLATES}/numeric-int-float",
        {"number": 101.0},
        {"number": [{"numeric": [">", 100]}]},
        True,
    ),
    (f"{TEMPLATES}/content_prefix_empty", {}, {"source": [{"prefix": ""}]}, True),
    # -- EventBridge user guide, content filtering / comparison operators ---------------------
    ("prefix", {"time": "2017-10-02T18:43:48Z"}, {"time": [{"prefix": "2017-10-02"}]}, True),
    (
        "prefix with equals-ignore-case",
        {"detail": {"service": "EVENTBRIDGE"}},
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        True,
    ),
    ("suffix", {"FileName": "image.png"}, {"FileName": [{"suffix": ".png"}]}, True),
    (
        "suffix is case-sensitive",
        {"FileName": "image.PNG"},
        {"FileName": [{"suffix": ".png"}]},
        False,
    ),
    (
        "suffix with equals-ignore-case",
        {"FileName": "image.PNG"},
        {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]},
        True,
    ),
    ("prefix works on strings only", {"code": 2017}, {"code": [{"prefix": "20"}]}, False),
    (
        "anything-but a string",
        {"detail": {"state": "running"}},
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        True,
    ),
    (
        "anything-but the string itself",
        {"detail": {"state": "initializing"}},
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        False,
    ),
    (
        "anything-but a list of numbers",
        {"detail": {"x-limit": 200}},
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        False,
    ),
    (
        "anything-but a list of numbers, another number",
        {"detail": {"x-limit": 150}},
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        True,
    ),
    (
        "anything-but a prefix",
        {"source": "aws.ec2"},
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        False,
    ),
    (
        "anything-but a suffix",
        {"FileName": "a.png"},
        {"FileName": [{"anything-but": {"suffix": ".png"}}]},
        False,
    ),
    (
        "anything-but ignoring case",
        {"state": "INITIALIZING"},
        {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
        False,
    ),
    (
        "anything-but a wildcard, excluded",
        {"FilePath": "/usr/lib/x"},
        {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        False,
    ),
    (
        "anything-but a wildcard, kept",
        {"FilePath": "/usr/bin/x"},
        {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        True,
    ),
    (
        "numeric range, upper bound",
        {"detail": {"c-count": 5}},
        {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}},
        True,
    ),
    (
        "numeric range, lower bound excluded",
        {"detail": {"c-count": 0}},
        {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}},
        False,
    ),
    (
        "numeric works on JSON numbers only",
        {"detail": {"c-count": "3"}},
        {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}},
        False,
    ),
    (
        "numeric equals, exponent notation",
        {"detail": {"x-limit": 301.8}},
        {"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}},
        True,
    ),
    (
        "cidr, inside",
        {"detail": {"source-ip": "10.0.0.255"}},
        {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}},
        True,
    ),
    (
        "cidr, outside",
        {"detail": {"source-ip": "10.0.1.1"}},
        {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}},
        False,
    ),
    (
        "exists",
        {"detail": {"description": "x"}},
        {"detail": {"description": [{"exists": True}]}},
        True,
    ),
    (
        "exists false on an intermediate node",
        {"detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}},
        {"detail": {"c-count": [{"exists": False}]}},
        True,
    ),
    ("empty", {"LastName": ""}, {"LastName": [""]}, True),
    ("equals", {"Name": "Alice"}, {"Name": ["Alice"]}, True),
    ("equals is case-sensitive", {"Name": "alice"}, {"Name": ["Alice"]}, False),
    (
        "equals-ignore-case",
        {"Name": "Alice"},
        {"Name": [{"equals-ignore-case": "alice"}]},
        True,
    ),
    ("wildcard", {"FileName": "dir/abc.png"}, {"FileName": [{"wildcard": "dir/*.png"}]}, True),
    (
        "wildcard, no match",
        {"FileName": "dir/abc.jpg"},
        {"FileName": [{"wildcard": "dir/*.png"}]},
        False,
    ),
    ("escaped star is literal", {"k": "a*b"}, {"k": [{"wildcard": "a\\*b"}]}, True),
    ("escaped star is literal, no match", {"k": "axb"}, {"k": [{"wildcard": "a\\*b"}]}, False),
    ("null matches null", {"responseElements": None}, {"responseElements": [None]}, True),
    ("null does not match a missing field", {}, {"responseElements": [None]}, False),
    (
        "$or across fields",
        {"Location": "Paris", "Day": "Monday"},
        {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
        True,
    ),
    (
        "and across fields",
        {"Location": "New York", "Day": "Sunday"},
        {"Location": ["New York"], "Day": ["Monday"]},
        False,
    ),
    ("true is not 1", {"flag": 1}, {"flag": [True]}, False),
    (
        "an array of objects matches if one element does",
        {"detail": {"items": [{"sku": "b", "qty": 1}, {"sku": "a", "qty": 2}]}},
        {"detail": {"items": {"sku": ["a"], "qty": [2]}}},
        True,
    ),
    (
        "an array of objects: the fields must match in the same element",
        {"detail": {"items": [{"sku": "b", "qty": 2}, {"sku": "a", "qty": 1}]}},
        {"detail": {"items": {"sku": ["a"], "qty": [2]}}},
        False,
    ),
]

INVALID: list[tuple[str, Any]] = [
    (f"{TEMPLATES}/arrays_empty_EXC", {"resources": []}),
    (
        f"{TEMPLATES}/content_anything_prefix_list_type_EXC",
        {"s": [{"anything-but": {"prefix": [123, "t"]}}]},
    ),
    (
        f"{TEMPLATES}/content_anything_prefix_ignorecase_EXC",
        {"s": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]},
    ),
    (f"{TEMPLATES}/content_anything_prefix_empty_EXC", {"s": [{"anything-but": {"prefix": ""}}]}),
    (f"{TEMPLATES}/content_anything_suffix_int_EXC", {"s": [{"anything-but": {"suffix": 123}}]}),
    (
        f"{TEMPLATES}/content_anything_but_string_list_null_type_EXC",
        {"s": [{"anything-but": ["stopped", None]}]},
    ),
    (
        f"{TEMPLATES}/content_anything_but_ignorecase_EXC",
        {"s": [{"anything-but": {"equals-ignore-case": 123}}]},
    ),
    (
        f"{TEMPLATES}/content_anything_wildcard_type_EXC",
        {"s": [{"anything-but": {"wildcard": 123}}]},
    ),
    (f"{TEMPLATES}/content_ignorecase_EXC", {"s": [{"equals-ignore-case": ["a"]}]}),
    (
        f"{TEMPLATES}/content_ignorecase_list_EXC",
        {"s": [{"equals-ignore-case": {"prefix": "ec2"}}]},
    ),
    (f"{TEMPLATES}/content_ip_address_EXC", {"ip": [{"cidr": "bad-filter"}]}),
    (f"{TEMPLATES}/content_ip_address_bad_mask_EXC", {"ip": [{"cidr": "bad-/64filter"}]}),
    (f"{TEMPLATES}/content_ip_address_type_EXC", {"ip": [{"cidr": ["bad-type"]}]}),
    (f"{TEMPLATES}/content_numeric_EXC", {"n": [{"numeric": [">", 0, ">", 0]}]}),
    (
        f"{TEMPLATES}/content_wildcard_repeating_star_EXC",
        {"arn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]},
    ),
    ("a leaf that is not an array", {"source": "aws.ec2"}),
    ("an unknown operator", {"source": [{"contains": "ec2"}]}),
    ("not JSON", "{not json"),
    ("not an object", '"single-string"'),
]


@pytest.mark.parametrize(
    ("source", "event", "pattern", "expected"), MATCHING, ids=[case[0] for case in MATCHING]
)
def test_documented_and_recorded_cases(
    source: str, event: dict[str, Any], pattern: dict[str, Any], expected: bool
) -> None:
    assert EventPattern(json.dumps(pattern)).matches({**EVENT_BASE, **event}) is expected


@pytest.mark.parametrize(("source", "pattern"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_patterns_are_refused(source: str, pattern: Any) -> None:
    with pytest.raises(PatternError):
        EventPattern(pattern if isinstance(pattern, str) else json.dumps(pattern))


# -- properties ------------------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=8),
)
names = st.text("abcdef", min_size=1, max_size=4)
flat_events = st.dictionaries(names, scalars, min_size=1, max_size=5)


@given(flat_events)
def test_a_pattern_of_an_event_s_own_values_matches_it(event: dict[str, Any]) -> None:
    pattern = {name: [value] for name, value in event.items()}
    assert EventPattern(pattern).matches(event)


@given(names, st.lists(scalars, max_size=5), scalars)
def test_an_array_matches_a_literal_it_contains(name: str, values: list[Any], wanted: Any) -> None:
    contains = any(
        type(v) is type(wanted) and v == wanted for v in values
    )  # JSON equality: True is not 1
    assert EventPattern({name: [wanted]}).matches({name: values}) is contains


@given(names, st.text(max_size=6), st.text(max_size=6))
def test_anything_but_is_the_negation_of_equality_on_present_strings(
    name: str, excluded: str, value: str
) -> None:
    pattern = EventPattern({name: [{"anything-but": excluded}]})
    assert pattern.matches({name: value}) is (value != excluded)
    assert not pattern.matches({})


@given(flat_events, flat_events, flat_events)
def test_or_matches_when_either_side_does(
    event: dict[str, Any], left: dict[str, Any], right: dict[str, Any]
) -> None:
    as_pattern = [{name: [value] for name, value in side.items()} for side in (left, right)]
    either = EventPattern({"$or": as_pattern}).matches(event)
    assert either is any(EventPattern(p).matches(event) for p in as_pattern)


@given(st.text(max_size=8), st.text(max_size=8))
def test_prefix_and_wildcard_agree(prefix: str, rest: str) -> None:
    escaped = prefix.replace("\\", "\\\\").replace("*", "\\*")
    value = prefix + rest
    assert EventPattern({"k": [{"prefix": prefix}]}).matches({"k": value})
    assert EventPattern({"k": [{"wildcard": escaped + "*"}]}).matches({"k": value})
