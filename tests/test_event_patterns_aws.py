"""One pattern matcher for EventBridge rules and mapping FilterCriteria, through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import client, function_arn
from test_esm_sqs import add_function, map_queue, queue, records
from test_esm_streams import map_stream
from test_esm_streams_dynamodb import dynamodb_stream
from test_esm_streams_dynamodb import records as stream_records

from mock_lambda_async import mock_lambda_async

#: The recorded case: LocalStack event_pattern_templates/list_within_dict.json5 (AWS-validated,
#: matched): a nested pattern into an array of objects matches when one element does.
ARRAY_OF_OBJECTS_PATTERN = {"detail": {"automations": {"id": [{"exists": True}]}}}
ARRAY_OF_OBJECTS_DETAIL = {
    "automations": [{"key1": "value1"}, {"id": "match-does-exist"}, {"key2": "value2"}]
}


def test_an_eventbridge_rule_matches_into_an_array_of_objects(lam: Any) -> None:
    received: list[Any] = []
    lam.add_function("automate", lambda event, context: received.append(event))
    events = client("events")
    events.put_rule(
        Name="automations",
        EventPattern=json.dumps({"source": ["shop"], **ARRAY_OF_OBJECTS_PATTERN}),
    )
    events.put_targets(Rule="automations", Targets=[{"Id": "t", "Arn": function_arn("automate")}])
    events.put_events(
        Entries=[
            {"Source": "shop", "DetailType": "x", "Detail": json.dumps(ARRAY_OF_OBJECTS_DETAIL)},
            {"Source": "shop", "DetailType": "x", "Detail": json.dumps({"automations": []})},
        ]
    )
    lam.drain()
    assert [event["detail"] for event in received] == [ARRAY_OF_OBJECTS_DETAIL]


def test_an_eventbridge_rule_to_sqs_uses_the_same_matcher(lam: Any) -> None:
    url, arn = queue("rule-copies")
    events = client("events")
    events.put_rule(Name="copies", EventPattern=json.dumps(ARRAY_OF_OBJECTS_PATTERN))
    events.put_targets(Rule="copies", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(
        Entries=[
            {"Source": "shop", "DetailType": "x", "Detail": json.dumps(ARRAY_OF_OBJECTS_DETAIL)}
        ]
    )
    messages = client("sqs").receive_message(QueueUrl=url).get("Messages", [])
    assert [json.loads(m["Body"])["detail"] for m in messages] == [ARRAY_OF_OBJECTS_DETAIL]


def test_put_rule_refuses_a_pattern_aws_refuses(lam: Any) -> None:
    # LocalStack event_pattern_templates/content_numeric_EXC.json5 (AWS-validated: refused).
    with pytest.raises(ClientError) as caught:
        client("events").put_rule(
            Name="bad", EventPattern=json.dumps({"n": [{"numeric": [">", 0, ">", 0]}]})
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidEventPatternException"
    assert error["Message"].startswith("Event pattern is not valid. Reason: ")


def test_sqs_filter_criteria_match_into_an_array_of_objects(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    pattern = {"body": ARRAY_OF_OBJECTS_PATTERN}
    map_queue(function, arn, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    sqs = client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail": ARRAY_OF_OBJECTS_DETAIL}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail": {"automations": []}}))
    assert [json.loads(r["body"]) for batch in records(lam) for r in batch] == [
        {"detail": ARRAY_OF_OBJECTS_DETAIL}
    ]


@pytest.fixture
def consumer(lam: Any) -> Any:
    """The mock, with a function ``consumer`` that accepts every batch."""
    lam.add_function("consumer", lambda event, context: None)
    return lam


def dynamodb_filter(pattern: dict[str, Any]) -> None:
    map_stream(
        "consumer",
        dynamodb_stream(),
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )


def test_dynamodb_exists_false_also_keeps_an_attribute_holding_an_object(consumer: Any) -> None:
    # test_lambda_integration_dynamodbstreams.snapshot.json::
    # test_dynamodb_event_filter[exists_false_filter], lambda-multiple-log-events: with
    # {"presentKey": [{"exists": false}]} both id_value_1 (no presentKey) and id_value_2
    # (presentKey {"S": "presentValue"}, not a leaf) were delivered.
    dynamodb_filter({"dynamodb": {"NewImage": {"presentKey": [{"exists": False}]}}})
    table = client("dynamodb")
    table.put_item(TableName="orders", Item={"id": {"S": "id_value_1"}})
    table.put_item(
        TableName="orders",
        Item={"id": {"S": "id_value_2"}, "presentKey": {"S": "presentValue"}},
    )
    delivered = [r["dynamodb"]["Keys"]["id"]["S"] for r in stream_records(consumer, "consumer")]
    assert delivered == ["id_value_1", "id_value_2"]


def test_dynamodb_numbers_are_strings_to_numeric_filters(consumer: Any) -> None:
    # test_dynamodb_event_filter[numeric_filter]: {"N": [{"numeric": [">", 100]},
    # {"anything-but": "101"}]} delivered numericFilter {"N": "42"} (a string, so numeric never
    # matches it; anything-but "101" does).
    dynamodb_filter(
        {
            "dynamodb": {
                "NewImage": {
                    "numericFilter": {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]}
                }
            }
        }
    )
    table = client("dynamodb")
    table.put_item(TableName="orders", Item={"id": {"S": "a"}, "numericFilter": {"N": "42"}})
    table.put_item(TableName="orders", Item={"id": {"S": "b"}, "numericFilter": {"N": "101"}})
    delivered = [
        r["dynamodb"]["NewImage"]["numericFilter"] for r in stream_records(consumer, "consumer")
    ]
    assert delivered == [{"N": "42"}]


def test_dynamodb_prefix_filter(consumer: Any) -> None:
    # test_dynamodb_event_filter[prefix_filter]: {"prefix": {"S": [{"prefix": "us-1"}]}} delivered
    # "us-1-other-suffix".
    dynamodb_filter({"dynamodb": {"NewImage": {"prefix": {"S": [{"prefix": "us-1"}]}}}})
    table = client("dynamodb")
    table.put_item(
        TableName="orders", Item={"id": {"S": "a"}, "prefix": {"S": "us-1-other-suffix"}}
    )
    table.put_item(TableName="orders", Item={"id": {"S": "b"}, "prefix": {"S": "eu-1"}})
    delivered = [r["dynamodb"]["NewImage"]["prefix"] for r in stream_records(consumer, "consumer")]
    assert delivered == [{"S": "us-1-other-suffix"}]


def test_moto_has_its_own_functions_back_after_the_mock() -> None:
    from moto.dynamodb.models.table import Table
    from moto.events.models import EventPattern as MotoEventPattern
    from moto.events.models import EventPatternParser
    from moto.kinesis.models import Shard

    def current() -> list[Any]:
        return [
            MotoEventPattern.matches_event,
            EventPatternParser.parse,
            Shard.put_record,
            Table.set_stream_specification,
        ]

    before = current()
    with mock_lambda_async():
        during = current()
        with mock_lambda_async():
            assert current() == during
        assert current() == during
    assert all(a is not b for a, b in zip(before, during, strict=True))
    assert current() == before
