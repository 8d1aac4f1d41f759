"""While a mock is active no botocore request leaves the process, whenever its client was made.

The whole suite also runs under the socket guard of the root ``conftest.py``: any connection off
this machine fails the test that tried it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.core.config import default_user_config

from mock_lambda_async import mock, mock_lambda_async
from mock_lambda_async.network import RequestRefused

ROOT = Path(__file__).resolve().parent.parent

BEFORE_IMPORT = """
import json, socket

attempts = []

def connect(sock, address):
    attempts.append(repr(address))
    raise OSError("no network")

socket.socket.connect = connect

import boto3

lambda_client = boto3.client("lambda", region_name="us-east-1")
sqs = boto3.client("sqs", region_name="us-east-1")

from mock_lambda_async import mock_lambda_async

with mock_lambda_async() as lam:
    lam.add_function("echo", lambda event, context: {"got": event})
    payload = lambda_client.invoke(FunctionName="echo", Payload=b'{"a": 1}')["Payload"].read()
    lambda_client.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
    queue = sqs.create_queue(QueueName="early")["QueueUrl"]
    triggers = [attempt.trigger for attempt in lam.invocations("echo")]

print(json.dumps({"payload": json.loads(payload), "queue": queue, "triggers": triggers,
                  "attempts": attempts}))
"""


def test_a_client_made_before_the_import_is_answered_by_the_mock_and_moto() -> None:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(BEFORE_IMPORT)],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["payload"] == {"got": {"a": 1}}
    assert result["queue"].endswith("/early")
    assert result["triggers"] == ["sync", "async"]
    assert result["attempts"] == []


def test_a_custom_endpoint_is_answered_by_moto(lam: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.setattr(mock, "_KEPT_CLIENTS", {})
    lam.add_function("echo", lambda event, context: event)
    iam = boto3.client("iam", region_name="us-east-1")
    assert iam.get_role(RoleName=mock.DEFAULT_ROLE_NAME)["Role"]["RoleName"]
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="on-the-custom-endpoint")
    s3.put_object(Bucket="on-the-custom-endpoint", Key="k", Body=b"v")
    assert s3.get_object(Bucket="on-the-custom-endpoint", Key="k")["Body"].read() == b"v"


def test_a_dual_stack_endpoint_is_answered_by_moto(lam: Any) -> None:
    dual_stack = Config(use_dualstack_endpoint=True)
    sqs = boto3.client("sqs", region_name="us-east-1", config=dual_stack)
    assert sqs.meta.endpoint_url.endswith(".api.aws")
    assert sqs.create_queue(QueueName="dual")["QueueUrl"].endswith("/dual")


def test_a_request_moto_lets_through_is_refused(lam: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    core = {**default_user_config["core"], "passthrough": {"urls": [], "services": ["sqs"]}}
    monkeypatch.setitem(default_user_config, "core", core)
    with pytest.raises(RequestRefused, match="refused to send POST https://sqs"):
        boto3.client("sqs", region_name="us-east-1").list_queues()


def leftover_thread(lam: Any) -> tuple[threading.Event, list[BaseException]]:
    """Function ``starts`` leaves a non-daemon thread that calls SQS once ``go`` is set."""
    go, errors = threading.Event(), []
    sqs = boto3.client("sqs", region_name="us-east-1")

    def later() -> None:
        go.wait()
        try:
            sqs.list_queues()
        except Exception as error:
            errors.append(error)

    def handler(event: Any, context: Any) -> None:
        threading.Thread(target=later, name="leftover").start()

    lam.add_function("starts", handler)
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="starts")
    return go, errors


def join_leftover() -> None:
    for thread in threading.enumerate():
        if thread.name == "leftover":
            thread.join()


def test_a_thread_left_running_is_refused_after_the_mock_ends() -> None:
    with mock_lambda_async() as lam:
        go, errors = leftover_thread(lam)
    go.set()
    join_leftover()
    assert [type(error) for error in errors] == [RequestRefused]
    assert "activation has ended" in str(errors[0])


def test_a_thread_left_running_is_refused_in_a_later_activation() -> None:
    with mock_lambda_async() as lam:
        go, errors = leftover_thread(lam)
    with mock_lambda_async():
        go.set()
        join_leftover()
    assert [type(error) for error in errors] == [RequestRefused]


# -- the suite's own guard (root conftest.py) ----------------------------------------------------
REACH_OUT = """
import socket
try:
    socket.create_connection(("192.0.2.1", 443), timeout=1)
except OSError as error:
    print(error)
"""


def test_the_suite_refuses_connections_off_the_machine() -> None:
    with pytest.raises(OSError, match="nothing may leave the machine"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


def test_python_started_by_a_test_refuses_them_too() -> None:
    done = subprocess.run([sys.executable, "-c", REACH_OUT], capture_output=True, text=True)
    assert "nothing may leave the machine" in done.stdout
