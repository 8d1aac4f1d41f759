"""How a record reaches each destination type, and every way delivery can fail without raising.

These call :mod:`mock_lambda_async.delivery` directly for the cases the config API would refuse
(FIFO targets, S3 OnSuccess, foreign services) and read the results back through boto3.
"""

import json

import boto3
import pytest
from conftest import ACCOUNT, REGION, make_queue, topic_to_queue

from mock_lambda_async.delivery import (
    DeliveryFailed,
    deliver_record,
    invocation_record,
    record_body,
)
from mock_lambda_async.functions import resolve
from mock_lambda_async.runtime import InvocationResult


@pytest.fixture
def fn(lam):
    lam.add_function("orders", lambda event, context: None)
    return resolve("orders", REGION, ACCOUNT)


def _record(lam, fn, payload=b'{"order": 1}', response=b'"ok"', error=None):
    result = InvocationResult("req-1", response, error, "$LATEST", 1.0)
    return invocation_record(
        lam,
        fn,
        request_id="req-1",
        condition="Success" if error is None else "RetriesExhausted",
        approximate_invoke_count=1,
        payload=payload,
        result=result,
    )


def test_sqs_body_is_the_compact_json_record(lam, fn, sqs):
    url, arn = make_queue(sqs, "records")
    record = _record(lam, fn)
    deliver_record(lam, arn, record, fn=fn, success=True)
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == record_body(record)
    assert ", " not in message["Body"]


def test_sqs_message_sent_timestamp_is_virtual(lam, fn, sqs):
    url, arn = make_queue(sqs, "records")
    lam.advance(3600)
    deliver_record(lam, arn, _record(lam, fn), fn=fn, success=True)
    [message] = sqs.receive_message(QueueUrl=url, AttributeNames=["SentTimestamp"])["Messages"]
    assert int(message["Attributes"]["SentTimestamp"]) == int(lam.now().timestamp() * 1000)


def test_missing_queue_fails_delivery(lam, fn):
    with pytest.raises(DeliveryFailed, match="does not exist"):
        deliver_record(
            lam, f"arn:aws:sqs:{REGION}:{ACCOUNT}:nope", _record(lam, fn), fn=fn, success=True
        )


def test_fifo_queue_fails_delivery(lam, fn, sqs):
    _url, arn = make_queue(sqs, "records.fifo", FifoQueue="true")
    with pytest.raises(DeliveryFailed, match="FIFO"):
        deliver_record(lam, arn, _record(lam, fn), fn=fn, success=False)


def test_record_larger_than_the_queue_allows_fails_delivery(lam, fn, sqs):
    _url, arn = make_queue(sqs, "small", MaximumMessageSize="1024")
    record = _record(lam, fn, response=json.dumps("x" * 2000).encode())
    with pytest.raises(DeliveryFailed, match="1024 byte limit"):
        deliver_record(lam, arn, record, fn=fn, success=True)


def test_sns_message_is_the_record(lam, fn, sqs):
    url, topic = topic_to_queue(sqs, "records")
    record = _record(lam, fn)
    deliver_record(lam, topic, record, fn=fn, success=True)
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(json.loads(message["Body"])["Message"]) == record


def test_oversized_failure_record_to_sns_drops_the_payloads(lam, fn, sqs):
    url, topic = topic_to_queue(sqs, "records")
    big = json.dumps({"data": "x" * 300_000}).encode()
    deliver_record(
        lam, topic, _record(lam, fn, payload=big, error="Unhandled"), fn=fn, success=False
    )
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(json.loads(message["Body"])["Message"])
    assert list(record) == ["version", "timestamp", "requestContext", "responseContext"]


def test_oversized_success_record_to_sns_fails_delivery(lam, fn, sqs):
    _url, topic = topic_to_queue(sqs, "records")
    big = json.dumps({"data": "x" * 300_000}).encode()
    with pytest.raises(DeliveryFailed, match="262144"):
        deliver_record(lam, topic, _record(lam, fn, payload=big), fn=fn, success=True)


def test_fifo_topic_fails_delivery(lam, fn, sqs):
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="records.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    with pytest.raises(DeliveryFailed, match="FIFO"):
        deliver_record(lam, topic, _record(lam, fn), fn=fn, success=True)


def test_missing_topic_fails_delivery(lam, fn):
    with pytest.raises(DeliveryFailed, match="does not exist"):
        deliver_record(
            lam, f"arn:aws:sns:{REGION}:{ACCOUNT}:nope", _record(lam, fn), fn=fn, success=True
        )


def test_eventbridge_success_envelope(lam, fn, sqs):
    url, queue_arn = make_queue(sqs, "subscriber")
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["lambda"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": queue_arn}])
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    record = _record(lam, fn)
    deliver_record(lam, bus, record, fn=fn, success=True)
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["detail-type"] == "Lambda Function Invocation Result - Success"
    assert envelope["region"] == REGION
    assert envelope["time"] == lam.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert envelope["detail"] == record


def test_missing_event_bus_fails_delivery(lam, fn):
    with pytest.raises(DeliveryFailed, match="does not exist"):
        deliver_record(
            lam,
            f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/nope",
            _record(lam, fn),
            fn=fn,
            success=True,
        )


def test_s3_object_body_is_the_record(lam, fn):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="failures")
    record = _record(lam, fn, error="Unhandled")
    deliver_record(lam, "arn:aws:s3:::failures", record, fn=fn, success=False)
    [listed] = s3.list_objects_v2(Bucket="failures")["Contents"]
    body = s3.get_object(Bucket="failures", Key=listed["Key"])["Body"].read()
    assert json.loads(body) == record


def test_s3_is_refused_for_success_records(lam, fn):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="records")
    with pytest.raises(DeliveryFailed, match="OnFailure"):
        deliver_record(lam, "arn:aws:s3:::records", _record(lam, fn), fn=fn, success=True)


def test_missing_bucket_fails_delivery(lam, fn):
    with pytest.raises(DeliveryFailed, match="does not exist"):
        deliver_record(
            lam, "arn:aws:s3:::nope", _record(lam, fn, error="Unhandled"), fn=fn, success=False
        )


def test_missing_destination_function_fails_delivery(lam, fn):
    with pytest.raises(DeliveryFailed, match="Function not found"):
        deliver_record(
            lam,
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope",
            _record(lam, fn),
            fn=fn,
            success=True,
        )


def test_destination_function_gets_the_record_through_the_async_queue(lam, fn):
    seen = []
    target = lam.add_function("audit", lambda event, context: seen.append(event))
    record = _record(lam, fn)
    deliver_record(lam, target["FunctionArn"], record, fn=fn, success=True)
    lam.drain()
    assert seen == [record]
    [queued] = lam.timeline().select("queued", function_name="audit")
    assert queued.detail["trigger"] == "destination"


def test_unsupported_service_fails_delivery(lam, fn):
    with pytest.raises(DeliveryFailed, match="not a supported destination"):
        deliver_record(
            lam, f"arn:aws:iam::{ACCOUNT}:role/nope", _record(lam, fn), fn=fn, success=True
        )


def test_malformed_arn_fails_delivery(lam, fn):
    with pytest.raises(DeliveryFailed, match="not an ARN"):
        deliver_record(lam, "not-an-arn", _record(lam, fn), fn=fn, success=True)
