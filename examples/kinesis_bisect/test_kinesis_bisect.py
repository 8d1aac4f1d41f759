"""Kinesis → Lambda with a poison record: bisect isolates it, the OnFailure record points at it."""

import base64
import json
from pathlib import Path

import boto3
import pytest

from mock_lambda_async import get_controller

REGION = "us-east-1"
ADJUSTMENTS = [{"sku": sku, "delta": 1} for sku in "ABCDEFGH"]
ADJUSTMENTS[5]["delta"] = "one"  # F is malformed: the handler raises on it


def deploy(name, **config):
    """CreateFunction from the ``handler.py`` next to this file, zipped as for a real deployment."""
    source = Path(__file__).with_name("handler.py")
    return get_controller().deploy_function(name, source, handler="handler.handler", **config)


@pytest.fixture
def stream(lambda_async):
    """The ``stock`` stream (one shard) and the ``apply-stock`` function; returns the ARNs of the
    stream and of the queue for OnFailure records."""
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName="stock", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="stock")["StreamDescription"]["StreamARN"]
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="stock-failures")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    deploy("apply-stock")
    return stream_arn, queue["QueueArn"], url


def map_stream(stream_arn, queue_arn, **settings):
    boto3.client("lambda", region_name=REGION).create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName="apply-stock",
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        **settings,
    )


def put_adjustments():
    """PutRecords all eight at once (one batch); returns their sequence numbers."""
    response = boto3.client("kinesis", region_name=REGION).put_records(
        StreamName="stock",
        Records=[{"Data": json.dumps(a).encode(), "PartitionKey": a["sku"]} for a in ADJUSTMENTS],
    )
    return [result["SequenceNumber"] for result in response["Records"]]


def skus(attempt):
    """The SKUs of the batch an attempt received, as one string ("ABCD")."""
    records = attempt.event["Records"]
    return "".join(json.loads(base64.b64decode(r["kinesis"]["data"]))["sku"] for r in records)


def test_bisect_isolates_the_poison_record(lambda_async, stream):
    map_stream(*stream[:2], BisectBatchOnFunctionError=True)
    put_adjustments()

    # An attempt's number counts the invocations its records went through, splits included.
    attempts = lambda_async.invocations("apply-stock")
    assert [("ok" if a.ok else "failed", skus(a), a.attempt) for a in attempts] == [
        ("failed", "ABCDEFGH", 1),  # the whole batch fails: split in two
        ("ok", "ABCD", 2),
        ("failed", "EFGH", 2),  # split again
        ("failed", "EF", 3),
        ("ok", "E", 4),
        ("failed", "F", 4),  # alone now: retried (MaximumRetryAttempts=2), then discarded
        ("failed", "F", 5),
        ("failed", "F", 6),
        ("ok", "GH", 3),
    ]


def test_the_on_failure_record_points_at_the_discarded_record(lambda_async, stream):
    stream_arn, queue_arn, url = stream
    map_stream(stream_arn, queue_arn, BisectBatchOnFunctionError=True)
    sequence_numbers = put_adjustments()

    [record] = lambda_async.assert_delivered(url, 1)
    batch = record["KinesisBatchInfo"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 6  # F's last attempt
    assert (batch["batchSize"], batch["startSequenceNumber"]) == (1, sequence_numbers[5])
    assert "requestPayload" not in record  # stream records carry no data: read it back

    kinesis = boto3.client("kinesis", region_name=REGION)
    iterator = kinesis.get_shard_iterator(
        StreamName="stock",
        ShardId=batch["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=batch["startSequenceNumber"],
    )["ShardIterator"]
    [poison] = kinesis.get_records(ShardIterator=iterator, Limit=1)["Records"]
    assert json.loads(poison["Data"]) == {"sku": "F", "delta": "one"}


def test_without_bisect_the_whole_batch_is_discarded(lambda_async, stream):
    stream_arn, queue_arn, url = stream
    map_stream(stream_arn, queue_arn)
    put_adjustments()

    lambda_async.assert_failed("apply-stock", error_type=ValueError, times=3)
    lambda_async.assert_succeeded("apply-stock", times=0)
    [record] = lambda_async.assert_delivered(url, 1)
    assert record["KinesisBatchInfo"]["batchSize"] == 8  # G and H never applied
