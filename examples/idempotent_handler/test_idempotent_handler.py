"""Duplicate deliveries, injected with ``lambda_async.faults``: the handler runs twice, the order
is charged once."""

import json
from pathlib import Path

import boto3
import pytest

from mock_lambda_async import get_controller

REGION = "us-east-1"
TABLES = {"IDEMPOTENCY_TABLE": "idempotency", "PAYMENTS_TABLE": "payments"}
ORDER = {"order_id": "o-1", "amount": 25}


def deploy(name, handler):
    """CreateFunction from the ``handler.py`` next to this file, zipped as for a real deployment."""
    source = Path(__file__).with_name("handler.py")
    return get_controller().deploy_function(
        name, source, handler=handler, Environment={"Variables": TABLES}
    )


@pytest.fixture
def tables(lambda_async):
    """The idempotency table Powertools expects (key ``id``) and the payments ledger."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for table, key in (("idempotency", "id"), ("payments", "payment_id")):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def payments():
    items = boto3.resource("dynamodb", region_name=REGION).Table("payments").scan()["Items"]
    return [(item["order_id"], item["amount"]) for item in items]


def test_a_duplicate_async_event_charges_once(lambda_async, tables):
    deploy("charge", "handler.handler")
    lambda_async.faults.duplicate_async("charge")

    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="charge", InvocationType="Event", Payload=json.dumps(ORDER)
    )

    first, duplicate = lambda_async.assert_succeeded("charge", times=2)
    assert duplicate.faults == ("duplicate_delivery",)
    assert duplicate.response == first.response  # the stored result, not a new payment
    assert payments() == [("o-1", 25)]


def test_a_duplicate_sqs_message_charges_once(lambda_async, tables):
    deploy("charge-orders", "handler.batch_handler")
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    boto3.client("lambda", region_name=REGION).create_event_source_mapping(
        EventSourceArn=arn["QueueArn"],
        FunctionName="charge-orders",
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    lambda_async.faults.duplicate_sqs("charge-orders")

    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(ORDER))

    # The message comes back when its visibility timeout (30 s) ends, in a second batch.
    first, duplicate = lambda_async.assert_succeeded("charge-orders", times=2)
    assert (duplicate.started_at - first.started_at).total_seconds() == 30
    assert duplicate.event["Records"][0]["body"] == first.event["Records"][0]["body"]
    assert payments() == [("o-1", 25)]


def test_a_retry_after_a_timeout_does_not_charge_again(lambda_async, tables):
    deploy("charge", "handler.handler")
    lambda_async.faults.timeout("charge")  # the handler charges, then runs out of time

    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="charge", InvocationType="Event", Payload=json.dumps(ORDER)
    )

    timed_out, retry = lambda_async.assert_invoked("charge", times=2)
    assert (timed_out.error_type, retry.ok) == ("Sandbox.Timedout", True)
    assert payments() == [("o-1", 25)]
