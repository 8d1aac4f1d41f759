"""One store with moto: mappings and event invoke configs made before, during and after the mock."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION, create_function
from moto import mock_aws

from mock_lambda_async import mock_lambda_async

HANDLER = """
def handler(event, context):
    return {"records": len(event.get("Records", []))}
"""


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _queue(name: str = "jobs") -> tuple[str, str]:
    url = _client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def _bodies(lam: Any, function: str = "worker") -> list[str]:
    return [record["body"] for a in lam.invocations(function) for record in a.event["Records"]]


@mock_aws
def test_a_mapping_made_before_the_mock_is_listed_and_polled_inside() -> None:
    create_function("worker", HANDLER)
    url, arn = _queue()
    made = _client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="worker")
    with mock_lambda_async() as lam:
        listed = _client("lambda").list_event_source_mappings(EventSourceArn=arn)
        assert [m["UUID"] for m in listed["EventSourceMappings"]] == [made["UUID"]]
        assert _client("lambda").get_event_source_mapping(UUID=made["UUID"])["State"] == "Enabled"
        _client("sqs").send_message(QueueUrl=url, MessageBody="hello")
        lam.drain()
        (attempt,) = lam.invocations("worker")
    # Received once, by the mock's poller: moto's own delivery never took it first.
    (record,) = attempt.event["Records"]
    assert (record["body"], record["attributes"]["ApproximateReceiveCount"]) == ("hello", "1")


@mock_aws
def test_a_stream_mapping_made_before_the_mock_is_polled_by_the_mock_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.awslambda.models import LambdaBackend

    motos_own: list[Any] = []
    monkeypatch.setattr(LambdaBackend, "send_kinesis_message", lambda *a, **k: motos_own.append(a))
    create_function("worker", HANDLER)
    kinesis = _client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    _client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="worker", StartingPosition="TRIM_HORIZON"
    )
    with mock_lambda_async() as lam:
        kinesis.put_record(StreamName="clicks", Data=b"click", PartitionKey="k")
        lam.drain()
        (attempt,) = lam.assert_succeeded("worker", trigger="kinesis")
    assert (len(attempt.event["Records"]), motos_own) == (1, [])


@mock_aws
def test_a_mapping_made_inside_stays_in_moto_after_the_mock() -> None:
    create_function("worker", HANDLER)
    _, arn = _queue()
    with mock_lambda_async():
        made = _client("lambda").create_event_source_mapping(
            EventSourceArn=arn, FunctionName="worker", BatchSize=5
        )
    after = _client("lambda").get_event_source_mapping(UUID=made["UUID"])
    assert (after["EventSourceArn"], after["BatchSize"], after["State"]) == (arn, 5, "Enabled")


@mock_aws
def test_a_mapping_deleted_inside_is_gone_from_moto() -> None:
    create_function("worker", HANDLER)
    _, arn = _queue()
    made = _client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="worker")
    with mock_lambda_async():
        _client("lambda").delete_event_source_mapping(UUID=made["UUID"])
    assert _client("lambda").list_event_source_mappings()["EventSourceMappings"] == []


@mock_aws
def test_a_mapping_made_by_motos_backend_inside_is_polled() -> None:
    from moto.awslambda.models import lambda_backends

    create_function("worker", HANDLER)
    url, arn = _queue()
    with mock_lambda_async() as lam:
        made = lambda_backends[ACCOUNT][REGION].create_event_source_mapping(
            {"EventSourceArn": arn, "FunctionName": "worker"}
        )
        got = _client("lambda").get_event_source_mapping(UUID=made.uuid)
        assert got["State"] == "Enabled"
        _client("sqs").send_message(QueueUrl=url, MessageBody="from moto")
        lam.drain()
        assert _bodies(lam) == ["from moto"]


@mock_aws
def test_moto_delivers_again_after_the_mock() -> None:
    """The queue's own wiring (how moto alone runs a mapping) is back once the mock stops."""
    from moto.sqs.models import sqs_backends

    create_function("worker", HANDLER)
    _, arn = _queue()
    with mock_lambda_async():
        made = _client("lambda").create_event_source_mapping(
            EventSourceArn=arn, FunctionName="worker"
        )
        inside = dict(sqs_backends[ACCOUNT][REGION].queues["jobs"].lambda_event_source_mappings)
    after = sqs_backends[ACCOUNT][REGION].queues["jobs"].lambda_event_source_mappings
    assert inside == {}
    assert [m.uuid for m in after.values()] == [made["UUID"]]


@mock_aws
def test_an_event_invoke_config_made_before_the_mock_applies_inside() -> None:
    create_function("worker", HANDLER)
    _client("lambda").put_function_event_invoke_config(
        FunctionName="worker", MaximumRetryAttempts=0
    )
    with mock_lambda_async():
        got = _client("lambda").get_function_event_invoke_config(FunctionName="worker")
    assert got["MaximumRetryAttempts"] == 0


@mock_aws
def test_an_event_invoke_config_put_inside_stays_in_moto() -> None:
    create_function("worker", HANDLER)
    with mock_lambda_async():
        _client("lambda").put_function_event_invoke_config(
            FunctionName="worker", MaximumEventAgeInSeconds=120
        )
    after = _client("lambda").get_function_event_invoke_config(FunctionName="worker")
    assert after["MaximumEventAgeInSeconds"] == 120


@mock_aws
def test_a_mapping_deleted_with_plain_moto_is_not_delivered_by_moto_inside() -> None:
    """moto's delete leaves the queue wired to the function; the mock never delivers through it."""
    create_function("worker", HANDLER)
    url, arn = _queue()
    lambda_client = _client("lambda")
    made = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker")
    lambda_client.delete_event_source_mapping(UUID=made["UUID"])
    with mock_lambda_async() as lam:
        _client("sqs").send_message(QueueUrl=url, MessageBody="unmapped")
        lam.drain()
        (message,) = _client("sqs").receive_message(
            QueueUrl=url, AttributeNames=["ApproximateReceiveCount"]
        )["Messages"]
        assert lam.invocations("worker") == []
    # This receive is the message's first: moto's own delivery never took it.
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
