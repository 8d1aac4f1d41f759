"""The failure paths of template.yaml, exactly as declared, deployed with ``lam.deploy``."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest

REGION = "us-east-1"
TEMPLATE = Path(__file__).with_name("template.yaml")
START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def stack(lambda_async):
    return lambda_async.deploy(TEMPLATE, stack_name="orders")


@pytest.mark.lambda_async(start=START)
def test_a_failed_charge_lands_in_the_on_failure_queue_after_two_attempts(lambda_async, stack):
    client = boto3.client("lambda", region_name=REGION)
    function = stack.outputs["ChargeFunctionName"]
    client.invoke(
        FunctionName=function,
        InvocationType="Event",
        Payload=json.dumps({"order_id": "o-1", "amount": 0}),
    )
    [record] = lambda_async.assert_delivered(
        stack.outputs["ChargeFailuresUrl"], 1, condition="RetriesExhausted"
    )
    assert record["requestPayload"] == {"order_id": "o-1", "amount": 0}
    assert record["requestContext"]["approximateInvokeCount"] == 2
    attempts = lambda_async.assert_failed(function, error_type=ValueError, times=2)
    assert [a.started_at - START for a in attempts] == [timedelta(0), timedelta(seconds=60)]


@pytest.mark.lambda_async(start=START)
def test_a_poison_order_goes_to_the_dlq_and_the_others_are_shipped(lambda_async, stack):
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message_batch(
        QueueUrl=stack.outputs["OrdersQueueUrl"],
        Entries=[
            {"Id": str(i), "MessageBody": json.dumps({"order_id": f"o-{i}", "quantity": q})}
            for i, q in enumerate([1, 0, 2])
        ],
    )
    [dead] = lambda_async.assert_dead_lettered(stack.outputs["OrdersDLQUrl"], 1)
    assert dead.body == {"order_id": "o-1", "quantity": 0}
    batches = lambda_async.assert_invoked(stack.resources["WorkerFunction"], trigger="sqs")
    assert [len(b.event["Records"]) for b in batches] == [3, 1]
    assert lambda_async.now() - START == timedelta(seconds=120)


def test_the_stage_parameter_reaches_the_functions(lambda_async):
    stack = lambda_async.deploy(TEMPLATE, stack_name="orders-prod", parameters={"Stage": "prod"})
    configuration = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=stack.outputs["ChargeFunctionName"]
    )
    assert configuration["Environment"]["Variables"] == {"STAGE": "prod"}
