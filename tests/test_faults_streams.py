"""Injected faults reach stream mappings through the runtime and delivery: timeouts, refusals."""

from __future__ import annotations

from typing import Any

from test_esm_streams import failure_queue, kinesis_stream, map_stream, on_failure, put


def test_a_timed_out_stream_batch_is_retried(lam: Any) -> None:
    lam.add_function("consumer", lambda event, context: None)
    stream = kinesis_stream()
    map_stream("consumer", stream)
    lam.faults.timeout("consumer")
    put(stream, "a")
    attempts = lam.invocations("consumer")
    assert [(a.error_type, a.faults) for a in attempts] == [
        ("Sandbox.Timedout", ("timeout",)),
        (None, ()),
    ]


def test_a_refused_on_failure_destination_gets_no_record(lam: Any) -> None:
    def fails(event: Any, context: Any) -> None:
        raise ValueError("cannot process")

    lam.add_function("consumer", fails)
    stream = kinesis_stream()
    url, queue_arn = failure_queue()
    map_stream("consumer", stream, MaximumRetryAttempts=0, DestinationConfig=on_failure(queue_arn))
    lam.faults.fail_delivery(queue_arn)
    put(stream, "a")
    lam.assert_delivered(url, 0)
    [failed] = lam.timeline().select("delivery_failed", function_name="consumer")
    assert failed.detail["destination"] == queue_arn
