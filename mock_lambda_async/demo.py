"""The demonstration: what a test sees when Lambda code fails, printed step by step.

Each section is a small story told through plain boto3 calls against the mock.
"""

from __future__ import annotations

import io
import json
import os
import textwrap
import zipfile
from typing import Any

import boto3

from .mock import get_controller, mock_lambda_async

REGION = "us-east-1"

HANDLER_SOURCE = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError(f"cannot process order {event.get('order')}")
    print(f"processed order {event.get('order')}")
    return {"order": event.get("order"), "status": "ok"}
"""


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("orders.py", textwrap.dedent(source))
    return buffer.getvalue()


def _title(text: str) -> None:
    print(f"\n=== {text} ===")


def _role() -> str:
    """An execution role for the section's function (moto does not read its trust policy)."""
    iam = boto3.client("iam", region_name=REGION)
    return str(iam.create_role(RoleName="demo-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"])


def _create_function(client: Any, name: str, role: str, source: str, **settings: Any) -> None:
    """Create Python function ``name`` from ``source`` (as ``orders.py``), plus any ``settings``."""
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="orders.handler",
        Code={"ZipFile": _zip(source)},
        **settings,
    )


def _queue_arn(sqs: Any, url: str) -> str:
    """The ARN of the queue at ``url``: what Lambda settings and mappings name."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


def sync_section() -> None:
    _title("1. Synchronous invoke of a function created from a zip")
    role = _role()
    client = boto3.client("lambda", region_name=REGION)
    _create_function(client, "orders", role, HANDLER_SOURCE)
    ok = client.invoke(FunctionName="orders", Payload=json.dumps({"order": 1}))
    print(
        f"invoke order 1  -> StatusCode {ok['StatusCode']}, Payload {ok['Payload'].read().decode()}"
    )
    bad = client.invoke(FunctionName="orders", Payload=json.dumps({"order": 2, "fail": True}))
    error = json.loads(bad["Payload"].read())
    print(
        f"invoke order 2  -> StatusCode {bad['StatusCode']}, FunctionError {bad['FunctionError']!r}, "
        f"{error['errorType']}: {error['errorMessage']}"
    )


def async_failure_section() -> None:
    _title("2. A failing async invoke: three attempts, then the OnFailure queue and the DLQ")
    lam = get_controller()
    role = _role()
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {}
    for name in ("orders-failed", "orders-dlq"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queues[name] = (url, _queue_arn(sqs, url))
    client = boto3.client("lambda", region_name=REGION)
    _create_function(
        client,
        "orders",
        role,
        HANDLER_SOURCE,
        DeadLetterConfig={"TargetArn": queues["orders-dlq"][1]},
    )
    client.put_function_event_invoke_config(
        FunctionName="orders",
        DestinationConfig={"OnFailure": {"Destination": queues["orders-failed"][1]}},
    )
    sent = client.invoke(
        FunctionName="orders",
        InvocationType="Event",
        Payload=json.dumps({"order": 3, "fail": True}),
    )
    print(f"invoke (Event) order 3 -> StatusCode {sent['StatusCode']}")
    lam.drain()
    print("timeline (virtual time, no real waiting):")
    print(textwrap.indent(str(lam.timeline()), "  "))

    failed = sqs.receive_message(QueueUrl=queues["orders-failed"][0])["Messages"][0]
    record = json.loads(failed["Body"])
    context = record["requestContext"]
    print(
        f"OnFailure queue -> condition {context['condition']}, "
        f"approximateInvokeCount {context['approximateInvokeCount']}, "
        f"errorMessage {record['responsePayload']['errorMessage']!r}, "
        f"timestamp {record['timestamp']}"
    )
    dead = sqs.receive_message(QueueUrl=queues["orders-dlq"][0], MessageAttributeNames=["All"])[
        "Messages"
    ][0]
    attributes = {
        name: value["StringValue"] for name, value in sorted(dead["MessageAttributes"].items())
    }
    print(f"DLQ             -> body {dead['Body']}, attributes {attributes}")


BATCH_HANDLER_SOURCE = """
import json

def handler(event, context):
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        if order.get("poison"):
            print(f"order {order['order']} is malformed")
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            print(f"shipped order {order['order']}")
    return {"batchItemFailures": failures}
"""


def sqs_partial_batch_section() -> None:
    _title("3. An SQS batch with one poison message: partial failure, redelivery, the queue's DLQ")
    lam = get_controller()
    role = _role()
    sqs = boto3.client("sqs", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    url = sqs.create_queue(
        QueueName="orders", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "30"}
    )["QueueUrl"]
    arn = _queue_arn(sqs, url)
    client = boto3.client("lambda", region_name=REGION)
    _create_function(client, "order-worker", role, BATCH_HANDLER_SOURCE)
    client.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="order-worker",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    orders = [{"order": 10}, {"order": 11, "poison": True}, {"order": 12}, {"order": 13}]
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": json.dumps(o)} for i, o in enumerate(orders)],
    )
    print("sent orders 10-13 in one SendMessageBatch; order 11 cannot be processed")
    lam.drain()
    print("timeline (virtual time; the visibility timeout is 30 s, maxReceiveCount 3):")
    print(textwrap.indent(str(lam.timeline()), "  "))
    print("batches the function received:")
    for attempt in lam.invocations("order-worker"):
        batch = [
            f"order {json.loads(r['body'])['order']} (receive {r['attributes']['ApproximateReceiveCount']})"
            for r in attempt.event["Records"]
        ]
        print(f"  {attempt.started_at:%H:%M:%S} {', '.join(batch)}")
    left = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    dead = sqs.receive_message(QueueUrl=dlq_url)["Messages"][0]
    [moved] = lam.timeline().select("dead_lettered")
    print(
        f"source queue -> {left['ApproximateNumberOfMessages']} visible, "
        f"{left['ApproximateNumberOfMessagesNotVisible']} in flight"
    )
    print(
        f"queue DLQ    -> {dead['Body']} "
        f"(moved by SQS after {moved.detail['receive_count']} receives)"
    )


SECTIONS = [sync_section, async_failure_section, sqs_partial_batch_section]


def run() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    for section in SECTIONS:
        with mock_lambda_async():
            section()
