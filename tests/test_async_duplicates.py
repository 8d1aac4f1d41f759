"""At-least-once delivery: ``lam.deliver_async_twice`` (``lam.faults.duplicate_async``) makes the
queue hand an event over twice."""

import pytest


def _event(lambda_client, name, payload=b'{"order": 1}'):
    lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)


def test_events_are_delivered_once_by_default(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    _event(lambda_client, "orders")
    lam.drain()
    assert len(lam.invocations("orders")) == 1


def test_duplicate_delivery_runs_the_handler_twice_with_the_same_event(lam, lambda_client):
    seen = []
    lam.add_function("orders", lambda event, context: seen.append(event))
    lam.deliver_async_twice()
    _event(lambda_client, "orders")
    lam.drain()
    assert seen == [{"order": 1}, {"order": 1}]


def test_duplicate_delivery_keeps_the_request_id(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.deliver_async_twice()
    _event(lambda_client, "orders")
    lam.drain()
    first, second = lam.invocations("orders")
    assert first.request_id == second.request_id


def test_only_the_next_event_is_duplicated(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.deliver_async_twice()
    _event(lambda_client, "orders", b'{"order": 1}')
    _event(lambda_client, "orders", b'{"order": 2}')
    lam.drain()
    assert [a.event["order"] for a in lam.invocations("orders")] == [1, 1, 2]


def test_count_duplicates_that_many_events(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.deliver_async_twice(count=2)
    for order in (1, 2, 3):
        _event(lambda_client, "orders", f'{{"order": {order}}}'.encode())
    lam.drain()
    assert [a.event["order"] for a in lam.invocations("orders")] == [1, 1, 2, 2, 3]


def test_duplicates_for_one_function_leave_others_alone(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.add_function("billing", lambda event, context: None)
    lam.deliver_async_twice("billing")
    _event(lambda_client, "orders")
    _event(lambda_client, "billing")
    lam.drain()
    assert len(lam.invocations("orders")) == 1
    assert len(lam.invocations("billing")) == 2


def test_each_copy_is_retried_on_its_own(lam, lambda_client):
    def fails(event, context):
        raise ValueError("boom")

    lam.add_function("orders", fails)
    lam.deliver_async_twice()
    _event(lambda_client, "orders")
    lam.drain()
    assert len(lam.invocations("orders")) == 6
    assert len(lam.timeline().select("dropped", function_name="orders")) == 2


def test_duplicate_is_noted_on_the_timeline(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.deliver_async_twice()
    _event(lambda_client, "orders")
    lam.drain()
    [queued] = lam.timeline().select("queued", function_name="orders")
    [duplicated] = lam.timeline().select("fault", function_name="orders")
    assert duplicated.detail["fault"] == "duplicate_delivery"
    assert duplicated.request_id == queued.request_id


def test_count_must_be_at_least_one(lam):
    with pytest.raises(ValueError):
        lam.deliver_async_twice(count=0)
