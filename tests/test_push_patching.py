"""The push triggers replace moto's deliveries only while a mock is active."""

from __future__ import annotations

from typing import Any

import boto3
from conftest import REGION
from moto import mock_aws
from moto.events.models import EventsBackend, Rule
from moto.s3 import notifications
from moto.sns.models import Subscription

from mock_lambda_async import mock_lambda_async


def moto_functions() -> list[Any]:
    return [
        vars(Subscription)["publish"],
        vars(Rule)["send_to_targets"],
        vars(EventsBackend)["put_events"],
        notifications.send_event,
        notifications._invoke_awslambda,
    ]


def test_moto_is_patched_only_while_the_mock_is_active() -> None:
    before = moto_functions()
    with mock_lambda_async():
        during = moto_functions()
    assert all(a is not b for a, b in zip(before, during, strict=True))
    assert moto_functions() == before


def test_a_nested_mock_leaves_the_outer_one_patched() -> None:
    with mock_lambda_async():
        outer = moto_functions()
        with mock_lambda_async():
            pass
        assert moto_functions() == outer


def test_stacked_with_mock_aws_sns_still_reaches_the_function() -> None:
    seen: list[Any] = []
    with mock_aws(), mock_lambda_async() as lam:
        lam.add_function("fn", lambda event, context: seen.append(event))
        arn = boto3.client("lambda", region_name=REGION).get_function(FunctionName="fn")
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="t")["TopicArn"]
        sns.subscribe(
            TopicArn=topic, Protocol="lambda", Endpoint=arn["Configuration"]["FunctionArn"]
        )
        sns.publish(TopicArn=topic, Message="stacked")
        lam.drain()
    assert [event["Records"][0]["Sns"]["Message"] for event in seen] == ["stacked"]
