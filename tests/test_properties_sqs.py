"""Property tests of SQS event source mappings: any batch response, any queue and mapping settings.

Handlers answer with arbitrary JSON, ``batchItemFailures`` lists of every shape (ids of the batch,
unknown ids, wrong keys, nulls), raise, or return bytes; queues and mappings take arbitrary batch
sizes, windows, visibility timeouts and redrive counts. Whatever happens, only AWS's errors are
raised, and every message sent ends processed, filtered or in the queue's DLQ; none stays behind.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from conftest import ACCOUNT, AWS_ERRORS, REGION, client, property_examples
from hypothesis import given
from hypothesis import strategies as st
from test_properties_accounting import assert_sqs_accounted
from test_properties_async import json_values

pytestmark = pytest.mark.usefixtures("one_boto3_session")

_names = itertools.count()
EXAMPLES = property_examples(20)

#: How the handler answers one batch; the payload of ``json`` is drawn separately.
answers = st.one_of(
    st.sampled_from(
        [
            "none",
            "raise",
            "bytes",
            "fail-first",
            "fail-all",
            "fail-unknown",
            "fail-empty-id",
            "fail-null-id",
            "fail-wrong-key",
            "fail-number-id",
            "failures-not-a-list",
            "empty-list",
        ]
    ),
    json_values.map(lambda value: ("json", value)),
)


def answering(plan: list[Any]) -> Any:
    """A handler answering batch n with ``plan[n]`` (the last answer repeats)."""
    runs: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        answer = plan[min(len(runs), len(plan) - 1)]
        runs.append(1)
        ids = [record["messageId"] for record in event["Records"]]
        if isinstance(answer, tuple):
            return answer[1]
        if answer == "raise":
            raise ValueError("batch failed")
        responses: dict[str, Any] = {
            "none": None,
            "bytes": b"\x00not json",
            "fail-first": {"batchItemFailures": [{"itemIdentifier": ids[0]}]},
            "fail-all": {"batchItemFailures": [{"itemIdentifier": i} for i in ids]},
            "fail-unknown": {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
            "fail-empty-id": {"batchItemFailures": [{"itemIdentifier": ""}]},
            "fail-null-id": {"batchItemFailures": [{"itemIdentifier": None}]},
            "fail-wrong-key": {"batchItemFailures": [{"id": ids[0]}]},
            "fail-number-id": {"batchItemFailures": [{"itemIdentifier": 7}]},
            "failures-not-a-list": {"batchItemFailures": {"itemIdentifier": ids[0]}},
            "empty-list": {"batchItemFailures": []},
        }
        return responses[answer]

    return handler


@EXAMPLES
@given(
    plan=st.lists(answers, min_size=1, max_size=5),
    bodies=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=12),
    batch_size=st.integers(min_value=1, max_value=12),
    window=st.integers(min_value=0, max_value=3),
    report=st.booleans(),
    visibility=st.integers(min_value=3, max_value=40),
    max_receives=st.integers(min_value=1, max_value=3),
    fifo=st.booleans(),
    filtered=st.booleans(),
)
def test_any_batch_response_leaves_every_message_accounted_for(
    lam: Any,
    plan: list[Any],
    bodies: list[str],
    batch_size: int,
    window: int,
    report: bool,
    visibility: int,
    max_receives: int,
    fifo: bool,
    filtered: bool,
) -> None:
    suffix = f"{next(_names)}" + (".fifo" if fifo else "")
    fifo_attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"dlq-{suffix}", Attributes=fifo_attributes)["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq-{suffix}"
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
    url = sqs.create_queue(
        QueueName=f"src-{suffix}",
        Attributes={
            "RedrivePolicy": policy,
            "VisibilityTimeout": str(visibility),
            **fifo_attributes,
        },
    )["QueueUrl"]
    name = f"consumer-{suffix.removesuffix('.fifo')}"
    lam.add_function(name, answering(plan))
    mapping: dict[str, Any] = {"BatchSize": batch_size, "MaximumBatchingWindowInSeconds": window}
    if report:
        mapping["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if filtered:
        mapping["FilterCriteria"] = {
            "Filters": [{"Pattern": json.dumps({"body": [{"prefix": "a"}]})}]
        }
    try:
        client("lambda").create_event_source_mapping(
            FunctionName=name,
            EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:src-{suffix}",
            **mapping,
        )
    except AWS_ERRORS:
        return  # AWS refuses the combination (a window on FIFO, a batch over 10 without one)
    entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)]
    if fifo:
        # Each message its own deduplication id: equal bodies are still distinct messages.
        entries = [
            {**entry, "MessageGroupId": f"g{n % 3}", "MessageDeduplicationId": f"{suffix}-{n}"}
            for n, entry in enumerate(entries)
        ]
    sent: list[str] = []
    for start in range(0, len(entries), 10):
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries[start : start + 10])
        sent += [entry["MessageId"] for entry in response.get("Successful", [])]
    fates = assert_sqs_accounted(lam, name, url, sent, dlq_url)
    assert set(fates.values()) <= {"processed", "dead-lettered"}


def test_messages_beyond_the_first_round_that_all_fail_the_filter_are_all_deleted(lam: Any) -> None:
    # Found by the property above: five pollers read five messages, the filter deleted them all,
    # and the poller went idle with the sixth still in the queue.
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="unmatched")["QueueUrl"]
    lam.add_function("picky", lambda event, context: None)
    client("lambda").create_event_source_mapping(
        FunctionName="picky",
        EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:unmatched",
        BatchSize=1,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": [{"prefix": "a"}]})}]},
    )
    sent = [
        entry["MessageId"]
        for entry in sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "0"} for n in range(6)]
        )["Successful"]
    ]
    fates = assert_sqs_accounted(lam, "picky", url, sent, None)
    assert set(fates.values()) == {"processed"}
    assert lam.invocations("picky") == []


@EXAMPLES
@given(
    count=st.integers(min_value=1, max_value=60),
    batch_size=st.integers(min_value=1, max_value=4),
    failing=st.sets(st.integers(min_value=0, max_value=59), max_size=12),
    peek=st.sampled_from(["none", "count", "receive"]),
    second_mapping=st.booleans(),
    max_concurrency=st.one_of(st.none(), st.integers(min_value=2, max_value=5)),
    duration=st.sampled_from([0, 5]),
    fifo=st.booleans(),
)
def test_a_backlog_read_while_it_drains_leaves_every_message_accounted_for(
    lam: Any,
    count: int,
    batch_size: int,
    failing: set[int],
    peek: str,
    second_mapping: bool,
    max_concurrency: int | None,
    duration: int,
    fifo: bool,
) -> None:
    # Rounds take batches from the front of a backlog while the handlers read the same queue.
    lam.auto_drain = False
    suffix = f"{next(_names)}" + (".fifo" if fifo else "")
    fifo_attributes = {"FifoQueue": "true"} if fifo else {}
    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"backlog-dlq-{suffix}", Attributes=fifo_attributes)[
        "QueueUrl"
    ]
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:backlog-dlq-{suffix}"
    url = sqs.create_queue(
        QueueName=f"backlog-{suffix}",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
            "VisibilityTimeout": "5",
            **fifo_attributes,
        },
    )["QueueUrl"]

    def handler(event: dict[str, Any], context: Any) -> Any:
        if peek == "count":
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        elif peek == "receive":
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        failed = [r["messageId"] for r in event["Records"] if int(r["body"]) in failing]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    names = [
        f"backlog-{suffix.removesuffix('.fifo')}-{n}" for n in range(2 if second_mapping else 1)
    ]
    for name in names:
        lam.add_function(name, handler)
        if duration:
            lam.set_duration(name, duration)
        scaling = {"ScalingConfig": {"MaximumConcurrency": max_concurrency}}
        client("lambda").create_event_source_mapping(
            FunctionName=name,
            EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:backlog-{suffix}",
            BatchSize=batch_size,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            **(scaling if max_concurrency else {}),
        )
    lam.drain()
    sent: list[str] = []
    for first in range(0, count, 10):
        entries: list[dict[str, Any]] = [
            {"Id": str(n), "MessageBody": str(n)} for n in range(first, min(first + 10, count))
        ]
        if fifo:
            # Three message groups; each message its own deduplication id.
            entries = [
                {**e, "MessageGroupId": f"g{int(e['Id']) % 3}", "MessageDeduplicationId": e["Id"]}
                for e in entries
            ]
        sent += [
            e["MessageId"]
            for e in sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]
        ]
    fates = assert_sqs_accounted(lam, None, url, sent, dlq_url)
    assert set(fates.values()) <= {"processed", "dead-lettered"}
