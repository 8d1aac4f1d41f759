"""Kinesis event source mappings when the function fails: retries, bisect, partial batch
responses, record age, and the OnFailure record."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from conftest import ACCOUNT, REGION
from test_esm_streams import (
    batches,
    client,
    data,
    failure_queue,
    kinesis_stream,
    map_stream,
    map_with_on_failure,
    on_failure,
    put,
    queued_records,
)

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:consumer"


def always_fail(event: Any, context: Any) -> None:
    raise ValueError("cannot process")


def fail_on_bad(event: Any, context: Any) -> None:
    if any(data(record) == "bad" for record in event["Records"]):
        raise ValueError("bad record")


def responding(response: Any) -> Any:
    def handler(event: Any, context: Any) -> Any:
        return response

    return handler


def iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- retries -----------------------------------------------------------------------------------------
def test_failing_batch_blocks_its_shard_until_it_succeeds(lam: Any) -> None:
    calls = []

    def flaky(event: Any, context: Any) -> None:
        calls.append(event)
        if len(calls) <= 2:
            raise RuntimeError("not yet")

    lam.add_function("consumer", flaky)
    stream = kinesis_stream()
    map_stream("consumer", stream, BatchSize=1)

    put(stream, "a", "b")

    assert batches(lam, "consumer") == [["a"], ["a"], ["a"], ["b"]]


def test_retries_back_off_exponentially(lam: Any) -> None:
    lam.add_function("consumer", always_fail)
    stream = kinesis_stream()
    map_stream("consumer", stream, MaximumRetryAttempts=3)
    start = lam.now()

    put(stream, "a")

    offsets = [attempt.started_at - start for attempt in lam.invocations("consumer")]
    assert offsets == [timedelta(seconds=s) for s in (0, 1, 3, 7)]


def test_exhausted_retries_send_the_on_failure_record(lam: Any) -> None:
    lam.add_function("consumer", always_fail)
    stream = kinesis_stream()
    url = map_with_on_failure("consumer", stream, MaximumRetryAttempts=1)
    arrival = lam.now()

    (result,) = put(stream, "a")

    last = lam.invocations("consumer")[-1]
    (record,) = queued_records(url)
    assert list(record) == [
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "KinesisBatchInfo",
    ]
    assert record["requestContext"]["functionArn"] == FUNCTION_ARN
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["version"] == "1.0"
    assert record["timestamp"] == iso(last.started_at)
    assert record["KinesisBatchInfo"] == {
        "shardId": result["ShardId"],
        "startSequenceNumber": result["SequenceNumber"],
        "endSequenceNumber": result["SequenceNumber"],
        "approximateArrivalOfFirstRecord": iso(arrival),
        "approximateArrivalOfLastRecord": iso(arrival),
        "batchSize": 1,
        "streamArn": stream,
    }


def test_shard_moves_on_after_a_discarded_batch(lam: Any) -> None:
    lam.add_function("consumer", fail_on_bad)
    stream = kinesis_stream()
    map_stream("consumer", stream, BatchSize=1, MaximumRetryAttempts=0)

    put(stream, "bad", "good")

    assert batches(lam, "consumer") == [["bad"], ["good"]]


def test_mapping_reports_a_failed_function_call(lam: Any) -> None:
    lam.add_function("consumer", always_fail)
    stream = kinesis_stream()
    mapping = map_stream("consumer", stream, MaximumRetryAttempts=0)

    put(stream, "a")

    response = client("lambda").get_event_source_mapping(UUID=mapping)
    assert response["LastProcessingResult"] == "PROBLEM: Function call failed"


def test_discarded_batch_without_destination_is_recorded_as_dropped(lam: Any) -> None:
    lam.add_function("consumer", always_fail)
    stream = kinesis_stream()
    map_stream("consumer", stream, MaximumRetryAttempts=0)

    put(stream, "a")

    lam.assert_dropped("consumer", reason="RetryAttemptsExhausted", count=1)


def test_undeliverable_on_failure_record_does_not_block_the_shard(lam: Any) -> None:
    lam.add_function("consumer", fail_on_bad)
    stream = kinesis_stream()
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue"
    map_stream(
        "consumer",
        stream,
        BatchSize=1,
        MaximumRetryAttempts=0,
        DestinationConfig=on_failure(missing),
    )

    put(stream, "bad", "good")

    assert batches(lam, "consumer") == [["bad"], ["good"]]
    assert len(lam.timeline().select("delivery_failed", function_name="consumer")) == 1


# -- record age ---------------------------------------------------------------------------------------
def test_maximum_record_age_ends_the_retries(lam: Any) -> None:
    lam.add_function("consumer", always_fail)
    stream = kinesis_stream()
    url = map_with_on_failure("consumer", stream, MaximumRecordAgeInSeconds=60)
    arrival = lam.now()

    put(stream, "a")

    attempts = lam.invocations("consumer")
    (record,) = queued_records(url)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == len(attempts) + 1
    assert "responseContext" not in record
    assert all(a.started_at - arrival <= timedelta(seconds=60) for a in attempts)


def test_records_past_the_maximum_age_are_discarded_without_an_invocation(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream()
    (stale,) = put(stream, "stale")
    lam.advance(120)
    url = map_with_on_failure("consumer", stream, MaximumRecordAgeInSeconds=60)

    put(stream, "fresh")

    (record,) = queued_records(url)
    assert batches(lam, "consumer") == [["fresh"]]
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["KinesisBatchInfo"]["startSequenceNumber"] == stale["SequenceNumber"]


def test_records_expire_with_the_stream_retention_period(lam: Any) -> None:
    lam.add_function("consumer", fail_on_bad)
    stream = kinesis_stream()
    url = map_with_on_failure("consumer", stream, BatchSize=1)
    arrival = lam.now()

    put(stream, "bad")
    put(stream, "good")

    (record,) = queued_records(url)
    last_bad = [a for a in lam.invocations("consumer") if a.ok is False][-1]
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert last_bad.started_at - arrival <= timedelta(hours=24)
    assert batches(lam, "consumer")[-1] == ["good"]


def test_throttled_batches_wait_without_using_retries(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    client("lambda").put_function_concurrency(
        FunctionName="consumer", ReservedConcurrentExecutions=0
    )
    stream = kinesis_stream()
    url = map_with_on_failure(
        "consumer", stream, MaximumRetryAttempts=0, MaximumRecordAgeInSeconds=60
    )

    put(stream, "a")

    (record,) = queued_records(url)
    assert lam.invocations("consumer") == []
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1


# -- bisect ---------------------------------------------------------------------------------------
def test_poison_record_is_bisected_out_and_the_shard_moves_on(lam: Any) -> None:
    lam.add_function("consumer", fail_on_bad)
    stream = kinesis_stream()
    url = map_with_on_failure(
        "consumer", stream, BatchSize=4, BisectBatchOnFunctionError=True, MaximumRetryAttempts=2
    )

    results = put(stream, "g1", "g2", "bad", "g3", "g4")

    assert batches(lam, "consumer") == [
        ["g1", "g2", "bad", "g3"],
        ["g1", "g2"],
        ["bad", "g3"],
        ["bad"],
        ["bad"],
        ["bad"],
        ["g3"],
        ["g4"],
    ]
    succeeded = [
        data(record)
        for attempt in lam.invocations("consumer")
        if attempt.ok
        for record in attempt.event["Records"]
    ]
    assert sorted(succeeded) == ["g1", "g2", "g3", "g4"]
    (record,) = queued_records(url)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 5
    assert record["KinesisBatchInfo"]["batchSize"] == 1
    assert record["KinesisBatchInfo"]["startSequenceNumber"] == results[2]["SequenceNumber"]


def test_the_timeline_tells_splits_from_retries(lam: Any) -> None:
    lam.add_function("consumer", fail_on_bad)
    stream = kinesis_stream()
    map_stream("consumer", stream, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1)

    put(stream, "good", "bad")

    lines = [line.split("] ", 1)[1] for line in str(lam.timeline()).splitlines() if "] " in line]
    assert [line.split(":")[0] if "failed" in line else line for line in lines] == [
        "kinesis attempt 1 failed",
        "split the failed batch of 2 records into 1 + 1, each tried next as attempt 2 "
        "(a split uses no retry)",
        "kinesis attempt 2 succeeded",
        "kinesis attempt 2 failed",  # "bad" alone: its one retry follows on the same line
        "kinesis attempt 3 failed",
        "dropped: RetryAttemptsExhausted count=1 shard=shardId-000000000000",
    ]
    assert lines[3].endswith("(attempt 3): function error, retry 1 of 1")


def test_splitting_a_batch_does_not_use_a_retry(lam: Any) -> None:
    lam.add_function("consumer", fail_on_bad)
    stream = kinesis_stream()
    map_stream("consumer", stream, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0)

    put(stream, "good", "bad")

    assert batches(lam, "consumer") == [["good", "bad"], ["good"], ["bad"]]


# -- ReportBatchItemFailures ------------------------------------------------------------------------
def test_partial_failure_retries_from_the_lowest_reported_record(lam: Any) -> None:
    calls = []

    def report(event: Any, context: Any) -> Any:
        calls.append(event)
        if len(calls) > 1:
            return {"batchItemFailures": []}
        numbers = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        return {
            "batchItemFailures": [{"itemIdentifier": numbers[3]}, {"itemIdentifier": numbers[1]}]
        }

    lam.add_function("consumer", report)
    stream = kinesis_stream()
    map_stream("consumer", stream, FunctionResponseTypes=["ReportBatchItemFailures"])

    put(stream, "r1", "r2", "r3", "r4", "r5")

    assert batches(lam, "consumer") == [["r1", "r2", "r3", "r4", "r5"], ["r2", "r3", "r4", "r5"]]


def test_a_reported_failure_that_keeps_failing_is_discarded_from_that_record(lam: Any) -> None:
    def report_last(event: Any, context: Any) -> Any:
        last = event["Records"][-1]["kinesis"]["sequenceNumber"]
        return {"batchItemFailures": [{"itemIdentifier": last}]}

    lam.add_function("consumer", report_last)
    stream = kinesis_stream()
    url = map_with_on_failure(
        "consumer",
        stream,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=2,
    )

    results = put(stream, "r1", "r2", "r3")

    (record,) = queued_records(url)
    assert batches(lam, "consumer") == [["r1", "r2", "r3"], ["r3"], ["r3"]]
    assert (
        record["requestContext"]["approximateInvokeCount"],
        record["responseContext"]["functionError"],
        record["KinesisBatchInfo"]["batchSize"],
        record["KinesisBatchInfo"]["startSequenceNumber"],
    ) == (3, None, 1, results[2]["SequenceNumber"])


@pytest.mark.parametrize(
    "response",
    ["", [], None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}],
    ids=["empty-string", "empty-list", "null", "empty-object", "empty-failures", "null-failures"],
)
def test_responses_that_count_as_complete_success(lam: Any, response: Any) -> None:
    lam.add_function("consumer", responding(response))
    stream = kinesis_stream()
    map_stream(
        "consumer",
        stream,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=2,
    )

    put(stream, "a")

    assert batches(lam, "consumer") == [["a"]]


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": 123}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"foo": 123}]},
        {"batchItemFailures": [{"itemIdentifier": "999999"}]},
    ],
    ids=["number", "empty-string", "null", "bad-key", "not-in-batch"],
)
def test_invalid_item_identifiers_fail_the_whole_batch(lam: Any, response: Any) -> None:
    lam.add_function("consumer", responding(response))
    stream = kinesis_stream()
    url = map_with_on_failure(
        "consumer",
        stream,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=2,
    )

    put(stream, "a")

    (record,) = queued_records(url)
    assert batches(lam, "consumer") == [["a"], ["a"], ["a"]]
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": None,
    }


def test_batch_item_failures_are_ignored_without_the_response_type(lam: Any) -> None:
    def report_first(event: Any, context: Any) -> Any:
        return {
            "batchItemFailures": [
                {"itemIdentifier": event["Records"][0]["kinesis"]["sequenceNumber"]}
            ]
        }

    lam.add_function("consumer", report_first)
    stream = kinesis_stream()
    map_stream("consumer", stream)

    put(stream, "a", "b")

    assert batches(lam, "consumer") == [["a", "b"]]


def test_bisect_with_a_partial_response_splits_at_the_reported_record(lam: Any) -> None:
    def report_r3(event: Any, context: Any) -> Any:
        failed = [
            {"itemIdentifier": record["kinesis"]["sequenceNumber"]}
            for record in event["Records"]
            if data(record) == "r3"
        ]
        return {"batchItemFailures": failed}

    lam.add_function("consumer", report_r3)
    stream = kinesis_stream()
    url = map_with_on_failure(
        "consumer",
        stream,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
    )

    results = put(stream, "r1", "r2", "r3", "r4")

    (record,) = queued_records(url)
    assert batches(lam, "consumer") == [["r1", "r2", "r3", "r4"], ["r3", "r4"]]
    assert record["KinesisBatchInfo"]["startSequenceNumber"] == results[2]["SequenceNumber"]
    assert record["KinesisBatchInfo"]["batchSize"] == 2


# -- destinations ---------------------------------------------------------------------------------
def test_s3_on_failure_record_includes_the_invocation_payload(lam: Any) -> None:
    lam.add_function("consumer", always_fail)
    stream = kinesis_stream()
    s3 = client("s3")
    s3.create_bucket(Bucket="stream-failures")
    map_stream(
        "consumer",
        stream,
        MaximumRetryAttempts=0,
        DestinationConfig=on_failure("arn:aws:s3:::stream-failures"),
    )

    put(stream, "a")

    (event,) = [attempt.event for attempt in lam.invocations("consumer")]
    (item,) = s3.list_objects_v2(Bucket="stream-failures")["Contents"]
    body = json.loads(s3.get_object(Bucket="stream-failures", Key=item["Key"])["Body"].read())
    assert body["payload"] == event
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["KinesisBatchInfo"]["batchSize"] == 1


def test_sns_on_failure_record_is_the_message(lam: Any) -> None:
    lam.add_function("consumer", always_fail)
    stream = kinesis_stream()
    sns = client("sns")
    topic = sns.create_topic(Name="stream-failures")["TopicArn"]
    url, queue_arn = failure_queue("topic-copy")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    map_stream("consumer", stream, MaximumRetryAttempts=0, DestinationConfig=on_failure(topic))

    put(stream, "a")

    (envelope,) = queued_records(url)
    record = json.loads(envelope["Message"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["KinesisBatchInfo"]["streamArn"] == stream


# -- metrics -----------------------------------------------------------------------------------------
def test_iterator_age_is_published_when_a_batch_is_processed(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream()
    put(stream, "a")
    lam.advance(30)
    start = lam.now()
    map_stream("consumer", stream)

    put(stream, "b")

    cloudwatch = client("cloudwatch")
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="IteratorAge",
        Dimensions=[{"Name": "FunctionName", "Value": "consumer"}],
        StartTime=start - timedelta(minutes=1),
        EndTime=start + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )
    assert max(point["Maximum"] for point in stats["Datapoints"]) == 30_000
