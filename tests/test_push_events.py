"""EventBridge rules with Lambda targets invoke the function asynchronously, through the async queue."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from conftest import REGION, failing_with_on_failure, function_arn, make_queue, recording_function
from hypothesis import given
from hypothesis import strategies as st

from mock_lambda_async import async_queue
from mock_lambda_async.event_sources.push import EVENTBRIDGE_RETRY_CAP_S, eventbridge_retry_delay
from mock_lambda_async.interception import AwsError
from mock_lambda_async.metrics import History

START = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)
GONE = f"arn:aws:lambda:{REGION}:123456789012:function:gone"

pytestmark = pytest.mark.lambda_async(start=START)


@pytest.fixture
def events_client() -> Any:
    return boto3.client("events", region_name=REGION)


def rule_to(events_client: Any, target: dict[str, Any], rule: str = "orders") -> str:
    arn = events_client.put_rule(Name=rule, EventPattern=json.dumps({"source": ["shop"]}))
    events_client.put_targets(Rule=rule, Targets=[{"Id": "t1", **target}])
    return str(arn["RuleArn"])


def rule_with_dlq(events_client: Any, sqs: Any, arn: str, **target: Any) -> tuple[str, str]:
    """Rule ``orders`` to ``arn`` (with the ``target`` settings) and a new dead-letter queue.

    Returns the queue's URL and the rule's ARN.
    """
    url, dlq_arn = make_queue(sqs, "rule-dlq")
    return url, rule_to(events_client, {"Arn": arn, **target, "DeadLetterConfig": {"Arn": dlq_arn}})


def put_event(events_client: Any, detail: dict[str, Any], **entry: Any) -> str:
    response = events_client.put_events(
        Entries=[
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps(detail), **entry}
        ]
    )
    return str(response["Entries"][0]["EventId"])


def dead_letters(sqs: Any, url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def attributes(message: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}


def throttle(monkeypatch: pytest.MonkeyPatch, times: int | None) -> None:
    """Make Lambda refuse the hand-off with a 429 ``times`` times (``None``: always)."""
    real_enqueue = async_queue.enqueue
    left = [times]

    def throttled(*args: Any, **kwargs: Any) -> str:
        if left[0] is None or left[0] > 0:
            if left[0] is not None:
                left[0] -= 1
            raise AwsError("TooManyRequestsException", "Rate Exceeded.", 429)
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(async_queue, "enqueue", throttled)


def test_matching_event_invokes_the_target_with_the_event(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target")
    rule_to(events_client, {"Arn": function_arn("target")})
    event_id = put_event(events_client, {"order": 7})
    lam.drain()
    assert [r["event"] for r in received] == [
        {
            "version": "0",
            "id": event_id,
            "detail-type": "OrderPlaced",
            "source": "shop",
            "account": "123456789012",
            "time": "2024-05-06T07:08:09Z",
            "region": REGION,
            "resources": [],
            "detail": {"order": 7},
        }
    ]


def test_the_invocation_is_asynchronous_and_recorded_with_the_rule(
    lam: Any, events_client: Any
) -> None:
    recording_function(lam, "target")
    rule_arn = rule_to(events_client, {"Arn": function_arn("target")})
    put_event(events_client, {"order": 7})
    lam.drain()
    (attempt,) = lam.state(History).invocations("target")
    queued = lam.state(History).timeline().select("queued", function_name="target")
    assert attempt.trigger == "events"
    assert [entry.detail.get("source") for entry in queued] == [rule_arn]


def test_event_keys_come_in_the_order_eventbridge_sends_them(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target")
    rule_to(events_client, {"Arn": function_arn("target")})
    put_event(events_client, {"order": 7})
    lam.drain()
    assert list(received[0]["event"]) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]


def test_an_sqs_target_gets_the_account_in_the_event(
    lam: Any, events_client: Any, sqs: Any
) -> None:
    url, arn = make_queue(sqs, "order-events")
    rule_to(events_client, {"Arn": arn})
    put_event(events_client, {"order": 7})
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"])["account"] == "123456789012"


def test_a_time_given_by_the_caller_is_kept(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target")
    rule_to(events_client, {"Arn": function_arn("target")})
    put_event(events_client, {}, Time=datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    lam.drain()
    assert received[0]["event"]["time"] == "2020-01-02T03:04:05Z"


def test_a_non_matching_event_is_not_delivered(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target")
    rule_to(events_client, {"Arn": function_arn("target")})
    events_client.put_events(
        Entries=[{"Source": "elsewhere", "DetailType": "OrderPlaced", "Detail": "{}"}]
    )
    lam.drain()
    assert received == []


def test_a_disabled_rule_does_not_invoke(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target")
    rule_to(events_client, {"Arn": function_arn("target")})
    events_client.disable_rule(Name="orders")
    put_event(events_client, {"order": 7})
    lam.drain()
    assert received == []


def test_constant_input_replaces_the_event(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target")
    rule_to(events_client, {"Arn": function_arn("target"), "Input": '{"fixed": true}'})
    put_event(events_client, {"order": 7})
    lam.drain()
    assert [r["event"] for r in received] == [{"fixed": True}]


def test_input_path_selects_part_of_the_event(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target")
    rule_to(events_client, {"Arn": function_arn("target"), "InputPath": "$.detail"})
    put_event(events_client, {"order": 7})
    lam.drain()
    assert [r["event"] for r in received] == [{"order": 7}]


def test_input_transformer_builds_the_input(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target")
    transformer = {
        "InputPathsMap": {"order": "$.detail.order", "kind": "$.detail-type"},
        "InputTemplate": '{"id": <order>, "what": "<kind>"}',
    }
    rule_to(events_client, {"Arn": function_arn("target"), "InputTransformer": transformer})
    put_event(events_client, {"order": 7})
    lam.drain()
    assert [r["event"] for r in received] == [{"id": 7, "what": "OrderPlaced"}]


def test_an_alias_target_invokes_the_alias(lam: Any, events_client: Any) -> None:
    received = recording_function(lam, "target", Publish=True)
    boto3.client("lambda", region_name=REGION).create_alias(
        FunctionName="target", Name="live", FunctionVersion="1"
    )
    rule_to(events_client, {"Arn": function_arn("target") + ":live"})
    put_event(events_client, {"order": 7})
    lam.drain()
    assert [r["invoked_as"] for r in received] == [function_arn("target") + ":live"]


def test_other_targets_of_the_rule_are_still_delivered_by_moto(
    lam: Any, events_client: Any, sqs: Any
) -> None:
    received = recording_function(lam, "target")
    url, queue_arn = make_queue(sqs, "copies")
    events_client.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events_client.put_targets(
        Rule="orders",
        Targets=[{"Id": "fn", "Arn": function_arn("target")}, {"Id": "q", "Arn": queue_arn}],
    )
    put_event(events_client, {"order": 7})
    lam.drain()
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"])["detail"] == {"order": 7}
    assert len(received) == 1


def test_a_missing_function_goes_to_the_target_dlq_without_retries(
    lam: Any, events_client: Any, sqs: Any
) -> None:
    url, rule_arn = rule_with_dlq(events_client, sqs, GONE)
    event_id = put_event(events_client, {"order": 7})
    lam.drain()
    (message,) = dead_letters(sqs, url)
    assert json.loads(message["Body"])["id"] == event_id
    assert attributes(message) == {
        "RULE_ARN": rule_arn,
        "TARGET_ARN": GONE,
        "ERROR_CODE": "RESOURCE_NOT_FOUND",
        "ERROR_MESSAGE": f"Function not found: {GONE}:$LATEST",
        "RETRY_ATTEMPTS": "0",
    }
    assert lam.now() == START


def test_a_missing_function_without_dlq_is_dropped_and_counted(
    lam: Any, events_client: Any
) -> None:
    rule_arn = rule_to(events_client, {"Arn": GONE})
    put_event(events_client, {"order": 7})
    lam.drain()
    (dropped,) = lam.state(History).timeline().select("dropped", function_name="gone")
    statistics = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="AWS/Events",
        MetricName="FailedInvocations",
        Dimensions=[{"Name": "RuleName", "Value": "orders"}],
        StartTime=START - timedelta(hours=1),
        EndTime=START + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    assert dropped.detail["source"] == rule_arn
    assert sum(point["Sum"] for point in statistics["Datapoints"]) == 1.0


def test_a_throttled_hand_off_is_retried_with_backoff(
    lam: Any, events_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    received = recording_function(lam, "target")
    rule_to(events_client, {"Arn": function_arn("target")})
    throttle(monkeypatch, times=2)
    put_event(events_client, {"order": 7})
    lam.drain()
    assert len(received) == 1
    assert lam.now() == START + timedelta(seconds=1 + 2)


def test_retries_exhausted_send_the_event_to_the_dlq(
    lam: Any, events_client: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording_function(lam, "target")
    url, _ = rule_with_dlq(
        events_client, sqs, function_arn("target"), RetryPolicy={"MaximumRetryAttempts": 2}
    )
    throttle(monkeypatch, times=None)
    put_event(events_client, {"order": 7})
    lam.drain()
    (message,) = dead_letters(sqs, url)
    found = attributes(message)
    assert (found["EXHAUSTED_RETRY_CONDITION"], found["RETRY_ATTEMPTS"]) == (
        "MaximumRetryAttempts",
        "2",
    )
    assert found["ERROR_CODE"] == "THROTTLING"


def test_event_age_exhausted_sends_the_event_to_the_dlq(
    lam: Any, events_client: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording_function(lam, "target")
    url, _ = rule_with_dlq(
        events_client, sqs, function_arn("target"), RetryPolicy={"MaximumEventAgeInSeconds": 60}
    )
    throttle(monkeypatch, times=None)
    put_event(events_client, {"order": 7})
    lam.drain()
    (message,) = dead_letters(sqs, url)
    found = attributes(message)
    # Retries after 1, 2, 4, 8 and 16 s; the next (32 s later, at 63 s) would pass the age limit.
    assert (found["EXHAUSTED_RETRY_CONDITION"], found["RETRY_ATTEMPTS"]) == (
        "MaximumEventAgeInSeconds",
        "5",
    )
    assert lam.now() == START + timedelta(seconds=31)


@given(st.integers(min_value=1, max_value=400))
def test_retry_delays_grow_and_stay_under_the_cap(retry: int) -> None:
    assert eventbridge_retry_delay(retry) <= eventbridge_retry_delay(retry + 1)
    assert eventbridge_retry_delay(retry) <= EVENTBRIDGE_RETRY_CAP_S


def test_default_retries_fit_in_the_default_day() -> None:
    assert 23 * 3600 < sum(eventbridge_retry_delay(n) for n in range(1, 186)) <= 86400


def test_a_failing_function_event_reaches_its_on_failure_destination(
    lam: Any, events_client: Any, sqs: Any
) -> None:
    url, _ = failing_with_on_failure(lam, sqs, "broken")
    rule_to(events_client, {"Arn": function_arn("broken")})
    event_id = put_event(events_client, {"order": 7})
    lam.drain()
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["id"] == event_id
