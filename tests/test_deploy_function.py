"""``lam.deploy_function``: a function from a folder or a file, zipped as a build would zip it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest

from mock_lambda_async import mock_lambda_async
from mock_lambda_async.deploy import zip_source

REGION = "us-east-1"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def invoke(name: str, payload: object) -> object:
    client = boto3.client("lambda", region_name=REGION)
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload))
    return json.loads(response["Payload"].read())


def test_a_folder_runs_with_its_own_modules(tmp_path: Path) -> None:
    source = write(
        tmp_path / "src",
        {
            "app.py": "from lib.greet import greet\ndef handler(event, context):\n    return greet(event['name'])\n",
            "lib/__init__.py": "",
            "lib/greet.py": "def greet(name):\n    return f'hello {name}'\n",
        },
    )
    with mock_lambda_async() as lam:
        lam.deploy_function("greeter", source)
        assert invoke("greeter", {"name": "ada"}) == "hello ada"


def test_a_single_file_is_the_package_root(tmp_path: Path) -> None:
    source = write(tmp_path, {"worker.py": "def run(event, context):\n    return event['n'] * 2\n"})
    with mock_lambda_async() as lam:
        lam.deploy_function("doubler", source / "worker.py", handler="worker.run")
        assert invoke("doubler", {"n": 21}) == 42


def test_create_function_parameters_pass_through(tmp_path: Path) -> None:
    source = write(
        tmp_path, {"app.py": "import os\ndef handler(e, c):\n    return os.environ['STAGE']\n"}
    )
    with mock_lambda_async() as lam:
        response = lam.deploy_function(
            "staged", source, Timeout=9, Environment={"Variables": {"STAGE": "test"}}
        )
        assert response["Timeout"] == 9
        assert response["Role"].endswith(":role/mock-lambda-async-role")
        assert invoke("staged", {}) == "test"


def test_the_package_leaves_caches_out_and_is_reproducible(tmp_path: Path) -> None:
    source = write(tmp_path, {"app.py": "x = 1\n", "__pycache__/app.cpython-312.pyc": "junk"})
    first = zip_source(source)
    (source / "app.py").touch()
    assert zip_source(source) == first
    assert zipfile.ZipFile(io.BytesIO(first)).namelist() == ["app.py"]


def test_a_missing_source_is_refused_before_any_call(tmp_path: Path) -> None:
    with mock_lambda_async() as lam, pytest.raises(FileNotFoundError, match="nowhere"):
        lam.deploy_function("ghost", tmp_path / "nowhere")
    with mock_lambda_async():
        assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"] == []
