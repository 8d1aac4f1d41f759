"""SNS → Lambda (asynchronous) → EventBridge destination → rules → SQS queues the test reads."""

import json
from pathlib import Path

import boto3
import pytest

from mock_lambda_async import get_controller

REGION = "us-east-1"
SUCCESS = "Lambda Function Invocation Result - Success"
FAILURE = "Lambda Function Invocation Result - Failure"


def make_queue(name):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def route(rule, detail_type, queue_arn):
    """A rule on the ``order-results`` bus sending Lambda's ``detail_type`` events to a queue."""
    events = boto3.client("events", region_name=REGION)
    pattern = {"source": ["lambda"], "detail-type": [detail_type]}
    events.put_rule(Name=rule, EventBusName="order-results", EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=rule, EventBusName="order-results", Targets=[{"Id": "queue", "Arn": queue_arn}]
    )


def deploy(name, **config):
    """CreateFunction from the ``handler.py`` next to this file, zipped as for a real deployment."""
    source = Path(__file__).with_name("handler.py")
    return get_controller().deploy_function(name, source, handler="handler.handler", **config)


@pytest.fixture
def wiring(lambda_async):
    """Topic ``orders`` → ``reserve-stock`` → bus ``order-results`` → queues ``reserved`` and
    ``reservation-failures``; returns the topic ARN, the two queue URLs, the bus and function ARNs."""
    bus = boto3.client("events", region_name=REGION).create_event_bus(Name="order-results")
    reserved_url, reserved_arn = make_queue("reserved")
    failures_url, failures_arn = make_queue("reservation-failures")
    route("reserved", SUCCESS, reserved_arn)
    route("failed", FAILURE, failures_arn)

    function = deploy("reserve-stock")
    boto3.client("lambda", region_name=REGION).put_function_event_invoke_config(
        FunctionName="reserve-stock",
        DestinationConfig={
            "OnSuccess": {"Destination": bus["EventBusArn"]},
            "OnFailure": {"Destination": bus["EventBusArn"]},
        },
    )
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function["FunctionArn"])
    return {
        "topic": topic,
        "reserved": reserved_url,
        "failures": failures_url,
        "bus": bus["EventBusArn"],
        "function": function["FunctionArn"],
    }


def publish(topic, order):
    boto3.client("sns", region_name=REGION).publish(TopicArn=topic, Message=json.dumps(order))


def test_a_reserved_order_reaches_the_bus_as_a_success_event(lambda_async, wiring):
    publish(wiring["topic"], {"order_id": "o-1", "items": ["book", "pen"]})

    lambda_async.assert_succeeded("reserve-stock", times=1, trigger="sns")
    [event] = lambda_async.assert_delivered(wiring["reserved"], 1)
    assert (event["source"], event["detail-type"]) == ("lambda", SUCCESS)
    assert event["resources"] == [wiring["bus"], wiring["function"] + ":$LATEST"]
    record = event["detail"]  # the invocation record, as an SQS destination would get it
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"order_id": "o-1", "reserved": 2}


def test_the_record_carries_the_sns_notification(lambda_async, wiring):
    publish(wiring["topic"], {"order_id": "o-1", "items": ["book"]})

    [event] = lambda_async.assert_delivered(wiring["reserved"], 1)
    [notification] = event["detail"]["requestPayload"]["Records"]
    assert notification["EventSource"] == "aws:sns"
    assert notification["Sns"]["TopicArn"] == wiring["topic"]
    assert json.loads(notification["Sns"]["Message"]) == {"order_id": "o-1", "items": ["book"]}


def test_a_failing_order_reaches_the_failure_rule_after_the_retries(lambda_async, wiring):
    publish(wiring["topic"], {"order_id": "o-2", "items": []})

    # SNS invokes asynchronously, so Lambda's async retries apply: 3 attempts over 3 minutes.
    attempts = lambda_async.assert_failed("reserve-stock", error_type=ValueError, times=3)
    assert (attempts[-1].started_at - attempts[0].started_at).total_seconds() == 180
    [event] = lambda_async.assert_delivered(wiring["failures"], 1)
    assert event["detail-type"] == FAILURE
    assert event["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    assert event["detail"]["responsePayload"]["errorMessage"] == "order o-2 has no items"
    lambda_async.assert_delivered(wiring["reserved"], 0)
