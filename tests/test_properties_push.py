"""Property tests of push triggers: any EventBridge target input, any SNS message and filter.

EventBridge targets get arbitrary ``Input``, ``InputPath`` and ``InputTransformer`` values (valid
or not; moto accepts them all at ``PutTargets``); SNS subscriptions get arbitrary filter policies
and messages. Whatever happens, only AWS's errors are raised, and every event that matched ends
accounted for: queued for the function (then succeeded or dropped, see the async accounting), or
given up by the producer (its DLQ, or a ``dropped`` note).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import boto3
import pytest
from conftest import AWS_ERRORS, REGION, property_examples
from hypothesis import given
from hypothesis import strategies as st
from test_properties_accounting import assert_async_accounted
from test_properties_async import json_values

from mock_lambda_async.metrics import Kind

pytestmark = pytest.mark.usefixtures("one_boto3_session")

_names = itertools.count()
EXAMPLES = property_examples(30)

paths = st.one_of(
    st.sampled_from(["$", "$.detail", "$.detail.x", "$.missing", "$.[[[", "detail", "$..x", ""]),
    st.text(max_size=12),
)
target_inputs = st.one_of(
    st.just({}),
    json_values.map(lambda value: {"Input": json.dumps(value)}),
    st.text(max_size=20).map(lambda text: {"Input": text}),
    paths.map(lambda path: {"InputPath": path}),
    st.fixed_dictionaries(
        {
            "InputTransformer": st.fixed_dictionaries(
                {
                    "InputPathsMap": st.dictionaries(
                        st.sampled_from(["a", "b"]), paths, max_size=2
                    ),
                    "InputTemplate": st.sampled_from(
                        ['{"a": <a>}', '"<a> and <b>"', "<a>", "plain text", '{"n": 1}', ""]
                    ),
                }
            )
        }
    ),
)


def producer_endings(lam: Any, name: str) -> list[str]:
    """How the events meant for ``name`` left their producer: queued, or given up by it.

    The producer's own notes carry no request id (the function never accepted the event); a
    queued event's later drop belongs to the async queue and is counted there.
    """
    timeline = lam.timeline().select(function_name=name)
    return [
        e.kind
        for e in timeline
        if e.kind == Kind.QUEUED
        or (e.kind in (Kind.DEAD_LETTERED, Kind.DROPPED) and e.request_id is None)
    ]


@EXAMPLES
@given(extra=target_inputs, detail=json_values, with_dlq=st.booleans())
def test_any_eventbridge_target_input_ends_every_matched_event_somewhere(
    lam: Any, extra: dict[str, Any], detail: Any, with_dlq: bool
) -> None:
    suffix = str(next(_names))
    name = f"target-{suffix}"
    arn = lam.add_function(name, lambda event, context: event)["FunctionArn"]
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    rule = f"rule-{suffix}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [f"app-{suffix}"]}))
    target: dict[str, Any] = {"Id": "1", "Arn": arn, **extra}
    if with_dlq:
        url = sqs.create_queue(QueueName=f"eb-dlq-{suffix}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        target["DeadLetterConfig"] = {"Arn": queue_arn}
    try:
        events.put_targets(Rule=rule, Targets=[target])
    except AWS_ERRORS:
        return
    events.put_events(
        Entries=[
            {"Source": f"app-{suffix}", "DetailType": "t", "Detail": json.dumps({"x": detail})}
        ]
    )
    lam.drain()
    assert len(producer_endings(lam, name)) == 1, str(lam.timeline())
    assert_async_accounted(lam, name)


@EXAMPLES
@given(
    policy=st.one_of(
        st.none(),
        st.just({"kind": ["a"]}),
        st.just({"kind": [{"prefix": "a"}]}),
        st.just({"n": [{"numeric": [">", 1]}]}),
        st.dictionaries(
            st.sampled_from(["kind", "n"]), st.lists(json_values, max_size=2), max_size=2
        ),
    ),
    scope=st.sampled_from(["MessageAttributes", "MessageBody"]),
    message=st.one_of(st.text(min_size=1, max_size=30), json_values.map(json.dumps)),
    kind=st.none() | st.text(min_size=1, max_size=5),
)
def test_any_sns_filter_and_message_ends_every_notification_somewhere(
    lam: Any, policy: Any, scope: str, message: str, kind: str | None
) -> None:
    suffix = str(next(_names))
    name = f"subscriber-{suffix}"
    arn = lam.add_function(name, lambda event, context: None)["FunctionArn"]
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name=f"topic-{suffix}")["TopicArn"]
    attributes: dict[str, str] = {}
    if policy is not None:
        attributes = {"FilterPolicy": json.dumps(policy), "FilterPolicyScope": scope}
    try:
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn, Attributes=attributes)
    except Exception:
        # Subscribe is moto's (not an operation the mock answers); its validation of odd
        # policies sometimes fails in moto itself. Only accepted subscriptions are of interest.
        return
    message_attributes = (
        {"kind": {"DataType": "String", "StringValue": kind}} if kind is not None else {}
    )
    try:
        sns.publish(TopicArn=topic, Message=message, MessageAttributes=message_attributes)
    except AWS_ERRORS:
        return
    lam.drain()
    timeline = lam.timeline().select(function_name=name)
    handed_on = len(timeline.select(Kind.QUEUED)) + len(timeline.select(Kind.FILTERED))
    assert handed_on == 1, str(lam.timeline())
    assert_async_accounted(lam, name)


def test_a_target_whose_input_path_is_not_jsonpath_drops_the_event(lam: Any) -> None:
    # Found by the property above: the JSONPath parser's error escaped into the test.
    arn = lam.add_function("pathless", lambda event, context: event)["FunctionArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="bad-path", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="bad-path", Targets=[{"Id": "1", "Arn": arn, "InputPath": "$.[[["}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"}])
    [dropped] = lam.assert_dropped("pathless", reason="InputPath is not valid JSONPath")
    assert dropped.request_id is None
    assert lam.invocations("pathless") == []


def test_a_json_array_message_fails_a_body_filter_policy(lam: Any) -> None:
    # Found by the property above: moto's matcher raised on a message body that is a JSON array.
    arn = lam.add_function("bodies", lambda event, context: None)["FunctionArn"]
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="arrays")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=arn,
        Attributes={
            "FilterPolicy": json.dumps({"kind": [{"prefix": "a"}]}),
            "FilterPolicyScope": "MessageBody",
        },
    )
    sns.publish(TopicArn=topic, Message="[1, false]")
    sns.publish(TopicArn=topic, Message=json.dumps({"kind": "apple"}))
    [attempt] = lam.assert_invoked("bodies", times=1)
    assert json.loads(attempt.event["Records"][0]["Sns"]["Message"]) == {"kind": "apple"}
    assert len(lam.timeline().select(Kind.FILTERED, function_name="bodies")) == 1
