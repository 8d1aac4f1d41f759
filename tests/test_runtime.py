"""The in-process runtime seen through boto3: loading code, isolation, environment, context."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import types
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION, create_function, deploy, lambda_role, make_zip

pytestmark = pytest.mark.usefixtures("one_boto3_session")


def call(name: str, event: Any = None, **kwargs: Any) -> Any:
    client = boto3.client("lambda", region_name=kwargs.pop("region", REGION))
    response = client.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


# -- where the code comes from -----------------------------------------------------------------------
def test_code_from_zipfile_runs(lam: Any) -> None:
    create_function("echo", "def handler(event, context):\n    return {'got': event}\n")
    assert call("echo", {"a": 1}) == {"got": {"a": 1}}


def test_code_from_s3_runs(lam: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="code")
    s3.put_object(
        Bucket="code", Key="fn.zip", Body=make_zip({"app.py": "def h(e, c):\n    return 's3'\n"})
    )
    boto3.client("lambda", REGION).create_function(
        FunctionName="from-s3",
        Runtime="python3.12",
        Role=lambda_role(),
        Handler="app.h",
        Code={"S3Bucket": "code", "S3Key": "fn.zip"},
    )
    assert call("from-s3") == "s3"


def test_code_from_s3_is_the_object_moto_stored(lam: Any) -> None:
    package = make_zip({"app.py": "def h(e, c):\n    return 1\n"})
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="fn.zip", Body=package)
    created = boto3.client("lambda", REGION).create_function(
        FunctionName="from-s3",
        Runtime="python3.12",
        Role=lambda_role(),
        Handler="app.h",
        Code={"S3Bucket": "code", "S3Key": "fn.zip"},
    )
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()


def test_update_function_code_runs_the_new_code(lam: Any) -> None:
    create_function("fn", "def handler(event, context):\n    return 'old'\n")
    assert call("fn") == "old"
    boto3.client("lambda", REGION).update_function_code(
        FunctionName="fn",
        ZipFile=make_zip(
            {"lambda_function.py": "def handler(event, context):\n    return 'new'\n"}
        ),
    )
    assert call("fn") == "new"


def test_callable_from_add_function_runs_and_is_visible_to_get_function(lam: Any) -> None:
    lam.add_function("cb", lambda event, context: {"cb": event})
    assert boto3.client("lambda", REGION).get_function(FunctionName="cb")["Configuration"]
    assert call("cb", {"x": 1}) == {"cb": {"x": 1}}


def test_callable_from_add_function_is_listed_by_list_functions(lam: Any) -> None:
    lam.add_function("cb", lambda event, context: None)
    functions = boto3.client("lambda", REGION).list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == ["cb"]


# -- handlers and packages ---------------------------------------------------------------------------
def test_handler_in_a_nested_package(lam: Any) -> None:
    deploy(
        "nested",
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/mod.py": "def handler(event, context):\n    return __name__\n",
        },
        "pkg.sub.mod.handler",
    )
    assert call("nested") == "pkg.sub.mod"


def test_relative_imports_inside_a_package(lam: Any) -> None:
    deploy(
        "relative",
        {
            "app/__init__.py": "",
            "app/helpers.py": "VALUE = 'from helpers'\n",
            "app/main.py": "from .helpers import VALUE\ndef handler(e, c):\n    return VALUE\n",
        },
        "app.main.handler",
    )
    assert call("relative") == "from helpers"


def test_sibling_module_import(lam: Any) -> None:
    deploy(
        "sibling",
        {
            "lambda_function.py": "import utils\ndef handler(e, c):\n    return utils.name()\n",
            "utils.py": "def name():\n    return 'utils'\n",
        },
        "lambda_function.handler",
    )
    assert call("sibling") == "utils"


def test_namespace_package_without_init_files(lam: Any) -> None:
    deploy("ns", {"src/app.py": "def handler(e, c):\n    return 'ns'\n"}, "src.app.handler")
    assert call("ns") == "ns"


def test_handler_path_with_slashes(lam: Any) -> None:
    deploy("slashes", {"src/app.py": "def handler(e, c):\n    return 'ok'\n"}, "src/app.handler")
    assert call("slashes") == "ok"


def test_import_inside_the_handler_finds_the_package(lam: Any) -> None:
    deploy(
        "late",
        {
            "lambda_function.py": "def handler(e, c):\n    import later\n    return later.X\n",
            "later.py": "X = 'late import'\n",
        },
        "lambda_function.handler",
    )
    assert call("late") == "late import"


def test_working_directory_is_the_task_root(lam: Any) -> None:
    deploy(
        "files",
        {
            "lambda_function.py": "def handler(e, c):\n    return open('data.txt').read()\n",
            "data.txt": "bundled",
        },
        "lambda_function.handler",
    )
    assert call("files") == "bundled"


# -- isolation -------------------------------------------------------------------------------------
TWO_FILES = {
    "lambda_function.py": "import utils\ndef handler(e, c):\n    return utils.WHO\n",
}


def test_two_functions_with_the_same_file_names_never_collide(lam: Any) -> None:
    deploy("one", {**TWO_FILES, "utils.py": "WHO = 'one'\n"}, "lambda_function.handler")
    deploy("two", {**TWO_FILES, "utils.py": "WHO = 'two'\n"}, "lambda_function.handler")
    assert [call("one"), call("two"), call("one"), call("two")] == ["one", "two", "one", "two"]


def test_a_test_module_with_the_same_name_is_shadowed_then_restored(lam: Any) -> None:
    test_utils = types.ModuleType("utils")
    test_utils.WHO = "the test's"  # type: ignore[attr-defined]
    sys.modules["utils"] = test_utils
    try:
        deploy("fn", {**TWO_FILES, "utils.py": "WHO = 'the function'\n"}, "lambda_function.handler")
        assert call("fn") == "the function"
        assert sys.modules["utils"] is test_utils
    finally:
        del sys.modules["utils"]


def test_a_function_cannot_import_another_functions_module(lam: Any) -> None:
    deploy("one", {**TWO_FILES, "utils.py": "WHO = 'one'\n"}, "lambda_function.handler")
    deploy(
        "other",
        {
            "lambda_function.py": "import importlib.util\ndef handler(e, c):\n"
            "    return importlib.util.find_spec('utils') is None\n"
        },
        "lambda_function.handler",
    )
    call("one")
    assert call("other") is True


def test_each_published_version_runs_its_own_code(lam: Any) -> None:
    client = boto3.client("lambda", REGION)
    create_function("fn", "def handler(e, c):\n    return 'v1'\n", Publish=True)
    client.update_function_code(
        FunctionName="fn",
        ZipFile=make_zip({"lambda_function.py": "def handler(e, c):\n    return 'v2'\n"}),
    )
    assert [call("fn", Qualifier="1"), call("fn")] == ["v1", "v2"]


def test_handler_module_is_registered_under_a_unique_name_while_loaded(lam: Any) -> None:
    create_function("fn", "def handler(event, context):\n    return 1\n")
    call("fn")
    aliases = [n for n in sys.modules if n.startswith("mock_lambda_async_handler__fn__")]
    assert len(aliases) == 1
    assert sys.modules[aliases[0]].__name__ == "lambda_function"
    assert "lambda_function" not in sys.modules


def test_module_state_survives_warm_invocations(lam: Any) -> None:
    source = "COUNT = 0\ndef handler(e, c):\n    global COUNT\n    COUNT += 1\n    return COUNT\n"
    create_function("counter", source)
    assert [call("counter"), call("counter"), call("counter")] == [1, 2, 3]


def test_new_code_starts_a_new_environment(lam: Any) -> None:
    source = "COUNT = 0\ndef handler(e, c):\n    global COUNT\n    COUNT += 1\n    return COUNT\n"
    create_function("counter", source)
    call("counter")
    boto3.client("lambda", REGION).update_function_code(
        FunctionName="counter", ZipFile=make_zip({"lambda_function.py": source + "\n"})
    )
    assert call("counter") == 1


def test_a_function_invoking_itself_gets_a_second_environment(lam: Any) -> None:
    source = """
import boto3, json
DEPTH = []
def handler(event, context):
    DEPTH.append(event.get("depth", 0))
    if event.get("depth", 0) == 0:
        inner = boto3.client("lambda").invoke(FunctionName="self", Payload=json.dumps({"depth": 1}))
        return {"outer": list(DEPTH), "inner": json.loads(inner["Payload"].read())}
    return list(DEPTH)
"""
    create_function("self", source)
    assert call("self") == {"outer": [0], "inner": [1]}


# -- environment variables -------------------------------------------------------------------------
ENV_ECHO = (
    "import os\ndef handler(event, context):\n    return {k: os.environ.get(k) for k in event}\n"
)


def test_function_environment_variables_are_set_during_the_call(lam: Any) -> None:
    create_function("env", ENV_ECHO, Environment={"Variables": {"TABLE": "orders"}})
    assert call("env", ["TABLE"]) == {"TABLE": "orders"}


def test_environment_variables_are_set_while_the_module_is_imported(lam: Any) -> None:
    source = "import os\nTABLE = os.environ['TABLE']\ndef handler(e, c):\n    return TABLE\n"
    create_function("init-env", source, Environment={"Variables": {"TABLE": "orders"}})
    assert call("init-env") == "orders"


def test_standard_lambda_variables_are_set(lam: Any) -> None:
    create_function("env", ENV_ECHO, MemorySize=256)
    names = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "_HANDLER",
        "AWS_EXECUTION_ENV",
    ]
    assert call("env", names) == {
        "AWS_LAMBDA_FUNCTION_NAME": "env",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/env",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "_HANDLER": "lambda_function.handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    }


def test_log_stream_variable_names_the_environment_stream(lam: Any) -> None:
    source = (
        "import os\ndef handler(e, c):\n"
        "    return [os.environ['AWS_LAMBDA_LOG_STREAM_NAME'], c.log_stream_name]\n"
    )
    create_function("env", source)
    from_env, from_context = call("env")
    assert from_env == from_context


def test_region_variables_follow_the_functions_region(lam: Any) -> None:
    create_function("env", ENV_ECHO)
    deploy("env", {"lambda_function.py": ENV_ECHO}, "lambda_function.handler", region="eu-west-1")
    assert call("env", ["AWS_REGION"], region="eu-west-1") == {"AWS_REGION": "eu-west-1"}


def test_variables_are_restored_after_the_call(lam: Any) -> None:
    before = dict(os.environ)
    create_function("env", ENV_ECHO, Environment={"Variables": {"TABLE": "orders"}})
    call("env", ["TABLE"])
    assert dict(os.environ) == before


def test_variables_the_handler_sets_stay_in_its_environment_only(lam: Any) -> None:
    source = (
        "import os\ndef handler(e, c):\n    seen = os.environ.get('MINE')\n"
        "    os.environ['MINE'] = 'set'\n    return seen\n"
    )
    create_function("setter", source)
    assert [call("setter"), "MINE" in os.environ, call("setter")] == [None, False, "set"]


# -- the context object -----------------------------------------------------------------------------
CONTEXT_ECHO = """
def handler(event, context):
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "client_context": context.client_context,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
    }
"""


def test_context_attributes(lam: Any) -> None:
    create_function("ctx", CONTEXT_ECHO, MemorySize=512)
    response = boto3.client("lambda", REGION).invoke(FunctionName="ctx")
    assert json.loads(response["Payload"].read()) == {
        "aws_request_id": response["ResponseMetadata"]["RequestId"],
        "function_name": "ctx",
        "function_version": "$LATEST",
        "invoked_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ctx",
        "memory_limit_in_mb": "512",
        "log_group_name": "/aws/lambda/ctx",
        "client_context": None,
        "identity": [None, None],
    }


def test_context_through_an_alias_names_the_alias_and_its_version(lam: Any) -> None:
    create_function("ctx", CONTEXT_ECHO, Publish=True)
    boto3.client("lambda", REGION).create_alias(
        FunctionName="ctx", Name="live", FunctionVersion="1"
    )
    got = call("ctx", Qualifier="live")
    assert (got["invoked_function_arn"], got["function_version"]) == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ctx:live",
        "1",
    )


def test_log_stream_name_has_lambdas_shape(lam: Any) -> None:
    create_function("ctx", "def handler(e, c):\n    return c.log_stream_name\n")
    day = lam.now().strftime("%Y/%m/%d")
    stream = call("ctx")
    assert stream.startswith(f"{day}/[$LATEST]") and len(stream) == len(day) + 10 + 32


def test_remaining_time_counts_down_from_the_timeout(lam: Any) -> None:
    source = (
        "import time\ndef handler(e, c):\n    first = c.get_remaining_time_in_millis()\n"
        "    time.sleep(0.02)\n    return [first, c.get_remaining_time_in_millis()]\n"
    )
    create_function("clock", source, Timeout=3)
    first, second = call("clock")
    assert 2500 < first <= 3000 and second < first


def test_callable_gets_the_same_context_and_variables(lam: Any) -> None:
    lam.add_function(
        "cb",
        lambda event, context: [context.function_name, os.environ["AWS_LAMBDA_FUNCTION_NAME"]],
        Environment={"Variables": {"X": "1"}},
    )
    assert call("cb") == ["cb", "cb"]
