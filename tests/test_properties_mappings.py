"""Property tests of the event source mapping API: any settings, in range or not, in any combination.

``CreateEventSourceMapping`` and ``UpdateEventSourceMapping`` get arbitrary values for every
setting (below botocore's minimums, above the service's maximums, settings of the wrong source
type, malformed filters and destinations, unknown enum values). The mock answers each call with
AWS's errors only; a mapping it accepts reads back as it was set, lists, keeps working (the
messages and records sent afterwards are all accounted for) and deletes.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, AWS_ERRORS, REGION, client, property_examples
from hypothesis import event, given
from hypothesis import strategies as st
from test_properties_accounting import assert_sqs_accounted, assert_stream_accounted

pytestmark = pytest.mark.usefixtures("one_boto3_session")

_names = itertools.count()
EXAMPLES = property_examples(40)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


patterns = st.one_of(
    st.just(json.dumps({"body": [{"prefix": "a"}]})),
    st.just(json.dumps({"data": {"n": [{"numeric": [">", 1]}]}})),
    st.just(json.dumps({"body": {"n": [1, 2]}})),
    st.just("{not json"),
    st.just(json.dumps({"body": "not a list"})),
    st.just(json.dumps([])),
    st.text(max_size=20),
)
#: Every mapping setting, each left out (``None``) or given a value in or out of range.
mapping_settings = st.fixed_dictionaries(
    {},
    optional={
        "BatchSize": st.integers(min_value=-2, max_value=12_000),
        "MaximumBatchingWindowInSeconds": st.integers(min_value=-2, max_value=400),
        "ParallelizationFactor": st.integers(min_value=-1, max_value=12),
        "MaximumRecordAgeInSeconds": st.integers(min_value=-5, max_value=700_000),
        "MaximumRetryAttempts": st.integers(min_value=-5, max_value=11_000),
        "BisectBatchOnFunctionError": st.booleans(),
        "TumblingWindowInSeconds": st.integers(min_value=-1, max_value=1_000),
        "StartingPosition": st.sampled_from(["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP", "SOMETIME"]),
        "StartingPositionTimestamp": st.sampled_from(
            [datetime(2020, 1, 1, tzinfo=timezone.utc), 1_600_000_000]
        ),
        "FunctionResponseTypes": st.lists(
            st.sampled_from(["ReportBatchItemFailures", "Everything"]), max_size=2
        ),
        "FilterCriteria": st.one_of(
            st.just({}),
            st.lists(patterns, max_size=6).map(
                lambda found: {"Filters": [{"Pattern": p} for p in found]}
            ),
        ),
        "DestinationConfig": st.sampled_from(
            [
                {},
                {"OnFailure": {}},
                {"OnFailure": {"Destination": "FAILURES"}},
                {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:nowhere"}},
                {"OnFailure": {"Destination": "not an arn"}},
                {"OnSuccess": {"Destination": "FAILURES"}},
            ]
        ),
        "ScalingConfig": st.one_of(
            st.just({}),
            st.integers(min_value=-1, max_value=1_200).map(lambda n: {"MaximumConcurrency": n}),
        ),
        "Enabled": st.booleans(),
        "Tags": st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=2),
    },
)


sqs_settings = st.fixed_dictionaries(
    {},
    optional={
        "BatchSize": st.integers(min_value=1, max_value=10),
        "MaximumBatchingWindowInSeconds": st.integers(min_value=0, max_value=300),
        "FunctionResponseTypes": st.just(["ReportBatchItemFailures"]),
        "FilterCriteria": st.just(
            {"Filters": [{"Pattern": json.dumps({"body": [{"prefix": "a"}]})}]}
        ),
        "ScalingConfig": st.integers(min_value=2, max_value=1_000).map(
            lambda n: {"MaximumConcurrency": n}
        ),
        "Enabled": st.booleans(),
    },
)
stream_settings = st.fixed_dictionaries(
    {"StartingPosition": st.sampled_from(["TRIM_HORIZON", "LATEST"])},
    optional={
        "BatchSize": st.integers(min_value=1, max_value=10_000),
        "MaximumBatchingWindowInSeconds": st.integers(min_value=0, max_value=300),
        "ParallelizationFactor": st.integers(min_value=1, max_value=10),
        "MaximumRecordAgeInSeconds": st.sampled_from([-1, 60, 3600, 604_800]),
        "MaximumRetryAttempts": st.integers(min_value=-1, max_value=10_000),
        "BisectBatchOnFunctionError": st.booleans(),
        "TumblingWindowInSeconds": st.integers(min_value=0, max_value=900),
        "FunctionResponseTypes": st.just(["ReportBatchItemFailures"]),
        "DestinationConfig": st.just({"OnFailure": {"Destination": "FAILURES"}}),
        "Enabled": st.booleans(),
    },
)


@st.composite
def settings_for(draw: Any, source: str) -> dict[str, Any]:
    """Valid settings for the source, valid ones with one wild value, or anything at all."""
    valid = draw(sqs_settings if source in ("sqs", "missing-queue") else stream_settings)
    how = draw(st.sampled_from(["valid", "one wild value", "anything"]))
    if how == "valid":
        return dict(valid)
    wild = draw(mapping_settings)
    if how == "anything":
        return dict(wild)
    if not wild:
        return dict(valid)
    key = draw(st.sampled_from(sorted(wild)))
    return {**valid, key: wild[key]}


class Sources:
    """One queue, one Kinesis stream and one DynamoDB stream, and a failure queue."""

    def __init__(self, suffix: str) -> None:
        sqs = client("sqs")
        self.queue_url = sqs.create_queue(QueueName=f"q-{suffix}")["QueueUrl"]
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q-{suffix}"
        self.failures_url = sqs.create_queue(QueueName=f"failures-{suffix}")["QueueUrl"]
        self.failures_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:failures-{suffix}"
        kinesis = client("kinesis")
        self.stream_name = f"s-{suffix}"
        kinesis.create_stream(StreamName=self.stream_name, ShardCount=1)
        self.stream_arn = kinesis.describe_stream(StreamName=self.stream_name)["StreamDescription"][
            "StreamARN"
        ]
        table = client("dynamodb").create_table(
            TableName=f"t-{suffix}",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        self.table_stream_arn = table["TableDescription"]["LatestStreamArn"]

    def arn(self, kind: str) -> str:
        return {
            "sqs": self.queue_arn,
            "kinesis": self.stream_arn,
            "dynamodb": self.table_stream_arn,
            "missing-queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:missing",
            "garbage": "arn:aws:mq:nowhere",
        }[kind]

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """Put the failure queue's ARN where a destination says ``FAILURES``."""
        destination = given.get("DestinationConfig")
        if not destination:
            return given
        resolved = {
            slot: {k: (self.failures_arn if v == "FAILURES" else v) for k, v in value.items()}
            for slot, value in destination.items()
        }
        return {**given, "DestinationConfig": resolved}


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response["Error"]["Code"])
    return type(error).__name__


def _ok(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


@EXAMPLES
@given(
    source=st.sampled_from([*["sqs", "kinesis", "dynamodb"] * 2, "missing-queue", "garbage"]),
    timeout=st.integers(min_value=1, max_value=60),
    data=st.data(),
)
def test_any_mapping_settings_get_aws_answers_and_accepted_mappings_work(
    lam: Any, source: str, timeout: int, data: Any
) -> None:
    create = data.draw(settings_for(source), label="create")
    update = data.draw(settings_for(source), label="update")
    update.pop("StartingPosition", None)  # not an UpdateEventSourceMapping parameter
    suffix = str(next(_names))
    sources = Sources(suffix)
    name = f"reader-{suffix}"
    lam.add_function(name, lambda event, context: None, Timeout=timeout)
    lambda_client = client("lambda")
    try:
        created = lambda_client.create_event_source_mapping(
            FunctionName=name, EventSourceArn=sources.arn(source), **sources.resolve(create)
        )
    except AWS_ERRORS as error:
        event(f"create refused: {_code(error)}")
        listed = lambda_client.list_event_source_mappings(FunctionName=name)
        assert listed["EventSourceMappings"] == []
        return
    event(f"created for {source}")
    uuid = created["UUID"]
    got = _ok(lambda_client.get_event_source_mapping(UUID=uuid))
    for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor"):
        if key in create:
            assert got[key] == create[key]
    [listed] = lambda_client.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert listed["UUID"] == uuid
    try:
        updated = lambda_client.update_event_source_mapping(UUID=uuid, **sources.resolve(update))
    except AWS_ERRORS as error:
        event(f"update refused: {_code(error)}")
        updated = None
    if updated is not None:
        got = _ok(lambda_client.get_event_source_mapping(UUID=uuid))
        for key in ("BatchSize", "MaximumRetryAttempts", "TumblingWindowInSeconds"):
            if key in update:
                assert got[key] == update[key]
    _feed_and_account(lam, sources, source, name)
    lambda_client.delete_event_source_mapping(UUID=uuid)
    lam.drain()
    with pytest.raises(ClientError) as gone:
        lambda_client.get_event_source_mapping(UUID=uuid)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def _feed_and_account(lam: Any, sources: Sources, source: str, name: str) -> None:
    """Send the source a few messages or records: whatever the settings, nothing gets lost."""
    if source == "sqs":
        sent = [
            entry["MessageId"]
            for entry in client("sqs").send_message_batch(
                QueueUrl=sources.queue_url,
                Entries=[{"Id": str(n), "MessageBody": f"a{n}"} for n in range(3)],
            )["Successful"]
        ]
        mapping = client("lambda").list_event_source_mappings(FunctionName=name)[
            "EventSourceMappings"
        ][0]
        if mapping["State"] == "Enabled":
            assert_sqs_accounted(lam, name, sources.queue_url, sent, None)
        return
    if source == "kinesis":
        numbers = [
            client("kinesis").put_record(
                StreamName=sources.stream_name, Data=json.dumps({"n": n}).encode(), PartitionKey="k"
            )["SequenceNumber"]
            for n in range(3)
        ]
        lam.advance(120)
        mapping = client("lambda").list_event_source_mappings(FunctionName=name)[
            "EventSourceMappings"
        ][0]
        position = mapping.get("StartingPosition")
        if mapping["State"] == "Enabled" and position in ("TRIM_HORIZON", "AT_TIMESTAMP"):
            assert_stream_accounted(lam, name, numbers, None)
        return
    client("dynamodb").put_item(TableName=f"t-{name.split('-')[1]}", Item={"k": {"S": "v"}})
    lam.advance(120)
