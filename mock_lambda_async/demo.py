"""The demonstration: what a test sees when Lambda code fails, printed step by step.

Each section is a small story told through plain boto3 calls against the mock.
"""

from __future__ import annotations

import io
import json
import os
import textwrap
import zipfile

import boto3

from .mock import mock_lambda_async

REGION = "us-east-1"

HANDLER_SOURCE = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError(f"cannot process order {event.get('order')}")
    print(f"processed order {event.get('order')}")
    return {"order": event.get("order"), "status": "ok"}
"""


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("orders.py", textwrap.dedent(source))
    return buffer.getvalue()


def _title(text: str) -> None:
    print(f"\n=== {text} ===")


def sync_section() -> None:
    _title("1. Synchronous invoke of a function created from a zip")
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="demo-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda", region_name=REGION)
    client.create_function(
        FunctionName="orders",
        Runtime="python3.12",
        Role=role,
        Handler="orders.handler",
        Code={"ZipFile": _zip(HANDLER_SOURCE)},
    )
    ok = client.invoke(FunctionName="orders", Payload=json.dumps({"order": 1}))
    print(
        f"invoke order 1  -> StatusCode {ok['StatusCode']}, Payload {ok['Payload'].read().decode()}"
    )
    bad = client.invoke(FunctionName="orders", Payload=json.dumps({"order": 2, "fail": True}))
    error = json.loads(bad["Payload"].read())
    print(
        f"invoke order 2  -> StatusCode {bad['StatusCode']}, FunctionError {bad['FunctionError']!r}, "
        f"{error['errorType']}: {error['errorMessage']}"
    )


SECTIONS = [sync_section]


def run() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    for section in SECTIONS:
        with mock_lambda_async():
            section()
