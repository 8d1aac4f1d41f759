"""Requests Lambda refuses at its front end, through a client with botocore's validation off.

Path, query and header members are text on the wire (``FunctionName=123`` is the path ``123``);
body members of the wrong JSON type are a ``SerializationException``; constraint violations a
``ValidationException`` listing each one. Nothing refused changes any state.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import ACCOUNT, REGION, create_function, error_of

QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"


@pytest.fixture
def nv(lam: Any) -> Any:
    """A Lambda client that sends whatever it is given, as a client with validation off does."""
    return boto3.client(
        "lambda",
        region_name=REGION,
        config=Config(parameter_validation=False, retries={"max_attempts": 0}),
    )


@pytest.fixture
def fn(lam: Any) -> str:
    create_function("f", "def handler(event, context):\n    return event\n")
    return "f"


@pytest.fixture
def stream_arn(lam: Any) -> str:
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    return str(kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"])


@pytest.fixture
def queue_arn(lam: Any) -> str:
    boto3.client("sqs", region_name=REGION).create_queue(QueueName="jobs")
    return QUEUE_ARN


def minimum(value: Any, field: str, low: int) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
        f"Member must have value greater than or equal to {low}"
    )


def test_a_number_as_function_name_is_the_path_text(nv: Any) -> None:
    error, status = error_of(lambda: nv.invoke(FunctionName=123))
    assert (status, error["Code"], error["Message"]) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:123:$LATEST",
    )


def test_a_number_as_client_context_is_header_text(nv: Any, fn: str) -> None:
    error, status = error_of(lambda: nv.invoke(FunctionName=fn, ClientContext=5))
    assert (status, error["Code"]) == (400, "InvalidRequestContentException")


def test_text_that_is_no_number_in_max_items_is_a_serialization_error(nv: Any) -> None:
    error, status = error_of(lambda: nv.list_event_source_mappings(MaxItems="abc"))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "SerializationException",
        "STRING_VALUE can not be converted to an Integer",
    )


def test_number_text_in_a_query_member_is_the_number(nv: Any, fn: str) -> None:
    listed = nv.list_function_event_invoke_configs(FunctionName=fn, MaxItems="5")
    assert listed["FunctionEventInvokeConfigs"] == []


def test_a_number_as_event_source_arn_is_a_serialization_error(nv: Any, fn: str) -> None:
    error, status = error_of(
        lambda: nv.create_event_source_mapping(FunctionName=fn, EventSourceArn=5)
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "SerializationException",
        "NUMBER_VALUE can not be converted to a String",
    )


def test_a_list_as_mapping_uuid_is_the_path_text(nv: Any) -> None:
    error, status = error_of(lambda: nv.get_event_source_mapping(UUID=["a"]))
    assert (status, error["Code"]) == (404, "ResourceNotFoundException")


def test_text_as_reserved_concurrency_is_refused(nv: Any, fn: str) -> None:
    error, status = error_of(
        lambda: nv.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions="abc")
    )
    assert (status, error["Code"]) == (400, "SerializationException")
    assert "ReservedConcurrentExecutions" not in nv.get_function_concurrency(FunctionName=fn)


def test_a_structure_given_a_number_is_a_serialization_error(
    nv: Any, fn: str, queue_arn: str
) -> None:
    error, status = error_of(
        lambda: nv.create_event_source_mapping(
            FunctionName=fn, EventSourceArn=queue_arn, FilterCriteria=5
        )
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "SerializationException",
        "NUMBER_VALUE can not be converted to a Structure",
    )
    assert nv.list_event_source_mappings()["EventSourceMappings"] == []


def test_a_missing_path_member_is_a_validation_error(nv: Any) -> None:
    error, status = error_of(lambda: nv.invoke())
    assert (status, error["Message"]) == (
        400,
        "1 validation error detected: Value null at 'functionName' failed to satisfy constraint: "
        "Member must not be null",
    )


@pytest.mark.parametrize(
    "setting",
    [
        {"MaximumRetryAttempts": "1"},
        {"MaximumEventAgeInSeconds": "60"},
        {"MaximumEventAgeInSeconds": "abc"},
    ],
)
def test_number_text_in_event_invoke_config_is_never_stored(
    nv: Any, fn: str, setting: dict[str, Any]
) -> None:
    error, status = error_of(
        lambda: nv.put_function_event_invoke_config(FunctionName=fn, **setting)
    )
    assert (status, error["Code"]) == (400, "SerializationException")
    assert (
        nv.list_function_event_invoke_configs(FunctionName=fn)["FunctionEventInvokeConfigs"] == []
    )


def test_a_refused_string_setting_loses_no_later_event(lam: Any, nv: Any) -> None:
    create_function("boom", "def handler(event, context):\n    raise ValueError('no')\n")
    error_of(
        lambda: nv.put_function_event_invoke_config(FunctionName="boom", MaximumRetryAttempts="1")
    )
    nv.invoke(FunctionName="boom", InvocationType="Event", Payload=b"{}")
    lam.advance(600)
    boto3.client("sqs", region_name=REGION).list_queues()
    assert len(lam.invocations("boom")) == 3  # the default: the first attempt and two retries


@pytest.mark.parametrize(
    ("setting", "field", "low"),
    [
        ({"BatchSize": 0}, "batchSize", 1),
        ({"ParallelizationFactor": 0}, "parallelizationFactor", 1),
        ({"MaximumRetryAttempts": -5}, "maximumRetryAttempts", -1),
        ({"TumblingWindowInSeconds": -1}, "tumblingWindowInSeconds", 0),
        ({"MaximumBatchingWindowInSeconds": -1}, "maximumBatchingWindowInSeconds", 0),
    ],
)
def test_stream_mapping_minimums_are_checked(
    nv: Any, fn: str, stream_arn: str, setting: dict[str, int], field: str, low: int
) -> None:
    error, status = error_of(
        lambda: nv.create_event_source_mapping(
            FunctionName=fn, EventSourceArn=stream_arn, StartingPosition="LATEST", **setting
        )
    )
    value = next(iter(setting.values()))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "ValidationException",
        minimum(value, field, low),
    )
    assert nv.list_event_source_mappings()["EventSourceMappings"] == []


@pytest.mark.parametrize(
    ("setting", "field", "low"),
    [
        ({"BatchSize": 0}, "batchSize", 1),
        ({"BatchSize": -3}, "batchSize", 1),
        ({"MaximumBatchingWindowInSeconds": -1}, "maximumBatchingWindowInSeconds", 0),
        ({"ScalingConfig": {"MaximumConcurrency": 0}}, "scalingConfig.maximumConcurrency", 2),
    ],
)
def test_queue_mapping_minimums_are_checked(
    nv: Any, fn: str, queue_arn: str, setting: dict[str, Any], field: str, low: int
) -> None:
    error, status = error_of(
        lambda: nv.create_event_source_mapping(FunctionName=fn, EventSourceArn=queue_arn, **setting)
    )
    value = next(iter(setting.values()))
    value = value["MaximumConcurrency"] if isinstance(value, dict) else value
    assert (status, error["Message"]) == (400, minimum(value, field, low))


def test_update_batch_size_minimum_is_checked(nv: Any, fn: str, queue_arn: str) -> None:
    mapping = nv.create_event_source_mapping(FunctionName=fn, EventSourceArn=queue_arn)
    error, status = error_of(
        lambda: nv.update_event_source_mapping(UUID=mapping["UUID"], BatchSize=0)
    )
    assert (status, error["Message"]) == (400, minimum(0, "batchSize", 1))
    assert nv.get_event_source_mapping(UUID=mapping["UUID"])["BatchSize"] == 10


@pytest.mark.parametrize("items", [0, -5])
def test_list_max_items_minimum_is_checked(nv: Any, items: int) -> None:
    error, status = error_of(lambda: nv.list_event_source_mappings(MaxItems=items))
    assert (status, error["Message"]) == (400, minimum(items, "maxItems", 1))


def test_several_problems_are_reported_together(nv: Any, fn: str, queue_arn: str) -> None:
    error, _ = error_of(
        lambda: nv.create_event_source_mapping(
            FunctionName=fn,
            EventSourceArn=queue_arn,
            BatchSize=0,
            MaximumBatchingWindowInSeconds=301,
        )
    )
    assert error["Message"] == (
        "2 validation errors detected: Value '0' at 'batchSize' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1; Value '301' at "
        "'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value "
        "less than or equal to 300"
    )


def test_an_unknown_invocation_type_is_refused_by_a_validating_client(lam: Any, fn: str) -> None:
    client = boto3.client("lambda", region_name=REGION)
    error, status = error_of(lambda: client.invoke(FunctionName=fn, InvocationType="Later"))
    assert (status, error["Message"]) == (
        400,
        "1 validation error detected: Value 'Later' at 'invocationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
    )
    assert lam.invocations(fn) == []
