"""Stream records as AWS writes them where moto differs: DynamoDB sizes, binaries and labels,
Kinesis sequence numbers and encryption."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import client
from hypothesis import given
from hypothesis import strategies as st
from test_esm_streams import events, kinesis_stream, map_stream, put
from test_esm_streams_dynamodb import dynamodb_stream, records, table

from mock_lambda_async.event_sources.dynamodb_records import stream_record_size, wire_json

DDB_SNAPSHOT = "test_lambda_integration_dynamodbstreams.snapshot.json"


def table_records(lam: Any, view: str, key: str, *writes: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream records of ``writes`` (PutItem items) to a new table keyed by ``key``."""
    dynamodb = client("dynamodb")
    stream = dynamodb.create_table(
        TableName="recorded",
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )["TableDescription"]["LatestStreamArn"]
    map_stream("consumer", stream)
    for item in writes:
        dynamodb.put_item(TableName="recorded", Item=item)
    return [record["dynamodb"] for record in records(lam, "consumer")]


@pytest.fixture
def consumer(lam: Any) -> Any:
    """The mock, with a function ``consumer`` that accepts every batch."""
    lam.add_function("consumer", lambda event, context: None)
    return lam


# -- DynamoDB: binary values ------------------------------------------------------------------------
def test_binary_values_are_delivered_base64(consumer: Any) -> None:
    # DDB_SNAPSHOT::TestDynamoDBEventSourceMapping::test_dynamodb_event_source_mapping, event_logs:
    # NewImage {"binary_key": {"B": "Zm9vYmFy"}, "my_partition_key": {"S": "hello world"}},
    # "SizeBytes": 70, "StreamViewType": "NEW_IMAGE".
    (record,) = table_records(
        consumer,
        "NEW_IMAGE",
        "my_partition_key",
        {"my_partition_key": {"S": "hello world"}, "binary_key": {"B": b"foobar"}},
    )
    assert record["NewImage"] == {
        "my_partition_key": {"S": "hello world"},
        "binary_key": {"B": "Zm9vYmFy"},
    }
    assert record["SizeBytes"] == 70


def test_binary_sets_and_nested_binaries_are_delivered_base64(consumer: Any) -> None:
    # Binary values travel base64 wherever they are (the B value recorded above as "Zm9vYmFy").
    (record,) = table_records(
        consumer,
        "NEW_IMAGE",
        "id",
        {
            "id": {"S": "a"},
            "set": {"BS": [b"foobar"]},
            "map": {"M": {"inner": {"B": b"foobar"}}},
            "list": {"L": [{"B": b"foobar"}, {"M": {"deep": {"BS": [b"foobar"]}}}]},
        },
    )
    assert record["NewImage"]["set"] == {"BS": ["Zm9vYmFy"]}
    assert record["NewImage"]["map"] == {"M": {"inner": {"B": "Zm9vYmFy"}}}
    assert record["NewImage"]["list"] == {
        "L": [{"B": "Zm9vYmFy"}, {"M": {"deep": {"BS": ["Zm9vYmFy"]}}}]
    }


# -- DynamoDB: SizeBytes ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("snapshot_key", "item", "size"),
    [
        # DDB_SNAPSHOT::test_dynamodb_event_filter[content_or_filter], lambda-log-events.
        ("content_or_filter", {"id": {"S": "id_value"}}, 20),
        # DDB_SNAPSHOT::test_dynamodb_event_filter[insert_same_entry_twice].
        ("insert_same_entry_twice", {"id": {"S": "id_value"}, "id2": {"S": "id2_value"}}, 32),
        # DDB_SNAPSHOT::test_dynamodb_event_filter[content_filter_type].
        (
            "content_filter_type",
            {"id": {"S": "id_value_1"}, "presentKey": {"S": "presentValue"}},
            46,
        ),
        # DDB_SNAPSHOT::test_dynamodb_event_filter[exists_false_filter].
        ("exists_false_filter", {"id": {"S": "id_value_1"}}, 24),
        # DDB_SNAPSHOT::test_dynamodb_event_filter[numeric_filter].
        ("numeric_filter", {"id": {"S": "id_value_1"}, "numericFilter": {"N": "42"}}, 39),
        # DDB_SNAPSHOT::test_dynamodb_event_filter[prefix_filter].
        ("prefix_filter", {"id": {"S": "id_value_1"}, "prefix": {"S": "us-1-other-suffix"}}, 47),
    ],
)
def test_insert_size_bytes_is_the_recorded_item_size(
    consumer: Any, snapshot_key: str, item: dict[str, Any], size: int
) -> None:
    (record,) = table_records(consumer, "NEW_AND_OLD_IMAGES", "id", item)
    assert record["SizeBytes"] == size


def test_modify_size_bytes_counts_both_images(consumer: Any) -> None:
    # DDB_SNAPSHOT::test_dynamodb_event_filter[content_or_filter], lambda-multiple-log-events:
    # the MODIFY record (new image with id2 "id2_new_value", old image {"id"}) has SizeBytes 46.
    inserted, modified = table_records(
        consumer,
        "NEW_AND_OLD_IMAGES",
        "id",
        {"id": {"S": "id_value"}},
        {"id": {"S": "id_value"}, "id2": {"S": "id2_new_value"}},
    )
    assert (inserted["SizeBytes"], modified["SizeBytes"]) == (20, 46)


def test_get_records_shows_the_same_size(consumer: Any) -> None:
    # moto's own GetRecords carries the corrected size too (moto 5.2.1 counts its JSON dump).
    (delivered,) = table_records(consumer, "NEW_AND_OLD_IMAGES", "id", {"id": {"S": "id_value"}})
    streams = client("dynamodbstreams")
    arn = client("dynamodb").describe_table(TableName="recorded")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    (stored,) = streams.get_records(ShardIterator=iterator)["Records"]
    assert stored["dynamodb"]["SizeBytes"] == delivered["SizeBytes"] == 20


# -- DynamoDB: stream labels ------------------------------------------------------------------------
def test_stream_label_has_millisecond_precision(lam: Any) -> None:
    # event_source_mapping/test_api.snapshot.json::
    # test_create_starting_position_validation_exceptions[dynamodb]: ".../stream/2025-02-17T16:33:01.784".
    arn = dynamodb_stream()
    label = arn.rsplit("/", 1)[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", label)
    assert label == lam.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
    described = table().describe_table(TableName="orders")["Table"]
    assert described["LatestStreamLabel"] == label


# -- Kinesis ----------------------------------------------------------------------------------------
def test_kinesis_sequence_numbers_are_56_digits_increasing_per_shard(lam: Any) -> None:
    # The Lambda developer guide's Kinesis sample event:
    # "sequenceNumber": "49590338271490256608559692538361571095921575989136588898".
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream()
    map_stream("consumer", stream)
    results = put(stream, "a", "b", "c")
    numbers = [
        r["kinesis"]["sequenceNumber"] for e in events(lam, "consumer") for r in e["Records"]
    ]
    assert numbers == [result["SequenceNumber"] for result in results]
    assert all(re.fullmatch(r"49\d{54}", number) for number in numbers)
    assert [int(n) for n in numbers] == sorted(int(n) for n in numbers)
    assert len(set(numbers)) == 3


def test_records_of_a_kms_encrypted_stream_say_so(lam: Any) -> None:
    # aws-lambda-java-events kinesis_event.json: "encryptionType" is the kinesis object's last key.
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream()
    client("kinesis").start_stream_encryption(
        StreamName="orders", EncryptionType="KMS", KeyId="alias/aws/kinesis"
    )
    map_stream("consumer", stream)
    put(stream, "a")
    (event,) = events(lam, "consumer")
    kinesis = event["Records"][0]["kinesis"]
    assert list(kinesis)[-1] == "encryptionType"
    assert kinesis["encryptionType"] == "KMS"


def test_records_of_an_unencrypted_stream_have_no_encryption_type(lam: Any) -> None:
    # test_lambda_integration_kinesis.snapshot.json (spec appendix (d)): the recorded kinesis
    # object is kinesisSchemaVersion, partitionKey, sequenceNumber, data, approximateArrivalTimestamp.
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream()
    map_stream("consumer", stream)
    put(stream, "a")
    (event,) = events(lam, "consumer")
    assert list(event["Records"][0]["kinesis"]) == [
        "kinesisSchemaVersion",
        "partitionKey",
        "sequenceNumber",
        "data",
        "approximateArrivalTimestamp",
    ]


# -- OnFailure to S3 --------------------------------------------------------------------------------
def test_s3_on_failure_object_key_names_the_mapping_and_shard(lam: Any) -> None:
    # Lambda developer guide, kinesis-on-failure-destination: "The S3 object containing the
    # invocation record uses the following naming convention:
    # aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>".
    def failing(event: Any, context: Any) -> None:
        raise RuntimeError("boom")

    lam.add_function("consumer", failing)
    stream = kinesis_stream()
    s3 = client("s3")
    s3.create_bucket(Bucket="stream-failures")
    mapping = map_stream(
        "consumer",
        stream,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:s3:::stream-failures"}},
    )
    put(stream, "a")
    (item,) = s3.list_objects_v2(Bucket="stream-failures")["Contents"]
    at = lam.now()
    folder = f"aws/lambda/{mapping}/shardId-000000000000/{at:%Y/%m/%d}/{at:%Y-%m-%dT%H.%M.%S}-"
    assert item["Key"].startswith(folder)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", item["Key"][len(folder) :]
    )


def test_kinesis_sequence_numbers_increase_within_each_shard(lam: Any) -> None:
    # Kinesis numbers records per shard; shardId-000000000001's numbers follow shard 0's.
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream(shards=2)
    map_stream("consumer", stream)
    kinesis = client("kinesis")
    results = [
        kinesis.put_record(
            StreamName="orders", Data=b"x", ExplicitHashKey=hash_key, PartitionKey="k"
        )
        for hash_key in ("0", str(2**127), "1", str(2**127 + 1))
    ]
    by_shard: dict[str, list[int]] = {}
    for result in results:
        by_shard.setdefault(result["ShardId"], []).append(int(result["SequenceNumber"]))
    assert sorted(by_shard) == ["shardId-000000000000", "shardId-000000000001"]
    assert all(
        numbers == sorted(numbers) and len(set(numbers)) == 2 for numbers in by_shard.values()
    )
    assert max(by_shard["shardId-000000000000"]) < min(by_shard["shardId-000000000001"])
    delivered = {
        record["eventID"] for event in events(lam, "consumer") for record in event["Records"]
    }
    assert delivered == {f"{r['ShardId']}:{r['SequenceNumber']}" for r in results}


# -- item sizes, as a property ----------------------------------------------------------------------
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=6),
        st.one_of(
            st.text(max_size=10).map(lambda text: {"S": text}),
            st.binary(max_size=10).map(lambda raw: {"B": raw}),
            st.booleans().map(lambda flag: {"BOOL": flag}),
        ),
        max_size=6,
    )
)
def test_item_size_is_names_plus_values(attributes: dict[str, Any]) -> None:
    # [DOCS] DynamoDB item sizes and formats: strings count UTF-8 bytes, binaries raw bytes,
    # Booleans 1 byte, plus each attribute name's UTF-8 bytes.
    def value_size(value: dict[str, Any]) -> int:
        ((kind, inner),) = value.items()
        if kind == "S":
            return len(inner.encode())
        return len(inner) if kind == "B" else 1

    expected = sum(len(name.encode()) + value_size(value) for name, value in attributes.items())
    assert stream_record_size({"Keys": {}, "NewImage": attributes}) == expected
    wired = wire_json(attributes)
    assert all(isinstance(v.get("B", ""), str) for v in wired.values())
