"""Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s) through boto3, and the settings they give."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from conftest import (
    ACCOUNT,
    REGION,
    create_function,
    error_of,
    module_activation,
    wire_error_body,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_lambda_async.event_invoke_config import AsyncSettings, settings_for
from mock_lambda_async.functions import function_arn, resolve

SOURCE = "def handler(event, context):\n    return event\n"
DESTINATION_PATTERN = (
    r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:"
    r"((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_NAMES = itertools.count()


# One activation per module keeps the suite fast; every test gets functions and resources of its
# own (unique names), so no test sees another's state.
lam, client, role = module_activation()


@pytest.fixture
def make_function(client: Any, role: str) -> Callable[..., str]:
    def make(source: str = SOURCE) -> str:
        name = f"fn-{next(_NAMES)}"
        create_function(name, source, handler="index.handler", lambda_client=client, role=role)
        return name

    return make


@pytest.fixture
def fn(make_function: Callable[..., str]) -> str:
    return make_function()


def arn(name: str, qualifier: str | None = None) -> str:
    return function_arn(REGION, ACCOUNT, name, qualifier)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_NAMES)}"


def publish_with_alias(client: Any, fn: str, alias: str = "live") -> str:
    version = str(client.publish_version(FunctionName=fn)["Version"])
    client.create_alias(FunctionName=fn, Name=alias, FunctionVersion=version)
    return version


def create_queue(name: str, **attributes: str) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attrs["Attributes"]["QueueArn"])


def create_topic(name: str, **attributes: str) -> str:
    sns = boto3.client("sns", region_name=REGION)
    return str(sns.create_topic(Name=name, Attributes=attributes)["TopicArn"])


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def no_config(name: str, qualifier: str = "$LATEST") -> str:
    return f"The function {arn(name, qualifier)} doesn't have an EventInvokeConfig"


# -- response shape ----------------------------------------------------------------------------------
def test_put_echoes_qualified_arn_and_only_what_was_set(client: Any, fn: str) -> None:
    response = client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1)
    assert response["FunctionArn"] == arn(fn, "$LATEST")
    assert response["MaximumRetryAttempts"] == 1
    assert "MaximumEventAgeInSeconds" not in response
    assert response["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}


def test_last_modified_is_virtual_time(lam: Any, client: Any, fn: str) -> None:
    response = client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1)
    assert response["LastModified"] == lam.now()


def test_update_moves_last_modified_with_virtual_time(lam: Any, client: Any, fn: str) -> None:
    put = client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1)
    lam.advance(90)
    response = client.update_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    assert response["LastModified"] == put["LastModified"] + timedelta(seconds=90)


def test_get_returns_what_put_stored(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(
        FunctionName=fn, MaximumRetryAttempts=0, MaximumEventAgeInSeconds=120
    )
    response = client.get_function_event_invoke_config(FunctionName=fn)
    assert (response["MaximumRetryAttempts"], response["MaximumEventAgeInSeconds"]) == (0, 120)


def test_explicit_latest_qualifier_is_the_unqualified_config(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    response = client.get_function_event_invoke_config(FunctionName=fn, Qualifier="$LATEST")
    assert response["FunctionArn"] == arn(fn, "$LATEST")
    assert response["MaximumRetryAttempts"] == 0


def test_empty_on_success_alone_is_a_setting(client: Any, fn: str) -> None:
    response = client.put_function_event_invoke_config(
        FunctionName=fn, DestinationConfig={"OnSuccess": {}}
    )
    assert response["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}


# -- put replaces, update merges --------------------------------------------------------------------
def test_put_replaces_the_whole_config(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(
        FunctionName=fn, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60
    )
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    response = client.get_function_event_invoke_config(FunctionName=fn)
    assert response["MaximumRetryAttempts"] == 0
    assert "MaximumEventAgeInSeconds" not in response


def test_update_keeps_settings_it_is_not_given(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(
        FunctionName=fn, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60
    )
    client.update_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    response = client.get_function_event_invoke_config(FunctionName=fn)
    assert (response["MaximumRetryAttempts"], response["MaximumEventAgeInSeconds"]) == (0, 60)


def test_update_keeps_destinations_when_changing_numbers(client: Any, fn: str) -> None:
    target = create_queue(unique("failures"))
    client.put_function_event_invoke_config(
        FunctionName=fn, DestinationConfig={"OnFailure": {"Destination": target}}
    )
    response = client.update_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1)
    assert response["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": target}}


def test_update_without_a_config_is_not_found(client: Any, fn: str) -> None:
    error, status = error_of(
        lambda: client.update_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    )
    assert (status, error["Code"], error["Message"]) == (
        404,
        "ResourceNotFoundException",
        no_config(fn),
    )


def test_update_does_not_create_a_config(client: Any, fn: str) -> None:
    with pytest.raises(ClientError):
        client.update_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    listed = client.list_function_event_invoke_configs(FunctionName=fn)
    assert listed["FunctionEventInvokeConfigs"] == []


def test_update_of_unknown_function_says_the_function_does_not_exist(client: Any) -> None:
    error, status = error_of(
        lambda: client.update_function_event_invoke_config(
            FunctionName="doesnotexist", MaximumRetryAttempts=0
        )
    )
    assert (status, error["Message"]) == (404, "The function doesn't exist.")


def test_update_with_no_settings_is_rejected(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    error, status = error_of(lambda: client.update_function_event_invoke_config(FunctionName=fn))
    assert (status, error["Code"]) == (400, "InvalidParameterValueException")


# -- get / delete -----------------------------------------------------------------------------------
def test_get_without_a_config_is_not_found(client: Any, fn: str) -> None:
    error, status = error_of(lambda: client.get_function_event_invoke_config(FunctionName=fn))
    assert (status, error["Message"]) == (404, no_config(fn))


def test_get_of_unknown_function_names_the_missing_config(client: Any) -> None:
    error, _ = error_of(
        lambda: client.get_function_event_invoke_config(FunctionName="doesnotexist")
    )
    assert error["Message"] == no_config("doesnotexist")


def test_get_of_unknown_qualifier_names_it(client: Any, fn: str) -> None:
    error, _ = error_of(
        lambda: client.get_function_event_invoke_config(FunctionName=fn, Qualifier="doesnotexist")
    )
    assert error["Message"] == no_config(fn, "doesnotexist")


def test_not_found_body_uses_capital_message_and_type_user(client: Any, fn: str) -> None:
    body = wire_error_body(client, lambda: client.get_function_event_invoke_config(FunctionName=fn))
    assert body == {"Type": "User", "Message": no_config(fn)}


def test_delete_answers_204(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    response = client.delete_function_event_invoke_config(FunctionName=fn)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_removes_the_config(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    client.delete_function_event_invoke_config(FunctionName=fn)
    _, status = error_of(lambda: client.get_function_event_invoke_config(FunctionName=fn))
    assert status == 404


def test_delete_twice_is_not_found(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    client.delete_function_event_invoke_config(FunctionName=fn)
    error, status = error_of(lambda: client.delete_function_event_invoke_config(FunctionName=fn))
    assert (status, error["Message"]) == (404, no_config(fn))


def test_delete_of_unknown_function_is_not_found(client: Any) -> None:
    error, status = error_of(
        lambda: client.delete_function_event_invoke_config(FunctionName="doesnotexist")
    )
    assert (status, error["Code"], error["Message"]) == (
        404,
        "ResourceNotFoundException",
        no_config("doesnotexist"),
    )


# -- per qualifier ----------------------------------------------------------------------------------
def test_publishing_does_not_copy_the_config_to_the_version(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    version = client.publish_version(FunctionName=fn)["Version"]
    error, status = error_of(
        lambda: client.get_function_event_invoke_config(FunctionName=fn, Qualifier=version)
    )
    assert (status, error["Message"]) == (404, no_config(fn, version))


def test_put_on_a_version_echoes_the_version_arn(client: Any, fn: str) -> None:
    version = client.publish_version(FunctionName=fn)["Version"]
    response = client.put_function_event_invoke_config(
        FunctionName=fn, Qualifier=version, MaximumEventAgeInSeconds=120
    )
    assert response["FunctionArn"] == arn(fn, version)


def test_put_on_an_alias_echoes_the_alias_arn(client: Any, fn: str) -> None:
    publish_with_alias(client, fn)
    response = client.put_function_event_invoke_config(
        FunctionName=fn, Qualifier="live", MaximumRetryAttempts=1
    )
    assert response["FunctionArn"] == arn(fn, "live")


def test_alias_arn_as_function_name_addresses_the_alias_config(client: Any, fn: str) -> None:
    publish_with_alias(client, fn)
    client.put_function_event_invoke_config(FunctionName=arn(fn, "live"), MaximumRetryAttempts=1)
    response = client.get_function_event_invoke_config(FunctionName=fn, Qualifier="live")
    assert response["MaximumRetryAttempts"] == 1


def test_shorthand_name_with_alias_addresses_the_alias_config(client: Any, fn: str) -> None:
    publish_with_alias(client, fn)
    client.put_function_event_invoke_config(FunctionName=f"{fn}:live", MaximumRetryAttempts=0)
    response = client.get_function_event_invoke_config(FunctionName=arn(fn, "live"))
    assert response["MaximumRetryAttempts"] == 0


def test_configs_of_latest_version_and_alias_are_separate(client: Any, fn: str) -> None:
    version = publish_with_alias(client, fn)
    for retries, qualifier in enumerate(("$LATEST", version, "live")):
        client.put_function_event_invoke_config(
            FunctionName=fn, Qualifier=qualifier, MaximumRetryAttempts=retries
        )
    got = [
        client.get_function_event_invoke_config(FunctionName=fn, Qualifier=q)[
            "MaximumRetryAttempts"
        ]
        for q in ("$LATEST", version, "live")
    ]
    assert got == [0, 1, 2]


def test_put_on_unknown_alias_says_the_function_does_not_exist(client: Any, fn: str) -> None:
    publish_with_alias(client, fn)
    error, status = error_of(
        lambda: client.put_function_event_invoke_config(
            FunctionName=fn, Qualifier="livedoesnotexist", MaximumRetryAttempts=1
        )
    )
    assert (status, error["Message"]) == (404, "The function doesn't exist.")


def test_put_on_unknown_function_name_says_the_function_does_not_exist(client: Any) -> None:
    error, status = error_of(
        lambda: client.put_function_event_invoke_config(
            FunctionName="doesnotexist", MaximumRetryAttempts=1
        )
    )
    assert (status, error["Code"], error["Message"]) == (
        404,
        "ResourceNotFoundException",
        "The function doesn't exist.",
    )


def test_put_on_unknown_function_arn_says_the_function_does_not_exist(client: Any) -> None:
    error, status = error_of(
        lambda: client.put_function_event_invoke_config(
            FunctionName=arn("doesnotexist"), MaximumRetryAttempts=1
        )
    )
    assert (status, error["Message"]) == (404, "The function doesn't exist.")


def test_qualifier_conflicting_with_the_name_is_rejected(client: Any, fn: str) -> None:
    version = publish_with_alias(client, fn)
    error, status = error_of(
        lambda: client.put_function_event_invoke_config(
            FunctionName=f"{fn}:{version}", Qualifier="$LATEST", MaximumRetryAttempts=1
        )
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidParameterValueException",
        "The derived qualifier from the function name does not match the specified qualifier.",
    )


def test_recreated_function_does_not_inherit_the_old_config(
    client: Any, role: str, fn: str
) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    client.delete_function(FunctionName=fn)
    create_function(fn, SOURCE, handler="index.handler", lambda_client=client, role=role)
    _, status = error_of(lambda: client.get_function_event_invoke_config(FunctionName=fn))
    assert status == 404


def test_recreated_alias_does_not_inherit_the_old_config(client: Any, fn: str) -> None:
    version = publish_with_alias(client, fn)
    client.put_function_event_invoke_config(
        FunctionName=fn, Qualifier="live", MaximumRetryAttempts=0
    )
    client.delete_alias(FunctionName=fn, Name="live")
    client.create_alias(FunctionName=fn, Name="live", FunctionVersion=version)
    _, status = error_of(
        lambda: client.get_function_event_invoke_config(FunctionName=fn, Qualifier="live")
    )
    assert status == 404


# -- list -------------------------------------------------------------------------------------------
def put_on_three_qualifiers(client: Any, fn: str) -> set[str]:
    version = publish_with_alias(client, fn)
    for qualifier in ("$LATEST", version, "live"):
        client.put_function_event_invoke_config(
            FunctionName=fn, Qualifier=qualifier, MaximumRetryAttempts=1
        )
    return {arn(fn, "$LATEST"), arn(fn, version), arn(fn, "live")}


def test_list_returns_every_qualifier_config(client: Any, fn: str) -> None:
    expected = put_on_three_qualifiers(client, fn)
    listed = client.list_function_event_invoke_configs(FunctionName=fn)
    assert {c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]} == expected


def test_list_pages_with_max_items_and_marker(client: Any, fn: str) -> None:
    expected = put_on_three_qualifiers(client, fn)
    first = client.list_function_event_invoke_configs(FunctionName=fn, MaxItems=2)
    rest = client.list_function_event_invoke_configs(
        FunctionName=fn, MaxItems=2, Marker=first["NextMarker"]
    )
    pages = [first["FunctionEventInvokeConfigs"], rest["FunctionEventInvokeConfigs"]]
    assert [len(page) for page in pages] == [2, 1]
    assert "NextMarker" not in rest
    assert {c["FunctionArn"] for page in pages for c in page} == expected


def test_list_shows_configs_in_their_rendered_shape(lam: Any, client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumEventAgeInSeconds=600)
    [config] = client.list_function_event_invoke_configs(FunctionName=fn)[
        "FunctionEventInvokeConfigs"
    ]
    assert config == {
        "FunctionArn": arn(fn, "$LATEST"),
        "LastModified": lam.now(),
        "MaximumEventAgeInSeconds": 600,
        "DestinationConfig": {"OnSuccess": {}, "OnFailure": {}},
    }


def test_list_of_unknown_function_says_the_function_does_not_exist(client: Any) -> None:
    error, status = error_of(
        lambda: client.list_function_event_invoke_configs(FunctionName="doesnotexist")
    )
    assert (status, error["Message"]) == (404, "The function doesn't exist.")


def test_list_max_items_above_50_is_a_validation_error(client: Any, fn: str) -> None:
    error, status = error_of(
        lambda: client.list_function_event_invoke_configs(FunctionName=fn, MaxItems=51)
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "ValidationException",
        "1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: "
        "Member must have value less than or equal to 50",
    )


def test_list_after_delete_is_empty(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1)
    client.delete_function_event_invoke_config(FunctionName=fn)
    listed = client.list_function_event_invoke_configs(FunctionName=fn)
    assert listed["FunctionEventInvokeConfigs"] == []


# -- settings validation ----------------------------------------------------------------------------
def test_no_settings_is_rejected(client: Any, fn: str) -> None:
    error, status = error_of(lambda: client.put_function_event_invoke_config(FunctionName=fn))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidParameterValueException",
        "You must specify at least one of error handling or destination setting.",
    )


def test_no_settings_is_checked_before_the_function(client: Any) -> None:
    error, status = error_of(
        lambda: client.put_function_event_invoke_config(FunctionName="doesnotexist")
    )
    assert (status, error["Code"]) == (400, "InvalidParameterValueException")


def test_invalid_parameter_body_uses_lowercase_message_and_type_user(client: Any, fn: str) -> None:
    body = wire_error_body(client, lambda: client.put_function_event_invoke_config(FunctionName=fn))
    assert body == {
        "Type": "User",
        "message": "You must specify at least one of error handling or destination setting.",
    }


def test_retry_attempts_above_2_is_a_server_validation_error(client: Any, fn: str) -> None:
    error, status = error_of(
        lambda: client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=5)
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "ValidationException",
        "1 validation error detected: Value '5' at 'maximumRetryAttempts' failed to satisfy "
        "constraint: Member must have value less than or equal to 2",
    )


def test_event_age_above_21600_is_a_server_validation_error(client: Any, fn: str) -> None:
    error, _ = error_of(
        lambda: client.put_function_event_invoke_config(
            FunctionName=fn, MaximumEventAgeInSeconds=21601
        )
    )
    assert error["Message"] == (
        "1 validation error detected: Value '21601' at 'maximumEventAgeInSeconds' failed to "
        "satisfy constraint: Member must have value less than or equal to 21600"
    )


def test_two_out_of_range_values_are_reported_together(client: Any, fn: str) -> None:
    error, _ = error_of(
        lambda: client.put_function_event_invoke_config(
            FunctionName=fn, MaximumRetryAttempts=3, MaximumEventAgeInSeconds=30000
        )
    )
    assert error["Message"] == (
        "2 validation errors detected: Value '3' at 'maximumRetryAttempts' failed to satisfy "
        "constraint: Member must have value less than or equal to 2; Value '30000' at "
        "'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less "
        "than or equal to 21600"
    )


def test_update_checks_ranges_too(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    error, status = error_of(
        lambda: client.update_function_event_invoke_config(
            FunctionName=fn, MaximumEventAgeInSeconds=21601
        )
    )
    assert (status, error["Code"]) == (400, "ValidationException")


def test_retry_attempts_below_0_is_refused_by_botocore(client: Any, fn: str) -> None:
    with pytest.raises(ParamValidationError, match="valid min value: 0"):
        client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=-1)


def test_event_age_below_60_is_refused_by_botocore(client: Any, fn: str) -> None:
    with pytest.raises(ParamValidationError, match="valid min value: 60"):
        client.put_function_event_invoke_config(FunctionName=fn, MaximumEventAgeInSeconds=30)


def test_below_minimum_reaches_the_server_without_client_validation(fn: str) -> None:
    raw = boto3.client("lambda", region_name=REGION, config=Config(parameter_validation=False))
    error, status = error_of(
        lambda: raw.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=-1)
    )
    assert (status, error["Message"]) == (
        400,
        "1 validation error detected: Value '-1' at 'maximumRetryAttempts' failed to satisfy "
        "constraint: Member must have value greater than or equal to 0",
    )


def test_invalid_qualifier_characters_are_a_validation_error(client: Any, fn: str) -> None:
    error, status = error_of(
        lambda: client.get_function_event_invoke_config(FunctionName=fn, Qualifier="a.b")
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "ValidationException",
        "1 validation error detected: Value 'a.b' at 'qualifier' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_any_retry_attempts_is_echoed_or_refused_exactly(client: Any, fn: str, value: int) -> None:
    try:
        response = client.put_function_event_invoke_config(
            FunctionName=fn, MaximumRetryAttempts=value
        )
    except ParamValidationError:
        assert value < 0
    except ClientError as error:
        assert value > 2
        assert error.response["Error"] == {
            "Code": "ValidationException",
            "Message": f"1 validation error detected: Value '{value}' at 'maximumRetryAttempts' "
            "failed to satisfy constraint: Member must have value less than or equal to 2",
        }
    else:
        assert 0 <= value <= 2
        assert response["MaximumRetryAttempts"] == value


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_any_event_age_is_echoed_or_refused_exactly(client: Any, fn: str, value: int) -> None:
    try:
        response = client.put_function_event_invoke_config(
            FunctionName=fn, MaximumEventAgeInSeconds=value
        )
    except ParamValidationError:
        assert value < 60
    except ClientError as error:
        assert value > 21600
        assert error.response["Error"] == {
            "Code": "ValidationException",
            "Message": f"1 validation error detected: Value '{value}' at "
            "'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value "
            "less than or equal to 21600",
        }
    else:
        assert 60 <= value <= 21600
        assert response["MaximumEventAgeInSeconds"] == value


# -- destinations -----------------------------------------------------------------------------------
def put_destination(client: Any, fn: str, slot: str, target: str) -> Any:
    return client.put_function_event_invoke_config(
        FunctionName=fn, DestinationConfig={slot: {"Destination": target}}
    )


def test_another_function_is_accepted_and_echoed(
    client: Any, fn: str, make_function: Callable[..., str]
) -> None:
    other = arn(make_function())
    response = put_destination(client, fn, "OnSuccess", other)
    assert response["DestinationConfig"] == {"OnSuccess": {"Destination": other}, "OnFailure": {}}


def test_missing_function_destination_is_invalid(client: Any, fn: str) -> None:
    missing = arn("doesnotexist")
    error, status = error_of(lambda: put_destination(client, fn, "OnSuccess", missing))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidParameterValueException",
        f"The destination ARN {missing} is invalid.",
    )


def test_missing_function_version_destination_is_invalid(
    client: Any, fn: str, make_function: Callable[..., str]
) -> None:
    missing = arn(make_function(), "7")
    error, _ = error_of(lambda: put_destination(client, fn, "OnFailure", missing))
    assert error["Message"] == f"The destination ARN {missing} is invalid."


def test_the_function_itself_is_not_a_destination(client: Any, fn: str) -> None:
    error, status = error_of(lambda: put_destination(client, fn, "OnSuccess", arn(fn)))
    assert (status, error["Message"]) == (
        400,
        "You can't specify the function as a destination for itself.",
    )


def test_unsupported_service_on_success_is_an_invalid_destination_config(
    client: Any, fn: str
) -> None:
    iam = arn(fn).replace(":lambda:", ":iam:")
    error, status = error_of(lambda: put_destination(client, fn, "OnSuccess", iam))
    assert (status, error["Message"]) == (
        400,
        f"The provided destination config DestinationConfig(onSuccess=OnSuccess(destination={iam}),"
        " onFailure=null) is invalid.",
    )


def test_unsupported_service_on_failure_is_an_invalid_destination_config(
    client: Any, fn: str
) -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t"
    error, _ = error_of(lambda: put_destination(client, fn, "OnFailure", table))
    assert error["Message"] == (
        "The provided destination config DestinationConfig(onSuccess=null, "
        f"onFailure=OnFailure(destination={table})) is invalid."
    )


def test_s3_is_not_an_on_success_destination(client: Any, fn: str) -> None:
    bucket = unique("records")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    target = f"arn:aws:s3:::{bucket}"
    error, _ = error_of(lambda: put_destination(client, fn, "OnSuccess", target))
    assert error["Message"] == (
        "The provided destination config DestinationConfig("
        f"onSuccess=OnSuccess(destination={target}), onFailure=null) is invalid."
    )


def test_s3_bucket_is_an_on_failure_destination(client: Any, fn: str) -> None:
    bucket = unique("records")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    response = put_destination(client, fn, "OnFailure", f"arn:aws:s3:::{bucket}")
    assert response["DestinationConfig"]["OnFailure"] == {"Destination": f"arn:aws:s3:::{bucket}"}


def test_missing_s3_bucket_is_invalid(client: Any, fn: str) -> None:
    error, _ = error_of(lambda: put_destination(client, fn, "OnFailure", "arn:aws:s3:::nobucket"))
    assert error["Message"] == "The destination ARN arn:aws:s3:::nobucket is invalid."


def test_malformed_on_failure_arn_is_a_validation_error(client: Any, fn: str) -> None:
    bad = arn(fn).replace(":lambda:", ":_-/!lambda:")
    error, status = error_of(lambda: put_destination(client, fn, "OnFailure", bad))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "ValidationException",
        f"1 validation error detected: Value '{bad}' at 'destinationConfig.onFailure.destination'"
        " failed to satisfy constraint: Member must satisfy regular expression pattern: "
        + DESTINATION_PATTERN,
    )


def test_malformed_on_success_arn_names_the_on_success_field(client: Any, fn: str) -> None:
    bad = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
    error, _ = error_of(lambda: put_destination(client, fn, "OnSuccess", bad))
    assert error["Message"].startswith(
        f"1 validation error detected: Value '{bad}' at 'destinationConfig.onSuccess.destination'"
    )


def test_existing_queue_is_a_destination(client: Any, fn: str) -> None:
    target = create_queue(unique("records"))
    response = put_destination(client, fn, "OnFailure", target)
    assert response["DestinationConfig"]["OnFailure"] == {"Destination": target}


def test_missing_queue_is_invalid(client: Any, fn: str) -> None:
    error, _ = error_of(lambda: put_destination(client, fn, "OnFailure", queue_arn("nope")))
    assert error["Message"] == f"The destination ARN {queue_arn('nope')} is invalid."


def test_fifo_queue_is_not_a_destination(client: Any, fn: str) -> None:
    target = create_queue(unique("records") + ".fifo", FifoQueue="true")
    error, status = error_of(lambda: put_destination(client, fn, "OnFailure", target))
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidParameterValueException",
        f"The destination ARN {target} is invalid.",
    )


def test_existing_topic_is_a_destination(client: Any, fn: str) -> None:
    target = create_topic(unique("records"))
    response = put_destination(client, fn, "OnSuccess", target)
    assert response["DestinationConfig"]["OnSuccess"] == {"Destination": target}


def test_missing_topic_is_invalid(client: Any, fn: str) -> None:
    missing = f"arn:aws:sns:{REGION}:{ACCOUNT}:nope"
    error, _ = error_of(lambda: put_destination(client, fn, "OnSuccess", missing))
    assert error["Message"] == f"The destination ARN {missing} is invalid."


def test_fifo_topic_is_not_a_destination(client: Any, fn: str) -> None:
    target = create_topic(unique("records") + ".fifo", FifoTopic="true")
    error, _ = error_of(lambda: put_destination(client, fn, "OnFailure", target))
    assert error["Message"] == f"The destination ARN {target} is invalid."


def test_default_event_bus_is_a_destination(client: Any, fn: str) -> None:
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    response = put_destination(client, fn, "OnSuccess", bus)
    assert response["DestinationConfig"]["OnSuccess"] == {"Destination": bus}


def test_missing_event_bus_is_invalid(client: Any, fn: str) -> None:
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/nope"
    error, _ = error_of(lambda: put_destination(client, fn, "OnFailure", bus))
    assert error["Message"] == f"The destination ARN {bus} is invalid."


def test_update_checks_destinations_too(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    error, _ = error_of(
        lambda: client.update_function_event_invoke_config(
            FunctionName=fn, DestinationConfig={"OnFailure": {"Destination": queue_arn("nope")}}
        )
    )
    assert error["Message"] == f"The destination ARN {queue_arn('nope')} is invalid."


def test_rejected_destination_leaves_the_config_unchanged(client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    with pytest.raises(ClientError):
        put_destination(client, fn, "OnFailure", queue_arn("nope"))
    assert client.get_function_event_invoke_config(FunctionName=fn)["MaximumRetryAttempts"] == 0


# -- the settings an async invoke runs under --------------------------------------------------------
def settings_of(lam: Any, fn: str, qualifier: str | None = None) -> AsyncSettings:
    return settings_for(lam, resolve(fn, REGION, ACCOUNT, qualifier))


def test_without_a_config_the_defaults_apply(lam: Any, fn: str) -> None:
    assert settings_of(lam, fn) == AsyncSettings(
        maximum_retry_attempts=2, maximum_event_age_s=21600, on_success=None, on_failure=None
    )


def test_settings_come_from_the_invoked_qualifier(lam: Any, client: Any, fn: str) -> None:
    target = create_queue(unique("failures"))
    client.put_function_event_invoke_config(
        FunctionName=fn,
        MaximumRetryAttempts=0,
        MaximumEventAgeInSeconds=90,
        DestinationConfig={"OnFailure": {"Destination": target}},
    )
    assert settings_of(lam, fn) == AsyncSettings(
        maximum_retry_attempts=0, maximum_event_age_s=90, on_failure=target
    )


def test_unset_numbers_take_the_defaults(lam: Any, client: Any, fn: str) -> None:
    client.put_function_event_invoke_config(FunctionName=fn, MaximumEventAgeInSeconds=60)
    assert settings_of(lam, fn).maximum_retry_attempts == 2


def test_an_alias_does_not_fall_back_to_the_latest_config(lam: Any, client: Any, fn: str) -> None:
    publish_with_alias(client, fn)
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    assert settings_of(lam, fn, "live").maximum_retry_attempts == 2


def test_an_alias_uses_its_own_config(lam: Any, client: Any, fn: str) -> None:
    publish_with_alias(client, fn)
    client.put_function_event_invoke_config(
        FunctionName=fn, Qualifier="live", MaximumRetryAttempts=1
    )
    assert settings_of(lam, fn, "live").maximum_retry_attempts == 1


def test_a_version_uses_its_own_config(lam: Any, client: Any, fn: str) -> None:
    version = client.publish_version(FunctionName=fn)["Version"]
    client.put_function_event_invoke_config(
        FunctionName=fn, Qualifier=version, MaximumEventAgeInSeconds=300
    )
    assert settings_of(lam, fn, version).maximum_event_age_s == 300


def test_settings_carry_the_dead_letter_queue(lam: Any, client: Any, fn: str) -> None:
    dlq = create_queue(unique("dlq"))
    client.update_function_configuration(FunctionName=fn, DeadLetterConfig={"TargetArn": dlq})
    assert settings_of(lam, fn).dead_letter_target == dlq


def test_config_limits_retries_of_a_failing_async_invoke(
    lam: Any, client: Any, make_function: Callable[..., str]
) -> None:
    flaky = make_function("def handler(event, context):\n    raise RuntimeError('boom')\n")
    client.put_function_event_invoke_config(FunctionName=flaky, MaximumRetryAttempts=0)
    client.invoke(FunctionName=flaky, InvocationType="Event", Payload=b"{}")
    lam.drain()
    assert len(lam.invocations(flaky)) == 1
