"""botocore's own retries on a synchronous Invoke's 429 and 5xx, as against AWS.

The client's ``retries`` config decides (legacy: 4 retries, standard and adaptive: 2,
``max_attempts`` counts retries); each retry is a new attempt that a fault rule or the concurrency
check sees again, and none of them takes real or virtual time.
"""

import io
import json
import time

import boto3
import pytest
from botocore.config import Config
from conftest import NO_RETRIES, REGION, metric_sum

pytestmark = pytest.mark.usefixtures("one_boto3_session")

LEGACY = Config(retries={"mode": "legacy"})
STANDARD = Config(retries={"mode": "standard"})
ADAPTIVE = Config(retries={"mode": "adaptive"})


def _client(config):
    return boto3.client("lambda", region_name=REGION, config=config)


@pytest.fixture
def closed(lam, orders):
    """``orders`` at reserved concurrency 0: every synchronous attempt is throttled."""
    _client(STANDARD).put_function_concurrency(
        FunctionName="orders", ReservedConcurrentExecutions=0
    )


def _refusal(config):
    """The error a synchronous invoke of ``orders`` ends with."""
    client = _client(config)
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.invoke(FunctionName="orders", Payload=b"{}")
    return raised.value


# -- a refused attempt, then the handler's answer -------------------------------------------------
def test_a_throttled_invoke_is_retried_and_succeeds(lam, orders):
    lam.faults.throttle("orders")
    response = _client(STANDARD).invoke(FunctionName="orders", Payload=b'{"n": 1}')
    assert (response["StatusCode"], json.loads(response["Payload"].read())) == (200, {"ok": True})
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_the_retried_invoke_runs_the_handler_once(lam, orders):
    lam.faults.throttle("orders")
    _client(STANDARD).invoke(FunctionName="orders", Payload=b'{"n": 1}')
    assert orders == [{"n": 1}]
    assert len(lam.invocations("orders")) == 1


def test_only_the_throttled_attempt_counts_in_throttles(lam, orders):
    lam.faults.throttle("orders")
    _client(STANDARD).invoke(FunctionName="orders", Payload=b"{}")
    assert metric_sum(lam, "Throttles") == 1
    assert metric_sum(lam, "Invocations") == 1


def test_a_service_error_is_retried_and_succeeds(lam, orders):
    lam.faults.service_error("orders")
    response = _client(STANDARD).invoke(FunctionName="orders", Payload=b'{"n": 1}')
    assert (response["StatusCode"], response["ResponseMetadata"]["RetryAttempts"]) == (200, 1)
    assert orders == [{"n": 1}]


def test_a_file_payload_is_sent_again_on_the_retry(lam, orders):
    lam.faults.throttle("orders")
    _client(STANDARD).invoke(FunctionName="orders", Payload=io.BytesIO(b'{"n": 1}'))
    assert orders == [{"n": 1}]


def test_without_retries_the_429_reaches_the_caller(lam, orders):
    lam.faults.throttle("orders")
    error = _refusal(NO_RETRIES)
    assert error.response["Error"]["Code"] == "TooManyRequestsException"
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert orders == []


# -- every attempt refused -----------------------------------------------------------------------
def test_legacy_mode_gives_up_after_four_retries(lam, closed):
    assert str(_refusal(LEGACY)) == (
        "An error occurred (TooManyRequestsException) when calling the Invoke operation "
        "(reached max retries: 4): Rate Exceeded."
    )


def test_standard_mode_gives_up_after_two_retries(lam, closed):
    metadata = _refusal(STANDARD).response["ResponseMetadata"]
    assert (metadata["RetryAttempts"], metadata["MaxAttemptsReached"]) == (2, True)


def test_max_attempts_counts_retries_not_attempts(lam, closed):
    error = _refusal(Config(retries={"mode": "standard", "max_attempts": 1}))
    assert "(reached max retries: 1)" in str(error)


def test_each_throttled_attempt_counts_in_throttles(lam, closed):
    _refusal(STANDARD)
    assert metric_sum(lam, "Throttles") == 3
    assert len(lam.timeline().select("throttled", function_name="orders")) == 3


def test_a_fault_rule_takes_one_attempt_each_retry(lam, orders):
    rule = lam.faults.service_error("orders", count=3)
    error = _refusal(STANDARD)
    assert str(error) == (
        "An error occurred (ServiceException) when calling the Invoke operation "
        "(reached max retries: 2): An error occurred and the request cannot be processed."
    )
    assert (rule.hits, orders) == (3, [])


def test_retries_take_no_virtual_time(lam, closed):
    before = lam.now()
    _refusal(LEGACY)
    assert lam.now() == before


def test_adaptive_mode_retries_without_slowing_the_client_down(lam, closed):
    assert "(reached max retries: 2)" in str(_refusal(ADAPTIVE))
    started = time.perf_counter()
    for _ in range(2):  # answered by moto, through botocore's client-side rate limiter
        _client(ADAPTIVE).list_aliases(FunctionName="orders")
    assert time.perf_counter() - started < 1


# -- what is never retried -----------------------------------------------------------------------
def test_a_function_error_is_not_retried(lam):
    def fails(event, context):
        raise ValueError("boom")

    lam.add_function("fails", fails)
    response = _client(LEGACY).invoke(FunctionName="fails", Payload=b"{}")
    assert (response["FunctionError"], response["ResponseMetadata"]["RetryAttempts"]) == (
        "Unhandled",
        0,
    )
    assert len(lam.invocations("fails")) == 1


def test_a_client_error_is_not_retried(lam):
    error = _refusal(LEGACY)
    assert error.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_an_async_invoke_of_a_throttled_function_is_accepted_at_once(lam, closed):
    response = _client(LEGACY).invoke(FunctionName="orders", InvocationType="Event", Payload=b"{}")
    assert (response["StatusCode"], response["ResponseMetadata"]["RetryAttempts"]) == (202, 0)
