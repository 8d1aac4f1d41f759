"""Injected delivery failures: a destination or dead-letter queue refuses the record."""

import boto3
import pytest
from conftest import REGION, client, failing_with_on_failure, make_queue, metric_sum

pytestmark = pytest.mark.usefixtures("one_boto3_session")


def _fails(event, context):
    raise ValueError("boom")


@pytest.fixture
def failures(lam, sqs):
    """``orders`` fails once (no retries) and has an OnFailure queue: returns its (URL, ARN)."""
    return failing_with_on_failure(lam, sqs, "orders")


@pytest.fixture
def dlq(lam):
    """``orders`` fails once (no retries) into a dead-letter queue: returns its (URL, ARN)."""
    url, arn = make_queue(client("sqs"), "dlq")
    lam.add_function("orders", _fails, DeadLetterConfig={"TargetArn": arn})
    boto3.client("lambda", region_name=REGION).put_function_event_invoke_config(
        FunctionName="orders", MaximumRetryAttempts=0
    )
    return url, arn


def _invoke(lambda_client, payload=b'{"order": 1}'):
    lambda_client.invoke(FunctionName="orders", InvocationType="Event", Payload=payload)


def test_a_refused_destination_gets_nothing(lam, lambda_client, failures):
    url, arn = failures
    lam.faults.fail_delivery(arn)
    _invoke(lambda_client)
    lam.assert_delivered(url, 0)


def test_a_refused_destination_counts_in_destination_delivery_failures(
    lam, lambda_client, failures
):
    lam.faults.fail_delivery(failures[1])
    _invoke(lambda_client)
    lam.drain()
    assert metric_sum(lam, "DestinationDeliveryFailures") == 1


def test_a_refused_destination_is_on_the_timeline(lam, lambda_client, failures):
    _, arn = failures
    lam.faults.fail_delivery(arn)
    _invoke(lambda_client)
    [fault] = lam.timeline().select("fault", function_name="orders")
    [failed] = lam.timeline().select("delivery_failed", function_name="orders")
    assert fault.describe() == f"injected fault: delivery failure at {arn}"
    assert (failed.detail["destination"], failed.detail["reason"]) == (
        arn,
        "refused by an injected fault",
    )
    assert fault.request_id == failed.request_id


def test_a_queue_url_names_the_destination(lam, lambda_client, failures):
    url, _ = failures
    lam.faults.fail_delivery(url)
    _invoke(lambda_client)
    lam.assert_delivered(url, 0)


def test_only_the_next_record_is_refused(lam, lambda_client, failures):
    url, arn = failures
    lam.faults.fail_delivery(arn)
    _invoke(lambda_client, b'{"order": 1}')
    _invoke(lambda_client, b'{"order": 2}')
    [record] = lam.assert_delivered(url, 1)
    assert record["requestPayload"] == {"order": 2}


def test_another_destination_still_receives(lam, lambda_client, failures):
    url, _ = failures
    lam.faults.fail_delivery("arn:aws:sqs:us-east-1:123456789012:elsewhere")
    _invoke(lambda_client)
    lam.assert_delivered(url, 1)


def test_an_on_success_destination_can_be_refused(lam, lambda_client):
    url, arn = make_queue(client("sqs"), "successes")
    lam.add_function("orders", lambda event, context: None)
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders", DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    lam.faults.fail_delivery(arn)
    _invoke(lambda_client)
    lam.assert_delivered(url, 0)
    assert metric_sum(lam, "DestinationDeliveryFailures") == 1


def test_a_refused_dead_letter_queue_gets_nothing(lam, lambda_client, dlq):
    url, arn = dlq
    lam.faults.fail_delivery(arn)
    _invoke(lambda_client)
    lam.assert_dead_lettered(url, 0)


def test_a_refused_dead_letter_queue_counts_in_dead_letter_errors(lam, lambda_client, dlq):
    lam.faults.fail_delivery(dlq[1])
    _invoke(lambda_client)
    lam.drain()
    assert metric_sum(lam, "DeadLetterErrors") == 1
    [failed] = lam.timeline().select("dead_letter_failed", function_name="orders")
    assert failed.detail["reason"] == "refused by an injected fault"


def test_a_refused_dead_letter_queue_still_drops_the_event(lam, lambda_client, dlq):
    lam.faults.fail_delivery(dlq[1])
    _invoke(lambda_client)
    lam.assert_dropped("orders", reason="RetriesExhausted", count=1)


def test_without_a_destination_every_target_refuses(lam, lambda_client):
    failures_url, failures_arn = make_queue(client("sqs"), "failures")
    dlq_url, dlq_arn = make_queue(client("sqs"), "dlq")
    lam.add_function("orders", _fails, DeadLetterConfig={"TargetArn": dlq_arn})
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    lam.faults.fail_delivery(count=2)
    _invoke(lambda_client)
    lam.assert_delivered(failures_url, 0)
    lam.assert_dead_lettered(dlq_url, 0)


def test_a_lambda_destination_can_be_refused(lam, lambda_client):
    lam.add_function("orders", _fails)
    target = lam.add_function("audit", lambda event, context: None)["FunctionArn"]
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": target}},
    )
    lam.faults.fail_delivery(target)
    _invoke(lambda_client)
    lam.assert_invoked("audit", times=0)
