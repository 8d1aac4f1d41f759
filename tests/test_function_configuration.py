"""CreateFunction/GetFunction answers carry what AWS returns and moto leaves out.

Expected values from localstack ``tests/aws/services/lambda_/test_lambda_api.snapshot.json``,
``TestLambdaFunction::test_function_lifecycle`` (snapshot keys ``create_response`` and
``get_function_response``, recorded against AWS), unless a test names another source.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from conftest import create_function, module_activation

lam, client, role = module_activation()
_NAMES = itertools.count()
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SOURCE = "def handler(e, c):\n    return e\n"


def make(client: Any, role: str, **config: Any) -> tuple[str, dict[str, Any]]:
    name = f"cfg-fn-{next(_NAMES)}"
    response = create_function(name, SOURCE, lambda_client=client, role=role, **config)
    return name, response


def test_create_answers_pending_with_its_reason(client: Any, role: str) -> None:
    _, created = make(client, role)
    # create_response: "State": "Pending", "StateReason", "StateReasonCode"; no LastUpdateStatus.
    assert (created["State"], created["StateReason"], created["StateReasonCode"]) == (
        "Pending",
        "The function is being created.",
        "Creating",
    )
    assert "LastUpdateStatus" not in created


def test_get_sees_the_function_active_without_a_reason(client: Any, role: str) -> None:
    name, _ = make(client, role)
    configuration = client.get_function(FunctionName=name)["Configuration"]
    # get_function_response: "State": "Active", "LastUpdateStatus": "Successful", no StateReason.
    assert (configuration["State"], configuration["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReason" not in configuration


def test_no_layers_key_without_layers(client: Any, role: str) -> None:
    name, created = make(client, role)
    # Neither create_response nor get_function_response has a "Layers" key (moto sends []).
    assert "Layers" not in created
    assert "Layers" not in client.get_function(FunctionName=name)["Configuration"]


def test_logging_config_defaults_to_text_in_the_functions_log_group(client: Any, role: str) -> None:
    name, created = make(client, role)
    expected = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    assert created["LoggingConfig"] == expected
    assert client.get_function(FunctionName=name)["Configuration"]["LoggingConfig"] == expected


def test_json_logging_config_gets_info_levels(client: Any, role: str) -> None:
    # test_function_advanced_logging_configuration records JSON format with both levels "INFO"
    # when none are given (the developer guide's default).
    name, created = make(client, role, LoggingConfig={"LogFormat": "JSON"})
    assert created["LoggingConfig"] == {
        "ApplicationLogLevel": "INFO",
        "LogFormat": "JSON",
        "LogGroup": f"/aws/lambda/{name}",
        "SystemLogLevel": "INFO",
    }


def test_revision_id_is_a_uuid_that_changes_once_the_function_is_active(
    client: Any, role: str
) -> None:
    name, created = make(client, role)
    first = client.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    again = client.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    # create_response "<uuid:1>", get_function_response "<uuid:2>".
    assert _UUID.fullmatch(created["RevisionId"]) and _UUID.fullmatch(first)
    assert created["RevisionId"] != first
    assert first == again


def test_an_update_gives_a_new_revision(client: Any, role: str) -> None:
    name, _ = make(client, role)
    before = client.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    updated = client.update_function_configuration(FunctionName=name, Description="changed")
    after = client.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    # update_func_conf_response "<uuid:3>" (InProgress), get_function_response_postupdate "<uuid:4>".
    assert updated["LastUpdateStatus"] == "InProgress"
    assert len({before, updated["RevisionId"], after}) == 3


def test_runtime_version_arn_has_the_recorded_shape(client: Any, role: str) -> None:
    name, created = make(client, role)
    arn = created["RuntimeVersionConfig"]["RuntimeVersionArn"]
    # "arn:aws:lambda:<region>::runtime:<resource:2>"; real ARNs end in 64 hex digits.
    assert re.fullmatch(r"arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}", arn)
    assert client.get_function(FunctionName=name)["Configuration"]["RuntimeVersionConfig"] == {
        "RuntimeVersionArn": arn
    }


def test_environment_given_without_variables_is_echoed(client: Any, role: str) -> None:
    name, created = make(client, role, Environment={"Variables": {}})
    # create_response and get_function_response: "Environment": {"Variables": {}}.
    assert created["Environment"] == {"Variables": {}}
    assert client.get_function(FunctionName=name)["Configuration"]["Environment"] == {
        "Variables": {}
    }
