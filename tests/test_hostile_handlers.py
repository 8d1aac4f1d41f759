"""Whatever a handler raises, returns or prints ends as Lambda's answer; nothing reaches the test.

Where the real runtime's own code fails on a value (``awslambdaric`` calls ``str(value)`` on the
exception and encodes its reports as UTF-8 outside any ``try``), its process ends with exit status
1 and the caller gets ``Runtime.ExitError``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import REGION, create_function, deploy

from mock_lambda_async import mock_lambda_async

pytestmark = pytest.mark.usefixtures("one_boto3_session")

BROKEN_STR = """
class Broken(Exception):
    def __str__(self):
        raise RuntimeError("no text for you")
"""


def invoke(name: str) -> tuple[str | None, Any]:
    """``(FunctionError, decoded payload)`` of a synchronous invoke."""
    response = boto3.client("lambda", REGION).invoke(FunctionName=name, Payload=b"{}")
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def assert_runtime_exit(name: str) -> None:
    function_error, data = invoke(name)
    assert function_error == "Unhandled"
    assert data["errorType"] == "Runtime.ExitError"
    assert data["errorMessage"].endswith("Error: Runtime exited with error: exit status 1")


def test_an_exception_whose_str_raises_ends_the_runtime(lam: Any) -> None:
    create_function("broken", BROKEN_STR + "def handler(e, c):\n    raise Broken()\n")
    assert_runtime_exit("broken")


def test_an_exception_holding_a_lone_surrogate_ends_the_runtime(lam: Any) -> None:
    create_function("surrogate", "def handler(e, c):\n    raise ValueError('\\udcff')\n")
    assert_runtime_exit("surrogate")


def test_a_callable_raising_a_broken_exception_ends_the_runtime(lam: Any) -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text for you")

    def handler(event: Any, context: Any) -> None:
        raise Broken()

    lam.add_function("broken", handler)
    assert_runtime_exit("broken")


def test_a_broken_exception_at_import_ends_the_runtime(lam: Any) -> None:
    create_function("broken", BROKEN_STR + "raise Broken()\ndef handler(e, c):\n    pass\n")
    assert_runtime_exit("broken")


def test_the_crash_traceback_is_in_the_log(lam: Any) -> None:
    create_function("broken", BROKEN_STR + "def handler(e, c):\n    raise Broken()\n")
    invoke("broken")
    [attempt] = lam.invocations("broken")
    assert "RuntimeError: no text for you" in attempt.log


def test_an_unprintable_exit_code_exits_with_status_1(lam: Any) -> None:
    source = BROKEN_STR + "def handler(e, c):\n    raise SystemExit(Broken())\n"
    create_function("exits", source)
    assert_runtime_exit("exits")


def test_python312_response_holding_a_lone_surrogate_ends_the_runtime(lam: Any) -> None:
    create_function("surrogate", "def handler(e, c):\n    return '\\udcff'\n")
    assert_runtime_exit("surrogate")


def test_older_pythons_escape_a_lone_surrogate_in_the_response(lam: Any) -> None:
    source = "def handler(e, c):\n    return '\\udcff'\n"
    deploy("surrogate", {"app.py": source}, "app.handler", Runtime="python3.11")
    response = boto3.client("lambda", REGION).invoke(FunctionName="surrogate", Payload=b"{}")
    assert response["Payload"].read() == b'"\\udcff"'


def test_printing_a_lone_surrogate_raises_in_the_handler(lam: Any) -> None:
    create_function("prints", "def handler(e, c):\n    print('\\udcff')\n")
    function_error, data = invoke("prints")
    assert function_error == "Unhandled"
    assert data["errorType"] == "UnicodeEncodeError"
    assert [line.split(",")[0] for line in data["stackTrace"]] == [
        '  File "/var/task/lambda_function.py"'
    ]


def test_logging_a_lone_surrogate_is_a_logging_error_only(
    lam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest's own log capture would keep the record, and xdist could not send it on.
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    source = "import logging\ndef handler(e, c):\n    logging.error('\\udcff')\n    return 1\n"
    create_function("logs", source)
    assert invoke("logs") == (None, 1)
    [attempt] = lam.invocations("logs")
    assert "--- Logging error ---" in attempt.log


def test_async_broken_exceptions_are_retried_as_function_errors(lam: Any) -> None:
    create_function("broken", BROKEN_STR + "def handler(e, c):\n    raise Broken()\n")
    boto3.client("lambda", REGION).invoke(FunctionName="broken", InvocationType="Event")
    lam.assert_failed("broken", error_type="Runtime.ExitError", times=3)


# -- exits during Init ----------------------------------------------------------------------------
@pytest.fixture
def thread_errors() -> Iterator[list[BaseException | None]]:
    """Exceptions that end a thread while the test runs (``threading.excepthook``)."""
    errors: list[BaseException | None] = []
    original = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        yield errors
    finally:
        threading.excepthook = original


@pytest.mark.parametrize("statement", ["raise SystemExit(1)", "raise KeyboardInterrupt"])
def test_an_exit_at_import_runs_no_handler(
    lam: Any, thread_errors: list[BaseException | None], statement: str
) -> None:
    create_function("exits", f"{statement}\ndef handler(e, c):\n    pass\n")
    assert_runtime_exit("exits")
    for thread in threading.enumerate():
        if thread.name == "lambda-exits":
            thread.join()  # the discarded environment's worker ends
    assert thread_errors == []


# -- threads a handler leaves running -------------------------------------------------------------
def after_the_handler_returned(lam: Any, calls: Callable[[], None]) -> datetime:
    """Run ``calls`` on a thread a handler started, once the handler returned; the virtual time
    before ``calls`` began."""
    go, done = threading.Event(), threading.Event()

    def later() -> None:
        go.wait(5)
        calls()
        done.set()

    lam.add_function("starts", lambda event, context: threading.Thread(target=later).start())
    boto3.client("lambda", REGION).invoke(FunctionName="starts")
    before: datetime = lam.now()
    go.set()
    assert done.wait(5)
    return before


def test_a_thread_a_handler_left_running_moves_no_time(lam: Any) -> None:
    def fails(event: Any, context: Any) -> None:
        raise ValueError("boom")

    def calls() -> None:
        boto3.client("lambda", REGION).invoke(FunctionName="fails", InvocationType="Event")
        boto3.client("sqs", REGION).list_queues()

    lam.add_function("fails", fails)
    assert after_the_handler_returned(lam, calls) == lam.now()
    lam.assert_failed("fails", times=3)  # the test's own call runs the event


def test_a_long_poll_from_a_thread_a_handler_left_running_moves_no_time(lam: Any) -> None:
    sqs = boto3.client("sqs", REGION)
    url = sqs.create_queue(QueueName="empty")["QueueUrl"]

    def calls() -> None:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)

    assert after_the_handler_returned(lam, calls) == lam.now()


def test_writing_bytes_to_stdout_is_a_type_error_in_the_handler(lam: Any) -> None:
    create_function("writes", "import sys\ndef handler(e, c):\n    sys.stdout.write(b'x')\n")
    function_error, data = invoke("writes")
    assert (function_error, data["errorType"]) == ("Unhandled", "TypeError")
    assert data["errorMessage"] == "write() argument must be str, not bytes"


# -- process state a handler changes ---------------------------------------------------------------
def run_once(handler: Any) -> None:
    """Run ``handler`` as a function once, in an activation of its own."""
    with mock_lambda_async() as lam:
        lam.add_function("changes", handler)
        boto3.client("lambda", REGION).invoke(FunctionName="changes")


def test_a_replaced_stdout_is_the_tests_again_after_the_invocation(lam: Any) -> None:
    before = sys.stdout, sys.stderr

    def handler(event: Any, context: Any) -> None:
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()

    lam.add_function("replaces", handler)
    boto3.client("lambda", REGION).invoke(FunctionName="replaces")
    assert (sys.stdout, sys.stderr) == before


def test_injected_and_replaced_modules_are_undone_on_exit() -> None:
    json_module = sys.modules["json"]

    def handler(event: Any, context: Any) -> None:
        sys.modules["injected_by_a_handler"] = types.ModuleType("injected_by_a_handler")
        sys.modules["json"] = types.ModuleType("json")

    run_once(handler)
    assert "injected_by_a_handler" not in sys.modules
    assert sys.modules["json"] is json_module


def test_modules_a_handler_imports_stay() -> None:
    sys.modules.pop("this", None)

    def handler(event: Any, context: Any) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            import this  # noqa: F401

    run_once(handler)
    assert "this" in sys.modules


def test_path_and_working_directory_are_undone_on_exit(tmp_path: Path) -> None:
    path, cwd = list(sys.path), os.getcwd()

    def handler(event: Any, context: Any) -> None:
        sys.path.insert(0, str(tmp_path))
        os.chdir(tmp_path)

    run_once(handler)
    assert (sys.path, os.getcwd()) == (path, cwd)


def test_logging_switches_are_undone_on_exit() -> None:
    botocore_level = logging.getLogger("botocore").level

    def handler(event: Any, context: Any) -> None:
        logging.disable(logging.CRITICAL)
        logging.getLogger("botocore").setLevel(logging.DEBUG)

    run_once(handler)
    assert logging.root.manager.disable == logging.NOTSET
    assert logging.getLogger("botocore").level == botocore_level


def test_the_recursion_limit_is_undone_on_exit() -> None:
    limit = sys.getrecursionlimit()
    run_once(lambda event, context: sys.setrecursionlimit(limit + 500))
    assert sys.getrecursionlimit() == limit
