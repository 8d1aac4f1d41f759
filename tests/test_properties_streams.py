"""Property tests of Kinesis mappings: any batch response, retry, bisect and age settings.

Handlers answer with arbitrary JSON, ``batchItemFailures`` naming sequence numbers of the batch (or
unknown ones, nulls, numbers, wrong keys), raise, or return bytes. Whatever happens, only AWS's
errors are raised and every record is processed or discarded, with an OnFailure record covering
each discarded one.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from conftest import ACCOUNT, REGION, client, property_examples
from hypothesis import given
from hypothesis import strategies as st
from test_properties_accounting import assert_stream_accounted
from test_properties_async import json_values

pytestmark = pytest.mark.usefixtures("one_boto3_session")

_names = itertools.count()
EXAMPLES = property_examples(20)

answers = st.one_of(
    st.sampled_from(
        [
            "none",
            "raise",
            "bytes",
            "fail-first",
            "fail-last",
            "fail-all",
            "fail-unknown",
            "fail-null",
            "fail-number",
            "fail-wrong-key",
            "failures-not-a-list",
            "state",
        ]
    ),
    json_values.map(lambda value: ("json", value)),
)


def answering(plan: list[Any]) -> Any:
    runs: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        answer = plan[min(len(runs), len(plan) - 1)]
        runs.append(1)
        numbers = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
        if isinstance(answer, tuple):
            return answer[1]
        if answer == "raise":
            raise ValueError("batch failed")
        failures = {
            "fail-first": [{"itemIdentifier": numbers[0]}],
            "fail-last": [{"itemIdentifier": numbers[-1]}],
            "fail-all": [{"itemIdentifier": n} for n in numbers],
            "fail-unknown": [{"itemIdentifier": "1"}],
            "fail-null": [{"itemIdentifier": None}],
            "fail-number": [{"itemIdentifier": 123}],
            "fail-wrong-key": [{"sequenceNumber": numbers[0]}],
        }
        if answer in failures:
            return {"batchItemFailures": failures[answer]}
        if answer == "failures-not-a-list":
            return {"batchItemFailures": "all"}
        if answer == "bytes":
            return b"\xffnot json"
        if answer == "state":
            # A tumbling window's answer: the state to carry, and any failures.
            return {"state": {"seen": len(numbers)}, "batchItemFailures": []}
        return None

    return handler


@EXAMPLES
@given(
    plan=st.lists(answers, min_size=1, max_size=5),
    count=st.integers(min_value=1, max_value=8),
    batch_size=st.integers(min_value=1, max_value=5),
    report=st.booleans(),
    bisect=st.booleans(),
    retries=st.integers(min_value=0, max_value=3),
    age=st.sampled_from([-1, 60, 600]),
    destination=st.booleans(),
    window=st.sampled_from([0, 0, 30]),
)
def test_any_stream_batch_response_leaves_every_record_accounted_for(
    lam: Any,
    plan: list[Any],
    count: int,
    batch_size: int,
    report: bool,
    bisect: bool,
    retries: int,
    age: int,
    destination: bool,
    window: int,
) -> None:
    suffix = str(next(_names))
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName=f"s-{suffix}", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName=f"s-{suffix}")["StreamDescription"]["StreamARN"]
    failures_url = client("sqs").create_queue(QueueName=f"f-{suffix}")["QueueUrl"]
    name = f"reader-{suffix}"
    lam.add_function(name, answering(plan))
    params: dict[str, Any] = {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": batch_size,
        "BisectBatchOnFunctionError": bisect,
        "MaximumRetryAttempts": retries,
        "MaximumRecordAgeInSeconds": age,
        "TumblingWindowInSeconds": window,
    }
    if report:
        params["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if destination:
        params["DestinationConfig"] = {
            "OnFailure": {"Destination": f"arn:aws:sqs:{REGION}:{ACCOUNT}:f-{suffix}"}
        }
    client("lambda").create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream_arn, **params
    )
    response = kinesis.put_records(
        StreamName=f"s-{suffix}",
        Records=[{"Data": f"{n}".encode(), "PartitionKey": "k"} for n in range(count)],
    )
    numbers = [entry["SequenceNumber"] for entry in response["Records"]]
    ended = assert_stream_accounted(lam, name, numbers, failures_url if destination else None)
    assert ended["processed"] + ended["discarded"] == count
