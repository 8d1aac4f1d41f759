"""``lam.assert_*``: checks that read naturally, settle virtual time first, and show the timeline."""

import json
import re

import boto3
import pytest

from mock_lambda_async import mock_lambda_async
from mock_lambda_async.metrics import History, Kind

REGION = "us-east-1"
RECORD = {"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": {"order": 1}}


def _boom(event, context):
    raise ValueError("boom")


@pytest.fixture
def queue_url(lam, sqs):
    return sqs.create_queue(QueueName="failures")["QueueUrl"]


def test_assert_invoked_returns_the_attempts(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lambda_client.invoke(FunctionName="orders")
    [attempt] = lam.assert_invoked("orders", times=1)
    assert attempt.trigger == "sync"


def test_assert_invoked_with_the_wrong_count_fails_with_the_timeline(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lambda_client.invoke(FunctionName="orders")
    with pytest.raises(AssertionError) as failure:
        lam.assert_invoked("orders", times=2)
    message = str(failure.value)
    assert message.startswith("expected function 'orders' to run exactly 2 times, it ran 1 time")
    assert "mock_lambda_async timeline:" in message
    assert "sync attempt 1 succeeded" in message


def test_assert_invoked_zero_times_passes_for_an_idle_function(lam):
    lam.add_function("idle", lambda event, context: None)
    assert lam.assert_invoked("idle", times=0) == []


def test_assert_invoked_narrows_by_trigger(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lambda_client.invoke(FunctionName="orders")
    with pytest.raises(AssertionError, match=r"function 'orders' \(async\) to run"):
        lam.assert_invoked("orders", trigger="async")


def test_assert_invoked_settles_pending_async_events(lam, lambda_client):
    lam.add_function("later", lambda event, context: None)
    lambda_client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
    assert len(lam.assert_invoked("later", trigger="async")) == 1


def test_without_auto_drain_assertions_run_nothing():
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("later", lambda event, context: None)
        client = boto3.client("lambda", region_name=REGION)
        client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
        lam.assert_invoked("later", times=0)
        assert lam.scheduler.pending() == 1


def test_assert_succeeded_counts_only_successes(lam, lambda_client):
    lam.add_function("flaky", lambda event, context: _boom(event, context) if event else None)
    lambda_client.invoke(FunctionName="flaky", Payload=b'{"fail": 1}')
    lambda_client.invoke(FunctionName="flaky")
    assert [a.ok for a in lam.assert_succeeded("flaky", times=1)] == [True]


def test_assert_succeeded_failure_lists_the_outcomes(lam, lambda_client):
    lam.add_function("orders", _boom)
    lambda_client.invoke(FunctionName="orders")
    with pytest.raises(AssertionError, match=r"found 0 \(attempts: ValueError\)"):
        lam.assert_succeeded("orders")


def test_assert_failed_matches_an_exception_class(lam, lambda_client):
    lam.add_function("orders", _boom)
    lambda_client.invoke(FunctionName="orders")
    [attempt] = lam.assert_failed("orders", error_type=ValueError)
    assert attempt.error_message == "boom"


def test_assert_failed_with_another_error_type_fails(lam, lambda_client):
    lam.add_function("orders", _boom)
    lambda_client.invoke(FunctionName="orders")
    with pytest.raises(AssertionError, match=r"at least one failed attempt with Sandbox\.Timedout"):
        lam.assert_failed("orders", error_type="Sandbox.Timedout")


def test_assert_delivered_reads_an_sqs_queue_by_url(lam, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(RECORD))
    assert lam.assert_delivered(queue_url, 1) == [RECORD]


def test_assert_delivered_reads_an_sqs_queue_by_arn(lam, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(RECORD))
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    assert lam.assert_delivered(arn["Attributes"]["QueueArn"]) == [RECORD]


def test_reading_a_queue_consumes_nothing(lam, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(RECORD))
    lam.assert_delivered(queue_url)
    [message] = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"


def test_in_flight_messages_are_still_in_the_queue(lam, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(RECORD))
    sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=300)
    assert lam.assert_delivered(queue_url, 1) == [RECORD]


def test_assert_delivered_filters_by_condition(lam, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(RECORD))
    with pytest.raises(AssertionError, match="at least one record with condition Success"):
        lam.assert_delivered(queue_url, condition="Success")


def test_assert_delivered_to_an_empty_queue_fails(lam, queue_url):
    with pytest.raises(
        AssertionError, match=re.escape(f"exactly 1 record at {queue_url}, found 0")
    ):
        lam.assert_delivered(queue_url, 1)


def test_assert_delivered_to_a_missing_queue_says_so(lam):
    missing = "arn:aws:sqs:us-east-1:123456789012:nope"
    with pytest.raises(AssertionError, match=re.escape(f"SQS queue {missing} does not exist")):
        lam.assert_delivered(missing)


def test_assert_delivered_reads_an_sns_topic(lam):
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="outcomes")["TopicArn"]
    sns.publish(TopicArn=topic, Message=json.dumps(RECORD))
    assert lam.assert_delivered(topic) == [RECORD]


def test_assert_delivered_to_a_function_uses_the_recorded_deliveries(lam):
    target = "arn:aws:lambda:us-east-1:123456789012:function:audit"
    lam.state(History).note(
        Kind.DELIVERED, function_name="orders", destination=target, record=RECORD
    )
    assert lam.assert_delivered(target, 1, condition="RetriesExhausted") == [RECORD]


def test_assert_dead_lettered_returns_the_original_events(lam, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"order": 1}')
    [dead] = lam.assert_dead_lettered(queue_url, 1)
    assert (dead.body, dead.error_message) == ({"order": 1}, None)


def test_dead_lettered_body_that_is_not_json_stays_text(lam, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="plain text")
    assert [dead.body for dead in lam.assert_dead_lettered(queue_url)] == ["plain text"]


def test_a_function_dlq_message_says_why_the_event_failed(lam, lambda_client, sqs, queue_url):
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    lam.add_function("orders", _boom, DeadLetterConfig={"TargetArn": arn["Attributes"]["QueueArn"]})
    lambda_client.invoke(FunctionName="orders", InvocationType="Event", Payload=b'{"order": 1}')
    [dead] = lam.assert_dead_lettered(queue_url, 1)
    assert (dead.body, dead.error_code, dead.error_message) == ({"order": 1}, "200", "boom")
    assert dead.request_id == lam.invocations("orders")[0].request_id


def test_a_dead_letter_topic_shows_the_message_attributes(lam, lambda_client):
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="dead")["TopicArn"]
    lam.add_function("orders", _boom, DeadLetterConfig={"TargetArn": topic})
    lambda_client.invoke(FunctionName="orders", InvocationType="Event", Payload=b'{"order": 1}')
    [dead] = lam.assert_dead_lettered(topic, 1)
    assert sorted(dead.attributes) == ["ErrorCode", "ErrorMessage", "RequestID"]
    assert (dead.body, dead.error_code) == ({"order": 1}, "200")


def test_assert_dead_lettered_on_an_empty_queue_fails(lam, queue_url):
    with pytest.raises(
        AssertionError, match=re.escape(f"at least one dead-lettered event in {queue_url}")
    ):
        lam.assert_dead_lettered(queue_url)


def test_assert_dropped_matches_function_and_reason(lam):
    history = lam.state(History)
    history.note(Kind.DROPPED, function_name="orders", reason="EventAgeExceeded")
    history.note(Kind.DROPPED, function_name="other", reason="RetriesExhausted")
    [entry] = lam.assert_dropped("orders", reason="EventAge")
    assert entry.detail["reason"] == "EventAgeExceeded"


def test_assert_dropped_fails_when_nothing_was_dropped(lam):
    with pytest.raises(AssertionError, match="expected at least one dropped event of 'orders'"):
        lam.assert_dropped("orders")


def test_assert_dropped_zero_passes_when_everything_is_accounted_for(lam):
    lam.state(History).note(Kind.DROPPED, function_name="other", reason="x")
    assert lam.assert_dropped("orders", count=0) == []
