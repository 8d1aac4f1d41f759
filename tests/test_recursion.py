"""Recursive loop detection: a chain of requests that keeps invoking a function is stopped.

Lambda counts the invocations of each function in one chain of requests (one triggering event)
across SQS, SNS, S3 and Lambda itself, and stops the one after about 16 (``RecursiveLoop`` =
``Terminate``, the default). ``PutFunctionRecursionConfig`` with ``Allow`` turns that off.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION, client, metric_sum

from mock_lambda_async.recursion import CONDITION, THRESHOLD

pytestmark = pytest.mark.usefixtures("one_boto3_session")


def queue(name: str, **attributes: Any) -> tuple[str, str]:
    attributes = {k: v if isinstance(v, str) else json.dumps(v) for k, v in attributes.items()}
    url = client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def short_lived_queue(name: str) -> tuple[str, str]:
    """A queue keeping messages a minute: a stopped message without a DLQ expires, not 4 days on."""
    return queue(name, MessageRetentionPeriod="60")


def looping_queue(
    lam: Any, name: str = "loop", max_receives: int = 3, limit: int | None = None
) -> tuple[str, str]:
    """A queue with a DLQ, mapped to function ``name`` that sends every body back to it.

    With ``limit`` the function stops sending after that many runs (a loop that ends by itself).
    """
    dlq_url, dlq_arn = queue(f"{name}-dlq")
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
    url, arn = queue(name, RedrivePolicy=policy)
    runs: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        runs.append(1)
        if limit is None or len(runs) < limit:
            for record in event["Records"]:
                client("sqs").send_message(QueueUrl=url, MessageBody=record["body"])

    lam.add_function(name, handler)
    client("lambda").create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=1)
    return url, dlq_url


def bodies(url: str) -> list[str]:
    messages = client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [m["Body"] for m in messages.get("Messages", [])]


def recursion_drops(lam: Any, name: str) -> list[Any]:
    return [
        e
        for e in lam.timeline().select("dropped", function_name=name)
        if CONDITION in str(e.detail.get("reason"))
    ]


# -- the configuration API --------------------------------------------------------------------------
def test_functions_terminate_recursive_loops_by_default(lam):
    lam.add_function("plain", lambda event, context: None)
    response = client("lambda").get_function_recursion_config(FunctionName="plain")
    assert response["RecursiveLoop"] == "Terminate"


def test_put_recursion_config_allows_loops(lam):
    lam.add_function("allowed", lambda event, context: None)
    put = client("lambda").put_function_recursion_config(
        FunctionName="allowed", RecursiveLoop="Allow"
    )
    assert put["RecursiveLoop"] == "Allow"
    got = client("lambda").get_function_recursion_config(FunctionName="allowed")
    assert got["RecursiveLoop"] == "Allow"


def test_recursion_config_of_a_missing_function_is_not_found(lam):
    with pytest.raises(ClientError) as caught:
        client("lambda").put_function_recursion_config(FunctionName="ghost", RecursiveLoop="Allow")
    error = caught.value.response["Error"]
    assert error["Code"] == "ResourceNotFoundException"
    assert (
        error["Message"] == f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:ghost"
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_recursion_config_refuses_an_unknown_setting(lam):
    lam.add_function("strict", lambda event, context: None)
    with pytest.raises(ClientError) as caught:
        client("lambda").put_function_recursion_config(
            FunctionName="strict", RecursiveLoop="Sometimes"
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Allow, Terminate]"
    )


def test_recursion_config_is_per_function_not_per_version(lam):
    lam.add_function("versioned", lambda event, context: None, Publish=True)
    with pytest.raises(ClientError) as caught:
        client("lambda").get_function_recursion_config(FunctionName="versioned:1")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "at 'functionName'" in caught.value.response["Error"]["Message"]


def test_recursion_config_goes_with_the_function(lam):
    lam.add_function("reborn", lambda event, context: None)
    client("lambda").put_function_recursion_config(FunctionName="reborn", RecursiveLoop="Allow")
    client("lambda").delete_function(FunctionName="reborn")
    lam.add_function("reborn", lambda event, context: None)
    response = client("lambda").get_function_recursion_config(FunctionName="reborn")
    assert response["RecursiveLoop"] == "Terminate"


# -- SQS ----------------------------------------------------------------------------------------------
def test_a_function_feeding_its_own_queue_runs_sixteen_times(lam):
    url, _ = looping_queue(lam)
    client("sqs").send_message(QueueUrl=url, MessageBody="again")
    lam.drain()
    assert len(lam.invocations("loop")) == THRESHOLD


def test_the_stopped_message_comes_back_until_the_queue_redrives_it(lam):
    url, dlq_url = looping_queue(lam, max_receives=3)
    client("sqs").send_message(QueueUrl=url, MessageBody="again")
    lam.drain()
    # Each receive of the last message is stopped (RecursiveInvocationException to the
    # mapping), until its third receive: then SQS moves it to the DLQ.
    assert len(recursion_drops(lam, "loop")) == 3
    assert bodies(dlq_url) == ["again"]
    assert bodies(url) == []


def test_stopped_invocations_are_counted_in_recursive_invocations_dropped(lam):
    url, _ = looping_queue(lam, max_receives=2)
    client("sqs").send_message(QueueUrl=url, MessageBody="again")
    lam.drain()
    assert metric_sum(lam, "RecursiveInvocationsDropped", "loop") == 2


def test_allow_lets_the_loop_run_on(lam):
    url, _ = looping_queue(lam, limit=THRESHOLD + 4)
    client("lambda").put_function_recursion_config(FunctionName="loop", RecursiveLoop="Allow")
    client("sqs").send_message(QueueUrl=url, MessageBody="again")
    lam.drain()
    assert len(lam.invocations("loop")) == THRESHOLD + 4
    assert recursion_drops(lam, "loop") == []
    assert metric_sum(lam, "RecursiveInvocationsDropped", "loop") == 0


def test_a_new_message_from_outside_the_loop_still_runs(lam):
    url, _ = looping_queue(lam)
    client("sqs").send_message(QueueUrl=url, MessageBody="first")
    lam.drain()
    client("sqs").send_message(QueueUrl=url, MessageBody="second")
    lam.drain()
    runs = [a.event["Records"][0]["body"] for a in lam.invocations("loop")]
    assert runs.count("first") == THRESHOLD
    assert runs.count("second") == THRESHOLD


def test_a_loop_of_two_functions_stops_each_after_its_own_sixteen(lam):
    ping_url, ping_arn = short_lived_queue("ping")
    pong_url, pong_arn = short_lived_queue("pong")

    def forward(to: str) -> Any:
        def handler(event: dict[str, Any], context: Any) -> None:
            client("sqs").send_message(QueueUrl=to, MessageBody=event["Records"][0]["body"])

        return handler

    lam.add_function("ping", forward(pong_url))
    lam.add_function("pong", forward(ping_url))
    client("lambda").create_event_source_mapping(FunctionName="ping", EventSourceArn=ping_arn)
    client("lambda").create_event_source_mapping(FunctionName="pong", EventSourceArn=pong_arn)
    client("sqs").send_message(QueueUrl=ping_url, MessageBody="ball")
    lam.advance(60)
    assert len(lam.invocations("ping")) == THRESHOLD
    assert len(lam.invocations("pong")) == THRESHOLD
    assert len(recursion_drops(lam, "ping")) >= 1


def test_messages_sent_from_a_handler_thread_pool_stay_in_the_chain(lam):
    url, arn = short_lived_queue("pooled")

    def handler(event: dict[str, Any], context: Any) -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(
                pool.map(
                    lambda body: client("sqs").send_message(QueueUrl=url, MessageBody=body), ["x"]
                )
            )

    lam.add_function("pooled", handler)
    client("lambda").create_event_source_mapping(FunctionName="pooled", EventSourceArn=arn)
    client("sqs").send_message(QueueUrl=url, MessageBody="x")
    lam.advance(10)
    assert len(lam.invocations("pooled")) == THRESHOLD


# -- Lambda alone -------------------------------------------------------------------------------------
def test_an_async_self_invoking_function_is_stopped_into_its_dead_letter_queue(lam):
    dlq_url, dlq_arn = queue("self-dlq")

    def handler(event: dict[str, Any], context: Any) -> None:
        client("lambda").invoke(
            FunctionName="self", InvocationType="Event", Payload=json.dumps({"n": event["n"] + 1})
        )

    lam.add_function("self", handler, DeadLetterConfig={"TargetArn": dlq_arn})
    client("lambda").invoke(FunctionName="self", InvocationType="Event", Payload=b'{"n": 0}')
    lam.drain()
    assert [a.event["n"] for a in lam.invocations("self")] == list(range(THRESHOLD))
    message = client("sqs").receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])[
        "Messages"
    ][0]
    assert json.loads(message["Body"]) == {"n": THRESHOLD}
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "400"
    [drop] = lam.timeline().select("dropped", function_name="self")
    assert drop.detail["reason"] == CONDITION
    assert metric_sum(lam, "RecursiveInvocationsDropped", "self") == 1
    assert metric_sum(lam, "AsyncEventsDropped", "self") == 1


def test_a_stopped_async_event_goes_to_the_on_failure_destination(lam):
    failures_url, failures_arn = queue("self-failures")

    def handler(event: dict[str, Any], context: Any) -> None:
        client("lambda").invoke(FunctionName="again", InvocationType="Event", Payload=b"{}")

    lam.add_function("again", handler)
    client("lambda").put_function_event_invoke_config(
        FunctionName="again", DestinationConfig={"OnFailure": {"Destination": failures_arn}}
    )
    client("lambda").invoke(FunctionName="again", InvocationType="Event", Payload=b"{}")
    [record] = lam.assert_delivered(failures_url, 1)
    assert record["requestContext"]["condition"] == CONDITION
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responsePayload" not in record


def test_a_synchronous_self_invocation_gets_recursive_invocation_exception(lam):
    def handler(event: dict[str, Any], context: Any) -> Any:
        try:
            response = client("lambda").invoke(
                FunctionName="deep", Payload=json.dumps({"depth": event["depth"] + 1})
            )
        except ClientError as error:
            return {"depth": event["depth"], "stopped": error.response["Error"]["Code"]}
        return json.loads(response["Payload"].read())

    lam.add_function("deep", handler)
    response = client("lambda").invoke(FunctionName="deep", Payload=b'{"depth": 1}')
    assert json.loads(response["Payload"].read()) == {
        "depth": THRESHOLD,
        "stopped": "RecursiveInvocationException",
    }
    assert len(lam.invocations("deep")) == THRESHOLD


def test_a_loop_through_a_lambda_destination_is_stopped(lam):
    def bounce(event: dict[str, Any], context: Any) -> None:
        client("lambda").invoke(FunctionName="origin", InvocationType="Event", Payload=b"{}")

    lam.add_function("origin", lambda event, context: "done")
    target = lam.add_function("bounce", bounce)["FunctionArn"]
    client("lambda").put_function_event_invoke_config(
        FunctionName="origin", DestinationConfig={"OnSuccess": {"Destination": target}}
    )
    client("lambda").invoke(FunctionName="origin", InvocationType="Event", Payload=b"{}")
    lam.drain()
    assert len(lam.invocations("origin")) == THRESHOLD
    assert len(lam.invocations("bounce")) == THRESHOLD
    assert (
        len(recursion_drops(lam, "bounce"))
        + len(lam.timeline().select("dropped", function_name="origin"))
        >= 1
    )


# -- SNS and S3 ---------------------------------------------------------------------------------------
def test_a_function_publishing_to_its_own_topic_is_stopped(lam):
    topic = client("sns").create_topic(Name="echo")["TopicArn"]

    def handler(event: dict[str, Any], context: Any) -> None:
        client("sns").publish(TopicArn=topic, Message=event["Records"][0]["Sns"]["Message"])

    arn = lam.add_function("echo", handler)["FunctionArn"]
    client("sns").subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    client("sns").publish(TopicArn=topic, Message="hello")
    lam.drain()
    assert len(lam.invocations("echo")) == THRESHOLD
    assert len(lam.timeline().select("dropped", function_name="echo")) == 1


def test_sns_to_sqs_fan_out_stays_in_the_chain(lam):
    topic = client("sns").create_topic(Name="fan")["TopicArn"]
    _, arn = short_lived_queue("fan-in")
    client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )

    def handler(event: dict[str, Any], context: Any) -> None:
        client("sns").publish(TopicArn=topic, Message=event["Records"][0]["body"])

    lam.add_function("fan", handler)
    client("lambda").create_event_source_mapping(FunctionName="fan", EventSourceArn=arn)
    client("sns").publish(TopicArn=topic, Message="round")
    lam.advance(10)
    assert len(lam.invocations("fan")) == THRESHOLD


def test_a_function_writing_to_the_bucket_that_triggers_it_is_stopped(lam):
    s3 = client("s3")
    s3.create_bucket(Bucket="loop-bucket")

    def handler(event: dict[str, Any], context: Any) -> None:
        key = event["Records"][0]["s3"]["object"]["key"]
        s3.put_object(Bucket="loop-bucket", Key=key + "x", Body=b"1")

    arn = lam.add_function("writer", handler)["FunctionArn"]
    s3.put_bucket_notification_configuration(
        Bucket="loop-bucket",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    s3.put_object(Bucket="loop-bucket", Key="k", Body=b"1")
    lam.drain()
    assert len(lam.invocations("writer")) == THRESHOLD


def test_a_loop_through_s3_notifications_to_a_queue_is_stopped(lam):
    s3 = client("s3")
    s3.create_bucket(Bucket="queued-bucket")
    _, arn = short_lived_queue("bucket-events")
    s3.put_bucket_notification_configuration(
        Bucket="queued-bucket",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )

    def handler(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            body = json.loads(record["body"])
            for s3_record in body.get("Records", []):
                key = s3_record["s3"]["object"]["key"]
                s3.put_object(Bucket="queued-bucket", Key=key + "x", Body=b"1")

    lam.add_function("indexer", handler)
    client("lambda").create_event_source_mapping(FunctionName="indexer", EventSourceArn=arn)
    s3.put_object(Bucket="queued-bucket", Key="k", Body=b"1")
    lam.advance(10)
    # S3 also sends the queue a test event when the configuration is put: not part of the loop.
    objects = [
        a
        for a in lam.invocations("indexer")
        if "Records" in json.loads(a.event["Records"][0]["body"])
    ]
    assert len(objects) == THRESHOLD


def test_a_loop_through_eventbridge_is_not_detected(lam):
    # EventBridge is not among the services Lambda's loop detection follows.
    events = client("events")
    runs = []

    def handler(event: dict[str, Any], context: Any) -> None:
        runs.append(1)
        if len(runs) < THRESHOLD + 4:
            events.put_events(Entries=[{"Source": "app", "DetailType": "again", "Detail": "{}"}])

    arn = lam.add_function("bus-loop", handler)["FunctionArn"]
    events.put_rule(Name="again", EventPattern=json.dumps({"source": ["app"]}))
    events.put_targets(Rule="again", Targets=[{"Id": "1", "Arn": arn}])
    events.put_events(Entries=[{"Source": "app", "DetailType": "again", "Detail": "{}"}])
    lam.drain()
    assert len(runs) == THRESHOLD + 4
    assert recursion_drops(lam, "bus-loop") == []
