"""Shared fixtures: fake credentials, a region, and helpers to build deployment packages."""

from __future__ import annotations

import io
import json
import os
import textwrap
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

REGION = "us-east-1"
ACCOUNT = "123456789012"


def make_zip(files: dict[str, str]) -> bytes:
    """A deployment package from ``{path: source}`` (sources are dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, source in files.items():
            archive.writestr(path, textwrap.dedent(source))
    return buffer.getvalue()


def lambda_role() -> str:
    iam = boto3.client("iam", region_name=REGION)
    try:
        return str(iam.get_role(RoleName="test-role")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(
            iam.create_role(
                RoleName="test-role",
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )["Role"]["Arn"]
        )


def create_function(
    name: str, source: str, *, handler: str = "lambda_function.handler", **config: Any
) -> dict[str, Any]:
    """Create a Python function from one source file named after ``handler``'s module."""
    module = handler.rpartition(".")[0].replace(".", "/") + ".py"
    client = boto3.client("lambda", region_name=REGION)
    return dict(
        client.create_function(
            FunctionName=name,
            Runtime=config.pop("Runtime", "python3.12"),
            Role=lambda_role(),
            Handler=handler,
            Code={"ZipFile": make_zip({module: source})},
            **config,
        )
    )


@pytest.fixture
def lam() -> Iterator[Any]:
    from mock_lambda_async import mock_lambda_async

    with mock_lambda_async() as controller:
        yield controller


@pytest.fixture
def lambda_client() -> Any:
    return boto3.client("lambda", region_name=REGION)


@pytest.fixture(scope="module")
def one_boto3_session() -> Iterator[None]:
    """One boto3 session, and one client per service and region, for the whole module.

    moto clears ``boto3.DEFAULT_SESSION`` on every start, and a fresh session parses every service
    model again, a few tenths of a second per test; creating clients costs more than most calls.
    Clients stay valid across activations (interception is in botocore's built-in handlers), so
    ``boto3.client`` hands back the same one. A test that registers its own event handlers on a
    client must unregister them. Opt in with
    ``pytestmark = pytest.mark.usefixtures("one_boto3_session")``.
    """
    import mock_lambda_async  # noqa: F401 - a session copies botocore's handlers when created

    session = boto3.Session(region_name=REGION)
    original_setup, original_client = boto3.setup_default_session, boto3.client
    clients: dict[Any, Any] = {}

    def setup_default_session(**kwargs: Any) -> None:
        boto3.DEFAULT_SESSION = session

    def client(*args: Any, **kwargs: Any) -> Any:
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return original_client(*args, **kwargs)
        if key not in clients:
            clients[key] = original_client(*args, **kwargs)
        return clients[key]

    boto3.setup_default_session = setup_default_session
    boto3.client = client  # type: ignore[assignment]
    try:
        yield
    finally:
        boto3.setup_default_session, boto3.client = original_setup, original_client
