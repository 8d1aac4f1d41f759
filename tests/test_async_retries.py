"""Function errors in async invocations: retried after 60 s and 120 s, then given up."""

from datetime import timedelta

import pytest
from conftest import create_function, metric_sum

pytestmark = pytest.mark.lambda_async(auto_drain=False)


def _fails(event, context):
    raise ValueError("boom")


@pytest.fixture
def paused(lambda_async):
    return lambda_async


def _invoke(lambda_client, name="orders", payload=b'{"order": 1}'):
    lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)


def test_first_attempt_runs_as_soon_as_time_moves(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.advance(0)
    assert [a.attempt for a in paused.invocations("orders")] == [1]


def test_no_second_attempt_59_seconds_after_the_first(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.advance(0)
    paused.advance(59)
    assert len(paused.invocations("orders")) == 1


def test_second_attempt_60_seconds_after_the_first(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.advance(0)
    started = paused.now()
    paused.advance(60)
    first, second = paused.invocations("orders")
    assert second.attempt == 2
    assert second.started_at - first.started_at == timedelta(seconds=60)
    assert second.started_at == started + timedelta(seconds=60)


def test_third_attempt_120_seconds_after_the_second(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.advance(60)
    paused.advance(119)
    assert len(paused.invocations("orders")) == 2
    paused.advance(1)
    attempts = paused.invocations("orders")
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert attempts[2].started_at - attempts[1].started_at == timedelta(seconds=120)


def test_gives_up_after_three_attempts_by_default(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.drain()
    assert len(paused.invocations("orders")) == 3
    [dropped] = paused.timeline().select("dropped", function_name="orders")
    assert dropped.detail["reason"] == "RetriesExhausted"


def test_no_attempt_after_giving_up(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.drain()
    paused.advance(24 * 3600)
    assert len(paused.invocations("orders")) == 3


def test_every_attempt_has_the_same_request_id(paused, lambda_client):
    seen = []

    def handler(event, context):
        seen.append(context.aws_request_id)
        raise ValueError("boom")

    paused.add_function("orders", handler)
    _invoke(lambda_client)
    paused.drain()
    assert len(seen) == 3
    assert len(set(seen)) == 1


def test_every_attempt_gets_the_original_event(paused, lambda_client):
    seen = []

    def handler(event, context):
        seen.append(event)
        raise ValueError("boom")

    paused.add_function("orders", handler)
    _invoke(lambda_client, payload=b'{"order": 7}')
    paused.drain()
    assert seen == [{"order": 7}] * 3


def test_success_on_a_retry_ends_the_retries(paused, lambda_client):
    calls = []

    def flaky(event, context):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first time fails")
        return "ok"

    paused.add_function("orders", flaky)
    _invoke(lambda_client)
    paused.drain()
    assert [a.ok for a in paused.invocations("orders")] == [False, True]
    assert len(paused.timeline().select("dropped")) == 0


def test_retry_is_announced_on_the_timeline_with_its_time(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.advance(0)
    [retry] = paused.timeline().select("retry_scheduled", function_name="orders")
    due = paused.now() + timedelta(seconds=60)
    assert retry.detail["at"] == int(due.timestamp() * 1000)
    assert retry.detail["attempt"] == 2


def test_timeout_is_retried(paused, lambda_client):
    create_function(
        "slow",
        "import time\ndef handler(event, context):\n    time.sleep(5)\n",
        Timeout=1,
    )
    _invoke(lambda_client, name="slow")
    paused.advance(1)  # a timed-out attempt lasts its timeout
    [attempt] = paused.invocations("slow")
    assert attempt.error_type == "Sandbox.Timedout"
    assert len(paused.timeline().select("retry_scheduled", function_name="slow")) == 1


def test_runtime_error_is_retried(paused, lambda_client):
    create_function("broken", "import missing_module\n")
    _invoke(lambda_client, name="broken")
    paused.drain()
    attempts = paused.invocations("broken")
    assert [a.error_type for a in attempts] == ["Runtime.ImportModuleError"] * 3


def test_each_failed_attempt_counts_in_errors_and_invocations(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.drain()
    assert metric_sum(paused, "Invocations", "orders") == 3
    assert metric_sum(paused, "Errors", "orders") == 3


def test_given_up_event_counts_in_async_events_dropped(paused, lambda_client):
    paused.add_function("orders", _fails)
    _invoke(lambda_client)
    paused.drain()
    assert metric_sum(paused, "AsyncEventsDropped", "orders") == 1


def test_zero_retries_from_the_event_invoke_config(paused, lambda_client):
    paused.add_function("orders", _fails)
    lambda_client.put_function_event_invoke_config(FunctionName="orders", MaximumRetryAttempts=0)
    _invoke(lambda_client)
    paused.drain()
    assert len(paused.invocations("orders")) == 1


def test_one_retry_from_the_event_invoke_config(paused, lambda_client):
    paused.add_function("orders", _fails)
    lambda_client.put_function_event_invoke_config(FunctionName="orders", MaximumRetryAttempts=1)
    _invoke(lambda_client)
    paused.drain()
    assert len(paused.invocations("orders")) == 2


def test_function_the_mock_cannot_run_fails_its_attempts_without_raising(paused, lambda_client):
    create_function("node", "", handler="index.handler", Runtime="nodejs20.x")
    _invoke(lambda_client, name="node")
    paused.drain()
    attempts = paused.invocations("node")
    assert [a.error_type for a in attempts] == ["InvalidRuntimeException"] * 3
