"""Kinesis event source mappings: what reaches the function, in which batches, from where."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from conftest import ACCOUNT, REGION, client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_lambda_async import mock_lambda_async
from mock_lambda_async.event_sources import streams  # noqa: F401  (stamps records from the start)

ROLE_NAME = "mock-lambda-async-role"


# -- helpers shared by the test_esm_streams* modules -------------------------------------------------
def kinesis_stream(name: str = "orders", shards: int = 1) -> str:
    """Create a Kinesis stream; returns its ARN."""
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return str(kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"])


def put(stream: str, *data: str, key: str = "key") -> list[dict[str, Any]]:
    """PutRecords ``data`` (one record each) under one partition key; returns the results."""
    kinesis = client("kinesis")
    response = kinesis.put_records(
        StreamName=stream.rsplit("/", 1)[-1],
        Records=[{"Data": item.encode(), "PartitionKey": key} for item in data],
    )
    return list(response["Records"])


def map_stream(function: str, source_arn: str, **params: Any) -> str:
    """CreateEventSourceMapping (TRIM_HORIZON unless told); returns the UUID."""
    params.setdefault("StartingPosition", "TRIM_HORIZON")
    response = client("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=source_arn, **params
    )
    return str(response["UUID"])


def failure_queue(name: str = "stream-failures") -> tuple[str, str]:
    """An SQS queue for OnFailure records; returns (URL, ARN)."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def on_failure(arn: str) -> dict[str, Any]:
    return {"OnFailure": {"Destination": arn}}


def map_with_on_failure(function: str, source_arn: str, **params: Any) -> str:
    """``map_stream`` with a new ``failure_queue()`` as OnFailure destination; returns its URL."""
    url, queue_arn = failure_queue()
    map_stream(function, source_arn, **params, DestinationConfig=on_failure(queue_arn))
    return url


def queued_records(url: str) -> list[dict[str, Any]]:
    """Every message body in the queue, parsed (messages stay invisible afterwards)."""
    sqs = client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(json.loads(message["Body"]) for message in messages)


def events(lam: Any, function: str) -> list[Any]:
    """The events ``function`` received, in order."""
    return [attempt.event for attempt in lam.invocations(function)]


def data(record: dict[str, Any]) -> str:
    return base64.b64decode(record["kinesis"]["data"]).decode()


def batches(lam: Any, function: str) -> list[list[str]]:
    """The data of each batch ``function`` received, in order."""
    return [[data(record) for record in event["Records"]] for event in events(lam, function)]


def record_everything(event: Any, context: Any) -> None:
    return None


# -- record shape ----------------------------------------------------------------------------------
def test_kinesis_record_has_the_lambda_event_shape(lam: Any) -> None:
    function = lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    map_stream("consumer", stream, StartingPosition="LATEST")
    arrival = lam.now()

    (result,) = put(stream, "hello", key="user-1")

    (event,) = events(lam, "consumer")
    sequence = result["SequenceNumber"]
    role = client("iam").get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
    assert function["Role"] == role
    assert event == {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "user-1",
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(b"hello").decode(),
                    "approximateArrivalTimestamp": round(arrival.timestamp(), 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{result['ShardId']}:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": role,
                "awsRegion": REGION,
                "eventSourceARN": stream,
            }
        ]
    }


def test_invocations_are_recorded_with_the_kinesis_trigger(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    map_stream("consumer", stream)

    put(stream, "a")

    (attempt,) = lam.invocations("consumer")
    assert (attempt.trigger, attempt.attempt, attempt.ok) == ("kinesis", 1, True)


def test_mapping_reports_the_last_processing_result(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    mapping = map_stream("consumer", stream)

    put(stream, "a")

    response = client("lambda").get_event_source_mapping(UUID=mapping)
    assert response["LastProcessingResult"] == "OK"


# -- order and batching ------------------------------------------------------------------------------
def test_records_of_a_shard_arrive_in_order_in_one_batch(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    map_stream("consumer", stream)

    put(stream, *[f"r{i}" for i in range(10)])

    (event,) = events(lam, "consumer")
    numbers = [int(record["kinesis"]["sequenceNumber"]) for record in event["Records"]]
    assert [data(record) for record in event["Records"]] == [f"r{i}" for i in range(10)]
    assert numbers == sorted(numbers)


def test_batch_size_caps_each_batch(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    map_stream("consumer", stream, BatchSize=3)

    put(stream, *[f"r{i}" for i in range(7)])

    assert batches(lam, "consumer") == [["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6"]]


def test_batching_window_gathers_records_for_its_duration() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("consumer", record_everything)
        stream = kinesis_stream()
        map_stream("consumer", stream, BatchSize=10, MaximumBatchingWindowInSeconds=20)
        start = lam.now()

        put(stream, "first")
        lam.advance(15)
        put(stream, "second")
        lam.advance(4)
        assert events(lam, "consumer") == []
        lam.advance(1)

        (attempt,) = lam.invocations("consumer")
        assert [data(r) for r in attempt.event["Records"]] == ["first", "second"]
        assert attempt.started_at - start == timedelta(seconds=20)


def test_batching_window_ends_early_when_the_batch_is_full() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("consumer", record_everything)
        stream = kinesis_stream()
        map_stream("consumer", stream, BatchSize=2, MaximumBatchingWindowInSeconds=60)
        start = lam.now()

        put(stream, "a", "b")
        lam.advance(1)

        (attempt,) = lam.invocations("consumer")
        assert [data(r) for r in attempt.event["Records"]] == ["a", "b"]
        assert attempt.started_at == start


def test_each_batch_holds_records_of_one_shard(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream(shards=4)
    map_stream("consumer", stream)

    kinesis = client("kinesis")
    kinesis.put_records(
        StreamName="orders",
        Records=[{"Data": f"r{i}".encode(), "PartitionKey": f"key-{i}"} for i in range(40)],
    )

    shard_sets = [
        {record["eventID"].split(":")[0] for record in event["Records"]}
        for event in events(lam, "consumer")
    ]
    assert len(shard_sets) > 1
    assert all(len(shards) == 1 for shards in shard_sets)
    assert sum(len(event["Records"]) for event in events(lam, "consumer")) == 40


# -- starting positions ------------------------------------------------------------------------------
def test_latest_skips_records_already_in_the_stream(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    put(stream, "old")
    map_stream("consumer", stream, StartingPosition="LATEST")

    put(stream, "new")

    assert batches(lam, "consumer") == [["new"]]


def test_trim_horizon_reads_records_already_in_the_stream(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    put(stream, "old")
    map_stream("consumer", stream, StartingPosition="TRIM_HORIZON")

    put(stream, "new")

    assert batches(lam, "consumer") == [["old"], ["new"]]


def test_at_timestamp_starts_with_records_from_that_time(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    put(stream, "before")
    lam.advance(60)
    since = lam.now()
    put(stream, "after")

    map_stream("consumer", stream, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=since)

    assert batches(lam, "consumer") == [["after"]]


# -- enabling ----------------------------------------------------------------------------------------
def test_reenabled_mapping_resumes_after_the_last_processed_record(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    mapping = map_stream("consumer", stream)
    put(stream, "one")
    lambda_client = client("lambda")
    lambda_client.update_event_source_mapping(UUID=mapping, Enabled=False)
    lam.advance(60)
    put(stream, "two")
    lam.advance(60)
    assert batches(lam, "consumer") == [["one"]]

    lambda_client.update_event_source_mapping(UUID=mapping, Enabled=True)
    lam.advance(60)

    assert batches(lam, "consumer") == [["one"], ["two"]]


def test_deleting_a_stream_mapping_stops_delivery(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    mapping = map_stream("consumer", stream)
    put(stream, "one")
    client("lambda").delete_event_source_mapping(UUID=mapping)
    put(stream, "two")
    lam.advance(60)
    assert batches(lam, "consumer") == [["one"]]


# -- filtering ---------------------------------------------------------------------------------------
def test_filter_criteria_match_the_decoded_json_data(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    pattern = {"data": {"kind": ["order"]}}
    map_stream("consumer", stream, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})

    put(stream, json.dumps({"kind": "order", "id": 1}), json.dumps({"kind": "refund", "id": 2}))

    assert batches(lam, "consumer") == [[json.dumps({"kind": "order", "id": 1})]]


def test_filter_on_data_drops_records_that_are_not_json(lam: Any) -> None:
    lam.add_function("consumer", record_everything)
    stream = kinesis_stream()
    pattern = {"data": {"kind": ["order"]}}
    map_stream("consumer", stream, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})

    put(stream, "kind=order")
    put(stream, json.dumps({"kind": "order"}))

    assert batches(lam, "consumer") == [[json.dumps({"kind": "order"})]]


# -- properties --------------------------------------------------------------------------------------
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=1, max_value=40),
    batch_size=st.integers(min_value=1, max_value=15),
    keys=st.integers(min_value=1, max_value=4),
    factor=st.integers(min_value=1, max_value=4),
)
def test_every_record_arrives_once_in_order_within_the_batch_size(
    count: int, batch_size: int, keys: int, factor: int
) -> None:
    with mock_lambda_async() as lam:
        lam.add_function("consumer", record_everything)
        stream = kinesis_stream()
        map_stream("consumer", stream, BatchSize=batch_size, ParallelizationFactor=factor)
        client("kinesis").put_records(
            StreamName="orders",
            Records=[
                {"Data": f"{n}".encode(), "PartitionKey": f"k{n % keys}"} for n in range(count)
            ],
        )

        delivered = events(lam, "consumer")
    assert all(len(event["Records"]) <= batch_size for event in delivered)
    numbers = [int(data(record)) for event in delivered for record in event["Records"]]
    assert sorted(numbers) == list(range(count))
    for key in range(keys):
        of_key = [n for n in numbers if n % keys == key]
        assert of_key == sorted(of_key)
