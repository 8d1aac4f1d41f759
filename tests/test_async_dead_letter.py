"""The function's dead-letter queue: the original event, with RequestID/ErrorCode/ErrorMessage."""

import json

import pytest
from conftest import make_queue, metric_sum, topic_to_queue

pytestmark = pytest.mark.lambda_async(auto_drain=False)


def _fails(event, context):
    raise ValueError("Test exception (this is intentional)")


def _failing_with_dlq(lam, sqs):
    """``orders`` fails on every attempt into a new dead-letter queue ``dlq``: its (URL, ARN)."""
    url, arn = make_queue(sqs, "dlq")
    lam.add_function("orders", _fails, DeadLetterConfig={"TargetArn": arn})
    return url, arn


def _messages(sqs, url):
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])


def _event(lambda_client, name="orders", payload=b'{"raise_error": 1}'):
    lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)


def test_dead_letter_body_is_the_original_event_bytes(lam, lambda_client, sqs):
    url, _ = _failing_with_dlq(lam, sqs)
    _event(lambda_client, payload=b'{"raise_error": 1}')
    lam.drain()
    [message] = _messages(sqs, url)
    assert message["Body"] == '{"raise_error": 1}'
    assert message["MD5OfBody"] == "ba08269cbd0ce515889bfba6593731e1"


def test_dead_letter_attributes_as_recorded(lam, lambda_client, sqs):
    url, _ = _failing_with_dlq(lam, sqs)
    _event(lambda_client)
    lam.drain()
    [message] = _messages(sqs, url)
    request_id = lam.invocations("orders")[0].request_id
    assert message["MessageAttributes"] == {
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {
            "DataType": "String",
            "StringValue": "Test exception (this is intentional)",
        },
        "RequestID": {"DataType": "String", "StringValue": request_id},
    }


def test_dead_letter_error_message_keeps_the_first_kilobyte(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "dlq")

    def long_error(event, context):
        raise ValueError("x" * 5000)

    lam.add_function("orders", long_error, DeadLetterConfig={"TargetArn": arn})
    _event(lambda_client)
    lam.drain()
    [message] = _messages(sqs, url)
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "x" * 1024


def test_dead_letter_queue_is_empty_until_the_last_attempt(lam, lambda_client, sqs):
    url, _ = _failing_with_dlq(lam, sqs)
    _event(lambda_client)
    lam.advance(0)
    assert _messages(sqs, url) == []
    lam.advance(60)
    assert _messages(sqs, url) == []
    lam.advance(120)
    assert len(_messages(sqs, url)) == 1


def test_dead_letter_message_carries_virtual_sent_timestamp(lam, lambda_client, sqs):
    url, _ = _failing_with_dlq(lam, sqs)
    _event(lambda_client)
    lam.drain()
    [message] = sqs.receive_message(QueueUrl=url, AttributeNames=["SentTimestamp"])["Messages"]
    assert int(message["Attributes"]["SentTimestamp"]) == int(lam.now().timestamp() * 1000)


def test_dead_letter_queue_and_on_failure_both_receive_the_event(lam, lambda_client, sqs):
    dlq_url, dlq_arn = make_queue(sqs, "dlq")
    failures_url, failures_arn = make_queue(sqs, "failures")
    lam.add_function("orders", _fails, DeadLetterConfig={"TargetArn": dlq_arn})
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders", DestinationConfig={"OnFailure": {"Destination": failures_arn}}
    )
    _event(lambda_client)
    lam.drain()
    assert len(_messages(sqs, dlq_url)) == 1
    assert len(_messages(sqs, failures_url)) == 1


def test_successful_event_is_not_dead_lettered(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "dlq")
    lam.add_function("orders", lambda event, context: "ok", DeadLetterConfig={"TargetArn": arn})
    _event(lambda_client)
    lam.drain()
    assert _messages(sqs, url) == []


def _sns_dead_lettered(lam, lambda_client, sqs):
    """The SNS notification a failed event's dead-letter topic delivers to a subscribed queue."""
    url, topic = topic_to_queue(sqs, "dead-letters")
    lam.add_function("orders", _fails, DeadLetterConfig={"TargetArn": topic})
    _event(lambda_client)
    lam.drain()
    [message] = _messages(sqs, url)
    return json.loads(message["Body"])


def test_sns_dead_letter_topic_forwards_event_and_attributes(lam, lambda_client, sqs):
    notification = _sns_dead_lettered(lam, lambda_client, sqs)
    assert notification["Message"] == '{"raise_error": 1}'
    assert notification["MessageAttributes"]["ErrorCode"] == {"Type": "Number", "Value": "200"}


def test_zero_reserved_concurrency_dead_letters_with_the_throttle_status(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "dlq")
    lam.add_function("off", _fails, DeadLetterConfig={"TargetArn": arn})
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    _event(lambda_client, name="off")
    lam.drain()
    [message] = _messages(sqs, url)
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "429"
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "Rate Exceeded."


def test_deleted_dead_letter_queue_counts_dead_letter_errors(lam, lambda_client, sqs):
    url, arn = _failing_with_dlq(lam, sqs)
    sqs.delete_queue(QueueUrl=url)
    _event(lambda_client)
    lam.drain()
    assert metric_sum(lam, "DeadLetterErrors", "orders") == 1
    [failed] = lam.timeline().select("dead_letter_failed", function_name="orders")
    assert failed.detail["destination"] == arn


def test_dead_lettered_event_still_counts_as_dropped(lam, lambda_client, sqs):
    _failing_with_dlq(lam, sqs)
    _event(lambda_client)
    lam.drain()
    assert metric_sum(lam, "AsyncEventsDropped", "orders") == 1


def test_sns_dead_letter_attributes_as_recorded(lam, lambda_client, sqs):
    notification = _sns_dead_lettered(lam, lambda_client, sqs)
    request_id = lam.invocations("orders")[0].request_id
    assert notification["MessageAttributes"] == {
        "ErrorCode": {"Type": "Number", "Value": "200"},
        "ErrorMessage": {"Type": "String", "Value": "Test exception (this is intentional)"},
        "RequestID": {"Type": "String", "Value": request_id},
    }


def test_event_too_large_for_the_dead_letter_queue_counts_dead_letter_errors(
    lam, lambda_client, sqs
):
    url, arn = make_queue(sqs, "small-dlq", MaximumMessageSize="1024")
    lam.add_function("orders", _fails, DeadLetterConfig={"TargetArn": arn})
    _event(lambda_client, payload=json.dumps({"order": "x" * 2000}).encode())
    lam.drain()
    assert _messages(sqs, url) == []
    assert metric_sum(lam, "DeadLetterErrors") == 1
