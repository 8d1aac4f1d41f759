"""SQS event source mappings: what reaches the function, in which batches, and what happens after."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from typing import Any

import pytest
from conftest import ACCOUNT, REGION, client

from mock_lambda_async import mock_lambda_async
from mock_lambda_async.runtime import Runtime


# -- helpers shared by the test_esm_sqs* modules ---------------------------------------------------
@functools.cache
def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def role() -> str:
    iam = client("iam")
    try:
        return str(iam.get_role(RoleName="esm-role")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(
            iam.create_role(RoleName="esm-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        )


def add_function(lam: Any, name: str = "worker", handler: Any = None, **config: Any) -> str:
    """A function running the Python callable ``handler`` (``lam.add_function`` on shared clients)."""
    response = client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role(),
        Handler="index.handler",
        Code={"ZipFile": _placeholder_zip()},
        **config,
    )
    unqualified = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    lam.state(Runtime).register_callable(
        unqualified, handler or (lambda event, context: None), response["CodeSha256"]
    )
    return unqualified


def queue(name: str = "jobs", **attributes: Any) -> tuple[str, str]:
    """Create a queue; returns (URL, ARN)."""
    attributes = {k: v if isinstance(v, str) else json.dumps(v) for k, v in attributes.items()}
    url = client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def queue_with_dlq(
    name: str = "jobs", max_receives: int = 3, **attributes: Any
) -> tuple[str, str, str]:
    """A queue redriving to ``<name>-dlq``; returns (URL, ARN, DLQ URL)."""
    suffix = ".fifo" if name.endswith(".fifo") else ""
    dlq_name = name.removesuffix(".fifo") + "-dlq" + suffix
    dlq_attributes = {"FifoQueue": "true"} if suffix else {}
    dlq_url, dlq_arn = queue(dlq_name, **dlq_attributes)
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
    url, arn = queue(name, RedrivePolicy=policy, **attributes)
    return url, arn, dlq_url


def map_queue(function: str, arn: str, **params: Any) -> str:
    response = client("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=arn, **params
    )
    return str(response["UUID"])


def send(url: str, *bodies: str, **params: Any) -> list[str]:
    """Send the bodies in one call (SendMessage for one, else SendMessageBatch); returns the ids.

    One call matters: with ``auto_drain`` every AWS call first runs what is pending, so messages
    sent in separate calls reach the poller one call at a time.
    """
    if len(bodies) == 1:
        return [
            client("sqs").send_message(QueueUrl=url, MessageBody=bodies[0], **params)["MessageId"]
        ]
    entries = [{"Id": str(i), "MessageBody": body, **params} for i, body in enumerate(bodies)]
    response = client("sqs").send_message_batch(QueueUrl=url, Entries=entries)
    return [
        entry["MessageId"] for entry in sorted(response["Successful"], key=lambda e: int(e["Id"]))
    ]


def counts(url: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue."""
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def bodies_in(url: str) -> list[str]:
    """The bodies of every message in a queue (they stay in flight afterwards)."""
    found: list[str] = []
    while True:
        messages = client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        if not messages.get("Messages"):
            return found
        found += [m["Body"] for m in messages["Messages"]]


def records(lam: Any, function: str = "worker") -> list[list[dict[str, Any]]]:
    """Each batch the function received: its records."""
    return [attempt.event["Records"] for attempt in lam.invocations(function)]


def delivered(lam: Any, function: str = "worker") -> list[list[str]]:
    """Each batch the function received: the message bodies."""
    return [[record["body"] for record in batch] for batch in records(lam, function)]


def receive_counts(lam: Any, function: str = "worker") -> list[list[str]]:
    return [
        [record["attributes"]["ApproximateReceiveCount"] for record in batch]
        for batch in records(lam, function)
    ]


def start_offsets(lam: Any, function: str = "worker") -> list[float]:
    """Seconds from the function's first attempt to each of its attempts."""
    attempts = lam.invocations(function)
    return [(a.started_at - attempts[0].started_at).total_seconds() for a in attempts]


def failing(event: dict[str, Any], context: Any) -> None:
    raise ValueError("cannot process")


# -- the event ---------------------------------------------------------------------------------------
def test_record_has_the_recorded_shape(lam: Any) -> None:
    # test_lambda_integration_sqs.snapshot.json::
    # test_report_batch_item_failures_invalid_result_json_batch_fails (no batching window): a
    # message without attributes has no md5OfMessageAttributes key.
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    sent = client("sqs").send_message(QueueUrl=url, MessageBody='{"order": 1}')
    now = str(int(lam.now().timestamp() * 1000))
    [[record]] = records(lam)
    assert record == {
        "messageId": sent["MessageId"],
        "receiptHandle": record["receiptHandle"],
        "body": '{"order": 1}',
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now,
            "SenderId": record["attributes"]["SenderId"],
            "ApproximateFirstReceiveTimestamp": now,
        },
        "messageAttributes": {},
        "md5OfBody": sent["MD5OfMessageBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


def test_record_of_a_mapping_with_a_batching_window_has_a_null_attributes_md5(lam: Any) -> None:
    # test_lambda_integration_sqs.snapshot.json::TestSQSEventSourceMapping::
    # test_sqs_event_source_mapping (MaximumBatchingWindowInSeconds=1):
    # "messageAttributes": {}, "md5OfMessageAttributes": null.
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn, MaximumBatchingWindowInSeconds=1)
    client("sqs").send_message(QueueUrl=url, MessageBody="x")
    lam.advance(seconds=1)
    [[record]] = records(lam)
    keys = list(record)
    assert keys[keys.index("messageAttributes") :][:3] == [
        "messageAttributes",
        "md5OfMessageAttributes",
        "md5OfBody",
    ]
    assert record["md5OfMessageAttributes"] is None


def test_message_attributes_take_the_lambda_shape(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    sent = client("sqs").send_message(
        QueueUrl=url,
        MessageBody="x",
        MessageAttributes={
            "WeeksOn": {"DataType": "Number", "StringValue": "6"},
            "Raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    [[record]] = records(lam)
    assert record["messageAttributes"] == {
        "WeeksOn": {
            "stringValue": "6",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "Raw": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


def test_trace_header_is_an_attribute(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    send(
        url,
        "x",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": header}},
    )
    assert records(lam)[0][0]["attributes"]["AWSTraceHeader"] == header


def test_fifo_record_carries_group_and_deduplication(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue("jobs.fifo", FifoQueue="true")
    map_queue(function, arn)
    sent = client("sqs").send_message(
        QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="d1"
    )
    attributes = records(lam)[0][0]["attributes"]
    assert list(attributes) == [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SequenceNumber",
        "MessageGroupId",
        "SenderId",
        "MessageDeduplicationId",
        "ApproximateFirstReceiveTimestamp",
    ]
    assert (attributes["MessageGroupId"], attributes["MessageDeduplicationId"]) == ("g1", "d1")
    assert attributes["SequenceNumber"] == sent["SequenceNumber"]


def test_invocations_are_recorded_with_the_sqs_trigger(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    send(url, "x")
    [attempt] = lam.invocations("worker")
    assert (attempt.trigger, attempt.attempt, attempt.ok) == ("sqs", 1, True)


# -- ways in -------------------------------------------------------------------------------------------
def test_send_message_batch_arrives_as_one_batch(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    client("sqs").send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)]
    )
    assert delivered(lam) == [[str(i) for i in range(10)]]


def test_sns_fan_out_reaches_the_mapping(lam: Any) -> None:
    function = add_function(lam)
    _url, arn = queue()
    map_queue(function, arn)
    topic = client("sns").create_topic(Name="news")["TopicArn"]
    client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    client("sns").publish(TopicArn=topic, Message="hello")
    assert delivered(lam) == [["hello"]]


def test_eventbridge_target_reaches_the_mapping(lam: Any) -> None:
    function = add_function(lam)
    _url, arn = queue()
    map_queue(function, arn)
    events = client("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": "{}"}])
    [[body]] = delivered(lam)
    assert json.loads(body)["source"] == "shop"


def test_s3_notification_reaches_the_mapping(lam: Any) -> None:
    function = add_function(lam)
    _url, arn = queue()
    map_queue(function, arn)
    s3 = client("s3")
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_notification_configuration(
        Bucket="uploads",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.put_object(Bucket="uploads", Key="a.txt", Body=b"a")
    keys = [
        json.loads(body).get("Records", [{}])[0].get("s3", {}).get("object", {}).get("key")
        for batch in delivered(lam)
        for body in batch
    ]
    assert "a.txt" in keys


def test_async_destination_reaches_the_mapping(lam: Any) -> None:
    _url, arn = queue("done")
    producer = add_function(lam, "producer", lambda event, context: {"made": event["n"]})
    client("lambda").put_function_event_invoke_config(
        FunctionName=producer, DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    map_queue(add_function(lam), arn)
    client("lambda").invoke(FunctionName="producer", InvocationType="Event", Payload=b'{"n": 7}')
    lam.drain()
    [[body]] = delivered(lam)
    assert json.loads(body)["responsePayload"] == {"made": 7}


# -- batching ------------------------------------------------------------------------------------------
def test_batches_hold_at_most_batch_size_messages(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn, BatchSize=4)
    client("sqs").send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)]
    )
    assert [len(batch) for batch in delivered(lam)] == [4, 4, 2]


def test_batching_window_gathers_messages_in_virtual_time() -> None:
    # Without auto_drain: an AWS call would otherwise run the window out before it is served.
    with mock_lambda_async(auto_drain=False) as lam:
        function = add_function(lam)
        url, arn = queue()
        map_queue(function, arn, BatchSize=50, MaximumBatchingWindowInSeconds=5)
        lam.drain()
        start = lam.now()
        send(url, "a")
        lam.advance(2)
        send(url, "b")
        lam.advance(3)
        [attempt] = lam.invocations("worker")
    assert [r["body"] for r in attempt.event["Records"]] == ["a", "b"]
    assert (attempt.started_at - start).total_seconds() == 5


def test_a_full_batch_does_not_wait_for_the_window(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn, BatchSize=2, MaximumBatchingWindowInSeconds=60)
    start = lam.now()
    send(url, "a", "b")
    [attempt] = lam.invocations("worker")
    assert attempt.started_at == start


def test_delayed_message_arrives_after_its_delay(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    start = lam.now()
    send(url, "later", DelaySeconds=10)
    [attempt] = lam.invocations("worker")
    assert (attempt.started_at - start).total_seconds() == 10


# -- outcomes ------------------------------------------------------------------------------------------
def test_success_deletes_the_batch(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    send(url, "a", "b")
    assert counts(url) == (0, 0)


def processed_message(lam: Any) -> tuple[str, str]:
    """A message the mapping delivered and deleted: (queue URL, the receipt handle it carried)."""
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    send(url, "a")
    return url, records(lam)[0][0]["receiptHandle"]


def test_deleting_a_message_the_mapping_deleted_succeeds(lam: Any) -> None:
    """SQS accepts DeleteMessage again for a deleted message (the handle the function was given)."""
    url, handle = processed_message(lam)
    response = client("sqs").delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_deleting_with_a_made_up_handle_still_fails(lam: Any) -> None:
    url, handle = processed_message(lam)
    sqs = client("sqs")
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle[:-4] + "AAAA")


def test_function_error_redelivers_after_the_visibility_timeout(lam: Any) -> None:
    function = add_function(lam, handler=failing)
    url, arn, _ = queue_with_dlq(max_receives=2, VisibilityTimeout="30")
    map_queue(function, arn)
    send(url, "a")
    attempts = lam.invocations("worker")
    assert (attempts[1].started_at - attempts[0].started_at).total_seconds() == 30


def test_message_stays_hidden_during_the_visibility_timeout() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        function = add_function(lam, handler=failing)
        url, arn = queue(VisibilityTimeout="30")
        map_queue(function, arn)
        send(url, "a")
        lam.advance(29)
        assert (len(lam.invocations("worker")), counts(url)) == (1, (0, 1))


def test_redelivery_increments_the_receive_count(lam: Any) -> None:
    function = add_function(lam, handler=failing)
    url, arn, _ = queue_with_dlq(max_receives=3, VisibilityTimeout="30")
    map_queue(function, arn)
    send(url, "a")
    assert receive_counts(lam) == [["1"], ["2"], ["3"]]


def test_redrive_policy_moves_the_message_to_the_dlq(lam: Any) -> None:
    function = add_function(lam, handler=failing)
    url, arn, dlq_url = queue_with_dlq(max_receives=2)
    map_queue(function, arn)
    send(url, "poison")
    lam.drain()
    assert receive_counts(lam) == [["1"], ["2"]]
    assert (counts(url), bodies_in(dlq_url)) == ((0, 0), ["poison"])


def test_redrive_is_noted_on_the_timeline(lam: Any) -> None:
    function = add_function(lam, handler=failing)
    url, arn, _dlq_url = queue_with_dlq(max_receives=1)
    map_queue(function, arn)
    [message_id] = send(url, "poison")
    lam.drain()
    [entry] = lam.timeline().select("dead_lettered")
    assert entry.detail["message_id"] == message_id
    assert entry.detail["destination"].endswith(":jobs-dlq")


def test_without_report_batch_item_failures_the_response_is_ignored(lam: Any) -> None:
    def reports_everything(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    function = add_function(lam, handler=reports_everything)
    url, arn = queue()
    map_queue(function, arn)
    send(url, "a", "b")
    lam.advance(60)
    assert (len(lam.invocations("worker")), counts(url)) == (1, (0, 0))


def test_messages_expire_after_the_retention_period(lam: Any) -> None:
    function = add_function(lam, handler=failing)
    url, arn = queue(MessageRetentionPeriod="60", VisibilityTimeout="30")
    map_queue(function, arn)
    send(url, "old")
    lam.drain()
    assert (len(lam.invocations("worker")), counts(url)) == (2, (0, 0))


# -- filtering -----------------------------------------------------------------------------------------
def test_messages_matching_no_filter_are_deleted_unseen(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    pattern = {"body": {"kind": ["order"]}}
    map_queue(function, arn, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    send(url, '{"kind": "order", "n": 1}', '{"kind": "refund"}', "plain text")
    assert delivered(lam) == [['{"kind": "order", "n": 1}']]
    assert counts(url) == (0, 0)


def test_plain_string_bodies_match_plain_string_filters(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    pattern = {"body": [{"prefix": "order-"}]}
    map_queue(function, arn, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    send(url, "order-1", "refund-1", '{"body": "order-2"}')
    assert delivered(lam) == [["order-1"]]


def test_filtering_is_on_the_timeline(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    pattern = {"body": {"kind": ["order"]}}
    map_queue(function, arn, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    send(url, '{"kind": "refund"}', '{"kind": "refund"}')
    [entry] = lam.timeline().select("filtered")
    assert entry.detail["count"] == 2


# -- mapping state ---------------------------------------------------------------------------------------
def test_disabled_mapping_delivers_nothing(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn, Enabled=False)
    send(url, "a")
    lam.drain()
    assert (lam.invocations("worker"), counts(url)) == ([], (1, 0))


def test_re_enabled_mapping_delivers_the_backlog(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    uuid = map_queue(function, arn, Enabled=False)
    send(url, "a")
    client("lambda").update_event_source_mapping(UUID=uuid, Enabled=True)
    assert delivered(lam) == [["a"]]


def test_disabling_stops_delivery(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    uuid = map_queue(function, arn)
    send(url, "a")
    client("lambda").update_event_source_mapping(UUID=uuid, Enabled=False)
    send(url, "b")
    lam.drain()
    assert delivered(lam) == [["a"]]


def test_deleting_stops_delivery(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    uuid = map_queue(function, arn)
    client("lambda").delete_event_source_mapping(UUID=uuid)
    send(url, "a")
    lam.drain()
    assert (lam.invocations("worker"), counts(url)) == ([], (1, 0))


def test_updated_batch_size_applies_to_the_next_batches(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    uuid = map_queue(function, arn)
    client("lambda").update_event_source_mapping(UUID=uuid, BatchSize=2)
    send(url, "a", "b", "c")
    assert [len(batch) for batch in delivered(lam)] == [2, 1]


def test_two_mappings_on_one_queue_share_its_messages(lam: Any) -> None:
    url, arn = queue()
    map_queue(add_function(lam, "one"), arn)
    map_queue(add_function(lam, "two"), arn)
    send(url, "a")
    assert len(delivered(lam, "one")) + len(delivered(lam, "two")) == 1


def test_function_deleted_leaves_messages_in_the_queue(lam: Any) -> None:
    function = add_function(lam)
    url, arn = queue()
    map_queue(function, arn)
    client("lambda").delete_function(FunctionName="worker")
    send(url, "a")
    lam.drain()
    assert counts(url) == (1, 0)


def test_a_batch_stays_under_the_6_mb_payload_limit() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        function = add_function(lam)
        url, arn = queue(MaximumMessageSize="1048576")
        map_queue(function, arn, BatchSize=100, MaximumBatchingWindowInSeconds=1)
        for index in range(30):
            send(url, chr(65 + index) * 250_000)
        lam.advance(1)
        sizes = [len(attempt.payload) for attempt in lam.invocations("worker")]
        assert sum(len(batch) for batch in delivered(lam)) == 30
    assert len(sizes) > 1 and max(sizes) <= 6_291_456
