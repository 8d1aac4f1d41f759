"""OnSuccess/OnFailure destinations of async invocations, read back through boto3."""

import json

import boto3
import pytest
from conftest import ACCOUNT, REGION, make_queue, metric_sum, topic_to_queue

pytestmark = pytest.mark.lambda_async(auto_drain=False)


def _fails(event, context):
    raise ValueError("Test exception (this is intentional)")


def _bodies(sqs, url):
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def _configure(lambda_client, name, **destinations):
    config = {key: {"Destination": arn} for key, arn in destinations.items()}
    lambda_client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=2, DestinationConfig=config
    )


def _failing_to_queue(lam, lambda_client, sqs):
    """``orders`` fails on every attempt, its OnFailure destination a new queue: the queue's URL."""
    url, arn = make_queue(sqs, "failures")
    lam.add_function("orders", _fails)
    _configure(lambda_client, "orders", OnFailure=arn)
    return url


def _event(lambda_client, name, payload):
    lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(payload))


# -- the record ----------------------------------------------------------------------------------
def test_on_success_record_has_the_recorded_shape(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "successes")
    created = lam.add_function("orders", lambda event, context: {"done": event["order"]})
    _configure(lambda_client, "orders", OnSuccess=arn)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [record] = _bodies(sqs, url)
    [attempt] = lam.invocations("orders")
    assert list(record) == [
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    ]
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": attempt.request_id,
        "functionArn": created["FunctionArn"] + ":$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"order": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"done": 1}


def test_record_timestamp_is_the_virtual_time_of_delivery(lam, lambda_client, sqs):
    url = _failing_to_queue(lam, lambda_client, sqs)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [record] = _bodies(sqs, url)
    expected = lam.now().strftime("%Y-%m-%dT%H:%M:%S.") + f"{lam.now().microsecond // 1000:03d}Z"
    assert record["timestamp"] == expected


def test_on_failure_record_after_retries_are_exhausted(lam, lambda_client, sqs):
    url = _failing_to_queue(lam, lambda_client, sqs)
    _event(lambda_client, "orders", {"raise_error": 1})
    lam.drain()
    [record] = _bodies(sqs, url)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"raise_error": 1}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorMessage"] == "Test exception (this is intentional)"
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["requestId"] == record["requestContext"]["requestId"]


def test_on_failure_waits_for_the_last_attempt(lam, lambda_client, sqs):
    url = _failing_to_queue(lam, lambda_client, sqs)
    _event(lambda_client, "orders", {"order": 1})
    lam.advance(179)
    assert _bodies(sqs, url) == []
    lam.advance(1)
    assert len(_bodies(sqs, url)) == 1


def test_on_failure_record_for_event_age_exceeded(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "failures")
    lam.add_function("orders", _fails)
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders",
        MaximumEventAgeInSeconds=90,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [record] = _bodies(sqs, url)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"


def test_zero_reserved_concurrency_record_has_no_response(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "failures")
    lam.add_function("off", lambda event, context: None)
    lambda_client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    _configure(lambda_client, "off", OnFailure=arn)
    _event(lambda_client, "off", {})
    lam.drain()
    [record] = _bodies(sqs, url)
    assert list(record) == ["version", "timestamp", "requestContext", "requestPayload"]
    assert record["requestContext"]["condition"] == "ZeroReservedConcurrency"
    assert record["requestContext"]["approximateInvokeCount"] == 0


def test_failure_record_carries_the_error_payload_in_the_runtime_s_key_order(
    lam, lambda_client, sqs
):
    url = _failing_to_queue(lam, lambda_client, sqs)
    _event(lambda_client, "orders", {"raise_error": 1})
    lam.drain()
    [record] = _bodies(sqs, url)
    payload = record["responsePayload"]
    assert list(payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert payload["stackTrace"][-1].startswith("  File ")


def test_synchronous_invokes_send_no_record(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "records")
    lam.add_function("orders", _fails)
    lam.add_function("fine", lambda event, context: "ok")
    _configure(lambda_client, "orders", OnFailure=arn)
    _configure(lambda_client, "fine", OnSuccess=arn)
    lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    lambda_client.invoke(FunctionName="fine", Payload=b"{}")
    lam.drain()
    assert _bodies(sqs, url) == []


def test_success_is_not_sent_to_the_failure_destination(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "failures")
    lam.add_function("orders", lambda event, context: "ok")
    _configure(lambda_client, "orders", OnFailure=arn)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    assert _bodies(sqs, url) == []


def test_record_names_the_alias_that_was_invoked(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "successes")
    created = lam.add_function("orders", lambda event, context: "ok", Publish=True)
    lambda_client.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders",
        Qualifier="live",
        DestinationConfig={"OnSuccess": {"Destination": arn}},
    )
    lambda_client.invoke(
        FunctionName="orders", Qualifier="live", InvocationType="Event", Payload=b"{}"
    )
    lam.drain()
    [record] = _bodies(sqs, url)
    assert record["requestContext"]["functionArn"] == created["FunctionArn"] + ":live"
    assert record["responseContext"]["executedVersion"] == "1"


# -- other target types --------------------------------------------------------------------------
def test_sns_destination_publishes_the_record_as_the_message(lam, lambda_client, sqs):
    url, topic = topic_to_queue(sqs, "results")
    lam.add_function("orders", lambda event, context: "ok")
    _configure(lambda_client, "orders", OnSuccess=topic)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [notification] = _bodies(sqs, url)
    assert json.loads(notification["Message"])["requestContext"]["condition"] == "Success"


def test_eventbridge_destination_reaches_rules_with_the_lambda_envelope(lam, lambda_client, sqs):
    url, queue_arn = make_queue(sqs, "subscriber")
    events = boto3.client("events", region_name=REGION)
    bus = events.create_event_bus(Name="results")["EventBusArn"]
    events.put_rule(
        Name="all-results", EventBusName="results", EventPattern=json.dumps({"source": ["lambda"]})
    )
    events.put_targets(
        Rule="all-results", EventBusName="results", Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    created = lam.add_function("orders", _fails)
    _configure(lambda_client, "orders", OnFailure=bus)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [envelope] = _bodies(sqs, url)
    assert envelope["source"] == "lambda"
    assert envelope["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert envelope["resources"] == [bus, created["FunctionArn"] + ":$LATEST"]
    assert envelope["detail"]["requestContext"]["condition"] == "RetriesExhausted"


def test_eventbridge_envelope_has_version_id_time_and_region(lam, lambda_client, sqs):
    url, queue_arn = make_queue(sqs, "subscriber")
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["lambda"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": queue_arn}])
    lam.add_function("orders", lambda event, context: "ok")
    _configure(
        lambda_client, "orders", OnSuccess=f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    )
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [envelope] = _bodies(sqs, url)
    assert (envelope["version"], envelope["region"]) == ("0", REGION)
    assert envelope["time"] == lam.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert envelope["id"]
    assert envelope["detail-type"] == "Lambda Function Invocation Result - Success"


def test_lambda_destination_is_invoked_asynchronously_with_the_record(lam, lambda_client):
    seen = []
    target = lam.add_function("audit", lambda event, context: seen.append(event))
    lam.add_function("orders", lambda event, context: "ok")
    _configure(lambda_client, "orders", OnSuccess=target["FunctionArn"])
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [attempt] = lam.invocations("audit")
    assert attempt.trigger == "destination"
    assert seen[0]["requestPayload"] == {"order": 1}


def test_s3_failure_destination_stores_the_record_under_the_documented_key(lam, lambda_client):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="failed-events")
    lam.add_function("orders", _fails)
    _configure(lambda_client, "orders", OnFailure="arn:aws:s3:::failed-events")
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [listed] = s3.list_objects_v2(Bucket="failed-events")["Contents"]
    assert listed["Key"].startswith(
        lam.now().strftime("aws/lambda/async/orders/%Y/%m/%d/%Y-%m-%dT%H.%M.%S-")
    )
    body = s3.get_object(Bucket="failed-events", Key=listed["Key"])["Body"].read()
    assert json.loads(body)["requestContext"]["condition"] == "RetriesExhausted"


# -- failures to deliver -------------------------------------------------------------------------
def test_deleted_destination_queue_counts_a_delivery_failure(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "gone")
    lam.add_function("orders", lambda event, context: "ok")
    _configure(lambda_client, "orders", OnSuccess=arn)
    sqs.delete_queue(QueueUrl=url)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    assert metric_sum(lam, "DestinationDeliveryFailures", "orders") == 1


def test_delivery_failure_is_on_the_timeline_and_never_raises(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "gone")
    lam.add_function("orders", lambda event, context: "ok")
    _configure(lambda_client, "orders", OnSuccess=arn)
    sqs.delete_queue(QueueUrl=url)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [failed] = lam.timeline().select("delivery_failed", function_name="orders")
    assert failed.detail["destination"] == arn


def test_record_too_large_for_the_queue_is_a_delivery_failure(lam, lambda_client, sqs):
    url, arn = make_queue(sqs, "small", MaximumMessageSize="1024")
    lam.add_function("orders", lambda event, context: "x" * 2000)
    _configure(lambda_client, "orders", OnSuccess=arn)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    assert _bodies(sqs, url) == []
    assert metric_sum(lam, "DestinationDeliveryFailures", "orders") == 1


def test_sns_destination_reaches_a_lambda_subscriber(lam, lambda_client):
    seen = []
    subscriber = lam.add_function("audit", lambda event, context: seen.append(event))
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="results")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=subscriber["FunctionArn"])
    lam.add_function("orders", lambda event, context: "ok")
    _configure(lambda_client, "orders", OnSuccess=topic)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [attempt] = lam.invocations("audit")
    assert attempt.trigger == "sns"
    record = json.loads(seen[0]["Records"][0]["Sns"]["Message"])
    assert record["requestContext"]["condition"] == "Success"


def test_eventbridge_destination_reaches_a_lambda_target(lam, lambda_client):
    seen = []
    target = lam.add_function("audit", lambda event, context: seen.append(event))
    events = boto3.client("events", region_name=REGION)
    bus = events.create_event_bus(Name="results")["EventBusArn"]
    events.put_rule(
        Name="failures",
        EventBusName="results",
        EventPattern=json.dumps({"detail-type": ["Lambda Function Invocation Result - Failure"]}),
    )
    events.put_targets(
        Rule="failures",
        EventBusName="results",
        Targets=[{"Id": "audit", "Arn": target["FunctionArn"]}],
    )
    lam.add_function("orders", _fails)
    _configure(lambda_client, "orders", OnFailure=bus)
    _event(lambda_client, "orders", {"order": 1})
    lam.drain()
    [attempt] = lam.invocations("audit")
    assert attempt.trigger == "events"
    assert seen[0]["detail"]["requestPayload"] == {"order": 1}
