"""Layers: moto's layer versions on the function's path after its code, with Lambda's checks."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import REGION, lambda_role, make_zip

from mock_lambda_async import mock_lambda_async

HANDLER = """
import util_lib

def handler(event, context):
    return {"greeting": util_lib.greet(event["name"]), "where": util_lib.__file__}
"""


def publish(name: str, files: dict[str, str]) -> str:
    client = boto3.client("lambda", region_name=REGION)
    response = client.publish_layer_version(
        LayerName=name, Content={"ZipFile": make_zip(files)}, CompatibleRuntimes=["python3.12"]
    )
    return str(response["LayerVersionArn"])


def create(name: str, layers: list[str], files: dict[str, str] | None = None) -> dict[str, Any]:
    return dict(
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=lambda_role(),
            Handler="app.handler",
            Code={"ZipFile": make_zip(files or {"app.py": HANDLER})},
            Layers=layers,
        )
    )


def invoke(name: str, payload: Any) -> Any:
    response = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=name, Payload=json.dumps(payload)
    )
    return json.loads(response["Payload"].read())


def error_of(call: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["Error"]["Message"],
        error["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_a_handler_imports_a_module_from_its_layer() -> None:
    with mock_lambda_async():
        arn = publish("utils", {"python/util_lib.py": "def greet(n):\n    return f'hi {n}'\n"})
        create("greeter", [arn])
        result = invoke("greeter", {"name": "ada"})
        assert result["greeting"] == "hi ada"


def test_site_packages_of_the_layer_come_before_its_python_folder() -> None:
    with mock_lambda_async():
        arn = publish(
            "deps",
            {
                "python/lib/python3.12/site-packages/util_lib.py": "def greet(n):\n    return 'site'\n",
                "python/util_lib.py": "def greet(n):\n    return 'python'\n",
            },
        )
        create("ordered", [arn])
        assert invoke("ordered", {"name": "x"})["greeting"] == "site"


def test_a_later_layer_replaces_an_earlier_layers_file() -> None:
    with mock_lambda_async():
        first = publish("first", {"python/util_lib.py": "def greet(n):\n    return 'first'\n"})
        second = publish("second", {"python/util_lib.py": "def greet(n):\n    return 'second'\n"})
        create("stacked", [first, second])
        assert invoke("stacked", {"name": "x"})["greeting"] == "second"


def test_the_function_code_wins_over_a_layer() -> None:
    with mock_lambda_async():
        arn = publish("shadow", {"python/util_lib.py": "def greet(n):\n    return 'layer'\n"})
        create(
            "own",
            [arn],
            {"app.py": HANDLER, "util_lib.py": "def greet(n):\n    return 'function'\n"},
        )
        assert invoke("own", {"name": "x"})["greeting"] == "function"


def test_a_stack_trace_shows_layer_files_under_opt() -> None:
    with mock_lambda_async():
        arn = publish("broken", {"python/util_lib.py": "def greet(n):\n    raise ValueError(n)\n"})
        create("traced", [arn])
        error = invoke("traced", {"name": "boom"})
        assert error["errorType"] == "ValueError"
        assert any('File "/opt/python/util_lib.py"' in line for line in error["stackTrace"])


def test_updating_the_layers_replaces_the_environments() -> None:
    with mock_lambda_async():
        old = publish("v", {"python/util_lib.py": "def greet(n):\n    return 'old'\n"})
        new = publish("v", {"python/util_lib.py": "def greet(n):\n    return 'new'\n"})
        create("updated", [old])
        assert invoke("updated", {"name": "x"})["greeting"] == "old"
        boto3.client("lambda", region_name=REGION).update_function_configuration(
            FunctionName="updated", Layers=[new]
        )
        assert invoke("updated", {"name": "x"})["greeting"] == "new"


def test_more_than_five_layers_are_refused() -> None:
    with mock_lambda_async():
        arns = [publish(f"l{i}", {"python/m.py": ""}) for i in range(6)]
        assert error_of(lambda: create("many", arns)) == (
            "InvalidParameterValueException",
            "Cannot reference more than 5 layers.",
            400,
        )


def test_a_missing_layer_version_is_refused() -> None:
    with mock_lambda_async():
        arn = publish("real", {"python/m.py": ""})
        missing = arn.rsplit(":", 1)[0] + ":9"
        assert error_of(lambda: create("ghost", [missing])) == (
            "InvalidParameterValueException",
            f"Layer version {missing} does not exist.",
            400,
        )


def test_two_versions_of_one_layer_are_refused() -> None:
    with mock_lambda_async():
        one = publish("twice", {"python/m.py": ""})
        two = publish("twice", {"python/m.py": "x = 2\n"})
        code, message, status = error_of(lambda: create("both", [one, two]))
        assert (code, status) == ("InvalidParameterValueException", 400)
        assert message == (
            "Two different versions of the same layer are not allowed to be referenced in the "
            f"same function. {one} and {two} are versions of the same layer."
        )


def test_a_layer_of_another_region_is_refused() -> None:
    with mock_lambda_async():
        arn = publish("here", {"python/m.py": ""}).replace(REGION, "eu-west-1")
        assert error_of(lambda: create("far", [arn])) == (
            "InvalidParameterValueException",
            f"Layers are not in the same region as the function. Layers are expected to be in region {REGION}.",
            400,
        )


def test_code_and_layers_over_250_mb_unzipped_are_refused() -> None:
    with mock_lambda_async():
        big = "x" * 140_000_000
        first = publish("big1", {"python/a.txt": big})
        second = publish("big2", {"python/b.txt": big})
        code, message, status = error_of(lambda: create("huge", [first, second]))
        assert (code, status) == ("InvalidParameterValueException", 400)
        assert message.startswith(
            "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. "
            "The actual size is "
        )


def test_a_sam_layer_version_is_importable(tmp_path: Any) -> None:
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "util_lib.py").write_text("def greet(n):\n    return 'sam'\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Utils:\n"
        "    Type: AWS::Serverless::LayerVersion\n"
        "    Properties: {ContentUri: layer/, CompatibleRuntimes: [python3.12]}\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      CodeUri: src/\n"
        "      Handler: app.handler\n"
        "      Runtime: python3.12\n"
        "      Layers: [!Ref Utils]\n"
    )
    with mock_lambda_async() as lam:
        stack = lam.deploy(template)
        assert invoke(stack.resources["Fn"], {"name": "x"})["greeting"] == "sam"
