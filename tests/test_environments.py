"""Execution environments: each packaged environment has its own world of modules and loggers.

Installed libraries a handler imports (Powertools here) are imported again by every environment,
so their module-level state (``cold_start``, named loggers, metric sets) is the environment's, in
every mock session of the process; an update retires warm environments.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import REGION, create_function, deploy

from mock_lambda_async import SHARED_MODULES, mock_lambda_async

pytest_plugins = ["pytester"]

POWERTOOLS_LOGGER = """
from aws_lambda_powertools import Logger

logger = Logger(service="payments")

@logger.inject_lambda_context
def handler(event, context):
    logger.info("charged", extra={"amount": event.get("amount", 0)})
    return "ok"
"""


class Context:
    """The little of a Lambda context Powertools reads, for a callable invoked by the test."""

    function_name = "local"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:local"
    aws_request_id = "local"


def json_lines(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def invoke(name: str, payload: Any = None) -> dict[str, Any]:
    response = boto3.client("lambda", REGION).invoke(
        FunctionName=name, Payload=json.dumps(payload or {})
    )
    return dict(response, Payload=json.loads(response["Payload"].read()))


def powertools_session(names: tuple[str, ...] = ("payments",)) -> list[list[dict[str, Any]]]:
    """One mock session: each function invoked twice; the Powertools JSON lines of each attempt."""
    with mock_lambda_async() as lam:
        for name in names:
            create_function(name, POWERTOOLS_LOGGER)
            invoke(name, {"amount": 1})
            invoke(name, {"amount": 2})
        return [json_lines(attempt.log) for attempt in lam.invocations()]


def test_a_powertools_logger_writes_its_json_into_the_invocation_log_in_every_session(capfd):
    first, second = powertools_session(), powertools_session()
    for session in (first, second):
        assert [[line["message"] for line in attempt] for attempt in session] == [
            ["charged"],
            ["charged"],
        ]
    assert "charged" not in capfd.readouterr().out


def test_cold_start_is_true_on_the_first_invocation_of_each_function_and_session():
    sessions = [powertools_session(("payments", "refunds")) for _ in range(2)]
    for session in sessions:
        assert [attempt[0]["cold_start"] for attempt in session] == [True, False, True, False]


def test_the_json_also_reaches_cloudwatch_as_one_event():
    with mock_lambda_async():
        create_function("payments", POWERTOOLS_LOGGER)
        invoke("payments", {"amount": 3})
        found = boto3.client("logs", REGION).filter_log_events(logGroupName="/aws/lambda/payments")
        lines = [json.loads(e["message"]) for e in found["events"] if e["message"][0] == "{"]
    assert [(line["message"], line["amount"]) for line in lines] == [("charged", 3)]


def test_named_loggers_of_an_environment_are_its_own():
    source = """
    import logging

    def handler(event, context):
        shared = logging.getLogger("app.audit")
        first = not getattr(shared, "seen", False)
        shared.seen = True
        return first
    """
    test_logger = logging.getLogger("app.audit")
    with mock_lambda_async():
        create_function("one", source)
        create_function("two", source)
        firsts = [invoke(name)["Payload"] for name in ("one", "one", "two")]
    assert firsts == [True, False, True]
    assert logging.getLogger("app.audit") is test_logger
    assert not hasattr(test_logger, "seen")


METRICS = """
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace="Shop", service="{name}")

@metrics.log_metrics
def handler(event, context):
    metrics.add_metric(name="{name}_calls", unit=MetricUnit.Count, value=1)
    return "ok"
"""


def test_powertools_metrics_of_two_functions_stay_apart():
    with mock_lambda_async() as lam:
        for name in ("orders", "stock"):
            create_function(name, METRICS.replace("{name}", name))
        invoke("orders")
        invoke("stock")
        blobs = [json_lines(attempt.log) for attempt in lam.invocations()]
    names = [
        [m["Name"] for m in blob[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]] for blob in blobs
    ]
    assert names == [["orders_calls"], ["stock_calls"]]


def test_an_installed_library_imported_by_the_test_is_not_the_handlers():
    import aws_lambda_powertools.logging.logger as tests_own

    source = """
    import aws_lambda_powertools.logging.logger as module

    def handler(event, context):
        return id(module)
    """
    with mock_lambda_async():
        create_function("probe", source)
        seen = invoke("probe")["Payload"]
    assert seen != id(tests_own)
    assert sys.modules["aws_lambda_powertools.logging.logger"] is tests_own


def test_an_add_function_callable_runs_with_the_tests_modules_and_logs_into_its_invocation(
    capfd,
):
    from aws_lambda_powertools import Logger

    logger = Logger(service="callable")

    def handler(event: Any, context: Any) -> str:
        logger.info("from the callable")
        return "ok"

    with mock_lambda_async() as lam:
        lam.add_function("callable", handler)
        invoke("callable")
        (attempt,) = lam.invocations()
    assert [line["message"] for line in json_lines(attempt.log)] == ["from the callable"]
    assert "from the callable" not in capfd.readouterr().out


def test_the_tests_own_module_survives_a_package_shipping_one_of_the_same_name():
    own = type(sys)("utils")
    own.state = "the test's"  # type: ignore[attr-defined]
    sys.modules["utils"] = own
    try:
        with mock_lambda_async():
            deploy(
                "shipper",
                {
                    "utils.py": "state = 'the package\\'s'\n",
                    "lambda_function.py": "import utils\ndef handler(e, c):\n    return utils.state\n",
                },
                "lambda_function.handler",
            )
            assert invoke("shipper")["Payload"] == "the package's"
            assert sys.modules["utils"] is own
        assert sys.modules["utils"] is own
        import utils  # type: ignore[import-not-found]

        assert utils.state == "the test's"
    finally:
        sys.modules.pop("utils", None)


# -- updates ----------------------------------------------------------------------------------------
COUNTING = """
import itertools
loaded = next(iter([{tag!r}]))
calls = itertools.count(1)

def handler(event, context):
    return [loaded, next(calls)]
"""


@pytest.fixture
def paused() -> Iterator[Any]:
    with mock_lambda_async(auto_drain=False) as lam:
        yield lam


def code(tag: str) -> bytes:
    from conftest import make_zip

    return make_zip({"lambda_function.py": COUNTING.replace("{tag!r}", repr(tag))})


def outcomes(lam: Any) -> list[Any]:
    return [attempt.response for attempt in lam.invocations()]


def test_events_queued_before_an_update_of_the_code_run_on_the_new_code(paused):
    lambda_client = boto3.client("lambda", REGION)
    deploy(
        "counter",
        {"lambda_function.py": COUNTING.replace("{tag!r}", "'v1'")},
        "lambda_function.handler",
    )
    lambda_client.invoke(FunctionName="counter", Payload=b"{}")
    for _ in range(2):
        lambda_client.invoke(FunctionName="counter", InvocationType="Event", Payload=b"{}")
    lambda_client.update_function_code(FunctionName="counter", ZipFile=code("v2"))
    paused.drain()
    assert outcomes(paused) == [["v1", 1], ["v2", 1], ["v2", 2]]


def test_an_update_of_the_configuration_makes_the_next_invocation_a_cold_start(paused):
    lambda_client = boto3.client("lambda", REGION)
    create_function("counter", COUNTING.replace("{tag!r}", "'v1'"))
    lambda_client.invoke(FunctionName="counter", Payload=b"{}")
    lambda_client.invoke(FunctionName="counter", InvocationType="Event", Payload=b"{}")
    lambda_client.update_function_configuration(
        FunctionName="counter", Environment={"Variables": {"MODE": "new"}}
    )
    paused.drain()
    assert outcomes(paused) == [["v1", 1], ["v1", 1]]
    assert [a.result.cold_start for a in paused.invocations()] == [True, True]


def test_a_retry_after_an_update_runs_in_a_new_environment(paused):
    failing = """
    import os
    def handler(event, context):
        if os.environ.get("FIXED") != "1":
            raise RuntimeError("broken")
        return "fixed"
    """
    lambda_client = boto3.client("lambda", REGION)
    create_function("flaky", failing)
    lambda_client.invoke(FunctionName="flaky", InvocationType="Event", Payload=b"{}")
    paused.advance(1)
    lambda_client.update_function_configuration(
        FunctionName="flaky", Environment={"Variables": {"FIXED": "1"}}
    )
    paused.drain()
    first, retry = paused.invocations()
    assert (first.error_type, retry.response) == ("RuntimeError", "fixed")
    assert retry.result.cold_start


# -- INIT_START ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("runtime", "version"),
    [("python3.12", "python:3.12.mainlinev2.v7"), ("python3.11", "python:3.11.v109")],
)
def test_a_cold_start_logs_init_start_with_the_runtime_version(runtime, version):
    with mock_lambda_async():
        create_function(
            "fresh", "print('init')\ndef handler(e, c):\n    return 1\n", Runtime=runtime
        )
        invoke("fresh")
        invoke("fresh")
        found = boto3.client("logs", REGION).filter_log_events(logGroupName="/aws/lambda/fresh")
    logged = [e["message"] for e in found["events"]]
    prefix = f"INIT_START Runtime Version: {version}\tRuntime Version ARN: arn:aws:lambda:{REGION}"
    assert logged[0].startswith(prefix + "::runtime:")
    assert len(logged[0].strip().rpartition(":")[2]) == 64
    assert logged[1] == "init\n"
    assert [m for m in logged if m.startswith("INIT_START")] == [logged[0]]


# -- threads a module starts at import -------------------------------------------------------------
WORKER_THREAD = """
import json, queue, threading
import boto3

jobs = queue.Queue()

def work():
    client = boto3.client("lambda", region_name="us-east-1")
    while True:
        reply = jobs.get()
        reply.put(json.loads(client.invoke(FunctionName="callee")["Payload"].read()))

threading.Thread(target=work, daemon=True).start()

def handler(event, context):
    reply = queue.Queue()
    jobs.put(reply)
    return reply.get()
"""

THREAD_POOL = """
import atexit, json
from multiprocessing.pool import ThreadPool
import boto3

pool = ThreadPool(2)
# Ended before the interpreter's own teardown, whose closed pipes a leftover pool complains about.
atexit.register(pool.terminate)
client = boto3.client("lambda", region_name="us-east-1")

def call():
    return json.loads(client.invoke(FunctionName="callee")["Payload"].read())

def handler(event, context):
    return pool.apply(call)
"""


@pytest.mark.parametrize("source", [WORKER_THREAD, THREAD_POOL], ids=["thread", "thread_pool"])
def test_a_thread_started_at_import_invokes_a_packaged_function_on_every_warm_call(source):
    with mock_lambda_async():
        create_function("callee", "def handler(e, c):\n    return 'called'\n")
        create_function("caller", source)
        responses = [invoke("caller") for _ in range(3)]
    assert [(r.get("FunctionError"), r["Payload"]) for r in responses] == [(None, "called")] * 3


IDEMPOTENT = """
import itertools
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer, IdempotencyConfig, idempotent,
)

persistence = DynamoDBPersistenceLayer(table_name="idempotency")
runs = itertools.count(1)

@idempotent(persistence_store=persistence, config=IdempotencyConfig())
def handler(event, context):
    return {"run": next(runs)}
"""


def idempotency_session() -> list[Any]:
    with mock_lambda_async():
        boto3.client("dynamodb", REGION).create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        create_function("first", IDEMPOTENT)
        create_function("second", IDEMPOTENT)
        return [invoke(name, {"order": 1})["Payload"] for name in ("first", "first", "second")]


def test_powertools_idempotency_answers_a_repeat_from_its_record_in_every_session():
    sessions = [idempotency_session() for _ in range(2)]
    assert sessions == [[{"run": 1}, {"run": 1}, {"run": 1}]] * 2


# -- copies of one event that overlap ----------------------------------------------------------------
def test_copies_of_one_event_run_at_the_same_time():
    together = threading.Barrier(2, timeout=10)

    def handler(event: Any, context: Any) -> str:
        together.wait()
        return "met"

    with mock_lambda_async() as lam:
        lam.add_function("pair", handler)
        lam.faults.duplicate_async("pair", count=1)
        boto3.client("lambda", REGION).invoke(
            FunctionName="pair", InvocationType="Event", Payload=b"{}"
        )
        lam.drain()
        attempts = lam.invocations()
    assert [a.response for a in attempts] == ["met", "met"]
    assert attempts[0].result.log_stream_name != attempts[1].result.log_stream_name


OVERLAPPING = """
import os, pathlib, threading
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

persistence = DynamoDBPersistenceLayer(table_name="idempotency")
seen = pathlib.Path(os.environ["SEEN"])

@idempotent(persistence_store=persistence)
def work(event, context):
    # Holds its record in progress until the other copy has found it so.
    pause = threading.Event()
    for _ in range(1000):
        if seen.exists():
            break
        pause.wait(0.01)
    return "done"

def handler(event, context):
    try:
        return work(event, context)
    except IdempotencyAlreadyInProgressError:
        seen.write_text("in progress")
        raise
"""


def test_a_duplicate_finds_the_other_copy_in_progress_with_powertools_idempotency(tmp_path):
    with mock_lambda_async() as lam:
        boto3.client("dynamodb", REGION).create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        create_function(
            "charge",
            OVERLAPPING,
            Environment={"Variables": {"SEEN": str(tmp_path / "seen")}},
        )
        lam.faults.duplicate_async("charge", count=1)
        boto3.client("lambda", REGION).invoke(
            FunctionName="charge", InvocationType="Event", Payload=b'{"order": 7}'
        )
        lam.drain()
        outcomes = sorted((a.attempt, a.error_type or a.response) for a in lam.invocations())
    assert outcomes == [(1, "IdempotencyAlreadyInProgressError"), (1, "done"), (2, "done")]


def test_a_name_added_to_the_shared_modules_is_the_tests_own_module_in_every_environment():
    registry = type(sys)("shared_registry")
    registry.seen = []  # type: ignore[attr-defined]
    sys.modules["shared_registry"] = registry
    SHARED_MODULES.add("shared_registry")
    source = """
    import shared_registry

    def handler(event, context):
        shared_registry.seen.append(context.function_name)
    """
    try:
        with mock_lambda_async():
            create_function("one", source)
            create_function("two", source)
            invoke("one")
            invoke("two")
    finally:
        SHARED_MODULES.discard("shared_registry")
        sys.modules.pop("shared_registry", None)
    assert registry.seen == ["one", "two"]  # type: ignore[attr-defined]


MODULE_LEVEL_LOGGER = """
import json

import boto3
from aws_lambda_powertools import Logger

from mock_lambda_async import mock_lambda_async

logger = Logger(service="module_level")


def handler(event, context):
    logger.info("logged by the callable")
    return "ok"


def test_callable():
    with mock_lambda_async() as lam:
        lam.add_function("callable", handler)
        boto3.client("lambda", "us-east-1").invoke(FunctionName="callable")
        (attempt,) = lam.invocations()
    (line,) = [json.loads(x) for x in attempt.log.splitlines() if x.startswith("{")]
    assert line["message"] == "logged by the callable"
"""


@pytest.mark.parametrize("capture", ["fd", "no"])
def test_a_module_level_logger_of_the_tests_own_code_logs_into_the_invocation(pytester, capture):
    pytester.makepyfile(MODULE_LEVEL_LOGGER)
    for key in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        pytester._monkeypatch.setenv(key, os.environ.get(key, "testing"))
    result = pytester.runpytest_subprocess(f"--capture={capture}", "-rP", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    # Not as JSON on the test's output (pytest's own log capture still shows the record).
    assert '"message":"logged by the callable"' not in result.stdout.str()
