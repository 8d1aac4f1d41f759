"""moto's SQS on the virtual clock: timestamps, visibility, delays and long polls a test sees."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from test_esm_sqs import add_function, client, map_queue, queue, send

from mock_lambda_async import mock_lambda_async

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def receive(url: str, **params: Any) -> list[dict[str, Any]]:
    response = client("sqs").receive_message(QueueUrl=url, AttributeNames=["All"], **params)
    return list(response.get("Messages", []))


def test_sent_timestamp_is_virtual() -> None:
    with mock_lambda_async(start=START) as lam:
        url, _ = queue()
        lam.advance(90)
        send(url, "a")
        [message] = receive(url)
    assert message["Attributes"]["SentTimestamp"] == str(int(START.timestamp() * 1000) + 90_000)


def test_a_received_message_is_hidden_for_the_visibility_timeout(lam: Any) -> None:
    url, _ = queue(VisibilityTimeout="30")
    send(url, "a")
    receive(url)
    lam.advance(29)
    hidden = receive(url)
    lam.advance(1)
    assert (hidden, [m["Body"] for m in receive(url)]) == ([], ["a"])


def test_visibility_timeout_zero_shows_the_message_to_the_mapping_at_once() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        url, arn = queue(VisibilityTimeout="30")
        send(url, "a")
        [message] = receive(url)
        map_queue(add_function(lam), arn)
        lam.advance(0)
        client("sqs").change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
        before = lam.now()
        lam.advance(0)
        [attempt] = lam.invocations("worker")
        assert attempt.started_at == before


def test_a_long_poll_waits_in_virtual_time_for_a_delayed_message(lam: Any) -> None:
    url, _ = queue()
    send(url, "later", DelaySeconds=5)
    before = lam.now()
    messages = receive(url, WaitTimeSeconds=20)
    assert ([m["Body"] for m in messages], (lam.now() - before).total_seconds()) == (["later"], 5)


def test_a_long_poll_on_an_empty_queue_lasts_its_wait_time(lam: Any) -> None:
    url, _ = queue()
    before = lam.now()
    messages = receive(url, WaitTimeSeconds=20)
    assert (messages, (lam.now() - before).total_seconds()) == ([], 20)


def test_the_queue_default_wait_time_makes_a_long_poll(lam: Any) -> None:
    url, _ = queue(ReceiveMessageWaitTimeSeconds="10")
    before = lam.now()
    receive(url)
    assert (lam.now() - before).total_seconds() == 10


def test_a_long_poll_runs_due_work_while_it_waits(lam: Any) -> None:
    url, arn = queue("results")
    add_function(lam, "producer", lambda event, context: {"done": True})
    client("lambda").put_function_event_invoke_config(
        FunctionName="producer", DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    lam.set_duration("producer", 8)
    client("lambda").invoke(FunctionName="producer", InvocationType="Event", Payload=b"{}")
    before = lam.now()
    [message] = receive(url, WaitTimeSeconds=20)
    assert (lam.now() - before).total_seconds() == 8
    assert json.loads(message["Body"])["responsePayload"] == {"done": True}


def test_without_auto_drain_a_long_poll_returns_at_once() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        url, _ = queue()
        before = lam.now()
        messages = receive(url, WaitTimeSeconds=20)
        assert (messages, lam.now()) == ([], before)


def test_a_queue_delay_holds_messages_back_from_the_mapping(lam: Any) -> None:
    url, arn = queue(DelaySeconds="15")
    map_queue(add_function(lam), arn)
    before = lam.now()
    send(url, "a")
    [attempt] = lam.invocations("worker")
    assert (attempt.started_at - before).total_seconds() == 15


def test_moto_sqs_is_itself_again_after_the_mock() -> None:
    from moto.core import utils
    from moto.sqs import models

    originals = (models.Queue.add_message, models.SQSBackend.receive_message, utils.unix_time)
    with mock_lambda_async(), mock_lambda_async():
        pass
    assert (
        models.Queue.add_message,
        models.SQSBackend.receive_message,
        models.unix_time,
    ) == originals
