"""``lam.faults``: rules, their arguments, counting, and seeded fractions."""

import json

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_lambda_async import Fault, Faults, mock_lambda_async

pytestmark = pytest.mark.usefixtures("one_boto3_session")


def _invoke(lambda_client, name, order):
    lambda_client.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"o": order})
    )


def _duplicated_orders(lam, name="orders"):
    """The orders whose event ran twice."""
    orders = [a.event["o"] for a in lam.invocations(name)]
    return sorted({order for order in orders if orders.count(order) == 2})


def test_faults_is_one_object_per_controller(lam):
    assert isinstance(lam.faults, Faults)
    assert lam.faults is lam.faults


def test_a_rule_is_returned_and_listed(lam):
    rule = lam.faults.throttle("orders")
    assert isinstance(rule, Fault)
    assert lam.faults.rules == (rule,)


def test_a_rule_takes_the_next_event_by_default(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    rule = lam.faults.duplicate_async("orders")
    for order in (1, 2):
        _invoke(lambda_client, "orders", order)
    assert _duplicated_orders(lam) == [1]
    assert (rule.hits, rule.remaining, rule.active) == (1, 0, False)


def test_count_takes_that_many_events(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.duplicate_async("orders", count=2)
    for order in (1, 2, 3):
        _invoke(lambda_client, "orders", order)
    assert _duplicated_orders(lam) == [1, 2]


def test_a_finished_rule_leaves_the_list(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.duplicate_async("orders")
    _invoke(lambda_client, "orders", 1)
    assert lam.faults.rules == ()


def test_fraction_one_takes_every_event(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.duplicate_async("orders", fraction=1.0)
    for order in (1, 2, 3):
        _invoke(lambda_client, "orders", order)
    assert _duplicated_orders(lam) == [1, 2, 3]


def test_count_caps_a_fraction(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.faults.duplicate_async("orders", fraction=1.0, count=2)
    for order in (1, 2, 3):
        _invoke(lambda_client, "orders", order)
    assert _duplicated_orders(lam) == [1, 2]


def test_a_rule_for_one_function_leaves_others_alone(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.add_function("billing", lambda event, context: None)
    lam.faults.duplicate_async("billing", fraction=1.0)
    _invoke(lambda_client, "orders", 1)
    _invoke(lambda_client, "billing", 1)
    assert _duplicated_orders(lam, "orders") == []
    assert _duplicated_orders(lam, "billing") == [1]


def test_a_rule_without_a_function_applies_to_all(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lam.add_function("billing", lambda event, context: None)
    lam.faults.duplicate_async(fraction=1.0)
    _invoke(lambda_client, "orders", 1)
    _invoke(lambda_client, "billing", 2)
    assert _duplicated_orders(lam, "orders") == [1]
    assert _duplicated_orders(lam, "billing") == [2]


def test_a_function_arn_names_the_function(lam, lambda_client):
    arn = lam.add_function("orders", lambda event, context: None)["FunctionArn"]
    lam.faults.duplicate_async(f"{arn}:live")
    _invoke(lambda_client, "orders", 1)
    assert _duplicated_orders(lam) == [1]


def test_cancel_stops_a_rule(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    rule = lam.faults.duplicate_async("orders", fraction=1.0)
    _invoke(lambda_client, "orders", 1)
    rule.cancel()
    _invoke(lambda_client, "orders", 2)
    assert _duplicated_orders(lam) == [1]
    assert lam.faults.rules == ()


def test_clear_cancels_every_rule(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    rules = [lam.faults.duplicate_async(), lam.faults.throttle(), lam.faults.timeout()]
    lam.faults.clear()
    _invoke(lambda_client, "orders", 1)
    assert [a.ok for a in lam.invocations("orders")] == [True]
    assert not any(rule.active for rule in rules)


def test_rules_apply_oldest_first(lam, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    first = lam.faults.duplicate_async("orders")
    second = lam.faults.duplicate_async()
    _invoke(lambda_client, "orders", 1)
    assert (first.hits, second.hits) == (1, 0)


def test_repr_says_what_the_rule_does():
    assert (
        repr(Fault("throttle", "orders", 2, None)) == "<Fault throttle of orders: next 2, 0 hits>"
    )
    assert repr(Fault("duplicate_delivery", None, None, 0.25, trigger="sqs")) == (
        "<Fault duplicate_delivery (sqs) of all: 25% of events, 0 hits>"
    )


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "2"])
def test_count_must_be_a_positive_int(lam, count):
    with pytest.raises(ValueError, match="count must be an int >= 1"):
        lam.faults.throttle("orders", count=count)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.01, float("nan"), True, "0.5"])
def test_fraction_must_be_in_zero_one(lam, fraction):
    with pytest.raises(ValueError, match=r"fraction must be a number in \(0, 1\]"):
        lam.faults.service_error("orders", fraction=fraction)


def test_function_name_must_be_valid(lam):
    with pytest.raises(ValueError, match="not a function name or ARN"):
        lam.faults.timeout("no spaces allowed")


def test_throttle_reason_must_be_lambdas(lam):
    with pytest.raises(ValueError, match="reason must be one of ConcurrentInvocationLimitExceeded"):
        lam.faults.throttle("orders", reason="Busy")


def test_destination_must_be_an_arn_or_queue_url(lam):
    with pytest.raises(ValueError, match="not a destination ARN or SQS queue URL"):
        lam.faults.fail_delivery("failures")


def test_a_queue_url_names_the_queue_arn(lam):
    rule = lam.faults.fail_delivery("https://sqs.eu-west-1.amazonaws.com/123456789012/failures")
    assert rule.target == "arn:aws:sqs:eu-west-1:123456789012:failures"


def _affected(seed, fraction, events):
    with mock_lambda_async() as lam:
        lam.add_function("orders", lambda event, context: None)
        lam.faults.seed(seed)
        lam.faults.duplicate_async("orders", fraction=fraction)
        client = boto3.client("lambda", region_name="us-east-1")
        for order in range(events):
            _invoke(client, "orders", order)
        return _duplicated_orders(lam)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    fraction=st.floats(min_value=0.05, max_value=0.95),
)
def test_the_same_seed_affects_the_same_events(seed, fraction):
    assert _affected(seed, fraction, 12) == _affected(seed, fraction, 12)


def test_the_default_seed_is_fixed():
    assert _affected(0, 0.5, 20) == _affected(0, 0.5, 20)


def test_another_seed_affects_other_events():
    assert _affected(1, 0.5, 20) != _affected(2, 0.5, 20)


def test_a_fraction_affects_about_that_share():
    assert 12 <= len(_affected(7, 0.25, 100)) <= 40
