"""The pytest plugin: ``lambda_async`` fixture, ``lambda_async`` marker, timeline on failure."""

from datetime import datetime, timezone

import boto3
import pytest

from mock_lambda_async import LambdaAsyncController, get_controller
from mock_lambda_async.pytest_plugin import _options

pytest_plugins = ["pytester"]

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
SECTION = "mock_lambda_async timeline"
#: Inner runs load this plugin through its entry point; unrelated heavy plugins stay off.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")

SUITE = """
import boto3

def test_fails(lambda_async):
    lambda_async.add_function("orders", lambda event, context: 1 / 0)
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="orders")
    assert False, "the order was not processed"

def test_passes(lambda_async):
    lambda_async.add_function("fine", lambda event, context: None)
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="fine")

def test_fails_without_the_fixture():
    assert False
"""


def test_fixture_yields_the_active_controller(lambda_async):
    assert isinstance(lambda_async, LambdaAsyncController)
    assert get_controller() is lambda_async


def test_fixture_starts_moto(lambda_async):
    lambda_async.add_function("echo", lambda event, context: event)
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName="echo", Payload=b'{"a": 1}'
    )
    assert response["Payload"].read() == b'{"a": 1}'


def test_fixture_drains_by_default(lambda_async):
    assert lambda_async.auto_drain is True


@pytest.mark.lambda_async(auto_drain=False, start=START)
def test_marker_configures_the_fixture(lambda_async):
    assert (lambda_async.auto_drain, lambda_async.now()) == (False, START)


@pytest.mark.lambda_async(auto_drain=False, start=START)
class TestMarkerOnAClass:
    def test_applies_to_each_test(self, lambda_async):
        assert lambda_async.now() == START

    @pytest.mark.lambda_async(auto_drain=True)
    def test_a_test_s_marker_overrides_only_the_keywords_it_gives(self, lambda_async):
        assert (lambda_async.auto_drain, lambda_async.now()) == (True, START)


@pytest.mark.lambda_async(False)
def test_a_positional_marker_argument_is_refused(request):
    with pytest.raises(TypeError, match=r"keywords only .* got \(False,\)"):
        _options(request.node)


def test_marker_is_registered(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.lambda_async(auto_drain=False)
        def test_strict(lambda_async):
            assert not lambda_async.auto_drain
        """
    )
    pytester.runpytest("--strict-markers", *QUIET).assert_outcomes(passed=1)


def test_failing_test_report_carries_the_timeline(pytester):
    pytester.makepyfile(SUITE)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            f"*- {SECTION} -*",
            "2* (virtual time, UTC)",
            "*:*:*.* orders [[]*[]] sync attempt 1 failed: ZeroDivisionError: division by zero",
        ]
    )


def test_only_failing_tests_that_used_the_fixture_get_the_timeline(pytester):
    pytester.makepyfile(SUITE)
    result = pytester.runpytest(*QUIET)
    assert result.stdout.str().count(SECTION) == 1
    assert " fine [" not in result.stdout.str()


def test_history_is_released_after_the_test(pytester):
    pytester.makeconftest(
        """
        from mock_lambda_async.pytest_plugin import _HISTORY

        ITEMS = []

        def pytest_collection_modifyitems(items):
            ITEMS.extend(items)

        def pytest_sessionfinish(session):
            print("histories kept:", sum(_HISTORY in item.stash for item in ITEMS))
        """
    )
    pytester.makepyfile(SUITE)
    pytester.runpytest("-s", *QUIET).stdout.fnmatch_lines(["*histories kept: 0"])


def test_timeline_reaches_the_report_from_xdist_workers(pytester):
    pytester.makepyfile(SUITE)
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", *QUIET)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            f"*- {SECTION} -*",
            "*orders [[]*[]] sync attempt 1 failed: ZeroDivisionError: division by zero",
        ]
    )
