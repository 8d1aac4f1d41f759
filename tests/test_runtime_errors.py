"""Handler and runtime faults become the payloads real Lambda returns; none escapes into the test."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import REGION, create_function, deploy, lambda_role, make_zip
from moto import mock_aws

from mock_lambda_async import mock_lambda_async

pytestmark = pytest.mark.usefixtures("one_boto3_session")


def invoke(name: str) -> tuple[str | None, bytes, str]:
    """``(FunctionError, raw payload, request id)`` of a synchronous invoke."""
    response = boto3.client("lambda", REGION).invoke(FunctionName=name, Payload=b"{}")
    return (
        response.get("FunctionError"),
        response["Payload"].read(),
        response["ResponseMetadata"]["RequestId"],
    )


# -- exceptions raised by the handler -----------------------------------------------------------------
RAISES = """
def handler(event, context):
    raise ValueError("boom")
"""


def test_exception_is_a_function_error_unhandled(lam: Any) -> None:
    create_function("fails", RAISES)
    function_error, _, _ = invoke("fails")
    assert function_error == "Unhandled"


def test_exception_payload_has_lambdas_keys_in_order(lam: Any) -> None:
    create_function("fails", RAISES)
    _, payload, request_id = invoke("fails")
    assert payload.decode() == json.dumps(
        {
            "errorMessage": "boom",
            "errorType": "ValueError",
            "requestId": request_id,
            "stackTrace": [
                '  File "/var/task/lambda_function.py", line 3, in handler\n'
                '    raise ValueError("boom")\n'
            ],
        }
    )


def test_stack_trace_follows_calls_into_other_package_modules(lam: Any) -> None:
    deploy(
        "deep",
        {
            "pkg/__init__.py": "",
            "pkg/app.py": "from . import work\ndef handler(e, c):\n    return work.run()\n",
            "pkg/work.py": "def run():\n    return 1 / 0\n",
        },
        "pkg.app.handler",
    )
    trace = json.loads(invoke("deep")[1])["stackTrace"]
    assert trace == [
        '  File "/var/task/pkg/app.py", line 3, in handler\n    return work.run()\n',
        '  File "/var/task/pkg/work.py", line 2, in run\n    return 1 / 0\n',
    ]


def test_standard_library_frames_show_lambdas_python_path(lam: Any) -> None:
    create_function("stdlib", "import json\ndef handler(e, c):\n    return json.loads('{')\n")
    trace = json.loads(invoke("stdlib")[1])["stackTrace"]
    assert trace[1].startswith('  File "/var/lang/lib/python3.12/json/__init__.py"')


def test_exception_with_an_empty_message(lam: Any) -> None:
    create_function("empty", "def handler(e, c):\n    raise RuntimeError()\n")
    payload = json.loads(invoke("empty")[1])
    assert (payload["errorType"], payload["errorMessage"]) == ("RuntimeError", "")


# -- Init phase faults ---------------------------------------------------------------------------------
def init_error(name: str) -> dict[str, Any]:
    function_error, payload, request_id = invoke(name)
    assert function_error == "Unhandled"
    data: dict[str, Any] = json.loads(payload)
    assert data["requestId"] == request_id
    return data


def test_missing_handler_module_is_an_import_module_error(lam: Any) -> None:
    deploy("missing", {"app.py": "X = 1\n"}, "lambda_function.handler")
    assert init_error("missing") | {"requestId": None} == {
        "errorMessage": "Unable to import module 'lambda_function': No module named 'lambda_function'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": None,
        "stackTrace": [],
    }


def test_missing_dependency_names_the_dependency(lam: Any) -> None:
    create_function("dep", "import not_installed_anywhere\ndef handler(e, c):\n    return 1\n")
    assert init_error("dep")["errorMessage"] == (
        "Unable to import module 'lambda_function': No module named 'not_installed_anywhere'"
    )


def test_missing_handler_function_is_handler_not_found(lam: Any) -> None:
    deploy("nohandler", {"app.py": "def other(e, c):\n    return 1\n"}, "app.handler")
    data = init_error("nohandler")
    assert (data["errorType"], data["errorMessage"]) == (
        "Runtime.HandlerNotFound",
        "Handler 'handler' missing on module 'app'",
    )


def test_handler_without_a_dot_is_malformed(lam: Any) -> None:
    deploy("malformed", {"index.py": "X = 1\n"}, "index")
    data = init_error("malformed")
    assert (data["errorType"], data["errorMessage"]) == (
        "Runtime.MalformedHandlerName",
        "Bad handler 'index': not enough values to unpack (expected 2, got 1)",
    )


def test_handler_in_a_builtin_module_is_refused(lam: Any) -> None:
    deploy("builtin", {"app.py": "X = 1\n"}, "sys.handler")
    data = init_error("builtin")
    assert (data["errorType"], data["errorMessage"]) == (
        "Runtime.BuiltInModuleConflict",
        "Cannot use built-in module sys as a handler module",
    )


def test_syntax_error_is_a_user_code_syntax_error(lam: Any) -> None:
    deploy("syntax", {"app.py": "def handler(e, c)\n    return 1\n"}, "app.handler")
    data = init_error("syntax")
    assert data["errorType"] == "Runtime.UserCodeSyntaxError"
    assert data["errorMessage"].startswith("Syntax error in module 'app': ")
    assert data["stackTrace"] == ['  File "/var/task/app.py" Line 1\n    def handler(e, c)\n']


def test_exception_while_importing_keeps_its_own_type(lam: Any) -> None:
    create_function("initfail", "import os\nTABLE = os.environ['NO_SUCH_VARIABLE']\n")
    data = init_error("initfail")
    assert (data["errorType"], data["errorMessage"]) == ("KeyError", "'NO_SUCH_VARIABLE'")
    assert any(
        entry.startswith('  File "/var/task/lambda_function.py", line 2, in <module>')
        for entry in data["stackTrace"]
    )


def test_failed_init_is_retried_on_the_next_invocation(lam: Any, tmp_path: Path) -> None:
    create_function(
        "flaky",
        "import os\nMARKER = os.environ['MARKER']\nif not os.path.exists(MARKER):\n"
        "    open(MARKER, 'w').close()\n    raise RuntimeError('the first init fails')\n"
        "def handler(e, c):\n    return 'ok'\n",
        Environment={"Variables": {"MARKER": str(tmp_path / "tried")}},
    )
    invoke("flaky")
    assert invoke("flaky")[:2] == (None, b'"ok"')


# -- responses ---------------------------------------------------------------------------------------
def test_non_json_result_is_a_marshal_error(lam: Any) -> None:
    create_function("marshal", "def handler(e, c):\n    return {1, 2}\n")
    _, payload, request_id = invoke("marshal")
    assert json.loads(payload) == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }


def test_response_over_6_mb_is_too_large(lam: Any) -> None:
    create_function("big", "def handler(e, c):\n    return 'x' * (6 * 1024 * 1024 + 200)\n")
    function_error, payload, _ = invoke("big")
    assert (function_error, payload) == (
        "Unhandled",
        b'{"errorMessage":"Response payload size exceeded maximum allowed payload size '
        b'(6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}',
    )


def test_returning_none_gives_null(lam: Any) -> None:
    create_function("none", "def handler(e, c):\n    return None\n")
    assert invoke("none")[:2] == (None, b"null")


def test_returning_bytes_passes_them_through(lam: Any) -> None:
    create_function("raw", "def handler(e, c):\n    return b'not json'\n")
    assert invoke("raw")[:2] == (None, b"not json")


def test_decimal_results_are_numbers(lam: Any) -> None:
    source = "from decimal import Decimal\ndef handler(e, c):\n    return [Decimal('3'), Decimal('1.5')]\n"
    create_function("decimal", source)
    assert invoke("decimal")[1] == b"[3, 1.5]"


def test_python312_writes_non_ascii_characters_as_they_are(lam: Any) -> None:
    create_function("text", "def handler(e, c):\n    return 'café'\n")
    assert invoke("text")[1] == '"café"'.encode()


def test_older_pythons_escape_non_ascii_characters(lam: Any) -> None:
    deploy(
        "text",
        {"app.py": "def handler(e, c):\n    return 'café'\n"},
        "app.handler",
        Runtime="python3.11",
    )
    assert invoke("text")[1] == b'"caf\\u00e9"'


# -- process exits ------------------------------------------------------------------------------------
def exit_error(name: str, source: str) -> tuple[dict[str, Any], str]:
    create_function(name, source)
    function_error, payload, request_id = invoke(name)
    assert function_error == "Unhandled"
    return json.loads(payload), request_id


def test_sys_exit_is_a_runtime_exit_error(lam: Any) -> None:
    data, request_id = exit_error("exit", "import sys\ndef handler(e, c):\n    sys.exit(0)\n")
    assert data == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited without providing a reason",
    }


def test_sys_exit_with_a_status_reports_it(lam: Any) -> None:
    data, request_id = exit_error("exit", "import sys\ndef handler(e, c):\n    sys.exit(3)\n")
    assert data["errorMessage"] == (
        f"RequestId: {request_id} Error: Runtime exited with error: exit status 3"
    )


def test_os_exit_does_not_end_the_test_process(lam: Any) -> None:
    data, request_id = exit_error("exit", "import os\ndef handler(e, c):\n    os._exit(2)\n")
    assert data["errorMessage"] == (
        f"RequestId: {request_id} Error: Runtime exited with error: exit status 2"
    )
    assert os.getpid() > 0


def test_uncaught_base_exception_ends_the_runtime(lam: Any) -> None:
    data, _ = exit_error("exit", "def handler(e, c):\n    raise KeyboardInterrupt\n")
    assert data["errorMessage"].endswith("Error: Runtime exited with error: exit status 1")


def test_exit_discards_the_environment(lam: Any) -> None:
    create_function(
        "exit",
        "import sys\nCOLD = [True]\ndef handler(e, c):\n"
        "    cold, COLD[0] = COLD[0], False\n    if e.get('exit'):\n        sys.exit(1)\n"
        "    return cold\n",
    )
    client = boto3.client("lambda", REGION)
    client.invoke(FunctionName="exit", Payload=b"{}")
    client.invoke(FunctionName="exit", Payload=b'{"exit": true}')
    assert client.invoke(FunctionName="exit", Payload=b"{}")["Payload"].read() == b"true"


# -- functions that cannot run here --------------------------------------------------------------------
def test_non_python_runtime_is_refused_with_an_explanation(lam: Any) -> None:
    deploy(
        "node",
        {"index.js": "exports.handler = async () => 1;\n"},
        "index.handler",
        Runtime="nodejs20.x",
    )
    with pytest.raises(ClientError) as raised:
        invoke("node")
    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidRuntimeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert "runs Python handlers in-process only" in error["Message"]
    assert "nodejs20.x" in error["Message"]


def test_image_function_is_refused_with_an_explanation(lam: Any) -> None:
    boto3.client("lambda", REGION).create_function(
        FunctionName="image",
        Role=lambda_role(),
        PackageType="Image",
        Code={"ImageUri": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/app:latest"},
    )
    with pytest.raises(boto3.client("lambda", REGION).exceptions.InvalidRuntimeException) as raised:
        invoke("image")
    assert "container image" in raised.value.response["Error"]["Message"]


def test_a_callable_stands_in_for_any_runtime(lam: Any) -> None:
    lam.add_function("node", lambda event, context: "from python", runtime="nodejs20.x")
    assert invoke("node")[:2] == (None, b'"from python"')


def test_package_that_cannot_be_unzipped_fails_at_invoke() -> None:
    with mock_aws():
        # Created while only moto is active, so nothing checked the package.
        boto3.client("lambda", REGION).create_function(
            FunctionName="broken",
            Runtime="python3.12",
            Role=lambda_role(),
            Handler="app.handler",
            Code={"ZipFile": b"not a zip archive"},
        )
        with mock_lambda_async(), pytest.raises(ClientError) as raised:
            invoke("broken")
    assert raised.value.response["Error"] == {
        "Code": "InvalidZipFileException",
        "Message": "Lambda could not unzip the deployment package.",
    }
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502


def test_package_escaping_the_code_folder_fails_at_invoke() -> None:
    with mock_aws():
        # Created while only moto is active, so nothing checked the package.
        deploy(
            "escapes",
            {"app.py": "def handler(e, c):\n    return 1\n", "../x.py": ""},
            "app.handler",
        )
        with mock_lambda_async(), pytest.raises(ClientError) as raised:
            invoke("escapes")
    assert raised.value.response["Error"] == {
        "Code": "InvalidZipFileException",
        "Message": "Lambda could not unzip the deployment package.",
    }


# -- bad packages are refused when they are uploaded -------------------------------------------------
UNZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."


def create_with(code: dict[str, Any]) -> ClientError:
    client = boto3.client("lambda", REGION)
    with pytest.raises(client.exceptions.InvalidParameterValueException) as raised:
        client.create_function(
            FunctionName="fn", Runtime="python3.12", Role=lambda_role(), Handler="a.h", Code=code
        )
    return raised.value


def test_create_function_refuses_bytes_that_are_not_a_zip(lam: Any) -> None:
    assert create_with({"ZipFile": b"plain text"}).response["Error"]["Message"] == UNZIP


def test_create_function_refuses_a_member_escaping_the_code_folder(lam: Any) -> None:
    package = make_zip({"../../outside.py": "X = 1\n"})
    assert create_with({"ZipFile": package}).response["Error"]["Message"] == UNZIP


def test_create_function_refuses_an_absolute_member_path(lam: Any) -> None:
    package = make_zip({"/etc/cron.d/job": "X = 1\n"})
    assert create_with({"ZipFile": package}).response["Error"]["Message"] == UNZIP


def test_create_function_refuses_an_escaping_package_in_s3(lam: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="evil.zip", Body=make_zip({"../evil.py": "X = 1\n"}))
    error = create_with({"S3Bucket": "code", "S3Key": "evil.zip"})
    assert error.response["Error"]["Message"] == UNZIP


def test_create_function_refuses_more_than_250_mb_unzipped(lam: Any) -> None:
    package = bytearray(make_zip({"big.bin": "x"}))
    # Declare 300 MB for the member in the central directory (uncompressed size at offset 24).
    central = package.index(b"PK\x01\x02")
    package[central + 24 : central + 28] = (300 * 1024 * 1024).to_bytes(4, "little")
    error = create_with({"ZipFile": bytes(package)})
    assert (
        error.response["Error"]["Message"] == "Unzipped size must be smaller than 262144000 bytes"
    )


def test_update_function_code_refuses_an_escaping_package(lam: Any) -> None:
    create_function("fn", "def handler(e, c):\n    return 1\n")
    client = boto3.client("lambda", REGION)
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.update_function_code(FunctionName="fn", ZipFile=make_zip({"../x.py": ""}))
    assert invoke("fn")[1] == b"1"
