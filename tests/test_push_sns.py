"""SNS ``lambda`` subscriptions invoke the function asynchronously, through the async queue."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from conftest import (
    REGION,
    SNS_SQS_ENVELOPE_KEYS,
    failing_with_on_failure,
    function_arn,
    make_queue,
    recording_function,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from mock_lambda_async import async_queue, mock_lambda_async
from mock_lambda_async.event_sources.sns import sns_retry_delay
from mock_lambda_async.interception import AwsError
from mock_lambda_async.metrics import History

START = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)

pytestmark = pytest.mark.lambda_async(start=START)


@pytest.fixture
def sns() -> Any:
    return boto3.client("sns", region_name=REGION)


def subscribe(sns: Any, endpoint: str, topic: str = "orders", **attributes: str) -> tuple[str, str]:
    """Subscribe ``endpoint`` to ``topic``, then set each of ``attributes`` on the subscription."""
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=endpoint)
    for name, value in attributes.items():
        sns.set_subscription_attributes(
            SubscriptionArn=subscription["SubscriptionArn"],
            AttributeName=name,
            AttributeValue=value,
        )
    return topic_arn, subscription["SubscriptionArn"]


def subscribed_function(lam: Any, sns: Any, **attributes: str) -> tuple[list[Any], str]:
    """Function ``subscriber``, recording its events, subscribed to topic ``orders``.

    Returns its events and the topic's ARN.
    """
    events = recording_function(lam, "subscriber")
    topic_arn, _ = subscribe(sns, function_arn("subscriber"), **attributes)
    return events, topic_arn


def sns_record(events: list[Any]) -> dict[str, Any]:
    assert len(events) == 1
    record: dict[str, Any] = events[0]["event"]["Records"][0]
    return record


def test_publish_invokes_the_subscribed_function_once(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns)
    sns.publish(TopicArn=topic_arn, Message="hello")
    lam.drain()
    assert [e["event"]["Records"][0]["Sns"]["Message"] for e in events] == ["hello"]


def test_the_invocation_is_asynchronous_and_recorded_with_its_source(lam: Any, sns: Any) -> None:
    _, topic_arn = subscribed_function(lam, sns)
    sns.publish(TopicArn=topic_arn, Message="hello")
    lam.drain()
    (attempt,) = lam.state(History).invocations("subscriber")
    queued = lam.state(History).timeline().select("queued", function_name="subscriber")
    assert attempt.trigger == "sns"
    assert [entry.detail.get("source") for entry in queued] == [topic_arn]


def test_nothing_runs_until_the_clock_moves(sns: Any) -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        events, topic_arn = subscribed_function(lam, sns)
        sns.publish(TopicArn=topic_arn, Message="later")
        assert events == []
        lam.drain()
        assert len(events) == 1


def test_record_has_the_sns_event_shape(lam: Any, sns: Any) -> None:
    events = recording_function(lam, "subscriber")
    topic_arn, subscription_arn = subscribe(sns, function_arn("subscriber"))
    message_id = sns.publish(TopicArn=topic_arn, Message="hello", Subject="greeting")["MessageId"]
    lam.drain()
    record = sns_record(events)
    assert list(record) == ["EventVersion", "EventSubscriptionArn", "EventSource", "Sns"]
    assert list(record["Sns"]) == [
        "SignatureVersion",
        "Timestamp",
        "Signature",
        "SigningCertUrl",
        "MessageId",
        "Message",
        "MessageAttributes",
        "Type",
        "UnsubscribeUrl",
        "TopicArn",
        "Subject",
    ]
    assert record["EventVersion"] == "1.0"
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"] == subscription_arn
    assert record["Sns"]["MessageId"] == message_id
    assert record["Sns"]["Type"] == "Notification"
    assert record["Sns"]["TopicArn"] == topic_arn
    assert record["Sns"]["Subject"] == "greeting"
    assert record["Sns"]["SignatureVersion"] == "1"
    assert record["Sns"]["UnsubscribeUrl"] == (
        f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
    )


def test_timestamp_is_the_virtual_publish_time(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns)
    lam.advance(1.5)
    sns.publish(TopicArn=topic_arn, Message="hello")
    lam.drain()
    assert sns_record(events)["Sns"]["Timestamp"] == "2024-05-06T07:08:10.623Z"


def test_subject_is_null_and_attributes_empty_when_not_given(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns)
    sns.publish(TopicArn=topic_arn, Message="plain")
    lam.drain()
    notification = sns_record(events)["Sns"]
    assert notification["Subject"] is None
    assert notification["MessageAttributes"] == {}


def test_message_attributes_arrive_as_type_and_value(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns)
    sns.publish(
        TopicArn=topic_arn,
        Message="hello",
        MessageAttributes={
            "colour": {"DataType": "String", "StringValue": "blue"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
        },
    )
    lam.drain()
    assert sns_record(events)["Sns"]["MessageAttributes"] == {
        "colour": {"Type": "String", "Value": "blue"},
        "count": {"Type": "Number", "Value": "3"},
        "blob": {"Type": "Binary", "Value": base64.b64encode(b"\x02\x03\x04").decode()},
    }


def test_signature_verifies_against_the_signing_certificate(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns)
    sns.publish(TopicArn=topic_arn, Message="signed", Subject="s")
    lam.drain()
    n = sns_record(events)["Sns"]
    # The certificate moto serves at SigningCertUrl (read from moto, so nothing leaves the process).
    key_name = n["SigningCertUrl"].rsplit("/", 1)[1]
    pem = sns_backends[DEFAULT_ACCOUNT_ID][REGION]._message_public_keys[key_name]
    cert = x509.load_pem_x509_certificate(pem)
    signed = "".join(
        f"{key}\n{n[key]}\n"
        for key in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    )
    cert.public_key().verify(  # type: ignore[call-arg,union-attr]
        base64.b64decode(n["Signature"]), signed.encode(), padding.PKCS1v15(), hashes.SHA1()
    )


def test_message_structure_json_delivers_the_lambda_entry(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns)
    sns.publish(
        TopicArn=topic_arn,
        MessageStructure="json",
        Message=json.dumps({"default": "for everyone", "lambda": "for lambda"}),
    )
    lam.drain()
    assert sns_record(events)["Sns"]["Message"] == "for lambda"


def test_filter_policy_drops_a_message_whose_attributes_do_not_match(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns, FilterPolicy=json.dumps({"colour": ["blue"]}))
    sns.publish(
        TopicArn=topic_arn,
        Message="red one",
        MessageAttributes={"colour": {"DataType": "String", "StringValue": "red"}},
    )
    lam.drain()
    assert events == []


def test_filter_policy_delivers_a_message_whose_attributes_match(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns, FilterPolicy=json.dumps({"colour": ["blue"]}))
    sns.publish(
        TopicArn=topic_arn,
        Message="blue one",
        MessageAttributes={"colour": {"DataType": "String", "StringValue": "blue"}},
    )
    lam.drain()
    assert sns_record(events)["Sns"]["Message"] == "blue one"


def test_filter_policy_on_the_message_body(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(
        lam, sns, FilterPolicyScope="MessageBody", FilterPolicy=json.dumps({"status": ["paid"]})
    )
    sns.publish(TopicArn=topic_arn, Message=json.dumps({"status": "open"}))
    sns.publish(TopicArn=topic_arn, Message=json.dumps({"status": "paid"}))
    lam.drain()
    assert [json.loads(e["event"]["Records"][0]["Sns"]["Message"]) for e in events] == [
        {"status": "paid"}
    ]


def test_filtered_out_message_is_noted_and_counted(lam: Any, sns: Any) -> None:
    _, topic_arn = subscribed_function(lam, sns, FilterPolicy=json.dumps({"colour": ["blue"]}))
    sns.publish(TopicArn=topic_arn, Message="no attributes")
    lam.drain()
    filtered = lam.state(History).timeline().select("filtered", function_name="subscriber")
    statistics = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="AWS/SNS",
        MetricName="NumberOfNotificationsFilteredOut-MessageAttributes",
        Dimensions=[{"Name": "TopicName", "Value": "orders"}],
        StartTime=datetime(2024, 5, 6, tzinfo=timezone.utc),
        EndTime=datetime(2024, 5, 7, tzinfo=timezone.utc),
        Period=86400,
        Statistics=["Sum"],
    )
    assert [entry.detail["source"] for entry in filtered] == [topic_arn]
    assert [point["Sum"] for point in statistics["Datapoints"]] == [1.0]


def test_alias_endpoint_invokes_the_alias(lam: Any, sns: Any) -> None:
    events = recording_function(lam, "subscriber", Publish=True)
    boto3.client("lambda", region_name=REGION).create_alias(
        FunctionName="subscriber", Name="live", FunctionVersion="1"
    )
    topic_arn, _ = subscribe(sns, function_arn("subscriber") + ":live")
    sns.publish(TopicArn=topic_arn, Message="to the alias")
    lam.drain()
    assert [e["invoked_as"] for e in events] == [function_arn("subscriber") + ":live"]


def test_other_protocols_are_still_delivered_by_moto(lam: Any, sns: Any, sqs: Any) -> None:
    url, queue_arn = make_queue(sqs, "plain-subscriber")
    topic_arn = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic_arn, Message="to the queue")
    messages = sqs.receive_message(QueueUrl=url)["Messages"]
    assert [json.loads(m["Body"])["Message"] for m in messages] == ["to the queue"]


def test_missing_function_sends_the_notification_to_the_subscription_dlq(
    lam: Any, sns: Any, sqs: Any
) -> None:
    url, dlq_arn = make_queue(sqs, "sns-dlq")
    gone = f"arn:aws:lambda:{REGION}:123456789012:function:gone"
    topic_arn, _ = subscribe(sns, gone, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn}))
    message_id = sns.publish(
        TopicArn=topic_arn,
        Message="undeliverable",
        MessageAttributes={"attr1": {"DataType": "Number", "StringValue": "1"}},
    )["MessageId"]
    lam.drain()
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    body = json.loads(message["Body"])
    assert list(body) == SNS_SQS_ENVELOPE_KEYS
    assert (body["MessageId"], body["Message"]) == (message_id, "undeliverable")
    assert body["MessageAttributes"] == {"attr1": {"Type": "Number", "Value": "1"}}
    assert "MessageAttributes" not in message


def test_missing_function_is_not_retried(lam: Any, sns: Any, sqs: Any) -> None:
    _, dlq_arn = make_queue(sqs, "sns-dlq")
    topic_arn, _ = subscribe(
        sns,
        f"arn:aws:lambda:{REGION}:123456789012:function:gone",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn}),
    )
    sns.publish(TopicArn=topic_arn, Message="undeliverable")
    lam.drain()
    timeline = lam.state(History).timeline()
    assert len(timeline.select("retry_scheduled")) == 0
    assert [e.detail["destination"] for e in timeline.select("dead_lettered")] == [dlq_arn]
    assert lam.now() == START


def test_missing_function_without_redrive_policy_is_dropped_and_noted(lam: Any, sns: Any) -> None:
    topic_arn, _ = subscribe(sns, f"arn:aws:lambda:{REGION}:123456789012:function:gone")
    sns.publish(TopicArn=topic_arn, Message="lost")
    lam.drain()
    (dropped,) = lam.state(History).timeline().select("dropped", function_name="gone")
    assert "ResourceNotFoundException" in dropped.detail["reason"]
    assert dropped.detail["source"] == topic_arn


def test_a_throttled_hand_off_is_retried_by_sns(
    lam: Any, sns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    events, topic_arn = subscribed_function(lam, sns)
    real_enqueue = async_queue.enqueue
    refusals = [AwsError("TooManyRequestsException", "Rate Exceeded.", 429)] * 4

    def throttling_enqueue(*args: Any, **kwargs: Any) -> str:
        if refusals:
            raise refusals.pop()
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(async_queue, "enqueue", throttling_enqueue)
    sns.publish(TopicArn=topic_arn, Message="eventually")
    lam.drain()
    # Three immediate retries, then one after 1 s (SNS's AWS-managed endpoint policy).
    assert len(events) == 1
    assert lam.now() == datetime(2024, 5, 6, 7, 8, 10, 123000, tzinfo=timezone.utc)


def test_sns_retry_policy_is_100015_retries_over_about_23_days() -> None:
    delays = [sns_retry_delay(n) for n in range(1, 100_017)]
    assert delays[-1] is None
    total = sum(d for d in delays if d is not None)
    assert len([d for d in delays if d is not None]) == 100_015
    assert delays[:6] == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert 23 * 86400 < total < 24 * 86400


def test_a_failing_function_event_reaches_its_on_failure_destination(
    lam: Any, sns: Any, sqs: Any
) -> None:
    url, _ = failing_with_on_failure(lam, sqs, "broken")
    topic_arn, _ = subscribe(sns, function_arn("broken"))
    sns.publish(TopicArn=topic_arn, Message="poison")
    lam.drain()
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == "poison"


def test_a_function_publishing_to_a_topic_triggers_the_subscriber(lam: Any, sns: Any) -> None:
    events, topic_arn = subscribed_function(lam, sns)

    def publisher(event: Any, context: Any) -> None:
        boto3.client("sns", region_name=REGION).publish(TopicArn=topic_arn, Message="relayed")

    lam.add_function("publisher", publisher)
    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="publisher", InvocationType="Event", Payload=b"{}"
    )
    lam.drain()
    assert [e["event"]["Records"][0]["Sns"]["Message"] for e in events] == ["relayed"]
