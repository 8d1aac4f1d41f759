"""Property tests of the Lambda operations the mock answers: any names, qualifiers and markers.

Function names, ARNs and partial ARNs (well-formed or not, existing or not, of other regions and
accounts), qualifiers, UUIDs, markers and page sizes go to every operation the mock owns. Each
call succeeds or fails with AWS's error through botocore; none raises anything else.
"""

from __future__ import annotations

import contextlib
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, AWS_ERRORS, REGION, property_examples
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("one_boto3_session")


#: Pieces names are made of: real ones, near misses and noise.
name_parts = st.sampled_from(
    [
        "target",
        "missing",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:target",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:target",
        f"arn:aws:lambda:{REGION}:000000000000:function:target",
        f"{ACCOUNT}:function:target",
        "function:target",
        "arn:aws:lambda:::function:target",
        "target:1",
        "target:live",
        "target:$LATEST",
        "target:missing",
        "target:1:2",
        "x" * 65,
        "x" * 171,
        "ünïcode",
        " ",
        ":",
        "arn:aws:sqs:us-east-1:123456789012:q",
    ]
)
names = st.one_of(name_parts, st.text(min_size=1, max_size=30))
qualifiers = st.none() | st.sampled_from(["1", "live", "$LATEST", "missing", "", "a" * 129, "!"])
markers = st.none() | st.text(max_size=20)
page_sizes = st.none() | st.integers(min_value=-1, max_value=60)


def calls(name: str, qualifier: str | None, marker: str | None, size: int | None) -> list[Any]:
    """``(method, params)`` for every operation the mock answers, with these values."""
    qualified = {
        "FunctionName": name,
        **({"Qualifier": qualifier} if qualifier is not None else {}),
    }
    paged = {k: v for k, v in (("Marker", marker), ("MaxItems", size)) if v is not None}
    return [
        ("invoke", {**qualified, "Payload": b"{}"}),
        ("invoke", {**qualified, "InvocationType": "Event", "Payload": b"{}"}),
        ("invoke", {**qualified, "InvocationType": "DryRun"}),
        ("invoke_async", {"FunctionName": name, "InvokeArgs": b"{}"}),
        ("put_function_event_invoke_config", {**qualified, "MaximumRetryAttempts": 1}),
        ("update_function_event_invoke_config", {**qualified, "MaximumEventAgeInSeconds": 60}),
        ("get_function_event_invoke_config", qualified),
        ("list_function_event_invoke_configs", {"FunctionName": name, **paged}),
        ("delete_function_event_invoke_config", qualified),
        ("put_function_concurrency", {"FunctionName": name, "ReservedConcurrentExecutions": 5}),
        ("get_function_concurrency", {"FunctionName": name}),
        ("delete_function_concurrency", {"FunctionName": name}),
        ("put_function_recursion_config", {"FunctionName": name, "RecursiveLoop": "Allow"}),
        ("get_function_recursion_config", {"FunctionName": name}),
        ("get_function_configuration", qualified),
        ("get_function", qualified),
        ("list_versions_by_function", {"FunctionName": name, **paged}),
        (
            "update_function_configuration",
            {"FunctionName": name, "DeadLetterConfig": {"TargetArn": ""}},
        ),
        ("list_event_source_mappings", {"FunctionName": name, **paged}),
        ("get_event_source_mapping", {"UUID": name}),
        ("update_event_source_mapping", {"UUID": name, "BatchSize": 5}),
        ("delete_event_source_mapping", {"UUID": name}),
        (
            "create_event_source_mapping",
            {"FunctionName": name, "EventSourceArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"},
        ),
    ]


@property_examples(40)
@given(name=names, qualifier=qualifiers, marker=markers, size=page_sizes)
def test_every_owned_operation_answers_any_name_with_aws_errors_only(
    lam: Any, name: str, qualifier: str | None, marker: str | None, size: int | None
) -> None:
    client = boto3.client("lambda", region_name=REGION)
    if not client.list_functions()["Functions"]:
        lam.add_function("target", lambda event, context: None, Publish=True)
        client.create_alias(FunctionName="target", Name="live", FunctionVersion="1")
        boto3.client("sqs", region_name=REGION).create_queue(QueueName="q")
    for method, params in calls(name, qualifier, marker, size):
        with contextlib.suppress(*AWS_ERRORS):
            getattr(client, method)(**params)
    # Whatever was accepted keeps the mock working.
    lam.drain()
    assert all(attempt.finished for attempt in lam.invocations())
    for mapping in client.list_event_source_mappings()["EventSourceMappings"]:
        client.delete_event_source_mapping(UUID=mapping["UUID"])
    client.delete_function_concurrency(FunctionName="target")


@pytest.mark.parametrize(
    "method", ["get_function", "get_function_configuration", "update_function_configuration"]
)
def test_a_partial_arn_names_the_function_for_operations_moto_answers(
    lam: Any, method: str
) -> None:
    # Found by the property above: moto read "123456789012:function:target" as name:qualifier
    # and failed with a ValueError instead of answering.
    lam.add_function("target", lambda event, context: None, Timeout=7)
    client = boto3.client("lambda", region_name=REGION)
    response = getattr(client, method)(FunctionName=f"{ACCOUNT}:function:target")
    configuration = response.get("Configuration", response)
    assert configuration["FunctionName"] == "target"
    assert configuration["Timeout"] == 7
