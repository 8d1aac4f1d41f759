"""Re-entrancy: handlers that call Lambda and the services around it while they run.

A handler may invoke other functions (synchronously: the answer comes back inside the handler;
asynchronously: the event runs after it, in virtual time), be a destination of another function,
send to a queue that another mapping reads, publish to a topic a function subscribes to, or call
the Lambda API. Each of these runs as on AWS, and nothing deadlocks or leaks.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION, client, deploy

pytestmark = pytest.mark.usefixtures("one_boto3_session")


def invoke(name: str, payload: Any = None, **params: Any) -> Any:
    response = client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(payload if payload is not None else {}), **params
    )
    body = response["Payload"].read()
    return json.loads(body) if body else None


def test_a_handler_gets_another_function_s_answer_synchronously(lam):
    lam.add_function("pricing", lambda event, context: {"price": event["qty"] * 3})
    lam.add_function(
        "orders",
        lambda event, context: {"total": invoke("pricing", {"qty": event["qty"]})["price"]},
    )
    assert invoke("orders", {"qty": 4}) == {"total": 12}
    assert [(a.function_name, a.trigger) for a in lam.invocations()] == [
        ("orders", "sync"),
        ("pricing", "sync"),
    ]
    outer, inner = lam.invocations()
    assert outer.started_at == inner.started_at  # handlers take no virtual time


def test_a_nested_function_error_reaches_the_calling_handler(lam):
    def broken(event: Any, context: Any) -> None:
        raise KeyError("sku")

    def caller(event: Any, context: Any) -> Any:
        response = client("lambda").invoke(FunctionName="broken", Payload=b"{}")
        return {
            "error": response.get("FunctionError"),
            "type": json.loads(response["Payload"].read())["errorType"],
        }

    lam.add_function("broken", broken)
    lam.add_function("caller", caller)
    assert invoke("caller") == {"error": "Unhandled", "type": "KeyError"}


def test_an_async_invoke_from_a_handler_runs_after_it(lam):
    order: list[str] = []

    def later(event: Any, context: Any) -> None:
        order.append(f"later {event['n']}")

    def first(event: Any, context: Any) -> str:
        client("lambda").invoke(FunctionName="later", InvocationType="Event", Payload=b'{"n": 1}')
        order.append("first returns")
        return "queued"

    lam.add_function("later", later)
    lam.add_function("first", first)
    assert invoke("first") == "queued"
    lam.drain()
    assert order == ["first returns", "later 1"]
    [queued] = lam.timeline().select("queued", function_name="later")
    assert queued.detail["trigger"] == "async"


def test_a_function_invoking_itself_synchronously_to_a_depth(lam):
    def countdown(event: Any, context: Any) -> Any:
        if event["n"] == 0:
            return [context.function_name]
        return [event["n"], *invoke("countdown", {"n": event["n"] - 1})]

    lam.add_function("countdown", countdown)
    assert invoke("countdown", {"n": 5}) == [5, 4, 3, 2, 1, "countdown"]
    assert len(lam.invocations("countdown")) == 6
    assert all(a.finished and a.ok for a in lam.invocations())


def test_a_lambda_on_success_destination_receives_the_record(lam):
    received: list[Any] = []
    lam.add_function("audit", lambda event, context: received.append(event))
    target = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:audit"
    lam.add_function("orders", lambda event, context: {"ok": event["id"]})
    client("lambda").put_function_event_invoke_config(
        FunctionName="orders", DestinationConfig={"OnSuccess": {"Destination": target}}
    )
    client("lambda").invoke(FunctionName="orders", InvocationType="Event", Payload=b'{"id": 9}')
    lam.drain()
    [record] = received
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {"id": 9}
    assert record["responsePayload"] == {"ok": 9}
    [attempt] = lam.invocations("audit")
    assert attempt.trigger == "destination"


def test_a_lambda_on_failure_destination_that_fails_is_retried_like_any_async_event(lam):
    def fail(event: Any, context: Any) -> None:
        raise ValueError("down")

    lam.add_function("handler-of-failures", fail)
    lam.add_function("orders", fail)
    target = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:handler-of-failures"
    client("lambda").put_function_event_invoke_config(
        FunctionName="orders",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": target}},
    )
    client("lambda").invoke(FunctionName="orders", InvocationType="Event", Payload=b"{}")
    lam.drain()
    assert len(lam.invocations("orders")) == 1
    # The destination is itself invoked asynchronously: 1 attempt + 2 retries.
    assert [a.attempt for a in lam.invocations("handler-of-failures")] == [1, 2, 3]


def test_a_handler_feeding_a_queue_that_another_mapping_reads(lam):
    url = client("sqs").create_queue(QueueName="shipments")["QueueUrl"]
    shipped: list[str] = []

    def orders(event: Any, context: Any) -> None:
        client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(event))

    lam.add_function("orders", orders)
    lam.add_function(
        "shipping",
        lambda event, context: shipped.extend(
            json.loads(r["body"])["id"] for r in event["Records"]
        ),
    )
    client("lambda").create_event_source_mapping(
        FunctionName="shipping", EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:shipments"
    )
    invoke("orders", {"id": "o-1"})
    client("lambda").invoke(FunctionName="orders", InvocationType="Event", Payload=b'{"id": "o-2"}')
    lam.drain()
    assert sorted(shipped) == ["o-1", "o-2"]
    assert {a.trigger for a in lam.invocations("shipping")} == {"sqs"}


def test_a_handler_publishing_to_a_topic_another_function_subscribes_to(lam):
    topic = client("sns").create_topic(Name="news")["TopicArn"]
    got: list[str] = []
    reader = lam.add_function(
        "reader", lambda event, context: got.append(event["Records"][0]["Sns"]["Message"])
    )["FunctionArn"]
    client("sns").subscribe(TopicArn=topic, Protocol="lambda", Endpoint=reader)
    lam.add_function(
        "writer", lambda event, context: client("sns").publish(TopicArn=topic, Message="extra")
    )
    invoke("writer")
    lam.drain()
    assert got == ["extra"]


def test_a_handler_configuring_lambda_while_it_runs(lam):
    def admin(event: Any, context: Any) -> Any:
        lam_client = client("lambda")
        lam_client.put_function_event_invoke_config(FunctionName="target", MaximumRetryAttempts=0)
        return lam_client.get_function_event_invoke_config(FunctionName="target")[
            "MaximumRetryAttempts"
        ]

    def target(event: Any, context: Any) -> None:
        raise ValueError("once")

    lam.add_function("target", target)
    lam.add_function("admin", admin)
    assert invoke("admin") == 0
    client("lambda").invoke(FunctionName="target", InvocationType="Event", Payload=b"{}")
    lam.drain()
    assert len(lam.invocations("target")) == 1  # no retries, as configured from inside


def test_moving_virtual_time_from_a_handler_fails_that_invocation_only(lam):
    def impatient(event: Any, context: Any) -> None:
        lam.advance(60)

    lam.add_function("impatient", impatient)
    response = client("lambda").invoke(FunctionName="impatient", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    [attempt] = lam.invocations("impatient")
    assert attempt.error_type == "RuntimeError"
    lam.advance(1)  # the test itself still moves time


def test_a_nested_invoke_beyond_reserved_concurrency_is_throttled(lam):
    def holder(event: Any, context: Any) -> Any:
        try:
            client("lambda").invoke(FunctionName="holder", Payload=b'{"inner": true}')
        except ClientError as error:
            return error.response["Error"]["Code"]
        return "not throttled"

    lam.add_function("holder", holder)
    client("lambda").put_function_concurrency(FunctionName="holder", ReservedConcurrentExecutions=1)
    assert invoke("holder") == "TooManyRequestsException"


PACKAGE = """
import json
import boto3

import helper


def handler(event, context):
    if event.get("inner"):
        return helper.WHO
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName="inner", Payload=b'{"inner": true}'
    )
    return [helper.WHO, json.loads(response["Payload"].read())]
"""


def test_a_packaged_function_invoking_another_with_the_same_module_names(lam):
    for name in ("outer", "inner"):
        deploy(
            name,
            {"lambda_function.py": PACKAGE, "helper.py": f"WHO = {name!r}\n"},
            "lambda_function.handler",
        )
    cwd = os.getcwd()
    assert invoke("outer") == ["outer", "inner"]
    assert invoke("outer") == ["outer", "inner"]  # warm, both
    assert os.getcwd() == cwd
    assert "helper" not in sys.modules and "lambda_function" not in sys.modules
