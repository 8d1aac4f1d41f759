"""One clock: handlers, their libraries, moto and the test body read the virtual time."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
import time_machine
from conftest import REGION, make_queue
from freezegun import freeze_time

from mock_lambda_async import mock_lambda_async

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _now_handler(event: Any, context: Any) -> dict[str, Any]:
    return {
        "now": datetime.now(timezone.utc).isoformat(),
        "time": time.time(),
        "today": date.today().isoformat(),
        "gmtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
    }


def _invoke(name: str, payload: bytes = b"{}") -> Any:
    response = boto3.client("lambda", REGION).invoke(FunctionName=name, Payload=payload)
    return json.loads(response["Payload"].read())


def test_a_handler_reads_the_virtual_time_through_every_clock_function() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("clock", _now_handler)
        seen = _invoke("clock")
        assert seen == {
            "now": lam.now().isoformat(),
            "time": lam.now().timestamp(),
            "today": "2024-05-01",
            "gmtime": "2024-05-01T12:00:00",
        }


def test_a_handler_sees_the_time_the_clock_advanced_to() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("clock", _now_handler)
        lam.advance(3600)
        assert datetime.fromisoformat(_invoke("clock")["now"]) == START + timedelta(hours=1)


def test_the_test_body_reads_the_virtual_time() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.advance(90)
        assert datetime.now(timezone.utc) == lam.now() == START + timedelta(seconds=90)


def test_monotonic_time_stays_real() -> None:
    with mock_lambda_async(start=START) as lam:
        before = time.monotonic()
        lam.advance(3600)
        assert time.monotonic() - before < 3600


def test_the_real_time_is_back_after_the_block() -> None:
    with mock_lambda_async(start=START):
        pass
    assert datetime.now(timezone.utc).year > 2024


def test_powertools_idempotency_expires_after_the_clock_advances() -> None:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent,
    )

    calls: list[int] = []
    with mock_lambda_async(start=START) as lam:
        boto3.client("dynamodb", REGION).create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        layer = DynamoDBPersistenceLayer(
            table_name="idempotency", boto3_session=boto3.session.Session(region_name=REGION)
        )

        @idempotent(persistence_store=layer, config=IdempotencyConfig(expires_after_seconds=60))
        def handler(event: Any, context: Any) -> int:
            calls.append(1)
            return len(calls)

        lam.add_function("charge", handler)
        assert [_invoke("charge", b'{"order": 1}'), _invoke("charge", b'{"order": 1}')] == [1, 1]
        lam.advance(3600)
        assert _invoke("charge", b'{"order": 1}') == 2


def test_powertools_metrics_stamp_the_virtual_time() -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="Orders", service="orders")

    @metrics.log_metrics
    def handler(event: Any, context: Any) -> None:
        metrics.add_metric(name="Charged", unit=MetricUnit.Count, value=1)

    with mock_lambda_async(start=START) as lam:
        lam.add_function("metered", handler)
        lam.advance(90)
        _invoke("metered")
        [attempt] = lam.invocations("metered")
        [emf] = [json.loads(line) for line in attempt.log.splitlines() if '"_aws"' in line]
        assert emf["_aws"]["Timestamp"] == int(lam.now().timestamp() * 1000)


def test_an_s3_notification_to_sqs_carries_the_virtual_event_time() -> None:
    with mock_lambda_async(start=START) as lam:
        sqs = boto3.client("sqs", REGION)
        url, arn = make_queue(sqs, "uploads")
        s3 = boto3.client("s3", REGION)
        s3.create_bucket(Bucket="bucket")
        s3.put_bucket_notification_configuration(
            Bucket="bucket",
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        lam.advance(60)
        s3.put_object(Bucket="bucket", Key="k", Body=b"x")
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        bodies = [json.loads(m["Body"]) for m in messages]
        [record] = [r for body in bodies for r in body.get("Records", [])]
        assert record["eventTime"].startswith("2024-05-01T12:01:00")


def test_an_sns_notification_to_sqs_carries_the_virtual_timestamp() -> None:
    with mock_lambda_async(start=START) as lam:
        sqs = boto3.client("sqs", REGION)
        url, arn = make_queue(sqs, "subscriber")
        sns = boto3.client("sns", REGION)
        topic = sns.create_topic(Name="orders")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        lam.advance(60)
        sns.publish(TopicArn=topic, Message="hello")
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
        assert json.loads(message["Body"])["Timestamp"].startswith("2024-05-01T12:01:00")


def test_with_start_two_runs_stamp_the_same_times() -> None:
    def run() -> tuple[Any, ...]:
        with mock_lambda_async(start=START) as lam:
            lam.add_function("clock", _now_handler)
            sqs = boto3.client("sqs", REGION)
            url, _ = make_queue(sqs, "stamps")
            sqs.send_message(QueueUrl=url, MessageBody="x")
            lam.advance(5)
            [message] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
            return (_invoke("clock"), message["Attributes"]["SentTimestamp"])

    assert run() == run()


# -- a test's own time travel ---------------------------------------------------------------------
def test_a_mock_inside_time_machine_starts_at_its_time() -> None:
    with time_machine.travel(START, tick=False), mock_lambda_async() as lam:
        assert lam.now() == START


def test_moving_time_machine_around_the_block_moves_the_virtual_clock() -> None:
    with time_machine.travel(START, tick=False) as traveller, mock_lambda_async() as lam:
        lam.add_function("clock", _now_handler)
        traveller.shift(120)
        assert lam.now() == START + timedelta(seconds=120)
        assert datetime.fromisoformat(_invoke("clock")["now"]) == lam.now()


def test_a_mock_inside_freeze_time_starts_at_its_time() -> None:
    with freeze_time(START), mock_lambda_async() as lam:
        assert lam.now() == START


def test_ticking_freeze_time_around_the_block_moves_the_virtual_clock() -> None:
    with freeze_time(START) as frozen, mock_lambda_async() as lam:
        lam.add_function("clock", _now_handler)
        frozen.tick(timedelta(minutes=5))
        assert lam.now() == START + timedelta(minutes=5)
        assert datetime.fromisoformat(_invoke("clock")["now"]) == lam.now()


def test_moving_freeze_time_runs_what_falls_due_at_the_next_call() -> None:
    with freeze_time(START) as frozen, mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("fails", _fails)
        boto3.client("lambda", REGION).invoke(FunctionName="fails", InvocationType="Event")
        lam.advance(0)
        frozen.tick(timedelta(seconds=60))
        lam.advance(0)
        assert len(lam.invocations("fails")) == 2


def test_freeze_time_entered_inside_the_block_is_the_virtual_clock_while_it_lasts() -> None:
    with mock_lambda_async(start=START) as lam:
        with freeze_time("2020-01-01"):
            assert lam.now() == datetime(2020, 1, 1, tzinfo=timezone.utc)
        assert lam.now() == START


def test_time_machine_entered_inside_the_block_is_the_virtual_clock_while_it_lasts() -> None:
    with mock_lambda_async(start=START) as lam:
        lam.add_function("clock", _now_handler)
        with time_machine.travel(datetime(2020, 1, 1, tzinfo=timezone.utc), tick=False):
            lam.advance(10)
            assert lam.now() == datetime(2020, 1, 1, 0, 0, 10, tzinfo=timezone.utc)
            assert _invoke("clock")["today"] == "2020-01-01"
        assert lam.now() == START


def test_a_kinesis_record_put_inside_freeze_time_arrives_at_its_time() -> None:
    with mock_lambda_async(start=START):
        kinesis = boto3.client("kinesis", REGION)
        kinesis.create_stream(StreamName="s", ShardCount=1)
        with freeze_time("2020-01-01"):
            kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
        shard = kinesis.list_shards(StreamName="s")["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName="s", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        [record] = kinesis.get_records(ShardIterator=iterator)["Records"]
        assert record["ApproximateArrivalTimestamp"].year == 2020


# -- leaving --------------------------------------------------------------------------------------
def test_moto_messages_keep_their_timing_on_the_clock_after_the_mock() -> None:
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", REGION)
        url, _ = make_queue(sqs, "later")
        sqs.send_message(QueueUrl=url, MessageBody="x")
        with mock_lambda_async() as lam:
            assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"]) == 1
            lam.advance(3600)
        # Visible an hour ago on the clock the mock leaves, not a second after the real start.
        assert len(sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1


# -- opting out -----------------------------------------------------------------------------------
def test_patch_time_false_leaves_the_handler_on_the_real_clock() -> None:
    with mock_lambda_async(start=START, patch_time=False) as lam:
        lam.add_function("clock", _now_handler)
        assert datetime.fromisoformat(_invoke("clock")["now"]).year > 2024
        assert lam.now() == START


def test_patch_time_false_keeps_moto_sqs_on_the_virtual_clock() -> None:
    with mock_lambda_async(start=START, patch_time=False):
        sqs = boto3.client("sqs", REGION)
        url, _ = make_queue(sqs, "stamps")
        sqs.send_message(QueueUrl=url, MessageBody="x")
        [message] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        assert int(message["Attributes"]["SentTimestamp"]) == int(START.timestamp() * 1000)


@pytest.mark.lambda_async(start=START, patch_time=False)
def test_the_marker_takes_patch_time(lambda_async: Any) -> None:
    assert datetime.now(timezone.utc).year > 2024


def _fails(event: Any, context: Any) -> None:
    raise RuntimeError("boom")
