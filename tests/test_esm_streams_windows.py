"""Stream mappings with ParallelizationFactor and tumbling windows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from test_esm_streams import batches, client, data, events, kinesis_stream, map_stream, put

from mock_lambda_async import mock_lambda_async

NOON = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


# -- ParallelizationFactor ----------------------------------------------------------------------------
def fail_alpha(event: Any, context: Any) -> None:
    if any(record["kinesis"]["partitionKey"] == "alpha" for record in event["Records"]):
        raise ValueError("alpha is broken")


def put_keys(*keyed: tuple[str, str]) -> None:
    """One PutRecords call with ``(data, partition key)`` pairs."""
    client("kinesis").put_records(
        StreamName="orders",
        Records=[{"Data": item.encode(), "PartitionKey": key} for item, key in keyed],
    )


def test_parallelization_lets_other_partition_keys_pass_a_failing_one(lam: Any) -> None:
    lam.add_function("consumer", fail_alpha)
    stream = kinesis_stream()
    map_stream("consumer", stream, ParallelizationFactor=2, BatchSize=1, MaximumRetryAttempts=3)

    put_keys(("a1", "alpha"), ("b1", "beta"))

    attempts = lam.invocations("consumer")
    (beta,) = [a for a in attempts if data(a.event["Records"][0]) == "b1"]
    alpha = [a for a in attempts if data(a.event["Records"][0]) == "a1"]
    assert len(alpha) == 4
    assert beta.ok is True
    assert beta.started_at == alpha[0].started_at < alpha[-1].started_at


def test_without_parallelization_a_failing_key_blocks_the_others(lam: Any) -> None:
    lam.add_function("consumer", fail_alpha)
    stream = kinesis_stream()
    map_stream("consumer", stream, BatchSize=1, MaximumRetryAttempts=3)

    put_keys(("a1", "alpha"), ("b1", "beta"))

    assert batches(lam, "consumer") == [["a1"]] * 4 + [["b1"]]


def test_parallelization_keeps_order_per_partition_key(lam: Any) -> None:
    failed = []

    def fail_beta_2_once(event: Any, context: Any) -> None:
        if not failed and any(data(record) == "beta-2" for record in event["Records"]):
            failed.append(True)
            raise ValueError("try again")

    lam.add_function("consumer", fail_beta_2_once)
    stream = kinesis_stream()
    map_stream("consumer", stream, ParallelizationFactor=10, BatchSize=3)

    put_keys(
        *[(f"{key}-{n}", key) for n in range(6) for key in ("alpha", "beta", "gamma", "delta")]
    )

    processed: dict[str, list[int]] = {}
    for attempt in lam.invocations("consumer"):
        for record in attempt.event["Records"] if attempt.ok else []:
            key, number = data(record).split("-")
            processed.setdefault(key, []).append(int(number))
    assert failed == [True]
    assert processed == {key: list(range(6)) for key in ("alpha", "beta", "gamma", "delta")}


# -- tumbling windows -----------------------------------------------------------------------------
def counting(event: Any, context: Any) -> Any:
    state = dict(event["state"])
    state["count"] = state.get("count", 0) + len(event["Records"])
    return {"state": state}


@pytest.fixture
def noon() -> Iterator[Any]:
    """A mock whose clock starts on a window boundary and only moves when told."""
    with mock_lambda_async(auto_drain=False, start=NOON) as controller:
        yield controller


def windowed(lam: Any, handler: Any = counting, **params: Any) -> str:
    lam.add_function("consumer", handler)
    stream = kinesis_stream()
    map_stream("consumer", stream, TumblingWindowInSeconds=60, **params)
    return stream


def test_tumbling_window_passes_state_between_invocations(noon: Any) -> None:
    stream = windowed(noon)

    put(stream, "a")
    noon.advance(10)
    put(stream, "b")
    noon.advance(10)

    assert [event["state"] for event in events(noon, "consumer")] == [{}, {"count": 1}]


def test_tumbling_window_event_describes_the_window(noon: Any) -> None:
    stream = windowed(noon)

    put(stream, "a")
    noon.advance(1)

    (event,) = events(noon, "consumer")
    assert {key: value for key, value in event.items() if key != "Records"} == {
        "window": {"start": "2024-01-01T12:00:00Z", "end": "2024-01-01T12:01:00Z"},
        "state": {},
        "shardId": "shardId-000000000000",
        "eventSourceARN": stream,
        "isFinalInvokeForWindow": False,
        "isWindowTerminatedEarly": False,
    }


def test_tumbling_window_ends_with_a_final_invocation(noon: Any) -> None:
    stream = windowed(noon)

    put(stream, "a", "b")
    noon.advance(90)

    final = noon.invocations("consumer")[-1]
    assert final.started_at == datetime(2024, 1, 1, 12, 1, 0, tzinfo=timezone.utc)
    assert final.event["Records"] == []
    assert final.event["isFinalInvokeForWindow"] is True
    assert final.event["state"] == {"count": 2}


def test_next_window_starts_with_a_fresh_state(noon: Any) -> None:
    stream = windowed(noon)

    put(stream, "a")
    noon.advance(70)
    put(stream, "b")
    noon.advance(1)

    last = events(noon, "consumer")[-1]
    assert last["window"] == {"start": "2024-01-01T12:01:00Z", "end": "2024-01-01T12:02:00Z"}
    assert last["state"] == {}
    assert [data(record) for record in last["Records"]] == ["b"]


def test_a_batch_never_spans_two_windows(noon: Any) -> None:
    stream = windowed(noon, MaximumBatchingWindowInSeconds=120, BatchSize=10)

    put(stream, "a")
    noon.advance(65)
    put(stream, "b")
    noon.advance(200)

    records_per_window = [
        (event["window"]["start"], [data(record) for record in event["Records"]])
        for event in events(noon, "consumer")
        if event["Records"]
    ]
    assert records_per_window == [
        ("2024-01-01T12:00:00Z", ["a"]),
        ("2024-01-01T12:01:00Z", ["b"]),
    ]


def test_response_without_state_is_a_failed_invocation(noon: Any) -> None:
    stream = windowed(noon, handler=lambda event, context: None, MaximumRetryAttempts=1)

    put(stream, "a")
    noon.advance(5)

    assert [[data(r) for r in event["Records"]] for event in events(noon, "consumer")] == [
        ["a"],
        ["a"],
    ]


def test_state_over_one_megabyte_terminates_the_window_early(noon: Any) -> None:
    def hoard(event: Any, context: Any) -> Any:
        return {"state": {"blob": "x" * (1024 * 1024)} if event["Records"] else {}}

    stream = windowed(noon, handler=hoard)

    put(stream, "a")
    noon.advance(5)

    first, second = events(noon, "consumer")[:2]
    assert first["isWindowTerminatedEarly"] is False
    assert second["isFinalInvokeForWindow"] is True
    assert second["isWindowTerminatedEarly"] is True
    assert second["window"] == first["window"]


def test_failing_final_invocation_is_retried_then_its_state_dropped(noon: Any) -> None:
    def fail_final(event: Any, context: Any) -> Any:
        if event["isFinalInvokeForWindow"]:
            raise RuntimeError("cannot store the aggregate")
        return counting(event, context)

    stream = windowed(noon, handler=fail_final, MaximumRetryAttempts=1)

    put(stream, "a")
    noon.advance(120)

    finals = [e for e in events(noon, "consumer") if e["isFinalInvokeForWindow"]]
    assert [e["state"] for e in finals] == [{"count": 1}, {"count": 1}]
    noon.assert_dropped("consumer", reason="window state discarded")
