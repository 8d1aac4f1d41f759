"""Every kind of event the mock generates, held against a real AWS sample of that kind.

Samples: ``tests/data/aws_event_samples`` (copies of Powertools ``tests/events/*.json`` and
aws-lambda-java-libs test resources; sources in its ``SOURCES.md``). For each kind the event the
function received must have the sample's keys (in the sample's order: AWS writes these records
with a fixed layout), the same value types, and strings of the same format (timestamps, ARNs,
UUIDs, digits); user data (bodies, images, attributes, payloads) is compared by type only. Then
Powertools' parser model and data class for the kind must accept the event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import (
    DynamoDBStreamEvent,
    EventBridgeEvent,
    KinesisStreamEvent,
    S3Event,
    SNSEvent,
    SQSEvent,
)
from aws_lambda_powertools.utilities.parser import envelopes, models, parse
from conftest import REGION, client, function_arn, make_queue, recording_function
from pydantic import BaseModel
from test_esm_streams import kinesis_stream, map_stream, map_with_on_failure, put, queued_records
from test_esm_streams_dynamodb import dynamodb_stream

#: Real events captured from AWS, copied with their sources (``SOURCES.md``) into the test data.
SAMPLES = Path(__file__).parent / "data" / "aws_event_samples"

#: Format classes of string values, most specific first.
_FORMATS = (
    ("iso-ms", re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")),
    ("iso-s", re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")),
    (
        # Any letters: the developer guide masks ids as "316aa6d0-8154-xmpl-9af7-...".
        "uuid",
        re.compile(r"[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{12}"),
    ),
    ("arn", re.compile(r"arn:aws[a-z-]*:.*")),
    ("url", re.compile(r"https://.*")),
    # S3's sequencer: 18 upper-case hexadecimal digits.
    ("hex18", re.compile(r"[0-9A-F]{18}")),
    ("digits", re.compile(r"\d+")),
)


def string_format(value: str) -> str:
    return next((name for name, pattern in _FORMATS if pattern.fullmatch(value)), "text")


def mismatches(
    mock: Any,
    sample: Any,
    opaque: frozenset[str],
    optional: frozenset[str],
    path: str = "$",
    extra: frozenset[str] = frozenset(),
    unordered: frozenset[str] = frozenset(),
) -> list[str]:
    """How ``mock`` differs from ``sample`` in keys, key order, value types and string formats.

    ``optional`` paths may be missing from ``mock``; ``extra`` paths may be in ``mock`` only.
    The order of keys is compared except under ``unordered`` paths.
    """
    name = path.rsplit(".", 1)[-1]
    kind = "number" if isinstance(sample, int | float) and not isinstance(sample, bool) else None
    mock_kind = "number" if isinstance(mock, int | float) and not isinstance(mock, bool) else None
    if kind != mock_kind or (kind is None and type(mock) is not type(sample)):
        return [f"{path}: {type(mock).__name__}, sample has {type(sample).__name__}"]
    if name in opaque:
        return []
    if isinstance(sample, dict):
        problems = []
        expected = [k for k in sample if k in mock or f"{path}.{k}" not in optional]
        keys = [k for k in mock if f"{path}.{k}" not in extra]
        if path in unordered:
            keys, expected = sorted(keys), sorted(expected)
        if keys != expected:
            problems.append(f"{path}: keys {keys}, sample has {expected}")
        for key in expected:
            if key in mock:
                problems += mismatches(
                    mock[key], sample[key], opaque, optional, f"{path}.{key}", extra, unordered
                )
        return problems
    if isinstance(sample, list):
        if sample and mock:
            return mismatches(mock[0], sample[0], opaque, optional, f"{path}[0]", extra, unordered)
        return []
    if isinstance(sample, str) and string_format(mock) != string_format(sample):
        return [f"{path}: {mock!r} ({string_format(mock)}), sample {sample!r}"]
    return []


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


# -- producing each kind through boto3 -------------------------------------------------------------
def received(lam: Any, name: str = "consumer") -> dict[str, Any]:
    lam.drain()
    events = [a.event for a in lam.invocations(name)]
    assert events, f"{name} was not invoked"
    event: dict[str, Any] = events[0]
    return event


def sqs_event(lam: Any) -> dict[str, Any]:
    lam.add_function("consumer", lambda event, context: None)
    url, arn = make_queue(client("sqs"), "sample-queue")
    client("lambda").create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn)
    client("sqs").send_message(
        QueueUrl=url,
        MessageBody="Test message.",
        MessageAttributes={"testAttr": {"DataType": "Number", "StringValue": "100"}},
    )
    return received(lam)


def kinesis_event(lam: Any) -> dict[str, Any]:
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream("sample-stream")
    map_stream("consumer", stream)
    put(stream, "Hello, this is a test.", key="1")
    return received(lam)


def dynamodb_event(lam: Any) -> dict[str, Any]:
    lam.add_function("consumer", lambda event, context: None)
    stream = dynamodb_stream(table="sample-table")
    map_stream("consumer", stream)
    client("dynamodb").put_item(
        TableName="sample-table", Item={"id": {"S": "101"}, "Message": {"S": "New item!"}}
    )
    return received(lam)


def sns_event(lam: Any) -> dict[str, Any]:
    recording_function(lam, "consumer")
    sns = client("sns")
    topic = sns.create_topic(Name="sns-lambda")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn("consumer"))
    sns.publish(
        TopicArn=topic,
        Message="Hello from SNS!",
        Subject="TestInvoke",
        MessageAttributes={"Test": {"DataType": "String", "StringValue": "TestString"}},
    )
    return received(lam)


def eventbridge_event(lam: Any) -> dict[str, Any]:
    recording_function(lam, "consumer")
    events = client("events")
    events.put_rule(Name="sample-rule", EventPattern=json.dumps({"source": ["aws.ec2"]}))
    events.put_targets(Rule="sample-rule", Targets=[{"Id": "fn", "Arn": function_arn("consumer")}])
    events.put_events(
        Entries=[
            {
                "Source": "aws.ec2",
                "DetailType": "EC2 Instance State-change Notification",
                "Detail": json.dumps({"instance_id": "i-1234567890abcdef0", "state": "terminated"}),
                "Resources": [f"arn:aws:ec2:{REGION}:123456789012:instance/i-1234567890abcdef0"],
            }
        ]
    )
    return received(lam)


def s3_event(lam: Any) -> dict[str, Any]:
    recording_function(lam, "consumer")
    s3 = client("s3")
    s3.create_bucket(Bucket="sample-bucket")
    s3.put_bucket_notification_configuration(
        Bucket="sample-bucket",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": "828aa6fc-f7b5-4305-8584-487c791949c1",
                    "LambdaFunctionArn": function_arn("consumer"),
                    "Events": ["s3:ObjectCreated:*"],
                }
            ]
        },
    )
    s3.put_object(Bucket="sample-bucket", Key="b21b84d653bb07b05b1e6b33684dc11b", Body=b"x")
    return received(lam)


def destination_event(lam: Any) -> dict[str, Any]:
    recording_function(lam, "consumer")

    def fails(event: Any, context: Any) -> None:
        raise RuntimeError("Failure from event, Success = false, I am failing!")

    lam.add_function("event-destinations", fails)
    lam_client = client("lambda")
    lam_client.put_function_event_invoke_config(
        FunctionName="event-destinations",
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": function_arn("consumer")}},
    )
    lam_client.invoke(
        FunctionName="event-destinations", InvocationType="Event", Payload=b'{"Success": false}'
    )
    return received(lam)


def dynamodb_on_failure_event(lam: Any) -> dict[str, Any]:
    def fails(event: Any, context: Any) -> None:
        raise RuntimeError("cannot handle it")

    lam.add_function("consumer", fails)
    stream = dynamodb_stream(table="failing-table")
    url = map_with_on_failure("consumer", stream, MaximumRetryAttempts=0)
    client("dynamodb").put_item(TableName="failing-table", Item={"id": {"S": "1"}})
    lam.drain()
    (record,) = queued_records(url)
    return record


def _queue_feeding_consumer(lam: Any, name: str) -> str:
    lam.add_function("consumer", lambda event, context: None)
    _, arn = make_queue(client("sqs"), name)
    client("lambda").create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn)
    return arn


def s3_sqs_event(lam: Any) -> dict[str, Any]:
    queue = _queue_feeding_consumer(lam, "s3-sample-queue")
    s3 = client("s3")
    s3.create_bucket(Bucket="xxx-sample")
    s3.put_bucket_versioning(Bucket="xxx-sample", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="xxx-sample",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    lam.drain()  # the s3:TestEvent S3 sends when the configuration is put
    s3.put_object(Bucket="xxx-sample", Key="test.pdf", Body=b"%PDF")
    lam.drain()
    batches = [a.event for a in lam.invocations("consumer")]
    event: dict[str, Any] = batches[-1]
    return event


def sns_sqs_event(lam: Any) -> dict[str, Any]:
    queue = _queue_feeding_consumer(lam, "sns-sample-queue")
    sns = client("sns")
    topic = sns.create_topic(Name="powertools265")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    sns.publish(TopicArn=topic, Message=json.dumps({"message": "hello world", "username": "x"}))
    return received(lam)


# -- what Powertools makes of them ------------------------------------------------------------------
def _read_all(items: Any, read: Callable[[Any], Any]) -> None:
    for item in items:
        read(item)


@dataclass(frozen=True)
class Kind:
    name: str
    produce: Callable[[Any], dict[str, Any]]
    sample: str
    #: Powertools' check; ``None`` where it has neither a model nor a data class for the kind.
    powertools: Callable[[dict[str, Any]], Any] | None
    #: Keys whose values are user data: compared by type only.
    opaque: frozenset[str] = frozenset()
    #: Paths the sample has and a mock event may leave out (documented as optional).
    optional: frozenset[str] = frozenset()
    #: Paths recorded against AWS that the (documentation) sample leaves out.
    extra: frozenset[str] = frozenset()
    #: Paths whose keys come in no fixed order (the samples of the kind disagree).
    unordered: frozenset[str] = frozenset()
    #: Top-level values of the sample replaced by those of the source it was copied from.
    corrections: tuple[tuple[str, Any], ...] = ()
    #: Members of the record holding JSON, to parse and compare as well.
    bodies: tuple[str, ...] = ()


def _sqs_powertools(event: dict[str, Any]) -> None:
    parse(event, model=models.SqsModel)
    _read_all(SQSEvent(event).records, lambda r: (r.body, r.attributes.sent_timestamp))


def _s3_sqs_powertools(event: dict[str, Any]) -> None:
    parse(event, model=models.S3SqsEventNotificationModel)
    _sqs_powertools(event)


class Greeting(BaseModel):
    """The message published in ``sns_sqs_event`` (and in the sample)."""

    message: str
    username: str


def _sns_sqs_powertools(event: dict[str, Any]) -> None:
    # The envelope reads each body as SnsNotificationModel, then its Message as the model.
    (greeting,) = parse(event, model=Greeting, envelope=envelopes.SnsSqsEnvelope)
    assert greeting == Greeting(message="hello world", username="x")
    _sqs_powertools(event)


KINDS = [
    Kind(
        "sqs",
        sqs_event,
        "powertools/sqsEvent.json",
        _sqs_powertools,
        opaque=frozenset({"messageAttributes", "body"}),
        # Recorded for a message with attributes (localstack test_lambda_integration_sqs
        # .snapshot.json, test_message_body_and_attributes_passed_correctly).
        extra=frozenset({"$.md5OfMessageAttributes"}),
    ),
    Kind(
        "kinesis",
        kinesis_event,
        "powertools/kinesisStreamEvent.json",
        lambda e: (
            parse(e, model=models.KinesisDataStreamModel),
            _read_all(KinesisStreamEvent(e).records, lambda r: r.kinesis.data_as_text()),
        ),
        opaque=frozenset({"data"}),
    ),
    Kind(
        "dynamodb",
        dynamodb_event,
        # aws-lambda-go's sample has the key order of the developer guide's example; Powertools'
        # dynamoStreamEvent.json and aws-lambda-java-libs' dynamo_event.json each have another.
        "aws-lambda-go/dynamodb-event.json",
        lambda e: (
            parse(e, model=models.DynamoDBStreamModel),
            _read_all(DynamoDBStreamEvent(e).records, lambda r: r.dynamodb.new_image),
        ),
        opaque=frozenset({"Keys", "NewImage", "OldImage"}),
        # Only for items the TTL process deletes [DOCS time-to-live-ttl-streams].
        optional=frozenset({"$.userIdentity"}),
        unordered=frozenset({"$.dynamodb"}),
    ),
    Kind(
        "sns",
        sns_event,
        "powertools/snsEvent.json",
        lambda e: (
            parse(e, model=models.SnsModel),
            _read_all(SNSEvent(e).records, lambda r: r.sns.message_attributes),
        ),
        opaque=frozenset({"MessageAttributes", "Message"}),
    ),
    Kind(
        "eventbridge",
        eventbridge_event,
        "powertools/eventBridgeEvent.json",
        lambda e: (parse(e, model=models.EventBridgeModel), EventBridgeEvent(e).detail),
        opaque=frozenset({"detail"}),
        # Only events replayed from an archive carry it [DOCS eb-replay-archived-event].
        optional=frozenset({"$.replay-name"}),
    ),
    Kind(
        "s3",
        s3_event,
        "powertools/s3Event.json",
        lambda e: (
            parse(e, model=models.S3Model),
            _read_all(S3Event(e).records, lambda r: r.s3.get_object.key),
        ),
    ),
    Kind(
        "destination",
        destination_event,
        "aws-lambda-java-libs/lambda_destination_event.json",
        None,
        # The payloads are the event and the runtime's error (the sample's is Node.js; Python's
        # adds "requestId").
        opaque=frozenset({"requestPayload", "responsePayload"}),
    ),
    Kind(
        "dynamodb-on-failure",
        dynamodb_on_failure_event,
        "powertools/dynamoStreamLambdaInvocationEvent.json",
        lambda e: parse(e, model=models.DynamoDBStreamLambdaOnFailureDestinationModel),
        # Powertools copied the developer guide's example (services-dynamodb-errors) and dropped
        # the milliseconds of its "timestamp": "2019-11-14T00:13:49.717Z".
        corrections=(("timestamp", "2019-11-14T00:13:49.717Z"),),
    ),
    Kind(
        "s3-sqs",
        s3_sqs_event,
        "powertools/s3SqsEvent.json",
        _s3_sqs_powertools,
        # versionId: moto's S3 version ids are UUIDs (AWS's: 32 URL-safe characters); the event
        # carries the id the S3 API answers, so the two agree.
        opaque=frozenset({"body", "messageAttributes", "versionId"}),
        # AWS records it as null and also leaves it out (../reference/aws-behaviour.md, (c)).
        extra=frozenset({"$.md5OfMessageAttributes"}),
        bodies=("body",),
    ),
    Kind(
        "sns-sqs",
        sns_sqs_event,
        "powertools/snsSqsEvent.json",
        _sns_sqs_powertools,
        opaque=frozenset({"body", "messageAttributes", "Message"}),
        extra=frozenset({"$.md5OfMessageAttributes"}),
        bodies=("body",),
    ),
]


def _first_record(event: dict[str, Any]) -> dict[str, Any]:
    records = event.get("Records")
    return records[0] if isinstance(records, list) else event


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_event_has_the_samples_keys_types_and_formats(lam: Any, kind: Kind) -> None:
    event = kind.produce(lam)
    expected = {**sample(kind.sample), **dict(kind.corrections)}
    problems = mismatches(
        _first_record(event),
        _first_record(expected),
        kind.opaque,
        kind.optional,
        extra=kind.extra,
        unordered=kind.unordered,
    )
    for member in kind.bodies:
        mock_body = json.loads(_first_record(event)[member])
        sample_body = json.loads(_first_record(expected)[member])
        problems += mismatches(
            _first_record(mock_body),
            _first_record(sample_body),
            kind.opaque - {"body"},
            kind.optional,
            f"$.{member}",
        )
    assert problems == []


# Powertools has no model or data class of an async invocation record (only of the stream
# OnFailure record, "dynamodb-on-failure").
_PARSED = [k for k in KINDS if k.powertools is not None]


@pytest.mark.parametrize("kind", _PARSED, ids=[k.name for k in _PARSED])
def test_powertools_accepts_the_event(lam: Any, kind: Kind) -> None:
    assert kind.powertools is not None
    kind.powertools(kind.produce(lam))
