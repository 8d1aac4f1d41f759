"""Payloads at the edges of JSON and of Lambda's limits: deep nesting, huge numbers, NaN, sizes.

Lambda judges a payload by JSON's syntax; what the Python runtime cannot decode (an array nested
5,000 deep, a 5,000-digit integer) is a ``Runtime.UnmarshalError`` of the function, never a Python
error in the test, and no message a producer sends can stop a poller.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import ACCOUNT, REGION, create_function, error_of, make_zip

DEEP = b"[" * 5000 + b"]" * 5000
LONG_NUMBER = b"1" * 5000
ECHO = "def handler(event, context):\n    return event\n"


@pytest.fixture
def client(lam: Any) -> Any:
    return boto3.client("lambda", region_name=REGION, config=Config(retries={"max_attempts": 0}))


@pytest.fixture
def fn(lam: Any) -> str:
    create_function("f", ECHO)
    return "f"


def unmarshal_error(client: Any, payload: bytes) -> dict[str, Any]:
    response = client.invoke(FunctionName="f", Payload=payload)
    assert response["FunctionError"] == "Unhandled"
    return dict(json.loads(response["Payload"].read()))


def test_deep_nesting_is_an_unmarshal_error_of_a_sync_invoke(client: Any, fn: str) -> None:
    body = unmarshal_error(client, DEEP)
    assert body["errorType"] == "Runtime.UnmarshalError"
    assert body["errorMessage"].startswith("Unable to unmarshal input: maximum recursion depth")


def test_a_5000_digit_integer_is_an_unmarshal_error_of_a_sync_invoke(client: Any, fn: str) -> None:
    body = unmarshal_error(client, LONG_NUMBER)
    assert body["errorType"] == "Runtime.UnmarshalError"
    assert "4300 digits" in body["errorMessage"]


def test_deep_nesting_in_an_event_invoke_is_retried_as_a_function_error(
    lam: Any, client: Any, fn: str
) -> None:
    assert client.invoke(FunctionName=fn, InvocationType="Event", Payload=DEEP)["StatusCode"] == 202
    lam.advance(600)
    attempts = lam.invocations(fn)
    assert [a.error_type for a in attempts] == ["Runtime.UnmarshalError"] * 3


def test_deep_nesting_through_invoke_async_is_accepted(lam: Any, client: Any, fn: str) -> None:
    assert client.invoke_async(FunctionName=fn, InvokeArgs=DEEP)["Status"] == 202
    lam.advance(600)
    assert len(lam.invocations(fn)) == 3


def test_deep_nesting_on_a_failure_destination_is_recorded(lam: Any, client: Any, fn: str) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="failed")["QueueUrl"]
    client.put_function_event_invoke_config(
        FunctionName=fn,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:sqs:{REGION}:{ACCOUNT}:failed"}},
    )
    client.invoke(FunctionName=fn, InvocationType="Event", Payload=DEEP)
    lam.advance(60)
    messages = sqs.receive_message(QueueUrl=url)["Messages"]
    assert len(messages) == 1


def test_a_deep_message_does_not_stop_a_filtered_queue_mapping(
    lam: Any, client: Any, fn: str
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    client.create_event_source_mapping(
        FunctionName=fn,
        EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs",
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]},
    )
    sqs.send_message(QueueUrl=url, MessageBody=DEEP.decode())
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "order"}))
    lam.advance(5)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "order", "n": 2}))
    lam.advance(5)
    bodies = [
        json.loads(record["body"])
        for attempt in lam.invocations(fn)
        for record in attempt.event["Records"]
    ]
    assert bodies == [{"kind": "order"}, {"kind": "order", "n": 2}]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_numeric_numbers_are_not_json(lam: Any, client: Any, fn: str, token: str) -> None:
    error, status = error_of(lambda: client.invoke(FunctionName=fn, Payload=f"[{token}]".encode()))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidRequestContentException",
        "Could not parse request body into json: Could not parse payload into json: "
        f"Non-standard token '{token}': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
    )
    assert lam.invocations(fn) == []


def test_a_client_context_over_3583_bytes_is_refused(lam: Any, client: Any, fn: str) -> None:
    context = base64.b64encode(json.dumps({"custom": {"k": "x" * 2700}}).encode()).decode()
    assert len(context) > 3583
    error, status = error_of(lambda: client.invoke(FunctionName=fn, ClientContext=context))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "ValidationException",
        "1 validation error detected: Value at 'clientContext' failed to satisfy constraint: "
        "Member must have length less than or equal to 3583",
    )
    assert lam.invocations(fn) == []


def test_a_client_context_of_3583_bytes_is_passed(lam: Any, client: Any) -> None:
    create_function(
        "ctx", "def handler(event, context):\n    return len(context.client_context.custom['k'])\n"
    )
    raw = json.dumps({"custom": {"k": ""}})
    fill = (3583 // 4 * 3) - len(raw)
    context = base64.b64encode(json.dumps({"custom": {"k": "x" * fill}}).encode()).decode()
    assert len(context) <= 3583
    response = client.invoke(FunctionName="ctx", ClientContext=context)
    assert json.loads(response["Payload"].read()) == fill


@pytest.mark.parametrize("validation", [True, False])
def test_a_zip_over_50_mb_is_too_large(lam: Any, validation: bool) -> None:
    client = boto3.client(
        "lambda",
        region_name=REGION,
        config=Config(parameter_validation=validation, retries={"max_attempts": 0}),
    )
    package = make_zip({"lambda_function.py": ECHO}) + b"\0" * 52_500_000
    error, status = error_of(
        lambda: client.create_function(
            FunctionName="big",
            Runtime="python3.12",
            Role=f"arn:aws:iam::{ACCOUNT}:role/test-role",
            Handler="lambda_function.handler",
            Code={"ZipFile": package},
        )
    )
    assert (status, error["Code"], error["Message"]) == (
        413,
        "RequestEntityTooLargeException",
        "Request must be smaller than 69905067 bytes for the CreateFunction operation",
    )
    assert client.list_functions()["Functions"] == []


def test_a_code_update_over_50_mb_is_too_large(client: Any, fn: str) -> None:
    error, status = error_of(
        lambda: client.update_function_code(FunctionName=fn, ZipFile=b"\0" * 52_500_000)
    )
    assert (status, error["Code"]) == (413, "RequestEntityTooLargeException")
    assert json.loads(client.invoke(FunctionName=fn, Payload=b'{"a": 1}')["Payload"].read()) == {
        "a": 1
    }
