"""The history's compact records: shared details and times read exactly like separate ones."""

import gc

import pytest

from mock_lambda_async.metrics import History


def test_equal_details_of_different_types_stay_apart(lam):
    history = lam.state(History)
    one = history.note("dropped", function_name="orders", reason="x", attempts=1)
    true = history.note("dropped", function_name="orders", reason="x", attempts=True)
    assert type(one.detail["attempts"]) is int
    assert type(true.detail["attempts"]) is bool


def test_a_shared_detail_cannot_be_changed(lam):
    history = lam.state(History)
    history.note("queued", function_name="orders", trigger="async")
    entry = history.note("queued", function_name="orders", trigger="async")
    with pytest.raises(TypeError):
        entry.detail["trigger"] = "sns"  # type: ignore[index]


def test_an_entry_after_time_moved_reads_the_new_virtual_time(lam):
    history = lam.state(History)
    first = history.note("queued", function_name="a", trigger="async")
    lam.advance(1.5)
    second = history.note("queued", function_name="b", trigger="async")
    assert (second.at - first.at).total_seconds() == 1.5
    assert second.at == lam.now()


def test_recorded_entries_leave_nothing_for_the_garbage_collector_to_track(lam):
    # A drain of 100,000 messages leaves some 50,000 entries: as tracked objects they set off
    # full collections of the whole heap while the drain ran.
    history = lam.state(History)
    gc.collect()
    before = len(gc.get_objects())
    for n in range(1000):
        history.note("dropped", function_name="orders", reason=f"reason {n}", attempts=n)
    gc.collect()
    assert len(gc.get_objects()) - before < 50
    assert history.timeline()[-1].detail == {"reason": "reason 999", "attempts": 999}
