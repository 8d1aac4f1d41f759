"""Stacks made with moto's CloudFormation engine: their mappings and async settings work."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import REGION

FAILING = "def handler(event, context):\n    raise RuntimeError('boom')\n"


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _template(retries: int = 0, batch_size: int = 1, *, config: bool = True) -> str:
    role_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    resources = {
        "Jobs": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": "jobs",
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDlq", "Arn"]},
                    "maxReceiveCount": 1,
                },
            },
        },
        "JobsDlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs-dlq"}},
        "Failures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "failures"}},
        "AsyncDlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "async-dlq"}},
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"RoleName": "worker-role", "AssumeRolePolicyDocument": role_policy},
        },
        "Worker": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "worker",
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": FAILING},
                "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["AsyncDlq", "Arn"]}},
                "ReservedConcurrentExecutions": 5,
            },
        },
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["Jobs", "Arn"]},
                "FunctionName": {"Ref": "Worker"},
                "BatchSize": batch_size,
            },
        },
        "InvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": "Worker"},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": retries,
                "DestinationConfig": {
                    "OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}
                },
            },
        },
    }
    if not config:
        del resources["InvokeConfig"]
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})


@pytest.fixture
def stack(lam: Any) -> Any:
    _client("cloudformation").create_stack(StackName="app", TemplateBody=_template())
    return lam


def _url(name: str) -> str:
    return str(_client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def _bodies(name: str) -> list[str]:
    received = _client("sqs").receive_message(QueueUrl=_url(name), MaxNumberOfMessages=10)
    return [message["Body"] for message in received.get("Messages", [])]


def test_the_stacks_mapping_is_listed_and_enabled(stack: Any) -> None:
    mappings = _client("lambda").list_event_source_mappings(FunctionName="worker")
    states = [(m["BatchSize"], m["State"]) for m in mappings["EventSourceMappings"]]
    assert states == [(1, "Enabled")]


def test_a_message_the_function_fails_on_goes_to_the_queues_dead_letter_queue(stack: Any) -> None:
    _client("sqs").send_message(QueueUrl=_url("jobs"), MessageBody="job-1")
    stack.drain()
    assert _bodies("jobs-dlq") == ["job-1"]
    stack.assert_failed("worker", trigger="sqs")


def test_a_failed_async_event_goes_to_the_configs_on_failure_queue(stack: Any) -> None:
    _client("lambda").invoke(FunctionName="worker", InvocationType="Event", Payload=b"{}")
    stack.drain()
    stack.assert_failed("worker", times=1, trigger="async")
    (record,) = stack.assert_delivered(_url("failures"), 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"


def test_the_functions_dead_letter_queue_and_reservation_apply(stack: Any) -> None:
    lambda_client = _client("lambda")
    configuration = lambda_client.get_function_configuration(FunctionName="worker")
    assert configuration["DeadLetterConfig"]["TargetArn"].endswith(":async-dlq")
    concurrency = lambda_client.get_function_concurrency(FunctionName="worker")
    assert concurrency["ReservedConcurrentExecutions"] == 5


def test_the_event_invoke_config_is_the_templates(stack: Any) -> None:
    config = _client("lambda").get_function_event_invoke_config(FunctionName="worker")
    assert config["MaximumRetryAttempts"] == 0
    assert config["DestinationConfig"]["OnFailure"]["Destination"].endswith(":failures")


def test_a_stack_update_changes_the_mapping_and_the_config(stack: Any) -> None:
    _client("cloudformation").update_stack(
        StackName="app", TemplateBody=_template(retries=2, batch_size=5)
    )
    lambda_client = _client("lambda")
    (mapping,) = lambda_client.list_event_source_mappings(FunctionName="worker")[
        "EventSourceMappings"
    ]
    assert mapping["BatchSize"] == 5
    config = lambda_client.get_function_event_invoke_config(FunctionName="worker")
    assert config["MaximumRetryAttempts"] == 2


def test_a_stack_delete_removes_the_mapping(stack: Any) -> None:
    (mapping,) = _client("lambda").list_event_source_mappings()["EventSourceMappings"]
    _client("cloudformation").delete_stack(StackName="app")
    with pytest.raises(ClientError) as caught:
        _client("lambda").get_event_source_mapping(UUID=mapping["UUID"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_stack_update_without_the_config_removes_it(stack: Any) -> None:
    """The function's DLQ then takes the failed event, after the default two retries."""
    _client("cloudformation").update_stack(StackName="app", TemplateBody=_template(config=False))
    _client("lambda").invoke(FunctionName="worker", InvocationType="Event", Payload=b"{}")
    stack.drain()
    stack.assert_failed("worker", times=3, trigger="async")
    assert len(stack.assert_dead_lettered(_url("async-dlq"), 1)) == 1
    assert _bodies("failures") == []


RECORDING = "def handler(event, context):\n    return None\n"


def _push_stack(resources: dict[str, Any]) -> None:
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {"RoleName": "push-role", "AssumeRolePolicyDocument": {}},
    }
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": "pushed",
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": RECORDING},
        },
    }
    template = {"Resources": {"Role": role, "Pushed": function, **resources}}
    _client("cloudformation").create_stack(StackName="push", TemplateBody=json.dumps(template))


def _pushed_arn() -> dict[str, Any]:
    return {"Fn::GetAtt": ["Pushed", "Arn"]}


def test_a_stacks_sns_lambda_subscription_invokes_asynchronously(lam: Any) -> None:
    subscription = {"Protocol": "lambda", "Endpoint": _pushed_arn()}
    _push_stack(
        {
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": "news", "Subscription": [subscription]},
            }
        }
    )
    topic = _client("sns").create_topic(Name="news")["TopicArn"]
    _client("sns").publish(TopicArn=topic, Message="hello")
    lam.assert_succeeded("pushed", times=1, trigger="sns")


def test_a_stacks_eventbridge_rule_target_invokes_asynchronously(lam: Any) -> None:
    target = {
        "Id": "pushed",
        "Arn": _pushed_arn(),
        "RetryPolicy": {"MaximumRetryAttempts": 0},
    }
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": "orders",
            "EventPattern": {"source": ["shop"]},
            "Targets": [target],
        },
    }
    _push_stack({"Rule": rule})
    rule_targets = _client("events").list_targets_by_rule(Rule="orders")["Targets"]
    assert rule_targets[0]["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    _client("events").put_events(
        Entries=[{"Source": "shop", "DetailType": "order", "Detail": "{}"}]
    )
    lam.assert_succeeded("pushed", times=1, trigger="events")


def test_a_stacks_bucket_notification_invokes_asynchronously(lam: Any) -> None:
    notification = {
        "LambdaConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Function": _pushed_arn(),
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "in/"}]}},
            }
        ]
    }
    bucket = {
        "Type": "AWS::S3::Bucket",
        "Properties": {"BucketName": "uploads", "NotificationConfiguration": notification},
    }
    _push_stack({"Bucket": bucket})
    _client("s3").put_object(Bucket="uploads", Key="in/a.txt", Body=b"a")
    _client("s3").put_object(Bucket="uploads", Key="out/b.txt", Body=b"b")
    (attempt,) = lam.assert_succeeded("pushed", times=1, trigger="s3")
    assert attempt.event["Records"][0]["s3"]["object"]["key"] == "in/a.txt"


def test_a_config_lambda_refuses_fails_the_stack_call(lam: Any) -> None:
    missing = "arn:aws:sqs:us-east-1:123456789012:missing"
    config = {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {
            "FunctionName": {"Ref": "Pushed"},
            "Qualifier": "$LATEST",
            "DestinationConfig": {"OnFailure": {"Destination": missing}},
        },
    }
    with pytest.raises(ClientError) as caught:
        _push_stack({"Config": config})
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert f"The destination ARN {missing} is invalid." in caught.value.response["Error"]["Message"]
