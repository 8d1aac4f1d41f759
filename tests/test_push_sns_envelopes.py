"""What SNS puts in the notifications the mock causes: Lambda records, SQS envelopes, attributes."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from conftest import (
    REGION,
    SNS_SQS_ENVELOPE_KEYS,
    client,
    function_arn,
    make_queue,
    recording_function,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from test_esm_streams import kinesis_stream, map_stream, put

ACCOUNT = "123456789012"


@pytest.fixture
def sns() -> Any:
    return boto3.client("sns", region_name=REGION)


def _verify(notification: dict[str, Any], cert_url: str, algorithm: Any) -> None:
    """Check the signature against the certificate moto serves (nothing leaves the process)."""
    pem = sns_backends[DEFAULT_ACCOUNT_ID][REGION]._message_public_keys[cert_url.rsplit("/")[-1]]
    names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    signed = "".join(f"{k}\n{notification[k]}\n" for k in names if notification.get(k) is not None)
    x509.load_pem_x509_certificate(pem).public_key().verify(  # type: ignore[call-arg,union-attr]
        base64.b64decode(notification["Signature"]), signed.encode(), padding.PKCS1v15(), algorithm
    )


def test_lambda_record_says_signature_version_1_for_a_version_2_topic(lam: Any, sns: Any) -> None:
    # localstack tests/aws/services/sns/test_sns.snapshot.json,
    # TestSNSSubscriptionLambda::test_publish_lambda_verify_signature[2]: "SignatureVersion": "1"
    # in the Lambda event, the signature made with version 2 (SHA256), as the test's comment says.
    events = recording_function(lam, "subscriber")
    topic_arn = sns.create_topic(Name="v2", Attributes={"SignatureVersion": "2"})["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn("subscriber"))
    sns.publish(TopicArn=topic_arn, Message="Hello world.", Subject="[Subject] v2")
    lam.drain()
    notification = events[0]["event"]["Records"][0]["Sns"]
    assert notification["SignatureVersion"] == "1"
    _verify(notification, notification["SigningCertUrl"], hashes.SHA256())


def _failing_into_topic(lam: Any, sns: Any, sqs: Any) -> tuple[str, str]:
    """Function ``orders`` failing into an SNS topic (its DLQ) a queue subscribes to.

    Returns the queue's URL and the queue subscription's ARN.
    """
    topic_arn = sns.create_topic(Name="dead-letters")["TopicArn"]
    url, queue_arn = make_queue(sqs, "dead-letter-copies")
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def fails(event: Any, context: Any) -> None:
        raise RuntimeError("boom")

    lam.add_function("orders", fails, DeadLetterConfig={"TargetArn": topic_arn})
    client("lambda").put_function_event_invoke_config(FunctionName="orders", MaximumRetryAttempts=0)
    client("lambda").invoke(FunctionName="orders", InvocationType="Event", Payload=b'{"a": 1}')
    lam.drain()
    return url, subscription["SubscriptionArn"]


def test_dlq_topic_envelope_has_aws_keys_signature_version_1_and_real_unsubscribe_url(
    lam: Any, sns: Any, sqs: Any
) -> None:
    url, subscription_arn = _failing_into_topic(lam, sns, sqs)
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    body = json.loads(message["Body"])
    # Key order and SignatureVersion "1": localstack test_sns.snapshot.json,
    # TestSNSSubscriptionLambda::test_redrive_policy_lambda_subscription ("messages"), and
    # Powertools tests/events/snsSqsEvent.json (an SNS body as SQS received it).
    assert list(body) == SNS_SQS_ENVELOPE_KEYS
    assert body["SignatureVersion"] == "1"
    assert body["UnsubscribeURL"] == (
        f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
    )
    assert json.loads(body["Message"]) == {"a": 1}
    _verify(body, body["SigningCertURL"], hashes.SHA1())


def test_stream_on_failure_topic_envelope_names_its_subscription(lam: Any, sqs: Any) -> None:
    # The same envelope (localstack test_sns.snapshot.json and Powertools snsSqsEvent.json, as
    # above) for the record of a Kinesis mapping's OnFailure topic.
    def fails(event: Any, context: Any) -> None:
        raise RuntimeError("cannot handle it")

    lam.add_function("consumer", fails)
    stream = kinesis_stream("envelope-stream")
    sns = client("sns")
    topic_arn = sns.create_topic(Name="stream-failures")["TopicArn"]
    url, queue_arn = make_queue(sqs, "stream-failure-copies")
    subscription_arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)[
        "SubscriptionArn"
    ]
    map_stream(
        "consumer",
        stream,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": topic_arn}},
    )
    put(stream, "a")
    lam.drain()
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    body = json.loads(message["Body"])
    assert (body["SignatureVersion"], body["UnsubscribeURL"]) == (
        "1",
        f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
    )
    assert json.loads(body["Message"])["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_envelope_text_is_indented_as_sns_writes_it(lam: Any, sns: Any, sqs: Any) -> None:
    url, _ = _failing_into_topic(lam, sns, sqs)
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    # Powertools tests/events/snsSqsEvent.json: '{\n  "Type" : "Notification",\n  "MessageId" : ...'
    assert message["Body"].startswith('{\n  "Type" : "Notification",\n  "MessageId" : "')


def test_subscription_attributes_name_the_subscription_principal(sns: Any, lam: Any) -> None:
    topic_arn = sns.create_topic(Name="principal")["TopicArn"]
    arn = sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint="arn:aws:lambda:x")[
        "SubscriptionArn"
    ]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    # localstack test_sns.snapshot.json subscription attributes and the SNS developer guide's
    # GetSubscriptionAttributes example: "SubscriptionPrincipal": "arn:aws:iam::<account>:user/..."
    assert attributes["SubscriptionPrincipal"] == f"arn:aws:iam::{ACCOUNT}:user/moto"
