"""Activation: decorator and context manager forms, stacking with moto, and a clean exit."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import unittest
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from conftest import REGION, create_function
from moto import mock_aws
from moto.core.models import MockAWS

from mock_lambda_async import get_controller, mock_lambda_async
from mock_lambda_async.interception import interceptor

pytestmark = pytest.mark.usefixtures("one_boto3_session")

ECHO = "def handler(event, context):\n    return event\n"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a real connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a real network connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def invoke_echo(client: Any = None) -> Any:
    client = client or boto3.client("lambda", region_name=REGION)
    response = client.invoke(FunctionName="echo", Payload=b'{"n": 1}')
    return json.loads(response["Payload"].read())


# -- forms ------------------------------------------------------------------------------------------
@mock_lambda_async
def test_bare_decorator_on_a_function() -> None:
    create_function("echo", ECHO)
    assert invoke_echo() == {"n": 1}


@mock_lambda_async()
def test_decorator_with_parentheses_on_a_function() -> None:
    create_function("echo", ECHO)
    assert invoke_echo() == {"n": 1}


@mock_lambda_async
def test_decorated_function_gets_the_controller_from_get_controller() -> None:
    get_controller().add_function("echo", lambda event, context: event)
    assert invoke_echo() == {"n": 1}


def test_context_manager_yields_the_controller() -> None:
    with mock_lambda_async() as lam:
        lam.add_function("echo", lambda event, context: event)
        assert invoke_echo() == {"n": 1}


@mock_lambda_async
def test_decorated_test_keeps_its_pytest_fixtures(tmp_path: Path) -> None:
    assert tmp_path.exists()
    create_function("echo", ECHO)
    assert invoke_echo() == {"n": 1}


@mock_lambda_async
class TestPlainClassBareDecorator:
    def setup_method(self) -> None:
        create_function("echo", ECHO)

    def test_setup_method_runs_in_the_same_activation(self) -> None:
        assert invoke_echo() == {"n": 1}

    def test_each_test_starts_from_nothing(self) -> None:
        names = [
            f["FunctionName"] for f in boto3.client("lambda", REGION).list_functions()["Functions"]
        ]
        assert names == ["echo"]


@mock_lambda_async()
class TestPlainClassWithParentheses:
    def test_method_is_active(self) -> None:
        create_function("echo", ECHO)
        assert invoke_echo() == {"n": 1}

    def teardown_method(self, method: Any) -> None:
        # Still inside the activation: the function created by the test is there.
        assert boto3.client("lambda", REGION).get_function(FunctionName="echo")


class _InheritedTests:
    def test_inherited_method_is_active(self) -> None:
        create_function("echo", ECHO)
        assert invoke_echo() == {"n": 1}


@mock_lambda_async
class TestInheritedMethods(_InheritedTests):
    pass


@mock_lambda_async
class TestUnittestCaseBareDecorator(unittest.TestCase):
    def setUp(self) -> None:
        create_function("echo", ECHO)

    def test_set_up_and_test_share_one_activation(self) -> None:
        self.assertEqual(invoke_echo(), {"n": 1})

    def tearDown(self) -> None:
        self.assertEqual(invoke_echo(), {"n": 1})


@mock_aws
@mock_lambda_async
class TestUnittestCaseUnderMockAws(unittest.TestCase):
    def setUp(self) -> None:
        create_function("echo", ECHO)

    def test_each_test_starts_from_nothing(self) -> None:
        names = [
            f["FunctionName"] for f in boto3.client("lambda", REGION).list_functions()["Functions"]
        ]
        self.assertEqual(names, ["echo"])

    def test_the_next_test_starts_from_nothing_too(self) -> None:
        self.assertEqual(invoke_echo(), {"n": 1})


@mock_lambda_async()
class TestUnittestCaseWithParentheses(unittest.TestCase):
    def test_controller_is_available(self) -> None:
        get_controller().add_function("echo", lambda event, context: event)
        self.assertEqual(invoke_echo(), {"n": 1})


@mock_lambda_async
class _DecoratedBase(unittest.TestCase):
    pass


@mock_lambda_async(auto_drain=False)
class TestUnittestSubclassDecoratedAgain(_DecoratedBase):
    def test_the_subclass_activation_is_the_one_in_force(self) -> None:
        self.assertFalse(get_controller().auto_drain)


def test_a_plain_class_method_called_directly_starts_its_own_activation() -> None:
    @mock_lambda_async
    class Direct:
        def test_it(self) -> Any:
            create_function("echo", ECHO)
            return invoke_echo()

    assert Direct().test_it() == {"n": 1}
    assert not MockAWS._mocks_active


# -- moto --------------------------------------------------------------------------------------------
def test_alone_it_starts_moto_and_stops_it_on_exit() -> None:
    assert not MockAWS._mocks_active
    with mock_lambda_async():
        assert MockAWS._mocks_active
    assert not MockAWS._mocks_active


def test_inside_mock_aws_it_leaves_moto_running_and_its_data_alone() -> None:
    with mock_aws():
        with mock_lambda_async():
            create_function("echo", ECHO)
        assert MockAWS._mocks_active
        names = [
            f["FunctionName"] for f in boto3.client("lambda", REGION).list_functions()["Functions"]
        ]
        assert names == ["echo"]


def test_mock_aws_inside_it_shares_the_same_backends() -> None:
    with mock_lambda_async():
        create_function("echo", ECHO)
        with mock_aws():
            assert invoke_echo() == {"n": 1}
        assert invoke_echo() == {"n": 1}
    assert not MockAWS._mocks_active


@mock_aws
@mock_lambda_async
def test_decorator_under_mock_aws() -> None:
    create_function("echo", ECHO)
    assert invoke_echo() == {"n": 1}


@mock_lambda_async
@mock_aws
def test_decorator_over_mock_aws() -> None:
    create_function("echo", ECHO)
    assert invoke_echo() == {"n": 1}


def test_a_client_created_before_the_mock_starts_is_intercepted() -> None:
    client = boto3.client("lambda", region_name=REGION)
    with mock_lambda_async():
        create_function("echo", ECHO)
        assert invoke_echo(client) == {"n": 1}


def test_a_client_created_right_after_import_never_reaches_aws() -> None:
    """In a fresh interpreter: import, create clients, then start; no socket may be opened."""
    script = textwrap.dedent(
        """
        import io, json, socket, zipfile
        def refuse(*args, **kwargs):
            raise SystemExit("real network connection attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import boto3
        from mock_lambda_async import mock_lambda_async
        lam_client = boto3.client("lambda", region_name="us-east-1")
        iam = boto3.client("iam", region_name="us-east-1")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\\n    return event\\n")
        with mock_lambda_async():
            role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            lam_client.create_function(FunctionName="f", Runtime="python3.12", Role=role,
                                       Handler="app.handler", Code={"ZipFile": buffer.getvalue()})
            out = lam_client.invoke(FunctionName="f", Payload=b'{"ok": true}')
            print(out["Payload"].read().decode())
        """
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"ok": true}'


# -- nothing reaches an HTTP layer for what we answer ---------------------------------------------
@contextlib.contextmanager
def before_send(client: Any, handler: Callable[..., Any]) -> Iterator[None]:
    """``handler`` runs first on every request that reaches the HTTP layer (moto's stub)."""
    client.meta.events.register_first("before-send", handler)
    try:
        yield
    finally:
        client.meta.events.unregister("before-send", handler)


def test_invoke_never_reaches_the_http_layer() -> None:
    sent: list[str] = []
    client = boto3.client("lambda", region_name=REGION)
    with mock_lambda_async():
        create_function("echo", ECHO)
        with before_send(client, lambda request, **_: sent.append(request.url)):
            assert invoke_echo(client) == {"n": 1}
    assert sent == []


def test_operations_we_do_not_own_go_to_moto() -> None:
    sent: list[str] = []
    client = boto3.client("iam", region_name=REGION)
    with (
        before_send(client, lambda request, **_: sent.append(request.url)),
        mock_lambda_async(),
    ):
        assert client.list_roles()["Roles"] == []
    assert len(sent) == 1 and "iam.amazonaws.com" in sent[0]


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


def _http_layer(request: Any, **_: Any) -> AWSResponse | None:
    """Stands in for moto's HTTP layer: answers Invoke requests that get that far."""
    if request.url.endswith("/invocations"):
        return AWSResponse(request.url, 200, {}, _Raw(b'"from the HTTP layer"'))
    return None


def test_after_exit_our_handlers_are_inert() -> None:
    client = boto3.client("lambda", region_name=REGION)
    with before_send(client, _http_layer), mock_aws():
        with mock_lambda_async():
            create_function("echo", ECHO)
            assert invoke_echo(client) == {"n": 1}
        assert invoke_echo(client) == "from the HTTP layer"


# -- a clean exit ------------------------------------------------------------------------------------
LEAVES_TRACES = """
import logging, os, sys
import helper
logging.getLogger().addHandler(logging.NullHandler())
def handler(event, context):
    os.environ["SET_BY_HANDLER"] = "1"
    logging.getLogger().setLevel(logging.DEBUG)
    print("to the log, not the test")
    return {"file": __file__, "cwd": os.getcwd()}
"""


def _leave_traces() -> dict[str, Any]:
    from conftest import deploy

    with mock_lambda_async():
        deploy(
            "traces",
            {"lambda_function.py": LEAVES_TRACES, "helper.py": "X = 1\n"},
            "lambda_function.handler",
            Environment={"Variables": {"FROM_CONFIG": "yes"}},
        )
        response = boto3.client("lambda", REGION).invoke(FunctionName="traces")
        result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def test_exit_restores_environment_variables() -> None:
    before = dict(os.environ)
    _leave_traces()
    assert dict(os.environ) == before


def test_exit_removes_handler_modules() -> None:
    _leave_traces()
    leftovers = [
        name
        for name in sys.modules
        if name in {"lambda_function", "helper"} or name.startswith("mock_lambda_async_handler__")
    ]
    assert leftovers == []


def test_exit_deletes_extracted_code() -> None:
    result = _leave_traces()
    assert not Path(result["file"]).exists()
    assert not Path(result["cwd"]).exists()


def test_exit_restores_output_streams_and_logging() -> None:
    stdout, stderr, cwd = sys.stdout, sys.stderr, os.getcwd()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    _leave_traces()
    assert (sys.stdout, sys.stderr, os.getcwd()) == (stdout, stderr, cwd)
    assert (root.handlers, root.level) == (handlers, level)


def test_handler_output_does_not_reach_the_test_output(capsys: pytest.CaptureFixture[str]) -> None:
    _leave_traces()
    assert "to the log" not in capsys.readouterr().out


def test_exit_after_a_failing_body_reports_the_body_error() -> None:
    with pytest.raises(ZeroDivisionError), mock_lambda_async():
        1 / 0  # noqa: B018
    assert interceptor().controller is None
