"""``lam.deploy``: SAM, CDK and CloudFormation templates deployed through moto's engine."""

from __future__ import annotations

import json
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from mock_lambda_async import mock_lambda_async
from mock_lambda_async.deploy import TemplateError

REGION = "us-east-1"
START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
CDK_OUT = Path(__file__).parent / "data" / "cdk_app" / "cdk.out"
HANDLERS = """\
import json


def fail(event, context):
    raise ValueError("boom")


def report_poison(event, context):
    return {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"
    ]}


def record(event, context):
    print(json.dumps(event))
    return {"ok": True}


def poison(event, context):
    import base64
    for record in event["Records"]:
        if base64.b64decode(record["kinesis"]["data"]) == b"poison":
            raise ValueError("poison record")
"""


def app(tmp_path: Path, template: str) -> Path:
    """A SAM/CloudFormation project: ``src/app.py`` and ``template.yaml`` in ``tmp_path``."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLERS)
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(template))
    return path


def test_sam_event_invoke_config_sends_a_failure_to_its_queue_after_two_attempts(
    tmp_path: Path,
) -> None:
    template = app(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Failures:
            Type: AWS::SQS::Queue
          Worker:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.fail
              Runtime: python3.12
              EventInvokeConfig:
                MaximumRetryAttempts: 1
                DestinationConfig:
                  OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}
        """,
    )
    with mock_lambda_async(start=START) as lam:
        stack = lam.deploy(template, stack_name="async-app")
        boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=stack.resources["Worker"], InvocationType="Event", Payload=b'{"n": 1}'
        )
        [record] = lam.assert_delivered(
            stack.resources["Failures"], 1, condition="RetriesExhausted"
        )
        assert record["requestPayload"] == {"n": 1}
        attempts = lam.assert_failed(stack.resources["Worker"], error_type=ValueError, times=2)
        assert attempts[1].started_at - attempts[0].started_at == timedelta(seconds=60)


def test_sam_sqs_event_reports_batch_item_failures_into_the_redrive_dlq(tmp_path: Path) -> None:
    template = app(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Dlq:
            Type: AWS::SQS::Queue
          Orders:
            Type: AWS::SQS::Queue
            Properties:
              VisibilityTimeout: 30
              RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 2}
          Worker:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.report_poison
              Runtime: python3.12
              Events:
                Queue:
                  Type: SQS
                  Properties:
                    Queue: !GetAtt Orders.Arn
                    FunctionResponseTypes: [ReportBatchItemFailures]
        """,
    )
    with mock_lambda_async() as lam:
        stack = lam.deploy(template)
        boto3.client("sqs", region_name=REGION).send_message_batch(
            QueueUrl=stack.resources["Orders"],
            Entries=[{"Id": b, "MessageBody": b} for b in ("good", "poison", "fine")],
        )
        [dead] = lam.assert_dead_lettered(stack.resources["Dlq"], 1)
        assert dead.body == "poison"
        assert [len(a.event["Records"]) for a in lam.invocations()] == [3, 1]


def test_sam_kinesis_event_bisects_a_failing_batch(tmp_path: Path) -> None:
    template = app(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Stream:
            Type: AWS::Kinesis::Stream
            Properties: {ShardCount: 1}
          Consumer:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.poison
              Runtime: python3.12
              Events:
                Records:
                  Type: Kinesis
                  Properties:
                    Stream: !GetAtt Stream.Arn
                    StartingPosition: TRIM_HORIZON
                    BatchSize: 4
                    MaximumRetryAttempts: 0
                    BisectBatchOnFunctionError: true
        """,
    )
    with mock_lambda_async(auto_drain=False) as lam:
        stack = lam.deploy(template)
        kinesis = boto3.client("kinesis", region_name=REGION)
        for data in (b"a", b"b", b"poison", b"d"):
            kinesis.put_record(StreamName=stack.resources["Stream"], Data=data, PartitionKey="p")
        lam.drain()
        assert lam.timeline().select("bisected")
        sizes = [len(a.event["Records"]) for a in lam.invocations()]
        assert sizes[0] == 4 and 1 in sizes


def test_sam_push_events_and_an_alias_invoke_the_function(tmp_path: Path) -> None:
    template = app(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Topic:
            Type: AWS::SNS::Topic
          Bucket:
            Type: AWS::S3::Bucket
          Listener:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.record
              Runtime: python3.12
              AutoPublishAlias: live
              Events:
                Sns: {Type: SNS, Properties: {Topic: !Ref Topic}}
                Upload: {Type: S3, Properties: {Bucket: !Ref Bucket, Events: "s3:ObjectCreated:*"}}
                Rule: {Type: EventBridgeRule, Properties: {Pattern: {source: [orders]}}}
        """,
    )
    with mock_lambda_async() as lam:
        stack = lam.deploy(template)
        boto3.client("sns", region_name=REGION).publish(
            TopicArn=stack.resources["Topic"], Message="hi"
        )
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=stack.resources["Bucket"], Key="a.txt", Body=b"x"
        )
        boto3.client("events", region_name=REGION).put_events(
            Entries=[{"Source": "orders", "DetailType": "placed", "Detail": "{}"}]
        )
        attempts = lam.assert_succeeded(stack.resources["Listener"], times=3)
        assert {a.trigger for a in attempts} == {"sns", "s3", "events"}
        assert {a.qualifier for a in attempts} == {"live"}
        assert stack.resources["ListenerAliaslive"].endswith(":live")


def test_sam_schedule_event_fires_as_time_passes(tmp_path: Path) -> None:
    template = app(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Ticker:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.record
              Runtime: python3.12
              Events:
                Hourly: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}
        """,
    )
    with mock_lambda_async(start=START) as lam:
        stack = lam.deploy(template)
        lam.advance(3 * 3600)
        attempts = lam.assert_succeeded(stack.resources["Ticker"], times=3, trigger="events")
        assert [a.event["detail-type"] for a in attempts] == ["Scheduled Event"] * 3


def test_plain_cloudformation_yaml_with_a_local_code_path(tmp_path: Path) -> None:
    template = app(
        tmp_path,
        """
        Parameters:
          Retries: {Type: Number, Default: 0}
        Resources:
          Role:
            Type: AWS::IAM::Role
            Properties:
              AssumeRolePolicyDocument: {Statement: []}
          Failures:
            Type: AWS::SQS::Queue
          Fn:
            Type: AWS::Lambda::Function
            Properties:
              FunctionName: !Sub "${AWS::StackName}-fn"
              Runtime: python3.12
              Handler: app.fail
              Role: !GetAtt Role.Arn
              Code: src
          Config:
            Type: AWS::Lambda::EventInvokeConfig
            Properties:
              FunctionName: !Ref Fn
              Qualifier: $LATEST
              MaximumRetryAttempts: !Ref Retries
              DestinationConfig:
                OnFailure: {Destination: !GetAtt Failures.Arn}
        Outputs:
          FunctionName: {Value: !Ref Fn}
        """,
    )
    with mock_lambda_async() as lam:
        stack = lam.deploy(template, stack_name="plain")
        assert stack.outputs == {"FunctionName": "plain-fn"}
        boto3.client("lambda", region_name=REGION).invoke(
            FunctionName="plain-fn", InvocationType="Event", Payload=b"{}"
        )
        lam.assert_delivered(stack.resources["Failures"], 1, condition="RetriesExhausted")
        lam.assert_failed("plain-fn", times=1)


def test_a_cdk_cloud_assembly_deploys_with_its_assets() -> None:
    with mock_lambda_async() as lam:
        stack = lam.deploy(CDK_OUT)
        assert stack.name == "OrdersStack"
        function_name = stack.outputs["ChargeFunctionName"]
        boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps({"order_id": "o-1", "amount": 0}),
        )
        [record] = lam.assert_delivered(stack.outputs["FailuresQueueUrl"], 1)
        assert record["responsePayload"]["errorMessage"] == "cannot charge 0"
        lam.assert_failed(function_name, error_type=ValueError, times=1)
        assert "CDKMetadata" not in stack.resources


def test_a_cdk_stack_template_file_deploys_the_same_way() -> None:
    with mock_lambda_async() as lam:
        stack = lam.deploy(CDK_OUT / "OrdersStack.template.json")
        assert set(stack.outputs) == {"ChargeFunctionName", "FailuresQueueUrl"}


def test_deploying_again_updates_the_stack(tmp_path: Path) -> None:
    body: dict[str, Any] = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}
        },
        "Outputs": {"Url": {"Value": {"Ref": "Queue"}}},
    }
    with mock_lambda_async() as lam:
        first = lam.deploy(body, stack_name="updated")
        body["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 90
        second = lam.deploy(body, stack_name="updated")
        assert second.stack_id == first.stack_id
        attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
            QueueUrl=second.outputs["Url"], AttributeNames=["VisibilityTimeout"]
        )
        assert attributes["Attributes"]["VisibilityTimeout"] == "90"


def test_an_unsupported_resource_type_is_refused_by_name() -> None:
    body = {"Resources": {"Api": {"Type": "AWS::AppSync::GraphQLApi", "Properties": {}}}}
    with (
        mock_lambda_async() as lam,
        pytest.raises(TemplateError, match="resource Api: type AWS::AppSync::GraphQLApi"),
    ):
        lam.deploy(body)


def test_an_unsupported_intrinsic_function_is_refused_by_name() -> None:
    body = {
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": {"Fn::Length": [1, 2]}},
            }
        }
    }
    with (
        mock_lambda_async() as lam,
        pytest.raises(TemplateError, match="Queue: intrinsic function Fn::Length"),
    ):
        lam.deploy(body)


def test_a_missing_parameter_value_is_refused() -> None:
    body = {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Name"}}}
        },
    }
    with mock_lambda_async() as lam:
        with pytest.raises(TemplateError, match=r"Parameters: \['Name'\] must have values"):
            lam.deploy(body)
        with pytest.raises(TemplateError, match=r"Parameters: \['Other'\] do not exist"):
            lam.deploy(body, parameters={"Name": "q", "Other": "x"})


def test_a_missing_local_code_path_names_the_resource(tmp_path: Path) -> None:
    body = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "gone/", "Handler": "app.h", "Runtime": "python3.12"},
            }
        },
    }
    template = tmp_path / "template.json"
    template.write_text(json.dumps(body))
    with (
        mock_lambda_async() as lam,
        pytest.raises(TemplateError, match=r"Fn\.CodeUri: local code path 'gone/'"),
    ):
        lam.deploy(template)


def test_a_sam_error_is_reported_with_its_cause(tmp_path: Path) -> None:
    body = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "a.b"}}
        },
    }
    with mock_lambda_async() as lam, pytest.raises(TemplateError, match="SAM transform failed"):
        lam.deploy(body)


def test_without_the_templates_extra_the_error_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {}}
    monkeypatch.setitem(sys.modules, "samtranslator.translator.translator", None)
    with (
        mock_lambda_async() as lam,
        pytest.raises(ImportError, match=r"mock-lambda-async\[templates\]"),
    ):
        lam.deploy({**body, "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})


def test_sam_dead_letter_queue_and_reserved_concurrency_apply(tmp_path: Path) -> None:
    template = app(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Dlq:
            Type: AWS::SQS::Queue
          Worker:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.fail
              Runtime: python3.12
              ReservedConcurrentExecutions: 3
              DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Dlq.Arn}
        """,
    )
    with mock_lambda_async() as lam:
        stack = lam.deploy(template)
        client = boto3.client("lambda", region_name=REGION)
        name = stack.resources["Worker"]
        assert (
            client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 3
        )
        client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 2}')
        [dead] = lam.assert_dead_lettered(stack.resources["Dlq"], 1)
        assert (dead.body, dead.error_message) == ({"n": 2}, "boom")
        lam.assert_failed(name, error_type=ValueError, times=3)
