"""S3 bucket notifications to Lambda invoke the function asynchronously, through the async queue."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from conftest import (
    REGION,
    S3_RECORD_KEYS,
    failing_with_on_failure,
    function_arn,
    recording_function,
)

from mock_lambda_async.metrics import History

START = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)
BUCKET = "uploads-bucket"

pytestmark = pytest.mark.lambda_async(start=START)


@pytest.fixture
def s3() -> Any:
    client = boto3.client("s3", region_name=REGION)
    return client


def notify(s3: Any, arn: str, events: list[str], **extra: Any) -> None:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"Id": "on-upload-config", "LambdaFunctionArn": arn, "Events": events, **extra}
            ]
        },
    )


def records(received: list[Any]) -> list[dict[str, Any]]:
    return [r["event"]["Records"][0] for r in received]


def test_put_object_invokes_the_function_once(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectCreated:*"])
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"12345")
    lam.drain()
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records(received)] == [
        ("ObjectCreated:Put", "photo.jpg")
    ]


def test_the_invocation_is_asynchronous_and_recorded_with_the_bucket(lam: Any, s3: Any) -> None:
    recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectCreated:*"])
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"12345")
    lam.drain()
    (attempt,) = lam.state(History).invocations("on-upload")
    queued = lam.state(History).timeline().select("queued", function_name="on-upload")
    assert attempt.trigger == "s3"
    assert [entry.detail.get("source") for entry in queued] == [f"arn:aws:s3:::{BUCKET}"]


def test_record_has_the_s3_event_shape(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectCreated:*"])
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"12345")
    lam.drain()
    (record,) = records(received)
    assert list(record) == S3_RECORD_KEYS
    assert (record["eventVersion"], record["eventSource"], record["awsRegion"]) == (
        "2.1",
        "aws:s3",
        REGION,
    )
    assert list(record["s3"]) == ["s3SchemaVersion", "configurationId", "bucket", "object"]
    assert record["s3"]["configurationId"] == "on-upload-config"
    assert list(record["s3"]["bucket"]) == ["name", "ownerIdentity", "arn"]
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{BUCKET}"
    assert list(record["responseElements"]) == ["x-amz-request-id", "x-amz-id-2"]
    assert "principalId" in record["userIdentity"]


def test_event_time_is_virtual(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectCreated:*"])
    lam.advance(2)
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"12345")
    lam.drain()
    assert records(received)[0]["eventTime"] == "2024-05-06T07:08:11.123Z"


def test_object_has_key_size_etag_and_sequencer(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectCreated:*"])
    etag = s3.put_object(Bucket=BUCKET, Key="holiday photos/a=1.jpg", Body=b"12345")["ETag"]
    lam.drain()
    obj = records(received)[0]["s3"]["object"]
    assert list(obj) == ["key", "size", "eTag", "sequencer"]
    # The key is URL-encoded (a space as "+", "=" as "%3D"; "/" stays), as S3 sends it.
    assert (obj["key"], obj["size"], obj["eTag"]) == (
        "holiday+photos/a%3D1.jpg",
        5,
        etag.strip('"'),
    )


def test_sequencer_grows_with_each_event_on_a_key(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectCreated:*"])
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"2")
    lam.drain()
    first, second = (r["s3"]["object"]["sequencer"] for r in records(received))
    assert second > first


def test_versioned_bucket_events_carry_the_version_id(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectCreated:*"])
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"1")["VersionId"]
    lam.drain()
    assert records(received)[0]["s3"]["object"]["versionId"] == version


def test_prefix_and_suffix_filters_select_the_keys(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    rules = [{"Name": "prefix", "Value": "images/"}, {"Name": "suffix", "Value": ".jpg"}]
    notify(
        s3,
        function_arn("on-upload"),
        ["s3:ObjectCreated:*"],
        Filter={"Key": {"FilterRules": rules}},
    )
    for key in ("images/a.jpg", "images/a.png", "docs/a.jpg"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"1")
    lam.drain()
    assert [r["s3"]["object"]["key"] for r in records(received)] == ["images/a.jpg"]


def test_event_names_select_the_operations(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectRemoved:*"])
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"1")
    s3.delete_object(Bucket=BUCKET, Key="photo.jpg")
    lam.drain()
    assert [r["eventName"] for r in records(received)] == ["ObjectRemoved:Delete"]


def test_removal_events_describe_no_size_or_etag(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectRemoved:*"])
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"1")
    s3.delete_object(Bucket=BUCKET, Key="photo.jpg")
    lam.drain()
    assert list(records(received)[0]["s3"]["object"]) == ["key", "sequencer"]


def test_an_alias_destination_invokes_the_alias(lam: Any, s3: Any) -> None:
    received = recording_function(lam, "on-upload", Publish=True)
    boto3.client("lambda", region_name=REGION).create_alias(
        FunctionName="on-upload", Name="live", FunctionVersion="1"
    )
    notify(s3, function_arn("on-upload") + ":live", ["s3:ObjectCreated:*"])
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"1")
    lam.drain()
    assert [r["invoked_as"] for r in received] == [function_arn("on-upload") + ":live"]


def test_a_deleted_function_drops_the_notification_and_notes_it(lam: Any, s3: Any) -> None:
    recording_function(lam, "on-upload")
    notify(s3, function_arn("on-upload"), ["s3:ObjectCreated:*"])
    boto3.client("lambda", region_name=REGION).delete_function(FunctionName="on-upload")
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=b"1")
    lam.drain()
    (dropped,) = lam.state(History).timeline().select("dropped", function_name="on-upload")
    assert "ResourceNotFoundException" in dropped.detail["reason"]
    assert dropped.detail["source"] == f"arn:aws:s3:::{BUCKET}"


def test_a_failing_function_event_reaches_its_on_failure_destination(
    lam: Any, s3: Any, sqs: Any
) -> None:
    url, _ = failing_with_on_failure(lam, sqs, "broken")
    notify(s3, function_arn("broken"), ["s3:ObjectCreated:*"])
    s3.put_object(Bucket=BUCKET, Key="poison.bin", Body=b"1")
    lam.drain()
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "poison.bin"
