"""Trace headers: ``_X_AMZN_TRACE_ID`` per invocation, from SQS messages, onto sent messages."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from conftest import client, create_function, failing_with_on_failure, make_queue

HEADER = re.compile(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0(;Lineage=.+)?")
INCOMING = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _recording(seen: list[dict[str, str]]) -> Any:
    def handler(event: Any, context: Any) -> None:
        seen.append({k: v for k, v in os.environ.items() if "XRAY" in k or "AMZN" in k})

    return handler


def test_each_invocation_has_a_trace_header(lam: Any, lambda_client: Any) -> None:
    seen: list[dict[str, str]] = []
    lam.add_function("traced", _recording(seen))
    lambda_client.invoke(FunctionName="traced")
    lambda_client.invoke(FunctionName="traced")
    first, second = (s["_X_AMZN_TRACE_ID"] for s in seen)
    assert HEADER.fullmatch(first)
    assert first != second


def test_xray_variables_are_set(lam: Any, lambda_client: Any) -> None:
    seen: list[dict[str, str]] = []
    lam.add_function("traced", _recording(seen))
    lambda_client.invoke(FunctionName="traced")
    assert seen[0]["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
    assert seen[0]["AWS_XRAY_DAEMON_ADDRESS"] == "169.254.79.129:2000"


def test_an_sqs_message_carries_its_trace_into_the_invocation(lam: Any, sqs: Any) -> None:
    seen: list[dict[str, str]] = []
    lam.add_function("traced", _recording(seen))
    url, arn = make_queue(sqs, "in")
    client("lambda").create_event_source_mapping(FunctionName="traced", EventSourceArn=arn)
    sqs.send_message(
        QueueUrl=url,
        MessageBody="{}",
        MessageSystemAttributes={"AWSTraceHeader": {"StringValue": INCOMING, "DataType": "String"}},
    )
    lam.advance(5)
    header = seen[0]["_X_AMZN_TRACE_ID"]
    assert header.startswith("Root=1-5759e988-bd862e3fe1be46a994272793;")
    assert "Parent=53995c3f42cd8ad8" not in header


def test_a_destination_message_carries_a_trace_header(lam: Any, sqs: Any) -> None:
    url, _ = failing_with_on_failure(lam, sqs, "orders")
    client("lambda").invoke(FunctionName="orders", InvocationType="Event", Payload=json.dumps({}))
    lam.drain()
    messages = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])
    assert HEADER.fullmatch(messages["Messages"][0]["Attributes"]["AWSTraceHeader"])


POWERTOOLS_HANDLER = """
from aws_lambda_powertools import Logger

logger = Logger(service="traced")


def handler(event, context):
    logger.info("hello")
"""


def test_powertools_logger_logs_the_trace_id(lam: Any, lambda_client: Any) -> None:
    create_function("pt-traced", POWERTOOLS_HANDLER, handler="index.handler")
    lambda_client.invoke(FunctionName="pt-traced")
    attempt = lam.invocations("pt-traced")[0]
    line = next(json.loads(s) for s in attempt.log.splitlines() if s.startswith("{"))
    assert HEADER.fullmatch(f"Root={line['xray_trace_id']};Parent=0000000000000000;Sampled=0")
