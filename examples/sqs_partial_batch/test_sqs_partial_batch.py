"""SQS → Lambda with partial batch responses: the poison message alone is retried, then SQS moves
it to the queue's redrive DLQ."""

import json
from pathlib import Path

import boto3
import pytest

from mock_lambda_async import get_controller

REGION = "us-east-1"
ORDERS = [
    {"order_id": "o-1", "quantity": 2},
    {"order_id": "o-2", "quantity": 0},  # poison: the handler raises for this one
    {"order_id": "o-3", "quantity": 1},
]


def queue_arn(url):
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def deploy(name, **config):
    """CreateFunction from the ``handler.py`` next to this file, zipped as for a real deployment."""
    source = Path(__file__).with_name("handler.py")
    return get_controller().deploy_function(name, source, handler="handler.handler", **config)


@pytest.fixture
def queues(lambda_async):
    """``orders`` (visibility 30 s, DLQ after 3 receives) and its DLQ; returns both URLs."""
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 3}
    source = sqs.create_queue(
        QueueName="orders",
        Attributes={"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    deploy("ship-orders")
    return source, dlq


def map_queue(source, **settings):
    boto3.client("lambda", region_name=REGION).create_event_source_mapping(
        EventSourceArn=queue_arn(source), FunctionName="ship-orders", BatchSize=10, **settings
    )


def send_orders(source):
    boto3.client("sqs", region_name=REGION).send_message_batch(
        QueueUrl=source,
        Entries=[{"Id": order["order_id"], "MessageBody": json.dumps(order)} for order in ORDERS],
    )


def queue_counts(url):
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    }


def order_ids(attempt):
    return [json.loads(record["body"])["order_id"] for record in attempt.event["Records"]]


@pytest.mark.lambda_async(auto_drain=False)
def test_only_the_failed_message_comes_back(lambda_async, queues):
    lam = lambda_async
    source, _ = queues
    map_queue(source, FunctionResponseTypes=["ReportBatchItemFailures"])
    send_orders(source)

    lam.advance(0)  # the mapping becomes Enabled and polls: one batch of three
    [first] = lam.invocations("ship-orders")
    poison_id = first.event["Records"][1]["messageId"]
    assert order_ids(first) == ["o-1", "o-2", "o-3"]
    assert first.response == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    assert queue_counts(source) == {"visible": 0, "in_flight": 1}  # o-1 and o-3 deleted

    lam.advance(30)  # the visibility timeout ends: o-2 alone, received a second time
    [_, second] = lam.invocations("ship-orders")
    assert order_ids(second) == ["o-2"]
    assert second.event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_the_poison_message_ends_in_the_redrive_dlq(lambda_async, queues):
    source, dlq = queues
    map_queue(source, FunctionResponseTypes=["ReportBatchItemFailures"])
    send_orders(source)

    assert [order_ids(a) for a in lambda_async.invocations("ship-orders")] == [
        ["o-1", "o-2", "o-3"],
        ["o-2"],
        ["o-2"],
    ]
    [moved] = lambda_async.assert_dead_lettered(dlq, 1)
    assert moved.body == {"order_id": "o-2", "quantity": 0}
    assert queue_counts(source) == {"visible": 0, "in_flight": 0}


def test_without_report_batch_item_failures_the_failure_is_ignored(lambda_async, queues):
    source, dlq = queues
    map_queue(source)  # FunctionResponseTypes forgotten
    send_orders(source)

    # Lambda ignores the handler's batchItemFailures: the batch succeeded, o-2 is deleted unshipped.
    [attempt] = lambda_async.assert_succeeded("ship-orders", times=1)
    assert len(attempt.response["batchItemFailures"]) == 1  # the handler did report o-2
    lambda_async.assert_dead_lettered(dlq, 0)
    assert queue_counts(source) == {"visible": 0, "in_flight": 0}
