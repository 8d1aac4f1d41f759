"""The invocation record's shape, and dead-letter messages built by the delivery module."""

import boto3
import pytest
from conftest import ACCOUNT, REGION

from mock_lambda_async.delivery import (
    DeliveryFailed,
    deliver_dead_letter,
    invocation_record,
    s3_record_key,
)
from mock_lambda_async.functions import resolve
from mock_lambda_async.runtime import InvocationResult


@pytest.fixture
def fn(lam):
    lam.add_function("orders", lambda event, context: None)
    return resolve("orders", REGION, ACCOUNT)


def _record(lam, fn, result, condition="Success", payload=b'{"a": 1}'):
    return invocation_record(
        lam,
        fn,
        request_id="req-1",
        condition=condition,
        approximate_invoke_count=0 if result is None else 1,
        payload=payload,
        result=result,
    )


def test_success_record_has_no_function_error(lam, fn):
    record = _record(lam, fn, InvocationResult("req-1", b"null", None, "$LATEST", 1.0))
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] is None


def test_failure_record_keeps_the_error_payload(lam, fn):
    error = b'{"errorMessage": "boom", "errorType": "ValueError"}'
    result = InvocationResult("req-1", error, "Unhandled", "$LATEST", 1.0)
    record = _record(lam, fn, result, condition="RetriesExhausted")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {"errorMessage": "boom", "errorType": "ValueError"}


def test_record_without_an_attempt_ends_after_the_request_payload(lam, fn):
    record = _record(lam, fn, None, condition="ZeroReservedConcurrency")
    assert list(record) == ["version", "timestamp", "requestContext", "requestPayload"]


def test_request_context_key_order(lam, fn):
    record = _record(lam, fn, None)
    assert list(record["requestContext"]) == [
        "requestId",
        "functionArn",
        "condition",
        "approximateInvokeCount",
    ]


def test_unqualified_function_arn_ends_with_latest(lam, fn):
    record = _record(lam, fn, None)
    assert record["requestContext"]["functionArn"].endswith(":function:orders:$LATEST")


def test_empty_payload_is_the_empty_event(lam, fn):
    assert _record(lam, fn, None, payload=b"")["requestPayload"] == {}


def test_timestamp_has_milliseconds_and_z(lam, fn):
    lam.advance(0.25)
    stamp = _record(lam, fn, None)["timestamp"]
    assert stamp.endswith("Z")
    assert stamp[:19] == lam.now().strftime("%Y-%m-%dT%H:%M:%S")
    assert stamp[19:] == f".{lam.now().microsecond // 1000:03d}Z"


def test_s3_key_uses_the_function_name_and_the_virtual_time(lam, fn):
    key = s3_record_key(fn, 1_573_755_365_568)
    prefix = "aws/lambda/async/orders/2019/11/14/2019-11-14T18.16.05-"
    assert key.startswith(prefix)
    assert len(key) == len(prefix) + 36


# -- dead-letter messages ------------------------------------------------------------------------
@pytest.fixture
def dlq():
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    return sqs, url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"


def _attributes(sqs, url):
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    return message["MessageAttributes"]


def test_error_message_is_cut_at_one_kilobyte_without_splitting_a_character(lam, dlq):
    sqs, url, arn = dlq
    deliver_dead_letter(
        lam, arn, b"{}", request_id="req-1", error_code="200", error_message="é" * 1000
    )
    assert _attributes(sqs, url)["ErrorMessage"]["StringValue"] == "é" * 512


def test_empty_error_message_is_left_out(lam, dlq):
    sqs, url, arn = dlq
    deliver_dead_letter(lam, arn, b"{}", request_id="req-1", error_code="200", error_message="")
    assert set(_attributes(sqs, url)) == {"ErrorCode", "RequestID"}


def test_dead_letter_target_of_another_service_fails(lam):
    with pytest.raises(DeliveryFailed, match="not a supported dead-letter target"):
        deliver_dead_letter(
            lam,
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders",
            b"{}",
            request_id="req-1",
            error_code="200",
            error_message="boom",
        )


def test_missing_dead_letter_queue_fails(lam):
    with pytest.raises(DeliveryFailed, match="does not exist"):
        deliver_dead_letter(
            lam,
            f"arn:aws:sqs:{REGION}:{ACCOUNT}:nope",
            b"{}",
            request_id="req-1",
            error_code="200",
            error_message="boom",
        )
