"""Property tests of asynchronous invocations: any configuration, payload and handler behaviour.

Whatever a test sends (event invoke configs in and out of range, destinations that exist or not,
dead-letter targets of every kind, payloads that are JSON or not, handlers that return, raise,
exit or return what cannot be serialized), the mock answers with AWS's errors only (botocore's
``ClientError`` or ``ParamValidationError``), and every queued event ends accounted for.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
from typing import Any

import pytest
from conftest import ACCOUNT, AWS_ERRORS, REGION, client, property_examples
from hypothesis import given
from hypothesis import strategies as st
from test_properties_accounting import assert_async_accounted, queue_message_ids

from mock_lambda_async.metrics import Kind

pytestmark = pytest.mark.usefixtures("one_boto3_session")

#: Each example gets its own function names (one activation serves the whole test).
_names = itertools.count()
EXAMPLES = property_examples(25)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=40),
    st.just(b""),
)
#: What one attempt of the handler does.
behaviours = st.sampled_from(["return", "raise", "exit", "bytes", "unserializable", "invalid-json"])


def handler_doing(plan: list[str]) -> Any:
    """A handler whose n-th run does ``plan[n]`` (the last entry repeats)."""
    runs: list[int] = []

    def handler(event: Any, context: Any) -> Any:
        step = plan[min(len(runs), len(plan) - 1)]
        runs.append(1)
        if step == "raise":
            raise ValueError(f"run {len(runs)}")
        if step == "exit":
            sys.exit(3)
        if step == "bytes":
            return b"\xff\xfe raw"
        if step == "unserializable":
            return object()
        if step == "invalid-json":
            return b"{not json"
        return {"echo": event}

    return handler


class World:
    """The targets one example can point destinations and DLQs at."""

    def __init__(self, suffix: str) -> None:
        sqs, sns = client("sqs"), client("sns")
        self.queue_url = sqs.create_queue(QueueName=f"dest-{suffix}")["QueueUrl"]
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dest-{suffix}"
        self.dlq_url = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
        self.dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq-{suffix}"
        sqs.create_queue(QueueName=f"fifo-{suffix}.fifo", Attributes={"FifoQueue": "true"})
        self.fifo_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:fifo-{suffix}.fifo"
        self.topic_arn = sns.create_topic(Name=f"topic-{suffix}")["TopicArn"]
        self.missing_queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:missing-{suffix}"

    def destination(self, choice: str, own_arn: str, other_arn: str) -> str:
        return {
            "queue": self.queue_arn,
            "dlq": self.dlq_arn,
            "missing-queue": self.missing_queue,
            "fifo": self.fifo_arn,
            "topic": self.topic_arn,
            "self": own_arn,
            "other-function": other_arn,
            "bus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
            "bucket": "arn:aws:s3:::no-such-bucket",
            "garbage": "not an arn",
            "empty": "",
            "iam": f"arn:aws:iam::{ACCOUNT}:role/x",
        }[choice]


destination_choices = st.sampled_from(
    [
        "queue",
        "missing-queue",
        "fifo",
        "topic",
        "self",
        "other-function",
        "bus",
        "bucket",
        "garbage",
        "empty",
        "iam",
    ]
)
dead_letter_choices = st.sampled_from([None, "dlq", "missing-queue", "fifo", "topic", "garbage"])


@EXAMPLES
@given(
    retries=st.none() | st.integers(min_value=-2, max_value=5),
    age=st.none() | st.integers(min_value=-10, max_value=30_000),
    on_success=st.none() | destination_choices,
    on_failure=st.none() | destination_choices,
    dead_letter=dead_letter_choices,
    plan=st.lists(behaviours, min_size=1, max_size=4),
    payload=payloads,
    legacy=st.booleans(),
)
def test_any_async_configuration_ends_every_event_accounted_for(
    lam: Any,
    retries: int | None,
    age: int | None,
    on_success: str | None,
    on_failure: str | None,
    dead_letter: str | None,
    plan: list[str],
    payload: bytes,
    legacy: bool,
) -> None:
    suffix = str(next(_names))
    name, other = f"fn-{suffix}", f"other-{suffix}"
    world = World(suffix)
    own_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    other_arn = lam.add_function(other, lambda event, context: None)["FunctionArn"]
    config: dict[str, Any] = {}
    if dead_letter is not None:
        target = world.destination(dead_letter, own_arn, other_arn)
        config["DeadLetterConfig"] = {"TargetArn": target}
    try:
        lam.add_function(name, handler_doing(plan), **config)
    except AWS_ERRORS:
        lam.add_function(name, handler_doing(plan))
    settings_given: dict[str, Any] = {}
    if retries is not None:
        settings_given["MaximumRetryAttempts"] = retries
    if age is not None:
        settings_given["MaximumEventAgeInSeconds"] = age
    destinations = {}
    for slot, choice in (("OnSuccess", on_success), ("OnFailure", on_failure)):
        if choice is not None:
            destinations[slot] = {"Destination": world.destination(choice, own_arn, other_arn)}
    if destinations:
        settings_given["DestinationConfig"] = destinations
    with contextlib.suppress(*AWS_ERRORS):
        client("lambda").put_function_event_invoke_config(FunctionName=name, **settings_given)
    try:
        if legacy:
            client("lambda").invoke_async(FunctionName=name, InvokeArgs=payload)
        else:
            client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=payload)
    except AWS_ERRORS:
        pass

    fates = assert_async_accounted(lam, name)
    assert len(fates) <= 1
    assert_async_accounted(lam, other)
    # What the timeline says reached the queues and the topic is what they hold.
    timeline = lam.timeline()
    for url, arn in ((world.queue_url, world.queue_arn), (world.dlq_url, world.dlq_arn)):
        sent = [
            e
            for e in timeline
            if e.kind in (Kind.DELIVERED, Kind.DEAD_LETTERED) and e.detail["destination"] == arn
        ]
        assert len(queue_message_ids(url)) == len(sent)


@EXAMPLES
@given(payload=payloads, plan=st.lists(behaviours, min_size=1, max_size=2))
def test_any_payload_and_response_of_a_synchronous_invoke_is_answered(
    lam: Any, payload: bytes, plan: list[str]
) -> None:
    name = f"sync-{next(_names)}"
    lam.add_function(name, handler_doing(plan))
    try:
        response = client("lambda").invoke(FunctionName=name, Payload=payload)
    except AWS_ERRORS:
        assert lam.invocations(name) == []
        return
    body = response["Payload"].read()
    [attempt] = lam.invocations(name)
    assert attempt.finished
    assert (response.get("FunctionError") is None) == attempt.ok
    assert attempt.response is not None or body in (b"", b"null")
