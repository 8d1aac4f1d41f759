"""Synchronous ``Invoke`` through boto3: names, qualifiers, payloads and every bad input."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from conftest import ACCOUNT, REGION, create_function, wire_error_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("one_boto3_session")

ECHO = "def handler(event, context):\n    return event\n"
VERSION = "import os\ndef handler(e, c):\n    return os.environ['AWS_LAMBDA_FUNCTION_VERSION']\n"
ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"


def client() -> Any:
    return boto3.client("lambda", region_name=REGION)


def error_of(**kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        client().invoke(**kwargs)
    return {
        **raised.value.response["Error"],
        "Status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


@pytest.fixture
def echo(lam: Any) -> str:
    create_function("echo", ECHO)
    return "echo"


@pytest.fixture
def versioned(lam: Any) -> str:
    """``fn`` with version 1, alias ``live`` -> 1, and a changed ``$LATEST``."""
    create_function("fn", VERSION, Publish=True)
    client().update_function_configuration(FunctionName="fn", Description="changed")
    client().create_alias(FunctionName="fn", Name="live", FunctionVersion="1")
    return "fn"


# -- the response -------------------------------------------------------------------------------------
def test_response_is_200_with_the_executed_version(echo: str) -> None:
    response = client().invoke(FunctionName=echo, Payload=b'{"a": 1}')
    assert (response["StatusCode"], response["ExecutedVersion"]) == (200, "$LATEST")


def test_payload_is_a_botocore_streaming_body(echo: str) -> None:
    assert isinstance(client().invoke(FunctionName=echo)["Payload"], StreamingBody)


def test_payload_is_the_handlers_result(echo: str) -> None:
    response = client().invoke(FunctionName=echo, Payload=b'{"a": [1, 2]}')
    assert json.loads(response["Payload"].read()) == {"a": [1, 2]}


def test_success_has_no_function_error(echo: str) -> None:
    assert "FunctionError" not in client().invoke(FunctionName=echo, Payload=b"{}")


def test_handler_error_is_function_error_unhandled_with_status_200(lam: Any) -> None:
    create_function("fails", "def handler(e, c):\n    raise ValueError('x')\n")
    response = client().invoke(FunctionName="fails")
    assert (response["StatusCode"], response["FunctionError"]) == (200, "Unhandled")


def test_missing_payload_is_an_empty_object(echo: str) -> None:
    assert client().invoke(FunctionName=echo)["Payload"].read() == b"{}"


def test_returning_none_gives_a_null_payload(lam: Any) -> None:
    create_function("none", "def handler(e, c):\n    pass\n")
    assert client().invoke(FunctionName="none")["Payload"].read() == b"null"


def test_response_request_id_is_the_invocations(lam: Any) -> None:
    create_function("rid", "def handler(e, c):\n    return c.aws_request_id\n")
    response = client().invoke(FunctionName="rid")
    assert json.loads(response["Payload"].read()) == response["ResponseMetadata"]["RequestId"]


def test_log_type_tail_returns_the_base64_log(echo: str) -> None:
    response = client().invoke(FunctionName=echo, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    assert log.startswith("START RequestId: ") and "\nEND RequestId: " in log


def test_log_type_tail_on_an_event_invoke_returns_no_log(echo: str) -> None:
    response = client().invoke(FunctionName=echo, InvocationType="Event", LogType="Tail")
    assert (response["StatusCode"], "LogResult" in response) == (202, False)


# -- DryRun ------------------------------------------------------------------------------------------
def test_dry_run_is_204_with_an_empty_payload(echo: str) -> None:
    response = client().invoke(FunctionName=echo, InvocationType="DryRun")
    assert (response["StatusCode"], response["Payload"].read()) == (204, b"")


def test_dry_run_does_not_run_the_handler(lam: Any) -> None:
    calls: list[Any] = []
    lam.add_function("spy", lambda event, context: calls.append(event))
    client().invoke(FunctionName="spy", InvocationType="DryRun", Payload=b"{}")
    assert calls == []


def test_dry_run_of_a_missing_function_is_not_found(lam: Any) -> None:
    assert error_of(FunctionName="nope", InvocationType="DryRun")["Code"] == (
        "ResourceNotFoundException"
    )


# -- names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "echo",
        f"{ARN}:echo",
        f"{ACCOUNT}:function:echo",
        "echo:$LATEST",
        f"{ARN}:echo:$LATEST",
        f"{ACCOUNT}:function:echo:$LATEST",
    ],
)
def test_function_name_forms(echo: str, name: str) -> None:
    assert client().invoke(FunctionName=name, Payload=b"[1]")["Payload"].read() == b"[1]"


def test_qualifier_selects_a_version(versioned: str) -> None:
    response = client().invoke(FunctionName=versioned, Qualifier="1")
    assert (response["ExecutedVersion"], response["Payload"].read()) == ("1", b'"1"')


def test_alias_runs_its_version_and_reports_it(versioned: str) -> None:
    response = client().invoke(FunctionName=versioned, Qualifier="live")
    assert (response["ExecutedVersion"], response["Payload"].read()) == ("1", b'"1"')


def test_alias_in_the_function_name(versioned: str) -> None:
    assert client().invoke(FunctionName=f"{ARN}:fn:live")["ExecutedVersion"] == "1"


def test_unqualified_runs_latest(versioned: str) -> None:
    assert client().invoke(FunctionName=versioned)["ExecutedVersion"] == "$LATEST"


def test_same_qualifier_in_name_and_parameter_is_accepted(versioned: str) -> None:
    assert client().invoke(FunctionName="fn:live", Qualifier="live")["ExecutedVersion"] == "1"


# -- not found ---------------------------------------------------------------------------------------
def test_unknown_function(lam: Any) -> None:
    assert error_of(FunctionName="nope") == {
        "Code": "ResourceNotFoundException",
        "Message": f"Function not found: {ARN}:nope:$LATEST",
        "Status": 404,
    }


def test_unknown_function_is_the_modelled_exception(lam: Any) -> None:
    with pytest.raises(client().exceptions.ResourceNotFoundException):
        client().invoke(FunctionName="nope")


def test_unknown_version(versioned: str) -> None:
    assert error_of(FunctionName="fn", Qualifier="7")["Message"] == (
        f"Function not found: {ARN}:fn:7"
    )


def test_unknown_alias(versioned: str) -> None:
    assert error_of(FunctionName="fn:nothere")["Message"] == (
        f"Function not found: {ARN}:fn:nothere"
    )


def test_function_in_another_account(echo: str) -> None:
    assert error_of(FunctionName="111111111111:function:echo")["Message"] == (
        f"Function not found: arn:aws:lambda:{REGION}:111111111111:function:echo:$LATEST"
    )


def test_arn_of_another_region(echo: str) -> None:
    assert error_of(FunctionName=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:echo") == {
        "Code": "ResourceNotFoundException",
        "Message": "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
        "Status": 404,
    }


# -- malformed names and qualifiers ------------------------------------------------------------------
# Today's FunctionName pattern, as the Lambda API reference prints it
# (docs.aws.amazon.com/lambda/latest/api/API_ChainedInvokeOptions.html, FunctionName "Pattern").
PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)


def test_malformed_name_is_a_validation_exception(lam: Any) -> None:
    assert error_of(FunctionName="bad name!") == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value 'bad name!' at 'functionName' failed to "
        f"satisfy constraint: Member must satisfy regular expression pattern: {PATTERN}",
        "Status": 400,
    }


def test_latest_published_qualifier_passes_the_name_pattern(echo: str) -> None:
    # The pattern above accepts ``:$LATEST.PUBLISHED``; no such version exists here, so: 404.
    assert error_of(FunctionName="echo:$LATEST.PUBLISHED") == {
        "Code": "ResourceNotFoundException",
        "Message": f"Function not found: arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo:"
        "$LATEST.PUBLISHED",
        "Status": 404,
    }


def test_eusc_region_passes_the_name_pattern(echo: str) -> None:
    arn = f"arn:aws-eusc:lambda:eusc-de-east-1:{ACCOUNT}:function:echo"
    assert error_of(FunctionName=arn) == {
        "Code": "ResourceNotFoundException",
        "Message": "Functions from 'eusc-de-east-1' are not reachable in this region ('us-east-1')",
        "Status": 404,
    }


def test_too_long_name_is_a_validation_exception(lam: Any) -> None:
    name = "f" * 171
    assert error_of(FunctionName=name)["Message"] == (
        f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
        "constraint: Member must have length less than or equal to 170"
    )


def test_too_long_and_malformed_name_reports_both(lam: Any) -> None:
    message = error_of(FunctionName="!" * 171)["Message"]
    assert message.startswith("2 validation errors detected: Value '")
    assert "less than or equal to 170; Value '" in message


def test_malformed_qualifier_is_a_validation_exception(echo: str) -> None:
    assert error_of(FunctionName="echo", Qualifier="no!")["Message"] == (
        "1 validation error detected: Value 'no!' at 'qualifier' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
    )


def test_unknown_invocation_type_is_a_validation_exception(echo: str) -> None:
    assert error_of(FunctionName=echo, InvocationType="Sync") == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value 'Sync' at 'invocationType' failed to "
        "satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
        "Status": 400,
    }


def test_validation_exception_body_is_the_message_alone(echo: str) -> None:
    body = wire_error_body(client(), lambda: client().invoke(FunctionName=echo, LogType="tail"))
    assert body == {
        "message": "1 validation error detected: Value 'tail' at 'logType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [None, Tail]"
    }


def test_unknown_log_type_is_a_validation_exception(echo: str) -> None:
    assert error_of(FunctionName=echo, LogType="tail")["Message"] == (
        "1 validation error detected: Value 'tail' at 'logType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [None, Tail]"
    )


def test_conflicting_qualifiers(versioned: str) -> None:
    assert error_of(FunctionName="fn:live", Qualifier="1") == {
        "Code": "InvalidParameterValueException",
        "Message": "The derived qualifier from the function name does not match the specified "
        "qualifier.",
        "Status": 400,
    }


# -- payloads ----------------------------------------------------------------------------------------
PREFIX = "Could not parse request body into json: Could not parse payload into json: "


def test_invalid_json_payload(echo: str) -> None:
    assert error_of(FunctionName=echo, Payload=b"{'single': 'quotes'}") == {
        "Code": "InvalidRequestContentException",
        "Message": PREFIX + "Unexpected character (''' (code 39)): was expecting double-quote "
        "to start field name",
        "Status": 400,
    }


def test_bare_word_payload(echo: str) -> None:
    assert error_of(FunctionName=echo, Payload=b"e30")["Message"] == (
        PREFIX + "Unrecognized token 'e30': was expecting ('true', 'false' or 'null')"
    )


def test_payload_that_is_not_utf8(echo: str) -> None:
    assert error_of(FunctionName=echo, Payload=b'"\xa7"')["Message"] == (
        PREFIX + "Invalid UTF-8 start byte 0xa7"
    )


def test_invalid_payload_is_the_modelled_exception(echo: str) -> None:
    with pytest.raises(client().exceptions.InvalidRequestContentException):
        client().invoke(FunctionName=echo, Payload=b"{")


def test_payload_over_6_mb_is_request_entity_too_large(echo: str) -> None:
    payload = json.dumps("x" * 6_291_456).encode()
    assert error_of(FunctionName=echo, Payload=payload) == {
        "Code": "RequestEntityTooLargeException",
        "Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        "Status": 413,
    }


def test_payload_of_exactly_6_mb_is_accepted(lam: Any) -> None:
    create_function("size", "def handler(e, c):\n    return len(e)\n")
    payload = json.dumps("x" * (6_291_456 - 2)).encode()
    assert client().invoke(FunctionName="size", Payload=payload)["Payload"].read() == b"6291454"


# -- client context ----------------------------------------------------------------------------------
CLIENT_CONTEXT_ECHO = """
def handler(event, context):
    cc = context.client_context
    if cc is None:
        return None
    client = cc.client
    return {
        "custom": cc.custom,
        "env": cc.env,
        "client": None if client is None else [client.installation_id, client.app_title,
            client.app_version_name, client.app_version_code, client.app_package_name],
    }
"""


def encoded(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_client_context_reaches_the_handler(lam: Any) -> None:
    create_function("cc", CLIENT_CONTEXT_ECHO)
    context = {
        "custom": {"tenant": "t1"},
        "env": {"locale": "en"},
        "client": {
            "installation_id": "i",
            "app_title": "App",
            "app_version_name": "1.0",
            "app_version_code": "7",
            "app_package_name": "com.example",
        },
    }
    response = client().invoke(FunctionName="cc", ClientContext=encoded(context))
    assert json.loads(response["Payload"].read()) == {
        "custom": {"tenant": "t1"},
        "env": {"locale": "en"},
        "client": ["i", "App", "1.0", "7", "com.example"],
    }


def test_missing_client_context_members_are_none(lam: Any) -> None:
    create_function("cc", CLIENT_CONTEXT_ECHO)
    response = client().invoke(FunctionName="cc", ClientContext=encoded({"custom": {"a": 1}}))
    assert json.loads(response["Payload"].read()) == {
        "custom": {"a": 1},
        "env": None,
        "client": None,
    }


def test_client_context_is_not_passed_to_event_invocations(lam: Any) -> None:
    seen: list[Any] = []
    lam.add_function("cc", lambda event, context: seen.append(context.client_context))
    client().invoke(
        FunctionName="cc", InvocationType="Event", ClientContext=encoded({"custom": {}})
    )
    lam.drain()
    assert seen == [None]


@pytest.mark.parametrize(
    "value", ["not base64!", base64.b64encode(b"not json").decode(), encoded([1])]
)
def test_client_context_must_be_base64_json_object(echo: str, value: str) -> None:
    assert error_of(FunctionName=echo, ClientContext=value) == {
        "Code": "InvalidRequestContentException",
        "Message": "Client context must be a valid Base64-encoded JSON object.",
        "Status": 400,
    }


# -- arbitrary inputs ----------------------------------------------------------------------------------
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=JSON)
def test_any_json_payload_round_trips_through_an_echo_handler(echo: str, value: Any) -> None:
    response = client().invoke(FunctionName=echo, Payload=json.dumps(value))
    assert json.loads(response["Payload"].read()) == value


NAMES = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200),
    st.from_regex(r"[a-zA-Z0-9:_$.-]{1,60}", fullmatch=True),
    st.sampled_from(["echo", "echo:$LATEST", f"{ARN}:echo", f"{ACCOUNT}:function:echo:1"]),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAMES)
def test_any_function_name_gives_a_result_or_an_aws_error(echo: str, name: str) -> None:
    try:
        response = client().invoke(FunctionName=name, Payload=b"{}")
    except ClientError as error:
        assert error.response["Error"]["Code"] in {
            "ValidationException",
            "ResourceNotFoundException",
            "InvalidParameterValueException",
        }
    else:
        assert response["StatusCode"] == 200
