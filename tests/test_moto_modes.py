"""moto's modes under the mock: its Docker-less Lambda backend, and its IAM enforcement."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import REGION, make_zip
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from mock_lambda_async import mock_lambda_async

ECHO = {"index.py": "def handler(event, context):\n    return {'echo': event}\n"}


def _role() -> str:
    iam = boto3.client("iam", region_name=REGION)
    return str(iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"])


def _create(client: Any, role: str) -> None:
    client.create_function(
        FunctionName="echo",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": make_zip(ECHO)},
    )


def test_docker_less_mode_creates_and_invokes() -> None:
    with mock_aws(config={"lambda": {"use_docker": False}}), mock_lambda_async():
        client = boto3.client("lambda", region_name=REGION)
        _create(client, _role())
        answer = client.invoke(FunctionName="echo", Payload=b'{"a": 1}')
        assert json.loads(answer["Payload"].read()) == {"echo": {"a": 1}}


def test_docker_less_mode_runs_async_events() -> None:
    with mock_aws(config={"lambda": {"use_docker": False}}), mock_lambda_async() as lam:
        client = boto3.client("lambda", region_name=REGION)
        _create(client, _role())
        client.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
        lam.assert_succeeded("echo", times=1, trigger="async")


def test_docker_less_mode_polls_a_queue_mapping() -> None:
    with mock_aws(config={"lambda": {"use_docker": False}}), mock_lambda_async() as lam:
        client = boto3.client("lambda", region_name=REGION)
        _create(client, _role())
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        client.create_event_source_mapping(EventSourceArn=arn["QueueArn"], FunctionName="echo")
        sqs.send_message(QueueUrl=url, MessageBody="job")
        (attempt,) = lam.assert_succeeded("echo", trigger="sqs")
        assert attempt.event["Records"][0]["body"] == "job"


def _user_client(effect: str) -> Any:
    """A Lambda client for a user whose policy has ``effect`` on ``lambda:*``."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="user")
    policy = {
        "Version": "2012-10-17",
        "Statement": {"Effect": effect, "Action": ["lambda:*", "iam:*"], "Resource": "*"},
    }
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="user", PolicyArn=arn)
    key = iam.create_access_key(UserName="user")["AccessKey"]
    session = boto3.session.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=REGION,
    )
    return session.client("lambda")


def _status(action: Any) -> int:
    with pytest.raises(ClientError) as caught:
        action()
    return int(caught.value.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.mark.parametrize(
    "operation",
    [
        lambda c: c.invoke(FunctionName="echo", Payload=b"{}"),
        lambda c: c.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}"),
        lambda c: c.put_function_event_invoke_config(FunctionName="echo", MaximumRetryAttempts=0),
        lambda c: c.list_event_source_mappings(),
        lambda c: c.get_function(FunctionName="echo"),
        lambda c: c.list_functions(),
    ],
    ids=["invoke", "invoke-event", "put-config", "list-mappings", "get-function", "list-functions"],
)
@set_initial_no_auth_action_count(6)
@mock_aws
def test_a_caller_iam_denies_gets_motos_403(operation: Any) -> None:
    with mock_lambda_async():
        _create(boto3.client("lambda", region_name=REGION), _role())
        denied = _user_client("Deny")
        assert _status(lambda: operation(denied)) == 403


@set_initial_no_auth_action_count(3)
@mock_aws
def test_the_mocks_answers_count_against_motos_unauthenticated_allowance() -> None:
    """Role, function and one invoke are the three requests moto lets through unchecked."""
    with mock_lambda_async():
        client = boto3.client("lambda", region_name=REGION)
        _create(client, _role())
        assert client.invoke(FunctionName="echo", Payload=b"{}")["StatusCode"] == 200
        assert _status(lambda: client.invoke(FunctionName="echo", Payload=b"{}")) == 403


@set_initial_no_auth_action_count(6)
@mock_aws
def test_a_denied_invoke_names_the_action_as_moto_does() -> None:
    with mock_lambda_async():
        _create(boto3.client("lambda", region_name=REGION), _role())
        with pytest.raises(ClientError) as caught:
            _user_client("Deny").invoke(FunctionName="echo", Payload=b"{}")
    assert "not authorized to perform: lambda:Invoke" in str(caught.value)
