"""A dead-letter queue and OnSuccess/OnFailure destinations on one function: who gets what."""

import json
from pathlib import Path

import boto3
import pytest

from mock_lambda_async import get_controller

REGION = "us-east-1"
BAD_INVOICE = b'{"invoice": 7,   "customer": null}'  # odd spacing: the DLQ keeps the bytes as sent


def make_queue(name):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def messages(url):
    sqs = boto3.client("sqs", region_name=REGION)
    response = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return response.get("Messages", [])


def deploy(name, **config):
    """CreateFunction from the ``handler.py`` next to this file, zipped as for a real deployment."""
    source = Path(__file__).with_name("handler.py")
    return get_controller().deploy_function(name, source, handler="handler.handler", **config)


@pytest.fixture
def queues(lambda_async):
    """``invoices`` with a DLQ and both destinations; returns the three queue URLs."""
    dlq_url, dlq_arn = make_queue("invoices-dlq")
    failed_url, failed_arn = make_queue("invoices-failed")
    done_url, done_arn = make_queue("invoices-done")
    deploy("invoices", DeadLetterConfig={"TargetArn": dlq_arn})
    boto3.client("lambda", region_name=REGION).put_function_event_invoke_config(
        FunctionName="invoices",
        DestinationConfig={
            "OnFailure": {"Destination": failed_arn},
            "OnSuccess": {"Destination": done_arn},
        },
    )
    return {"dlq": dlq_url, "failed": failed_url, "done": done_url}


def invoke_async(payload):
    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="invoices", InvocationType="Event", Payload=payload
    )


def test_dlq_gets_the_original_event_and_the_error(queues):
    invoke_async(BAD_INVOICE)

    [message] = messages(queues["dlq"])
    assert message["Body"] == BAD_INVOICE.decode()
    attributes = {
        name: value["StringValue"] for name, value in message["MessageAttributes"].items()
    }
    assert attributes["ErrorCode"] == "200"  # the HTTP status: 200 for a function error
    assert attributes["ErrorMessage"] == "invoice 7 has no customer"
    assert "RequestID" in attributes


def test_assert_dead_lettered_shows_the_error_without_consuming_it(lambda_async, queues):
    invoke_async(BAD_INVOICE)

    [dead] = lambda_async.assert_dead_lettered(queues["dlq"], 1)
    assert dead.body == {"invoice": 7, "customer": None}
    assert (dead.error_code, dead.error_message) == ("200", "invoice 7 has no customer")
    assert len(messages(queues["dlq"])) == 1  # still there for your own ReceiveMessage


def test_on_failure_gets_an_invocation_record(queues):
    invoke_async(BAD_INVOICE)

    [message] = messages(queues["failed"])
    record = json.loads(message["Body"])
    assert list(record) == [
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    ]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"invoice": 7, "customer": None}
    assert record["responsePayload"]["errorType"] == "ValueError"


def test_both_receive_the_same_failed_event(lambda_async, queues):
    invoke_async(BAD_INVOICE)

    [dead] = messages(queues["dlq"])
    [failed] = messages(queues["failed"])
    request_id = json.loads(failed["Body"])["requestContext"]["requestId"]
    assert dead["MessageAttributes"]["RequestID"]["StringValue"] == request_id
    lambda_async.assert_delivered(queues["done"], 0)


def test_a_success_reaches_on_success_only(lambda_async, queues):
    invoke_async(b'{"invoice": 8, "customer": "c-42"}')

    [record] = lambda_async.assert_delivered(queues["done"], 1, condition="Success")
    assert record["responsePayload"] == {"invoice": 8, "status": "issued"}
    assert "functionError" not in record["responseContext"]
    lambda_async.assert_dead_lettered(queues["dlq"], 0)
    lambda_async.assert_delivered(queues["failed"], 0)
