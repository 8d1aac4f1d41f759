"""What the examples share: deploying an example's ``handler.py`` the way a real project does.

The code goes up as a zip through ``CreateFunction``, so the mock runs exactly the file you would
ship (its imports, module-level set-up and warm starts included). Importing ``handler`` from the
tests instead would also collide: every example has a module named ``handler``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
import pytest

REGION = "us-east-1"
ROLE_NAME = "example-lambda-role"
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture
def deploy(request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """``deploy(name, **CreateFunction parameters)``: create function ``name`` from the
    ``handler.py`` next to the test (handler ``handler.handler``); returns the response.

    Call it while the mock is active (the ``lambda_async`` fixture or ``with mock_lambda_async()``).
    """
    source = request.path.parent / "handler.py"

    def deploy(name: str, **config: Any) -> dict[str, Any]:
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.write(source, "handler.py")
        iam = boto3.client("iam", region_name=REGION)
        try:
            role = iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=TRUST_POLICY)[
                "Role"
            ]["Arn"]
        response: dict[str, Any] = boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": package.getvalue()},
            **config,
        )
        return response

    return deploy
