"""``MaximumEventAgeInSeconds``: an event is given up as soon as its next try would be too late."""

import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.lambda_async(auto_drain=False)


def _fails(event, context):
    raise ValueError("boom")


def _setup(lam, lambda_client, age):
    lam.add_function("orders", _fails)
    lambda_client.put_function_event_invoke_config(
        FunctionName="orders", MaximumRetryAttempts=2, MaximumEventAgeInSeconds=age
    )
    lambda_client.invoke(FunctionName="orders", InvocationType="Event", Payload=b"{}")


def test_age_60_allows_one_attempt(lambda_async, lambda_client):
    _setup(lambda_async, lambda_client, 60)
    lambda_async.drain()
    assert len(lambda_async.invocations("orders")) == 1


def test_age_90_allows_two_attempts(lambda_async, lambda_client):
    _setup(lambda_async, lambda_client, 90)
    lambda_async.drain()
    assert len(lambda_async.invocations("orders")) == 2


def test_age_limit_gives_the_event_age_exceeded_condition(lambda_async, lambda_client):
    _setup(lambda_async, lambda_client, 90)
    lambda_async.drain()
    [dropped] = lambda_async.timeline().select("dropped", function_name="orders")
    assert dropped.detail["reason"] == "EventAgeExceeded"


def test_event_is_given_up_at_once_not_when_the_age_elapses(lambda_async, lambda_client):
    _setup(lambda_async, lambda_client, 60)
    queued_at = lambda_async.now()
    lambda_async.advance(0)
    [dropped] = lambda_async.timeline().select("dropped", function_name="orders")
    assert dropped.at - queued_at < timedelta(seconds=60)


def test_age_long_enough_for_all_retries_ends_in_retries_exhausted(lambda_async, lambda_client):
    _setup(lambda_async, lambda_client, 181)
    lambda_async.drain()
    assert len(lambda_async.invocations("orders")) == 3
    [dropped] = lambda_async.timeline().select("dropped", function_name="orders")
    assert dropped.detail["reason"] == "RetriesExhausted"


def test_attempts_follow_the_retry_and_age_rule(lambda_async, lambda_client):
    names = (f"fn{n}" for n in itertools.count())

    @settings(max_examples=25, deadline=None)
    @given(age=st.integers(60, 21600), retries=st.integers(0, 2))
    def check(age, retries):
        name = next(names)
        lambda_async.add_function(name, _fails)
        lambda_client.put_function_event_invoke_config(
            FunctionName=name, MaximumRetryAttempts=retries, MaximumEventAgeInSeconds=age
        )
        lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
        lambda_async.drain()
        # Retry k comes 60 s, then 180 s after queueing; it happens only while under the age.
        expected = 1 + sum(1 for due in (60, 180)[:retries] if due < age)
        assert len(lambda_async.invocations(name)) == expected

    check()


def test_age_90_gives_up_right_after_the_second_attempt(lambda_async, lambda_client):
    _setup(lambda_async, lambda_client, 90)
    lambda_async.advance(60)
    assert len(lambda_async.invocations("orders")) == 2
    [dropped] = lambda_async.timeline().select("dropped", function_name="orders")
    assert dropped.at - lambda_async.invocations("orders")[0].started_at == timedelta(seconds=60)
