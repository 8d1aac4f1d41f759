"""Injected faults on synchronous invokes: 429 throttles, 500 service errors, timeouts."""

import json

import boto3
import pytest
from conftest import NO_RETRIES, REGION, metric_sum

pytestmark = pytest.mark.usefixtures("one_boto3_session")


@pytest.fixture
def lambda_client():
    """A client that does not retry, so the test sees the refused attempt itself.

    botocore retries a 429 or a 500 on its own (``test_sync_retries``); a fault rule takes one
    attempt, so a retrying client would get the handler's answer on its next attempt.
    """
    return boto3.client("lambda", region_name=REGION, config=NO_RETRIES)


def test_a_throttle_is_a_429_too_many_requests(lam, lambda_client, orders):
    lam.faults.throttle("orders")
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException) as raised:
        lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"]["Message"] == "Rate Exceeded."
    assert response["Reason"] == "ConcurrentInvocationLimitExceeded"


def test_a_throttle_carries_the_chosen_reason(lam, lambda_client, orders):
    lam.faults.throttle("orders", reason="CallerRateLimitExceeded")
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException) as raised:
        lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    assert raised.value.response["Reason"] == "CallerRateLimitExceeded"


def test_a_throttled_invoke_never_runs_the_handler(lam, lambda_client, orders):
    lam.faults.throttle("orders")
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException):
        lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    assert (orders, lam.invocations("orders")) == ([], [])


def test_a_throttled_invoke_counts_in_throttles(lam, lambda_client, orders):
    lam.faults.throttle("orders")
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException):
        lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    assert metric_sum(lam, "Throttles") == 1
    [throttled] = lam.timeline().select("throttled", function_name="orders")
    assert throttled.detail["trigger"] == "sync"


def test_the_invoke_after_the_fault_succeeds(lam, lambda_client, orders):
    lam.faults.throttle("orders")
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException):
        lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    response = lambda_client.invoke(FunctionName="orders", Payload=b'{"n": 2}')
    assert json.loads(response["Payload"].read()) == {"ok": True}
    assert orders == [{"n": 2}]


def test_a_service_error_is_a_500_service_exception(lam, lambda_client, orders):
    lam.faults.service_error("orders")
    with pytest.raises(lambda_client.exceptions.ServiceException) as raised:
        lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert response["Error"]["Message"] == "An error occurred and the request cannot be processed."
    assert response["Type"] == "Service"


def test_a_service_error_never_runs_the_handler(lam, lambda_client, orders):
    lam.faults.service_error("orders")
    with pytest.raises(lambda_client.exceptions.ServiceException):
        lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    assert orders == []
    assert metric_sum(lam, "Throttles") == 0


def test_a_service_error_is_on_the_timeline(lam, lambda_client, orders):
    lam.faults.service_error("orders")
    with pytest.raises(lambda_client.exceptions.ServiceException):
        lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    [fault] = lam.timeline().select("fault", function_name="orders")
    assert fault.render().endswith("orders injected fault: service error (sync): ServiceException")


def test_a_fault_for_another_function_leaves_this_one_alone(lam, lambda_client, orders):
    lam.faults.service_error("billing")
    response = lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    assert response["StatusCode"] == 200


def test_a_dry_run_is_not_refused(lam, lambda_client, orders):
    lam.faults.throttle("orders")
    response = lambda_client.invoke(FunctionName="orders", InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert lam.faults.rules[0].hits == 0


def test_a_timed_out_sync_invoke_answers_200_with_the_timeout_error(lam, lambda_client, orders):
    lam.faults.timeout("orders", run_handler=False)
    response = lambda_client.invoke(FunctionName="orders", Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert (response["StatusCode"], response["FunctionError"]) == (200, "Unhandled")
    assert payload == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {response['ResponseMetadata']['RequestId']} Error: "
        "Task timed out after 3.00 seconds",
    }
