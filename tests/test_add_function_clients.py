"""``lam.add_function`` keeps its boto3 clients per credentials."""

from __future__ import annotations

import os
from unittest import mock

import boto3

from mock_lambda_async import mock_lambda_async


def _handler(event: object, context: object) -> None:
    return None


def _other_account_credentials() -> dict[str, str]:
    """Credentials of account 111111111111 (moto names the account by the assumed role)."""
    sts = boto3.client("sts", region_name="us-east-1")
    role = "arn:aws:iam::111111111111:role/deployer"
    return dict(sts.assume_role(RoleArn=role, RoleSessionName="other")["Credentials"])


def test_add_function_follows_a_default_session_set_up_with_other_credentials() -> None:
    with mock_lambda_async() as lam:
        first = lam.add_function("in-default-account", _handler)
        credentials = _other_account_credentials()
        boto3.setup_default_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name="us-east-1",
        )
        second = lam.add_function("in-other-account", _handler)

    assert first["FunctionArn"].split(":")[4] == "123456789012"
    assert second["FunctionArn"].split(":")[4] == "111111111111"


def test_add_function_follows_credentials_set_in_the_environment() -> None:
    with mock_lambda_async() as lam:
        first = lam.add_function("in-default-account", _handler)
        credentials = _other_account_credentials()
        assumed = {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }
        with (
            mock.patch.dict(os.environ, assumed),
            mock.patch.object(boto3, "DEFAULT_SESSION", None),
        ):
            second = lam.add_function("in-other-account", _handler)

    assert first["FunctionArn"].split(":")[4] == "123456789012"
    assert second["FunctionArn"].split(":")[4] == "111111111111"
