"""Isolation: an activation leaves nothing behind for the next one, in one process or under xdist.

Functions, event invoke configs, recursion settings, mappings, queued events, moto's patched
functions, the process environment, ``sys.modules``, ``sys.path``, the working directory and the
root logger are all as they were once an activation ends, whatever it did (events left queued with
``auto_drain=False``, handlers that changed their environment, packaged code, failed tests).
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION, create_function

from mock_lambda_async import mock_lambda_async

pytest_plugins = ["pytester"]

#: Modules and classes whose functions the mock replaces while active.
PATCHED_MODULES = (
    "moto.sqs.models",
    "moto.sns.models",
    "moto.events.models",
    "moto.s3.notifications",
    "moto.kinesis.models",
    "moto.dynamodb.models.table",
    "botocore.session",
    "threading",
    "concurrent.futures.thread",
)


def patchable_state() -> dict[str, Any]:
    """Every function and class attribute of the patched modules, plus ``os.environ``'s class."""
    state: dict[str, Any] = {"os.environ class": type(os.environ)}
    for name in PATCHED_MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if _code(value):
                state[f"{name}.{attribute}"] = value
            if inspect.isclass(value) and value.__module__ == name:
                for member, inner in vars(value).items():
                    if _code(inner):
                        state[f"{name}.{attribute}.{member}"] = inner
    return state


def _code(value: Any) -> bool:
    """Functions, methods and properties (what a patch replaces), not data moto updates."""
    return inspect.isroutine(value) or isinstance(value, property | staticmethod | classmethod)


def process_state() -> dict[str, Any]:
    root = logging.getLogger()
    return {
        # pytest sets PYTEST_CURRENT_TEST to the phase it is in.
        "environ": {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
        "path": list(sys.path),
        "cwd": os.getcwd(),
        "root handlers": list(root.handlers),
        "root level": root.level,
        "stdout": sys.stdout,
        "stderr": sys.stderr,
        "exit": os._exit,
    }


@pytest.fixture
def before() -> Iterator[dict[str, Any]]:
    yield {"patchable": patchable_state(), "process": process_state(), "modules": set(sys.modules)}


def busy_activation() -> None:
    """An activation that does a bit of everything and leaves work pending."""
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function(
            "worker",
            lambda event, context: os.environ.update(SET_BY_HANDLER="1"),
            Environment={"Variables": {"FROM_CONFIG": "1"}},
        )
        create_function(
            "packaged",
            """
            import logging
            logging.getLogger().setLevel(logging.DEBUG)
            logging.getLogger().addHandler(logging.NullHandler())

            def handler(event, context):
                import os
                os.environ["SET_BY_PACKAGE"] = "1"
                return "ok"
            """,
        )
        lambda_client = boto3.client("lambda", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        sqs.create_queue(QueueName="jobs")
        lambda_client.put_function_event_invoke_config(
            FunctionName="worker", MaximumRetryAttempts=0
        )
        lambda_client.put_function_recursion_config(FunctionName="worker", RecursiveLoop="Allow")
        lambda_client.create_event_source_mapping(
            FunctionName="worker", EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
        )
        lambda_client.invoke(FunctionName="worker", Payload=b"{}")
        lambda_client.invoke(FunctionName="packaged", Payload=b"{}")
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda _: lambda_client.invoke(FunctionName="worker"), range(2)))
        lambda_client.invoke(FunctionName="worker", InvocationType="Event", Payload=b"{}")
        # Left queued: auto_drain is off and nothing drains before the end.


def test_an_activation_leaves_the_process_as_it_found_it(before):
    busy_activation()
    assert process_state() == before["process"]
    leftovers = {m for m in set(sys.modules) - before["modules"] if m.startswith("lambda_function")}
    assert leftovers == set()
    assert not any(m.startswith("mock_lambda_async_handler__") for m in sys.modules)


def test_an_activation_restores_every_function_it_patched(before):
    busy_activation()
    after = patchable_state()
    changed = sorted(
        key for key, value in before["patchable"].items() if after.get(key) is not value
    )
    assert changed == []


def test_the_next_activation_starts_from_nothing():
    busy_activation()
    with mock_lambda_async() as lam:
        lambda_client = boto3.client("lambda", region_name=REGION)
        assert lambda_client.list_functions()["Functions"] == []
        assert lambda_client.list_event_source_mappings()["EventSourceMappings"] == []
        assert boto3.client("sqs", region_name=REGION).list_queues().get("QueueUrls", []) == []
        lam.add_function("worker", lambda event, context: os.environ.get("SET_BY_HANDLER"))
        response = lambda_client.get_function_recursion_config(FunctionName="worker")
        assert response["RecursiveLoop"] == "Terminate"
        with pytest.raises(ClientError) as caught:
            lambda_client.get_function_event_invoke_config(FunctionName="worker")
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
        # A warm environment of the old activation would remember SET_BY_HANDLER.
        result = lambda_client.invoke(FunctionName="worker", Payload=b"{}")["Payload"].read()
        assert json.loads(result) is None
        lam.drain()
        # The event the previous activation left queued never runs here.
        assert [a.trigger for a in lam.invocations()] == ["sync"]
        assert len(lam.timeline().select("queued")) == 0


def test_a_failing_test_body_still_restores_everything(before):
    with pytest.raises(RuntimeError), mock_lambda_async() as lam:
        lam.add_function("ok", lambda event, context: None)
        boto3.client("lambda", region_name=REGION).invoke(FunctionName="ok")
        raise RuntimeError("the test failed")
    assert process_state() == before["process"]
    after = patchable_state()
    assert [k for k, v in before["patchable"].items() if after.get(k) is not v] == []


def test_nested_activations_restore_on_the_outer_exit_only(before):
    with mock_lambda_async():
        inside = patchable_state()
        with mock_lambda_async() as inner:
            inner.add_function("nested", lambda event, context: None)
        # The outer activation is still active: its patches are still in place.
        assert patchable_state() == inside
    after = patchable_state()
    assert [k for k, v in before["patchable"].items() if after.get(k) is not v] == []


def test_a_thread_outliving_its_invocation_keeps_the_function_environment(before):
    ready, release = threading.Event(), threading.Event()
    seen: list[str | None] = []
    stragglers: list[threading.Thread] = []

    def handler(event: Any, context: Any) -> None:
        def late() -> None:
            ready.set()
            release.wait(5)
            seen.append(os.environ.get("ONLY_HERE"))

        straggler = threading.Thread(target=late)
        stragglers.append(straggler)
        straggler.start()
        ready.wait(5)

    with mock_lambda_async() as lam:
        lam.add_function("spawner", handler, Environment={"Variables": {"ONLY_HERE": "yes"}})
        boto3.client("lambda", region_name=REGION).invoke(FunctionName="spawner")
        # The invocation is over; its thread reads the environment now.
        release.set()
        stragglers[0].join(5)
        assert "ONLY_HERE" not in os.environ
    assert seen == ["yes"]
    assert process_state()["environ"] == before["process"]["environ"]


SUITE = textwrap.dedent(
    """
    import json, os, sys
    import boto3
    import pytest

    @pytest.mark.parametrize("n", range(4))
    def test_each_test_starts_clean(lambda_async, n):
        client = boto3.client("lambda", region_name="us-east-1")
        assert client.list_functions()["Functions"] == []
        assert "FROM_LAMBDA" not in os.environ
        assert not any(m.startswith("mock_lambda_async_handler__") for m in sys.modules)
        lambda_async.add_function(
            "same-name",
            lambda event, context: os.environ["FROM_LAMBDA"],
            Environment={"Variables": {"FROM_LAMBDA": str(n)}},
        )
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="same-queue")["QueueUrl"]
        client.invoke(FunctionName="same-name", InvocationType="Event", Payload=b"{}")
        assert [a.response for a in lambda_async.invocations("same-name")] == [str(n)]
        assert sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"] == "0"
    """
)


def test_tests_share_nothing_under_xdist(pytester):
    pytester.makepyfile(SUITE)
    env_keys = ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    for key in env_keys:
        pytester._monkeypatch.setenv(key, os.environ.get(key, "testing"))
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "-p", "no:randomly", "-q")
    result.assert_outcomes(passed=4)
