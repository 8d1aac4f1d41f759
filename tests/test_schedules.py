"""Scheduled EventBridge rules fire on the virtual clock (``rate`` and ``cron``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import boto3
import pytest

from mock_lambda_async import mock_lambda_async
from mock_lambda_async.event_sources.schedules import Schedule

REGION = "us-east-1"
START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
#: The recorded Scheduled Event in aws-lambda-java-libs' ``cloudwatch_event.json`` (shared samples).
SAMPLE = {
    "version": "0",
    "id": "fae0433b-7a0e-e383-7849-7e10153eaa47",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2020-09-30T15:58:34Z",
    "region": "eu-central-1",
    "resources": ["arn:aws:events:eu-central-1:123456789012:rule/demoschedule"],
    "detail": {},
}


def scheduled(lam: Any, expression: str, events: list[dict[str, Any]], name: str = "tick") -> Any:
    arn = lam.add_function(name, lambda event, context: events.append(event))["FunctionArn"]
    client = boto3.client("events", region_name=REGION)
    client.put_rule(Name=f"{name}-rule", ScheduleExpression=expression)
    client.put_targets(Rule=f"{name}-rule", Targets=[{"Id": "fn", "Arn": arn}])
    return client


def times(events: list[dict[str, Any]]) -> list[str]:
    return [event["time"] for event in events]


def test_a_rate_rule_fires_every_interval_as_time_passes() -> None:
    events: list[dict[str, Any]] = []
    with mock_lambda_async(start=START) as lam:
        scheduled(lam, "rate(5 minutes)", events)
        lam.advance(16 * 60)
        assert times(events) == [
            "2024-05-01T12:05:00Z",
            "2024-05-01T12:10:00Z",
            "2024-05-01T12:15:00Z",
        ]
        lam.assert_invoked("tick", times=3, trigger="events")


def test_a_cron_rule_fires_at_matching_minutes() -> None:
    events: list[dict[str, Any]] = []
    with mock_lambda_async(start=START) as lam:
        scheduled(lam, "cron(0/20 12-13 * * ? *)", events)
        lam.advance(3 * 3600)
        assert times(events) == [
            "2024-05-01T12:20:00Z",
            "2024-05-01T12:40:00Z",
            "2024-05-01T13:00:00Z",
            "2024-05-01T13:20:00Z",
            "2024-05-01T13:40:00Z",
        ]


def test_the_event_has_the_recorded_shape() -> None:
    # Source: aws-lambda-java-libs cloudwatch_event.json (a recorded Scheduled Event).
    sample = SAMPLE
    events: list[dict[str, Any]] = []
    with mock_lambda_async(start=START) as lam:
        scheduled(lam, "rate(1 minute)", events)
        lam.advance(60)
    [event] = events
    assert list(event) == list(sample)
    assert {k: type(v) for k, v in event.items()} == {k: type(v) for k, v in sample.items()}
    assert (event["detail-type"], event["source"], event["detail"]) == (
        "Scheduled Event",
        "aws.events",
        {},
    )
    assert event["resources"] == [f"arn:aws:events:{REGION}:123456789012:rule/tick-rule"]


def test_a_disabled_rule_fires_nothing_until_enabled() -> None:
    events: list[dict[str, Any]] = []
    with mock_lambda_async(start=START) as lam:
        client = scheduled(lam, "rate(1 minute)", events)
        client.disable_rule(Name="tick-rule")
        lam.advance(300)
        assert events == []
        client.enable_rule(Name="tick-rule")
        lam.advance(60)
        assert times(events) == ["2024-05-01T12:06:00Z"]


def test_a_deleted_rule_stops() -> None:
    events: list[dict[str, Any]] = []
    with mock_lambda_async(start=START) as lam:
        client = scheduled(lam, "rate(1 minute)", events)
        lam.advance(60)
        client.remove_targets(Rule="tick-rule", Ids=["fn"])
        client.delete_rule(Name="tick-rule")
        lam.advance(600)
        assert len(events) == 1


def test_a_rule_put_again_follows_its_new_expression() -> None:
    events: list[dict[str, Any]] = []
    with mock_lambda_async(start=START) as lam:
        client = scheduled(lam, "rate(1 minute)", events)
        client.put_rule(Name="tick-rule", ScheduleExpression="rate(1 hour)")
        lam.advance(3600)
        assert times(events) == ["2024-05-01T13:00:00Z"]


def test_drain_does_not_run_a_schedule() -> None:
    events: list[dict[str, Any]] = []
    with mock_lambda_async(start=START) as lam:
        scheduled(lam, "rate(1 minute)", events)
        lam.drain()
        assert (events, lam.now()) == ([], START)


def test_a_failing_scheduled_invocation_is_retried_as_an_async_event() -> None:
    with mock_lambda_async(start=START) as lam:

        def fail(event: Any, context: Any) -> None:
            raise ValueError("boom")

        arn = lam.add_function("flaky", fail)["FunctionArn"]
        client = boto3.client("events", region_name=REGION)
        client.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
        client.put_targets(Rule="hourly", Targets=[{"Id": "fn", "Arn": arn}])
        lam.advance(3600 + 180)
        lam.assert_failed("flaky", error_type=ValueError, times=3)


def test_a_rule_put_before_the_mock_counts_from_its_start() -> None:
    from moto import mock_aws

    events: list[dict[str, Any]] = []
    with mock_aws():
        boto3.client("events", region_name=REGION).put_rule(
            Name="early", ScheduleExpression="rate(10 minutes)"
        )
        with mock_lambda_async(start=START) as lam:
            arn = lam.add_function("early-fn", lambda e, c: events.append(e))["FunctionArn"]
            boto3.client("events", region_name=REGION).put_targets(
                Rule="early", Targets=[{"Id": "fn", "Arn": arn}]
            )
            lam.advance(600)
    assert times(events) == ["2024-05-01T12:10:00Z"]


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # Examples from the EventBridge documentation's cron table [DOCS eb-scheduled-rule-pattern].
        ("cron(0 10 * * ? *)", "2024-05-01T12:00", "2024-05-02T10:00"),  # 10:00 UTC every day
        ("cron(15 12 * * ? *)", "2024-05-01T12:00", "2024-05-01T12:15"),  # 12:15 every day
        ("cron(0 18 ? * MON-FRI *)", "2024-05-03T18:00", "2024-05-06T18:00"),  # weekdays 18:00
        ("cron(0 8 1 * ? *)", "2024-05-01T12:00", "2024-06-01T08:00"),  # first of the month
        ("cron(0/15 * * * ? *)", "2024-05-01T12:07", "2024-05-01T12:15"),
        ("cron(0/10 * ? * MON-FRI *)", "2024-05-04T00:00", "2024-05-06T00:00"),  # Saturday → Monday
        ("cron(0/5 8-17 ? * MON-FRI *)", "2024-05-01T17:55", "2024-05-02T08:00"),
        ("cron(0 9 ? * 2#1 *)", "2024-05-01T12:00", "2024-05-06T09:00"),  # first Monday
        ("cron(0 0 L * ? *)", "2024-02-01T00:00", "2024-02-29T00:00"),  # last day (leap year)
        ("cron(0 0 ? * 6L *)", "2024-05-01T00:00", "2024-05-31T00:00"),  # last Friday
        (
            "cron(0 0 15W * ? *)",
            "2024-06-01T00:00",
            "2024-06-14T00:00",
        ),  # 15 June 2024 is a Saturday
        ("cron(0 0 1 JAN ? 2026)", "2024-05-01T00:00", "2026-01-01T00:00"),
    ],
)
def test_cron_occurrences(expression: str, after: str, expected: str) -> None:
    moment = datetime.fromisoformat(after).replace(tzinfo=timezone.utc)
    occurrence = Schedule(expression).after(moment, moment)
    assert occurrence == datetime.fromisoformat(expected).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "expression",
    ["cron(0 0 * * * *)", "cron(0 0 ? * ? *)", "cron(61 0 * * ? *)", "rate(5 fortnights)"],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        Schedule(expression)
