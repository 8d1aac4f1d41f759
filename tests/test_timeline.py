"""``lam.timeline()``: an ordered, readable account of what the mock did, on virtual time."""

import re
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from mock_lambda_async import Timeline, TimelineEntry, mock_lambda_async
from mock_lambda_async.functions import resolve
from mock_lambda_async.metrics import KINDS, History, Kind
from mock_lambda_async.runtime import Runtime

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:failures"


@pytest.fixture
def noon():
    """A mock whose virtual clock starts at 2024-05-01 12:00:00.000 UTC."""
    with mock_lambda_async(start=START) as controller:
        yield controller


def _boom(event, context):
    raise ValueError("boom")


def _line(lam, **note):
    """The rendered line of one note made now."""
    kind = note.pop("kind")
    return lam.state(History).note(kind, function_name="orders", **note).render()


def test_attempt_line_shows_time_function_request_and_outcome(noon):
    noon.add_function("orders", lambda event, context: None)
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="orders")
    line = str(noon.timeline()).splitlines()[1]
    assert re.fullmatch(r"12:00:00\.000 orders \[[0-9a-f-]{8}…\] sync attempt 1 succeeded", line)


def test_text_opens_with_the_virtual_date(noon):
    noon.state(History).note(Kind.DROPPED, function_name="orders", reason="x")
    assert str(noon.timeline()).splitlines()[0] == "2024-05-01 (virtual time, UTC)"


def test_failed_attempt_line_shows_the_error(noon):
    noon.add_function("orders", _boom)
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="orders")
    assert str(noon.timeline()).endswith("sync attempt 1 failed: ValueError: boom")


def test_async_event_is_queued_before_it_is_attempted(noon):
    noon.add_function("orders", lambda event, context: None)
    client = boto3.client("lambda", region_name="us-east-1")
    client.invoke(FunctionName="orders", InvocationType="Event", Payload=b"{}")
    kinds = [entry.kind for entry in noon.timeline().select(function_name="orders")]
    assert kinds[:2] == ["queued", "succeeded"]


def test_qualifier_is_shown_after_the_function_name(noon):
    noon.add_function("orders", lambda event, context: None, Publish=True)
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="orders", Qualifier="1")
    assert " orders:1 [" in str(noon.timeline())


@pytest.mark.parametrize(
    ("note", "text"),
    [
        ({"kind": Kind.QUEUED, "trigger": "sns", "source": "arn:t"}, "queued (sns from arn:t)"),
        ({"kind": Kind.RETRY_SCHEDULED, "at": START + timedelta(minutes=1), "attempt": 2},
         "retry at 12:01:00.000 (attempt 2)"),
        ({"kind": Kind.THROTTLED, "trigger": "async", "reason": "ReservedFunctionConcurrentInvocationLimitExceeded"},
         "throttled (async): ReservedFunctionConcurrentInvocationLimitExceeded"),
        ({"kind": Kind.DELIVERED, "destination": QUEUE_ARN, "condition": "RetriesExhausted"},
         f"delivered to destination {QUEUE_ARN} (RetriesExhausted)"),
        ({"kind": Kind.DELIVERY_FAILED, "destination": QUEUE_ARN, "reason": "queue does not exist"},
         f"delivery to destination {QUEUE_ARN} failed: queue does not exist"),
        ({"kind": Kind.DEAD_LETTERED, "destination": QUEUE_ARN}, f"sent to DLQ {QUEUE_ARN}"),
        ({"kind": Kind.DEAD_LETTER_FAILED, "destination": QUEUE_ARN, "reason": "gone"},
         f"sending to DLQ {QUEUE_ARN} failed: gone"),
        ({"kind": Kind.DROPPED, "reason": "EventAgeExceeded"}, "dropped: EventAgeExceeded"),
        ({"kind": Kind.POLLED, "source": QUEUE_ARN, "count": 10}, f"polled 10 records from {QUEUE_ARN}"),
        ({"kind": Kind.FILTERED, "source": QUEUE_ARN, "count": 1}, f"filtered out 1 record from {QUEUE_ARN}"),
        ({"kind": Kind.BATCH_ITEM_FAILURES, "count": 2}, "reported 2 failed items"),
        ({"kind": Kind.BISECTED, "count": 8}, "split the failed batch of 8 records in two"),
        ({"kind": Kind.BISECTED, "count": 5, "first": 2, "second": 3, "attempt": 2},
         "split the failed batch of 5 records into 2 + 3, each tried next as attempt 2 (a split uses no retry)"),
        ({"kind": Kind.BISECTED, "count": 4, "retrying": 2, "attempt": 2},
         "split the failed batch of 4 records at the first reported failure: the last 2 tried next as attempt 2 (a split uses no retry)"),
    ],
)  # fmt: skip
def test_each_kind_reads_as_words(noon, note, text):
    assert _line(noon, **note) == f"12:00:00.000 orders {text}"


def test_retry_epoch_ms_on_another_day_shows_the_date(noon):
    at_ms = int((START + timedelta(days=1)).timestamp() * 1000)
    assert _line(noon, kind=Kind.RETRY_SCHEDULED, at=at_ms).endswith(
        "retry at 2024-05-02 12:00:00.000"
    )


def test_unknown_kind_is_shown_with_its_details(noon):
    assert _line(noon, kind="shard_blocked", shard="s-1", tries=[1, 2]) == (
        "12:00:00.000 orders shard blocked shard=s-1 tries=[1, 2]"
    )


def test_unexpected_detail_of_a_known_kind_is_still_shown(noon):
    assert _line(noon, kind=Kind.DROPPED, reason="full", size=3) == (
        "12:00:00.000 orders dropped: full size=3"
    )


def test_unrenderable_value_does_not_break_the_timeline(noon):
    loop: dict[str, object] = {}
    loop["self"] = loop
    assert _line(noon, kind=Kind.DROPPED, reason=loop).startswith("12:00:00.000 orders dropped: {")


def test_large_payloads_are_kept_but_not_printed(noon):
    entry = noon.state(History).note(
        Kind.DELIVERED, destination=QUEUE_ARN, record={"requestPayload": "x" * 1000}
    )
    assert "requestPayload" not in entry.render()
    assert entry.detail["record"] == {"requestPayload": "x" * 1000}


def test_failure_and_its_retry_read_as_one_line(noon):
    noon.add_function("orders", _boom)
    noon.advance(1)
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="orders")
    attempt = noon.invocations()[0]
    noon.state(History).note(
        Kind.RETRY_SCHEDULED,
        function_name="orders",
        request_id=attempt.request_id,
        at=noon.clock.now_ms() + 180_000,
    )
    assert (
        str(noon.timeline())
        .splitlines()[-1]
        .endswith("sync attempt 1 failed: ValueError: boom; retry at 12:03:01.000")
    )


def test_a_new_day_gets_a_date_line(noon):
    history = noon.state(History)
    history.note(Kind.QUEUED, function_name="orders")
    noon.advance(24 * 3600)
    history.note(Kind.DROPPED, function_name="orders", reason="EventAgeExceeded")
    assert str(noon.timeline()).splitlines()[2:] == [
        "2024-05-02",
        "12:00:00.000 orders dropped: EventAgeExceeded",
    ]


def test_attempt_lasting_virtual_time_shows_start_and_end(noon):
    noon.add_function("orders", lambda event, context: None)
    fn = resolve("orders", "us-east-1", "123456789012", None)
    history = noon.state(History)
    token = history.start_attempt(fn, b"{}", trigger="async", attempt=1, request_id="r" * 36)
    noon.advance(5)
    history.finish_attempt(token, noon.state(Runtime).run(fn, b"{}", request_id="r" * 36))
    assert str(noon.timeline()).splitlines()[1:] == [
        "12:00:00.000 orders [rrrrrrrr…] async attempt 1 started",
        "12:00:05.000 orders [rrrrrrrr…] async attempt 1 succeeded",
    ]


def test_nested_invocation_follows_the_one_that_made_it(noon):
    noon.add_function("inner", lambda event, context: None)
    noon.add_function(
        "outer",
        lambda event, context: boto3.client("lambda", region_name="us-east-1").invoke(
            FunctionName="inner"
        )["StatusCode"],
    )
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="outer")
    assert [entry.function_name for entry in noon.timeline()] == ["outer", "inner"]


def test_select_narrows_by_kind_function_and_request(noon):
    history = noon.state(History)
    history.note(Kind.QUEUED, function_name="a", request_id="1")
    history.note(Kind.DROPPED, function_name="a", request_id="1")
    history.note(Kind.QUEUED, function_name="b", request_id="2")
    timeline = noon.timeline()
    assert [e.function_name for e in timeline.select(Kind.QUEUED)] == ["a", "b"]
    assert [e.kind for e in timeline.select(function_name="a")] == ["queued", "dropped"]
    assert [e.kind for e in timeline.select(request_id="2")] == ["queued"]


def test_select_takes_a_function_arn_like_invocations_does(noon):
    noon.state(History).note(Kind.DROPPED, function_name="orders", reason="x")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders:live"
    assert [e.kind for e in noon.timeline().select(function_name=arn)] == ["dropped"]


def test_timeline_is_a_sequence_of_entries(noon):
    history = noon.state(History)
    first = history.note(Kind.QUEUED, function_name="a")
    history.note(Kind.QUEUED, function_name="b")
    timeline = noon.timeline()
    assert (len(timeline), timeline[0], next(iter(timeline))) == (2, first, first)
    assert isinstance(timeline[1:], Timeline) and len(timeline[1:]) == 1


def test_timeline_is_a_snapshot(noon):
    before = noon.timeline()
    noon.state(History).note(Kind.QUEUED, function_name="a")
    assert (len(before), len(noon.timeline())) == (0, 1)


def test_entry_detail_is_read_only(noon):
    entry = noon.state(History).note(Kind.DROPPED, reason="x")
    with pytest.raises(TypeError):
        entry.detail["reason"] = "y"  # type: ignore[index]


def test_empty_timeline_says_so():
    assert str(Timeline()) == "(nothing recorded)"


def test_entry_str_is_its_line():
    entry = TimelineEntry(START, Kind.DROPPED, None, None, {"reason": "x"})
    assert str(entry) == "12:00:00.000 dropped: x"


def test_every_kind_has_its_own_wording():
    rendered = {TimelineEntry(START, kind, None, None).describe() for kind in KINDS}
    assert len(rendered) == len(KINDS)
    assert all("_" not in text for text in rendered)
