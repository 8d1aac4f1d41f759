"""Which S3 events fire, what queues receive, and the check of a notification configuration."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import S3SqsEventNotificationModel
from botocore.exceptions import ClientError
from conftest import REGION, S3_RECORD_KEYS, function_arn, make_queue, recording_function

BUCKET = "events-bucket"


@pytest.fixture
def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def notify_function(lam: Any, s3: Any, events: list[str], versioned: bool = False) -> list[Any]:
    """Function ``on-change`` notified of ``events`` on ``BUCKET``; returns the names it got."""
    received = recording_function(lam, "on-change")
    s3.create_bucket(Bucket=BUCKET)
    if versioned:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": function_arn("on-change"), "Events": events}
            ]
        },
    )
    return received


def event_names(received: list[Any]) -> list[str]:
    return [r["event"]["Records"][0]["eventName"] for r in received]


def test_multipart_upload_fires_only_complete_multipart_upload(lam: Any, s3: Any) -> None:
    # "s3:ObjectCreated:CompleteMultipartUpload" is the event of a multipart upload (S3 user
    # guide, notification-how-to-event-types-and-destinations); moto 5.2.1 adds a Put.
    received = notify_function(lam, s3, ["s3:ObjectCreated:*", "s3:ObjectTagging:*"])
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="big.bin")["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="big.bin",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    lam.drain()
    assert event_names(received) == ["ObjectCreated:CompleteMultipartUpload"]


def test_delete_on_a_versioned_bucket_fires_delete_marker_created(lam: Any, s3: Any) -> None:
    # "s3:ObjectRemoved:DeleteMarkerCreated": a delete without a version on a versioned bucket
    # (S3 user guide, notification-how-to-event-types-and-destinations); moto 5.2.1 fires nothing.
    received = notify_function(lam, s3, ["s3:ObjectRemoved:*"], versioned=True)
    s3.put_object(Bucket=BUCKET, Key="doc.txt", Body=b"v1")
    marker = s3.delete_object(Bucket=BUCKET, Key="doc.txt")["VersionId"]
    lam.drain()
    assert event_names(received) == ["ObjectRemoved:DeleteMarkerCreated"]
    obj = received[0]["event"]["Records"][0]["s3"]["object"]
    # Powertools tests/events/s3EventDeleteObject.json: a removal names key, versionId, sequencer.
    assert list(obj) == ["key", "versionId", "sequencer"]
    assert obj["versionId"] == marker


def test_put_object_with_tags_fires_no_tagging_event(lam: Any, s3: Any) -> None:
    received = notify_function(lam, s3, ["s3:ObjectTagging:*"])
    s3.put_object(Bucket=BUCKET, Key="tagged.txt", Body=b"x", Tagging="team=a")
    lam.drain()
    assert event_names(received) == []


def test_put_object_tagging_fires_its_event(lam: Any, s3: Any) -> None:
    received = notify_function(lam, s3, ["s3:ObjectTagging:*"])
    s3.put_object(Bucket=BUCKET, Key="tagged.txt", Body=b"x")
    s3.put_object_tagging(
        Bucket=BUCKET, Key="tagged.txt", Tagging={"TagSet": [{"Key": "team", "Value": "a"}]}
    )
    lam.drain()
    assert event_names(received) == ["ObjectTagging:Put"]


def queue_record(lam: Any, s3: Any, sqs: Any, key: str) -> dict[str, Any]:
    """Put ``key`` into a bucket notifying a queue; returns the queue's message as an SQS record."""
    url, queue_arn = make_queue(sqs, "s3-events")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    sqs.purge_queue(QueueUrl=url)  # the s3:TestEvent S3 sends when the configuration is put
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"hello")
    (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message["Attributes"],
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def test_s3_to_sqs_body_carries_what_aws_sends(lam: Any, s3: Any, sqs: Any) -> None:
    body = json.loads(queue_record(lam, s3, sqs, "a b/c.txt")["body"])
    (record,) = body["Records"]
    # Powertools tests/events/s3SqsEvent.json (a body SQS received from S3).
    assert list(record) == S3_RECORD_KEYS
    assert list(record["s3"]["bucket"]) == ["name", "ownerIdentity", "arn"]
    assert list(record["s3"]["object"]) == ["key", "size", "eTag", "sequencer"]
    assert record["s3"]["object"]["key"] == "a+b/c.txt"


def test_s3_to_sqs_body_is_compact_json(lam: Any, s3: Any, sqs: Any) -> None:
    # s3SqsEvent.json's body: '{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3",...'
    body = queue_record(lam, s3, sqs, "photo.jpg")["body"]
    assert body.startswith('{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3",')


def test_powertools_s3_sqs_model_parses_the_queue_record(lam: Any, s3: Any, sqs: Any) -> None:
    record = queue_record(lam, s3, sqs, "a b/c.txt")
    parsed = S3SqsEventNotificationModel.model_validate({"Records": [record]})
    (notification,) = parsed.Records[0].body.Records
    assert notification.s3.object.key == "a+b/c.txt"


def put_lambda_configuration(s3: Any, arn: str, **extra: Any) -> Any:
    s3.create_bucket(Bucket=BUCKET)
    return s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"Id": "id123", "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
        **extra,
    )


def s3_error(action: Any) -> tuple[dict[str, Any], int]:
    with pytest.raises(ClientError) as raised:
        action()
    return raised.value.response["Error"], raised.value.response["ResponseMetadata"][
        "HTTPStatusCode"
    ]


@pytest.mark.parametrize("skip", [False, True])
def test_a_destination_that_is_no_lambda_arn_cannot_be_parsed(
    lam: Any, s3: Any, skip: bool
) -> None:
    # localstack tests/aws/services/s3/test_s3_notifications_lambda.snapshot.json,
    # test_invalid_lambda_arn: "invalid_not_skip" and "invalid_skip".
    error, status = s3_error(
        lambda: put_lambda_configuration(s3, "invalid-queue", SkipDestinationValidation=skip)
    )
    assert status == 400
    assert {k: error[k] for k in ("Code", "Message", "ArgumentName", "ArgumentValue")} == {
        "Code": "InvalidArgument",
        "Message": "The ARN could not be parsed",
        "ArgumentName": "CloudFunction",
        "ArgumentValue": "invalid-queue",
    }


def test_a_missing_function_is_refused(lam: Any, s3: Any) -> None:
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:my-lambda"
    error, status = s3_error(lambda: put_lambda_configuration(s3, arn))
    # test_invalid_lambda_arn: "lambda-does-not-exist".
    assert status == 400
    assert {k: error[k] for k in ("Code", "Message", "ArgumentName1", "ArgumentValue1")} == {
        "Code": "InvalidArgument",
        "Message": "Unable to validate the following destination configurations",
        "ArgumentName1": f"{arn}, null",
        "ArgumentValue1": f"Not authorized to invoke function [{arn}]",
    }


def test_skipping_destination_validation_accepts_a_missing_function(lam: Any, s3: Any) -> None:
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:my-lambda"
    put_lambda_configuration(s3, arn, SkipDestinationValidation=True)
    # test_invalid_lambda_arn: "skip_destination_validation" reads the configuration back.
    configuration = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    assert [c["LambdaFunctionArn"] for c in configuration["LambdaFunctionConfigurations"]] == [arn]
