"""The virtual clock a test drives: ``now``, ``advance``, ``drain`` and ``auto_drain``."""

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from conftest import REGION, make_queue

from mock_lambda_async import mock_lambda_async

pytestmark = pytest.mark.usefixtures("one_boto3_session")

NOON = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def _fails(event, context):
    raise ValueError("boom")


def _event(name, payload=b"{}"):
    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=name, InvocationType="Event", Payload=payload
    )


# -- now ------------------------------------------------------------------------------------------
def test_now_starts_at_the_real_time_and_is_timezone_aware():
    before = datetime.now(timezone.utc)
    with mock_lambda_async() as lam:
        now = lam.now()
    after = datetime.now(timezone.utc)
    assert now.utcoffset() == timedelta(0)
    assert before - timedelta(milliseconds=1) <= now <= after


def test_now_stands_still_while_nothing_moves_it():
    with mock_lambda_async(auto_drain=False, start=NOON) as lam:
        lam.add_function("idle", lambda event, context: None)
        boto3.client("lambda", region_name=REGION).invoke(FunctionName="idle")
        assert lam.now() == NOON


# -- advance --------------------------------------------------------------------------------------
@pytest.mark.lambda_async(auto_drain=False, start=NOON)
def test_advance_moves_now_by_exactly_the_seconds_given(lambda_async):
    lambda_async.advance(90.5)
    assert lambda_async.now() == NOON + timedelta(seconds=90.5)


@pytest.mark.lambda_async(auto_drain=False, start=NOON)
def test_advance_runs_due_work_in_time_order_each_at_its_own_time(lambda_async):
    lambda_async.add_function("first", _fails)
    lambda_async.add_function("second", _fails)
    _event("first")  # attempts at +0 s, +60 s, +180 s
    lambda_async.advance(30)
    _event("second")  # attempts at +30 s, +90 s, +210 s
    lambda_async.advance(170)  # to +200 s
    started = [(a.function_name, a.started_at - NOON) for a in lambda_async.invocations()]
    assert started == [
        ("first", timedelta(seconds=0)),
        ("second", timedelta(seconds=30)),
        ("first", timedelta(seconds=60)),
        ("second", timedelta(seconds=90)),
        ("first", timedelta(seconds=180)),
    ]


@pytest.mark.lambda_async(auto_drain=False)
def test_advance_refuses_to_move_backwards(lambda_async):
    with pytest.raises(ValueError, match="forward"):
        lambda_async.advance(-1)


# -- drain ----------------------------------------------------------------------------------------
@pytest.mark.lambda_async(auto_drain=False, start=NOON)
def test_drain_jumps_to_each_due_item_and_stops_at_the_last(lambda_async):
    lambda_async.add_function("orders", _fails)
    _event("orders")
    lambda_async.drain()
    offsets = [a.started_at - NOON for a in lambda_async.invocations("orders")]
    assert offsets == [timedelta(0), timedelta(seconds=60), timedelta(seconds=180)]
    assert lambda_async.now() == NOON + timedelta(seconds=180)


@pytest.mark.lambda_async(auto_drain=False, start=NOON)
def test_drain_with_nothing_pending_leaves_the_clock_alone(lambda_async):
    lambda_async.drain()
    assert lambda_async.now() == NOON


# -- auto_drain -----------------------------------------------------------------------------------
def test_auto_drain_settles_retries_before_the_next_aws_call():
    with mock_lambda_async(start=NOON) as lam:
        sqs = boto3.client("sqs", region_name=REGION)
        url, arn = make_queue(sqs, "dlq")
        lam.add_function("orders", _fails, DeadLetterConfig={"TargetArn": arn})
        _event("orders", b'{"order": 1}')
        messages = sqs.receive_message(QueueUrl=url)["Messages"]
        assert [m["Body"] for m in messages] == ['{"order": 1}']
        assert lam.now() == NOON + timedelta(seconds=180)


def test_auto_drain_runs_what_is_left_on_exit():
    seen = []
    with mock_lambda_async() as lam:
        lam.add_function("later", lambda event, context: seen.append(event))
        _event("later", b'{"n": 1}')
        assert seen == []
    assert seen == [{"n": 1}]


def test_without_auto_drain_nothing_runs_on_exit():
    seen = []
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("later", lambda event, context: seen.append(event))
        _event("later")
        boto3.client("lambda", region_name=REGION).list_functions()
    assert seen == []


def test_calls_made_by_a_running_handler_never_drain(lam):
    ran = []
    seen_by_caller = []

    def caller(event, context):
        client = boto3.client("lambda", region_name=REGION)
        client.invoke(FunctionName="later", InvocationType="Event", Payload=b"{}")
        client.list_functions()
        seen_by_caller.append(len(ran))
        return "done"

    lam.add_function("later", lambda event, context: ran.append(1))
    lam.add_function("caller", caller)
    response = boto3.client("lambda", region_name=REGION).invoke(FunctionName="caller")
    assert json.loads(response["Payload"].read()) == "done"
    assert seen_by_caller == [0]
    assert len(lam.invocations("later")) == 1
