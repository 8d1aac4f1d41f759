"""A failing asynchronous invoke: three attempts (0 s, +60 s, +180 s), then the OnFailure queue."""

import json
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest

from mock_lambda_async import get_controller

REGION = "us-east-1"
START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
BAD_ORDER = {"order_id": "o-1", "amount": 0}


def deploy(name, **config):
    """CreateFunction from the ``handler.py`` next to this file, zipped as for a real deployment."""
    source = Path(__file__).with_name("handler.py")
    return get_controller().deploy_function(name, source, handler="handler.handler", **config)


@pytest.fixture
def failures(lambda_async):
    """The ``charge`` function, with its OnFailure destination: returns the queue's URL."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="charge-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    deploy("charge")
    boto3.client("lambda", region_name=REGION).put_function_event_invoke_config(
        FunctionName="charge",
        DestinationConfig={"OnFailure": {"Destination": arn["QueueArn"]}},
    )
    return url


def invoke_async(payload):
    client = boto3.client("lambda", region_name=REGION)
    response = client.invoke(
        FunctionName="charge", InvocationType="Event", Payload=json.dumps(payload)
    )
    assert response["StatusCode"] == 202


def test_failed_order_lands_in_the_on_failure_queue(lambda_async, failures):
    invoke_async(BAD_ORDER)  # Invoke(InvocationType="Event"): answered 202

    lambda_async.assert_failed("charge", error_type=ValueError, times=3)
    [record] = lambda_async.assert_delivered(failures, 1, condition="RetriesExhausted")
    assert record["requestPayload"] == BAD_ORDER
    assert record["responsePayload"]["errorMessage"] == "order o-1: amount must be positive"


@pytest.mark.lambda_async(auto_drain=False, start=START)
def test_retries_come_60_and_120_seconds_apart(lambda_async, failures):
    lam = lambda_async
    invoke_async(BAD_ORDER)

    lam.advance(0)  # the first attempt runs at once
    lam.assert_failed("charge", times=1)
    lam.advance(59)
    lam.assert_failed("charge", times=1)
    lam.advance(1)  # first retry: 60 s after the first attempt
    lam.assert_failed("charge", times=2)
    lam.assert_delivered(failures, 0)
    lam.advance(120)  # second retry: 120 s after the first retry, then the record
    [record] = lam.assert_delivered(failures, 1)

    attempts = lam.invocations("charge")
    assert [a.started_at.strftime("%H:%M:%S") for a in attempts] == [
        "12:00:00",
        "12:01:00",
        "12:03:00",
    ]
    assert {a.request_id for a in attempts} == {record["requestContext"]["requestId"]}
    assert record["timestamp"] == "2024-05-01T12:03:00.000Z"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }


def test_maximum_event_age_cuts_the_retries_short(lambda_async, failures):
    boto3.client("lambda", region_name=REGION).update_function_event_invoke_config(
        FunctionName="charge", MaximumEventAgeInSeconds=90
    )
    invoke_async(BAD_ORDER)

    # The second retry would start 180 s after the event arrived: past its maximum age.
    lambda_async.assert_failed("charge", times=2)
    [record] = lambda_async.assert_delivered(failures, 1, condition="EventAgeExceeded")
    assert record["requestContext"]["approximateInvokeCount"] == 2


def test_a_good_order_is_charged_once_and_sends_nothing(lambda_async, failures):
    invoke_async({"order_id": "o-2", "amount": 25})

    [attempt] = lambda_async.assert_succeeded("charge", times=1)
    assert attempt.response == {"order_id": "o-2", "status": "charged"}
    lambda_async.assert_delivered(failures, 0)
