"""Function ``DeadLetterConfig`` through boto3: validation, per-version storage, echo in responses."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION, create_function, error_of, module_activation

from mock_lambda_async.event_invoke_config import settings_for
from mock_lambda_async.functions import resolve

SOURCE = "def handler(event, context):\n    return event\n"
_NAMES = itertools.count()


# One activation per module keeps the suite fast; every test uses functions, queues and topics of
# its own (unique names), so no test sees another's state.
lam, client, role = module_activation()


@pytest.fixture
def name() -> str:
    return f"dlq-fn-{next(_NAMES)}"


@pytest.fixture
def create(client: Any, role: str, name: str) -> Callable[..., dict[str, Any]]:
    """Create the test's function (``name``) with ``DeadLetterConfig``/other CreateFunction args."""

    def create_with(source: str = SOURCE, **config: Any) -> dict[str, Any]:
        return create_function(
            name, source, handler="index.handler", lambda_client=client, role=role, **config
        )

    return create_with


def dlq(target: str) -> dict[str, Any]:
    return {"DeadLetterConfig": {"TargetArn": target}}


def create_queue(region: str = REGION, suffix: str = "", **attributes: str) -> str:
    sqs = boto3.client("sqs", region_name=region)
    url = sqs.create_queue(QueueName=f"q-{next(_NAMES)}{suffix}", Attributes=attributes)
    attrs = sqs.get_queue_attributes(QueueUrl=url["QueueUrl"], AttributeNames=["QueueArn"])
    return str(attrs["Attributes"]["QueueArn"])


def create_topic() -> str:
    sns = boto3.client("sns", region_name=REGION)
    return str(sns.create_topic(Name=f"t-{next(_NAMES)}")["TopicArn"])


# -- echo -------------------------------------------------------------------------------------------
def test_create_function_echoes_the_dead_letter_config(create: Callable[..., Any]) -> None:
    target = create_queue()
    assert create(**dlq(target))["DeadLetterConfig"] == {"TargetArn": target}


def test_get_function_configuration_echoes_it(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    target = create_queue()
    create(**dlq(target))
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["DeadLetterConfig"] == {"TargetArn": target}


def test_get_function_echoes_it(client: Any, create: Callable[..., Any], name: str) -> None:
    target = create_queue()
    create(**dlq(target))
    configuration = client.get_function(FunctionName=name)["Configuration"]
    assert configuration["DeadLetterConfig"] == {"TargetArn": target}


def test_list_functions_echoes_it(client: Any, create: Callable[..., Any], name: str) -> None:
    target = create_queue()
    create(**dlq(target))
    [listed] = [f for f in client.list_functions()["Functions"] if f["FunctionName"] == name]
    assert listed["DeadLetterConfig"] == {"TargetArn": target}


def test_function_without_dlq_has_no_dead_letter_config(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    create()
    assert "DeadLetterConfig" not in client.get_function_configuration(FunctionName=name)


def test_sns_topic_is_a_dead_letter_target(create: Callable[..., Any]) -> None:
    topic = create_topic()
    assert create(**dlq(topic))["DeadLetterConfig"] == {"TargetArn": topic}


def test_add_function_takes_a_dead_letter_config(lam: Any, client: Any, name: str) -> None:
    target = create_queue()
    lam.add_function(name, lambda event, context: None, **dlq(target))
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["DeadLetterConfig"] == {"TargetArn": target}


# -- validation -------------------------------------------------------------------------------------
def test_missing_queue_is_refused_as_sqs_cannot_be_reached(create: Callable[..., Any]) -> None:
    error, status = error_of(lambda: create(**dlq(f"arn:aws:sqs:{REGION}:{ACCOUNT}:nope")))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidParameterValueException",
        "The provided execution role does not have permissions to call SendMessage on SQS",
    )


def test_refused_target_does_not_create_the_function(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    with pytest.raises(ClientError):
        create(**dlq(f"arn:aws:sqs:{REGION}:{ACCOUNT}:nope"))
    assert name not in [f["FunctionName"] for f in client.list_functions()["Functions"]]


def test_missing_topic_is_refused_as_sns_cannot_be_reached(create: Callable[..., Any]) -> None:
    error, _ = error_of(lambda: create(**dlq(f"arn:aws:sns:{REGION}:{ACCOUNT}:nope")))
    assert error["Message"] == (
        "The provided execution role does not have permissions to call Publish on SNS"
    )


def test_other_services_are_not_dead_letter_targets(create: Callable[..., Any]) -> None:
    target = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:x"
    error, status = error_of(lambda: create(**dlq(target)))
    assert (status, error["Message"]) == (
        400,
        "Invalid dead letter queue ARN: The service specified by the TargetArn is not supported "
        "for dead letter configuration.",
    )


def test_target_in_another_region_is_refused(create: Callable[..., Any]) -> None:
    elsewhere = create_queue(region="eu-west-1")
    error, _ = error_of(lambda: create(**dlq(elsewhere)))
    assert error["Message"] == (
        "Invalid dead letter queue ARN: The resource specified by the TargetArn must be in the "
        "same region as the Lambda function it's associated with."
    )


def test_fifo_queue_is_refused(create: Callable[..., Any]) -> None:
    fifo = create_queue(suffix=".fifo", FifoQueue="true")
    error, _ = error_of(lambda: create(**dlq(fifo)))
    assert error["Message"] == (
        "Invalid dead letter queue ARN: FIFO SQS queue is not supported for dead letter "
        "configuration"
    )


def test_malformed_target_is_a_validation_error(create: Callable[..., Any]) -> None:
    error, status = error_of(lambda: create(**dlq("not-an-arn")))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "ValidationException",
        "1 validation error detected: Value 'not-an-arn' at 'deadLetterConfig.targetArn' failed "
        "to satisfy constraint: Member must satisfy regular expression pattern: "
        "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()",
    )


def test_empty_target_on_create_is_refused(create: Callable[..., Any]) -> None:
    error, status = error_of(lambda: create(**dlq("")))
    assert (status, error["Message"]) == (
        400,
        "Invalid dead letter queue ARN: ARNs must start with 'arn:': ",
    )


# -- update -----------------------------------------------------------------------------------------
def test_update_sets_the_dead_letter_config(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    create()
    target = create_queue()
    response = client.update_function_configuration(FunctionName=name, **dlq(target))
    assert response["DeadLetterConfig"] == {"TargetArn": target}


def test_update_with_empty_dead_letter_config_keeps_it(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    target = create_queue()
    create(**dlq(target))
    response = client.update_function_configuration(FunctionName=name, DeadLetterConfig={})
    assert response["DeadLetterConfig"] == {"TargetArn": target}


def test_update_without_dead_letter_config_keeps_it(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    target = create_queue()
    create(**dlq(target))
    client.update_function_configuration(FunctionName=name, Timeout=10)
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["DeadLetterConfig"] == {"TargetArn": target}


def test_update_with_empty_target_removes_it(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    create(**dlq(create_queue()))
    response = client.update_function_configuration(FunctionName=name, **dlq(""))
    assert "DeadLetterConfig" not in response


def test_update_with_refused_target_keeps_the_old_one(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    target = create_queue()
    create(**dlq(target))
    with pytest.raises(ClientError):
        client.update_function_configuration(
            FunctionName=name, **dlq(f"arn:aws:sqs:{REGION}:{ACCOUNT}:nope")
        )
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["DeadLetterConfig"] == {"TargetArn": target}


def test_update_of_unknown_function_is_not_found(client: Any) -> None:
    error, status = error_of(
        lambda: client.update_function_configuration(
            FunctionName="doesnotexist", **dlq(create_queue())
        )
    )
    assert (status, error["Code"]) == (404, "ResourceNotFoundException")


# -- per version ------------------------------------------------------------------------------------
def test_publish_version_echoes_the_dead_letter_config(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    target = create_queue()
    create(**dlq(target))
    assert client.publish_version(FunctionName=name)["DeadLetterConfig"] == {"TargetArn": target}


def test_published_version_keeps_the_dlq_it_was_published_with(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    first, second = create_queue(), create_queue()
    create(**dlq(first))
    version = client.publish_version(FunctionName=name)["Version"]
    client.update_function_configuration(FunctionName=name, **dlq(second))
    published = client.get_function_configuration(FunctionName=name, Qualifier=version)
    assert published["DeadLetterConfig"] == {"TargetArn": first}


def test_latest_takes_the_new_dlq(client: Any, create: Callable[..., Any], name: str) -> None:
    first, second = create_queue(), create_queue()
    create(**dlq(first))
    client.publish_version(FunctionName=name)
    client.update_function_configuration(FunctionName=name, **dlq(second))
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["DeadLetterConfig"] == {"TargetArn": second}


def test_list_versions_echoes_each_versions_dlq(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    first, second = create_queue(), create_queue()
    create(**dlq(first))
    client.publish_version(FunctionName=name)
    client.update_function_configuration(FunctionName=name, **dlq(second))
    versions = client.list_versions_by_function(FunctionName=name)["Versions"]
    assert {v["Version"]: v["DeadLetterConfig"]["TargetArn"] for v in versions} == {
        "$LATEST": second,
        "1": first,
    }


def test_create_with_publish_gives_version_1_the_dlq(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    target = create_queue()
    create(Publish=True, **dlq(target))
    version = client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert version["DeadLetterConfig"] == {"TargetArn": target}


def test_an_alias_uses_the_dlq_of_its_version(
    lam: Any, client: Any, create: Callable[..., Any], name: str
) -> None:
    first, second = create_queue(), create_queue()
    create(**dlq(first))
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    client.update_function_configuration(FunctionName=name, **dlq(second))
    settings = settings_for(lam, resolve(name, REGION, ACCOUNT, "live"))
    assert settings.dead_letter_target == first


def test_recreated_function_does_not_inherit_the_old_dlq(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    create(**dlq(create_queue()))
    client.delete_function(FunctionName=name)
    create()
    assert "DeadLetterConfig" not in client.get_function_configuration(FunctionName=name)


def test_failed_async_event_reaches_the_configured_dlq(
    client: Any, create: Callable[..., Any], name: str
) -> None:
    target = create_queue()
    create("def handler(event, context):\n    raise ValueError('boom')\n", **dlq(target))
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"order": 7}')
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=target.rsplit(":", 1)[1])["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url)["Messages"]
    assert [m["Body"] for m in messages] == ['{"order": 7}']
