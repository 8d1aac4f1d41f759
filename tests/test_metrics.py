"""``AWS/Lambda`` metrics in moto CloudWatch, at virtual time, read through boto3."""

from datetime import timedelta

import boto3
import pytest
from conftest import ACCOUNT, REGION

from mock_lambda_async.functions import resolve
from mock_lambda_async.metrics import put_metric


@pytest.fixture
def cloudwatch():
    return boto3.client("cloudwatch", region_name=REGION)


def _datapoints(lam, cloudwatch, name, dimensions, statistic="Sum"):
    return cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=name,
        Dimensions=dimensions,
        StartTime=lam.now() - timedelta(days=1),
        EndTime=lam.now() + timedelta(minutes=1),
        Period=60,
        Statistics=[statistic],
    )["Datapoints"]


def _sum(lam, cloudwatch, name, dimensions):
    return sum(point["Sum"] for point in _datapoints(lam, cloudwatch, name, dimensions))


def _by_name(name):
    return [{"Name": "FunctionName", "Value": name}]


def test_datapoint_is_stamped_with_virtual_time(lam, cloudwatch):
    lam.add_function("orders", lambda event, context: None)
    lam.advance(2 * 3600)
    put_metric(lam, resolve("orders", REGION, ACCOUNT), "Invocations", 1)
    [point] = _datapoints(lam, cloudwatch, "Invocations", _by_name("orders"))
    assert point["Timestamp"].timestamp() == pytest.approx(lam.now().timestamp(), abs=1)


def test_unqualified_invocation_is_listed_under_function_name(lam, cloudwatch):
    lam.add_function("orders", lambda event, context: None)
    put_metric(lam, resolve("orders", REGION, ACCOUNT), "Invocations", 1)
    [metric] = cloudwatch.list_metrics(Namespace="AWS/Lambda", MetricName="Invocations")["Metrics"]
    assert metric["Dimensions"] == _by_name("orders")


def test_qualified_invocation_has_the_resource_dimension(lam, cloudwatch):
    lam.add_function("orders", lambda event, context: None, Publish=True)
    put_metric(lam, resolve("orders", REGION, ACCOUNT, "1"), "Invocations", 1)
    resource = [*_by_name("orders"), {"Name": "Resource", "Value": "orders:1"}]
    assert _sum(lam, cloudwatch, "Invocations", resource) == 1


def test_qualified_invocation_counts_once_under_function_name(lam, cloudwatch):
    lam.add_function("orders", lambda event, context: None, Publish=True)
    put_metric(lam, resolve("orders", REGION, ACCOUNT, "1"), "Invocations", 1)
    put_metric(lam, resolve("orders", REGION, ACCOUNT), "Invocations", 1)
    assert _sum(lam, cloudwatch, "Invocations", _by_name("orders")) == 2


def test_alias_invocation_has_the_executed_version_dimension(lam, cloudwatch, lambda_client):
    lam.add_function("orders", lambda event, context: None, Publish=True)
    lambda_client.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
    put_metric(lam, resolve("orders", REGION, ACCOUNT, "live"), "Invocations", 1)
    dimensions = [
        *_by_name("orders"),
        {"Name": "Resource", "Value": "orders:live"},
        {"Name": "ExecutedVersion", "Value": "1"},
    ]
    assert _sum(lam, cloudwatch, "Invocations", dimensions) == 1


def test_account_wide_query_sums_every_function(lam, cloudwatch):
    for name in ("a", "b"):
        lam.add_function(name, lambda event, context: None)
        put_metric(lam, resolve(name, REGION, ACCOUNT), "Invocations", 1)
    assert _sum(lam, cloudwatch, "Invocations", []) == 2


# -- what the async engine emits -----------------------------------------------------------------
def _fails(event, context):
    raise ValueError("boom")


def test_async_event_age_grows_with_each_retry(lam, cloudwatch, lambda_client):
    lam.add_function("orders", _fails)
    lambda_client.invoke(FunctionName="orders", InvocationType="Event", Payload=b"{}")
    lam.drain()
    points = _datapoints(lam, cloudwatch, "AsyncEventAge", _by_name("orders"), "Maximum")
    ages = sorted(point["Maximum"] for point in points)
    assert ages == [0, 60_000, 180_000]


def test_async_event_age_is_in_milliseconds(lam, cloudwatch, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lambda_client.invoke(FunctionName="orders", InvocationType="Event", Payload=b"{}")
    lam.drain()
    [point] = _datapoints(lam, cloudwatch, "AsyncEventAge", _by_name("orders"))
    assert point["Unit"] == "Milliseconds"


def test_duration_is_recorded_for_each_async_attempt(lam, cloudwatch, lambda_client):
    lam.add_function("orders", _fails)
    lambda_client.invoke(FunctionName="orders", InvocationType="Event", Payload=b"{}")
    lam.drain()
    points = _datapoints(lam, cloudwatch, "Duration", _by_name("orders"), "SampleCount")
    assert sum(point["SampleCount"] for point in points) == 3


def test_successful_async_event_has_no_errors_and_no_drops(lam, cloudwatch, lambda_client):
    lam.add_function("orders", lambda event, context: None)
    lambda_client.invoke(FunctionName="orders", InvocationType="Event", Payload=b"{}")
    lam.drain()
    assert _sum(lam, cloudwatch, "Invocations", _by_name("orders")) == 1
    assert _sum(lam, cloudwatch, "Errors", _by_name("orders")) == 0
    assert _sum(lam, cloudwatch, "AsyncEventsDropped", _by_name("orders")) == 0


def test_async_metrics_of_an_alias_carry_its_resource(lam, cloudwatch, lambda_client):
    lam.add_function("orders", lambda event, context: None, Publish=True)
    lambda_client.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
    lambda_client.invoke(
        FunctionName="orders", Qualifier="live", InvocationType="Event", Payload=b"{}"
    )
    lam.drain()
    resource = [*_by_name("orders"), {"Name": "Resource", "Value": "orders:live"}]
    assert _sum(lam, cloudwatch, "AsyncEventsReceived", resource) == 1


def test_sync_invokes_count_invocations_and_errors(lam, lambda_client, cloudwatch):
    """A synchronous invoke is counted like any other attempt (Invocations, Errors)."""

    def handler(event, context):
        if event.get("fail"):
            raise ValueError("boom")
        return "ok"

    lam.add_function("sync-metrics", handler)
    lambda_client.invoke(FunctionName="sync-metrics", Payload=b"{}")
    lambda_client.invoke(FunctionName="sync-metrics", Payload=b'{"fail": true}')
    dimensions = [{"Name": "FunctionName", "Value": "sync-metrics"}]
    assert (
        _sum(lam, cloudwatch, "Invocations", dimensions),
        _sum(lam, cloudwatch, "Errors", dimensions),
    ) == (2, 1)


def test_metrics_are_in_moto_once_the_block_ends_under_an_outer_mock_aws(cloudwatch):
    from moto import mock_aws

    from mock_lambda_async import mock_lambda_async

    with mock_aws():
        with mock_lambda_async(auto_drain=False) as lam:
            lam.add_function("orders", lambda event, context: None)
            boto3.client("lambda", region_name=REGION).invoke(
                FunctionName="orders", InvocationType="Event"
            )
            lam.drain()
        # The mock has stopped: this call is moto's alone, and the datapoint is there.
        assert _sum(lam, cloudwatch, "Invocations", _by_name("orders")) == 1
