"""DynamoDB Streams event source mappings: records from table writes, failures, filters."""

from __future__ import annotations

import json
import re
from typing import Any

from conftest import ACCOUNT, REGION
from test_esm_streams import client, events, map_stream, map_with_on_failure, queued_records


def dynamodb_stream(view: str = "NEW_AND_OLD_IMAGES", table: str = "orders") -> str:
    """A table keyed by ``id`` with a stream; returns the stream ARN."""
    dynamodb = client("dynamodb")
    response = dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    return str(response["TableDescription"]["LatestStreamArn"])


def table() -> Any:
    return client("dynamodb")


def records(lam: Any, function: str = "consumer") -> list[dict[str, Any]]:
    return [record for event in events(lam, function) for record in event["Records"]]


def test_insert_record_has_the_lambda_event_shape(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = dynamodb_stream()
    map_stream("consumer", stream, StartingPosition="LATEST")
    written = lam.now()

    table().put_item(TableName="orders", Item={"id": {"S": "o-1"}, "total": {"N": "12"}})

    (record,) = records(lam)
    assert list(record) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == REGION
    assert record["eventSourceARN"] == stream
    dynamodb = record["dynamodb"]
    assert dynamodb["ApproximateCreationDateTime"] == float(int(written.timestamp()))
    assert dynamodb["Keys"] == {"id": {"S": "o-1"}}
    assert dynamodb["NewImage"] == {"id": {"S": "o-1"}, "total": {"N": "12"}}
    assert "OldImage" not in dynamodb
    assert dynamodb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(dynamodb["SequenceNumber"], str)
    assert isinstance(dynamodb["SizeBytes"], int)


def test_modify_and_remove_carry_the_old_image(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = dynamodb_stream()
    map_stream("consumer", stream)

    table().put_item(TableName="orders", Item={"id": {"S": "o-1"}, "total": {"N": "1"}})
    table().put_item(TableName="orders", Item={"id": {"S": "o-1"}, "total": {"N": "2"}})
    table().delete_item(TableName="orders", Key={"id": {"S": "o-1"}})

    found = [
        (r["eventName"], r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage"))
        for r in records(lam)
    ]
    assert found == [
        ("INSERT", None, {"id": {"S": "o-1"}, "total": {"N": "1"}}),
        (
            "MODIFY",
            {"id": {"S": "o-1"}, "total": {"N": "1"}},
            {"id": {"S": "o-1"}, "total": {"N": "2"}},
        ),
        ("REMOVE", {"id": {"S": "o-1"}, "total": {"N": "2"}}, None),
    ]


def test_keys_only_stream_sends_no_images(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = dynamodb_stream(view="KEYS_ONLY")
    map_stream("consumer", stream)

    table().put_item(TableName="orders", Item={"id": {"S": "o-1"}, "total": {"N": "1"}})

    (record,) = records(lam)
    assert set(record["dynamodb"]) == {
        "ApproximateCreationDateTime",
        "Keys",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }


def test_writes_arrive_in_order_in_one_batch(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = dynamodb_stream()
    dynamodb = table()
    for number in range(5):
        dynamodb.put_item(TableName="orders", Item={"id": {"S": f"o-{number}"}})

    map_stream("consumer", stream)
    lam.advance(1)

    (event,) = events(lam, "consumer")
    ids = [record["dynamodb"]["Keys"]["id"]["S"] for record in event["Records"]]
    assert ids == [f"o-{number}" for number in range(5)]


def test_invocations_are_recorded_with_the_dynamodb_trigger(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = dynamodb_stream()
    map_stream("consumer", stream)

    table().put_item(TableName="orders", Item={"id": {"S": "o-1"}})

    (attempt,) = lam.invocations("consumer")
    assert attempt.trigger == "dynamodb"


def test_failure_record_uses_ddb_stream_batch_info_with_second_precision(lam: Any) -> None:
    def always_fail(event: Any, context: Any) -> None:
        raise ValueError("no")

    lam.add_function("consumer", always_fail)
    stream = dynamodb_stream()
    url = map_with_on_failure("consumer", stream, MaximumRetryAttempts=0)
    written = lam.now()

    table().put_item(TableName="orders", Item={"id": {"S": "o-1"}})

    (event,) = events(lam, "consumer")
    sequence = event["Records"][0]["dynamodb"]["SequenceNumber"]
    (record,) = queued_records(url)
    assert record["requestContext"]["functionArn"] == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:consumer"
    )
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["DDBStreamBatchInfo"] == {
        "shardId": record["DDBStreamBatchInfo"]["shardId"],
        "startSequenceNumber": sequence,
        "endSequenceNumber": sequence,
        "approximateArrivalOfFirstRecord": written.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "approximateArrivalOfLastRecord": written.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "batchSize": 1,
        "streamArn": stream,
    }
    assert "KinesisBatchInfo" not in record


def test_filter_criteria_match_the_dynamodb_images(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = dynamodb_stream()
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}
    map_stream("consumer", stream, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})

    table().put_item(TableName="orders", Item={"id": {"S": "o-1"}, "status": {"S": "open"}})
    table().put_item(TableName="orders", Item={"id": {"S": "o-2"}, "status": {"S": "paid"}})

    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records(lam)] == ["o-2"]


def test_records_expire_after_a_day_in_the_stream(lam: Any) -> None:
    def fail_on_o1(event: Any, context: Any) -> None:
        if any(r["dynamodb"]["Keys"]["id"]["S"] == "o-1" for r in event["Records"]):
            raise ValueError("poison")

    lam.add_function("consumer", fail_on_o1)
    stream = dynamodb_stream()
    url = map_with_on_failure("consumer", stream, BatchSize=1)

    table().put_item(TableName="orders", Item={"id": {"S": "o-1"}})
    table().put_item(TableName="orders", Item={"id": {"S": "o-2"}})

    (record,) = queued_records(url)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert records(lam)[-1]["dynamodb"]["Keys"] == {"id": {"S": "o-2"}}
