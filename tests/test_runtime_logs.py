"""Handler output in moto CloudWatch Logs, as Lambda writes it, at virtual time."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from conftest import REGION, create_function

START = datetime(2024, 3, 5, 12, 0, 0, 250000, tzinfo=timezone.utc)
START_MS = 1709640000250

pytestmark = [
    pytest.mark.lambda_async(start=START),
    pytest.mark.usefixtures("one_boto3_session"),
]

CHATTY = """
import logging, sys
print("loading")
logger = logging.getLogger()

def handler(event, context):
    print("first line")
    print("second line")
    sys.stderr.write("on stderr\\n")
    logger.warning("careful: %s", event.get("n"))
    logger.info("not shown: the root logger stays at WARNING, as on Lambda")
    context.log("via context.log\\n")
    return "done"
"""


def invoke(name: str, payload: Any = None, **kwargs: Any) -> dict[str, Any]:
    return dict(
        boto3.client("lambda", REGION).invoke(
            FunctionName=name, Payload=json.dumps(payload or {}), **kwargs
        )
    )


def streams(name: str) -> list[str]:
    described = boto3.client("logs", REGION).describe_log_streams(
        logGroupName=f"/aws/lambda/{name}"
    )
    return [s["logStreamName"] for s in described["logStreams"]]


def events(name: str) -> list[dict[str, Any]]:
    found = boto3.client("logs", REGION).filter_log_events(logGroupName=f"/aws/lambda/{name}")
    return list(found["events"])


def messages(name: str) -> list[str]:
    return [e["message"] for e in events(name)]


def test_log_group_is_named_after_the_function(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty")
    groups = boto3.client("logs", REGION).describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/chatty"]


def test_stream_name_has_the_virtual_date_version_and_an_id(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty")
    (stream,) = streams("chatty")
    assert re.fullmatch(r"2024/03/05/\[\$LATEST\][0-9a-f]{32}", stream)


def test_invocation_is_framed_by_start_end_and_report(lam: Any) -> None:
    create_function("chatty", CHATTY)
    request_id = invoke("chatty", {"n": 1})["ResponseMetadata"]["RequestId"]
    logged = messages("chatty")
    assert logged[0].startswith("INIT_START Runtime Version: python:3.12.")
    assert logged[1] == "loading\n"
    assert logged[2] == f"START RequestId: {request_id} Version: $LATEST\n"
    assert logged[-2] == f"END RequestId: {request_id}\n"
    assert logged[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")


def test_print_and_stderr_lines_are_events_in_order(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty", {"n": 1})
    assert messages("chatty")[3:6] == ["first line\n", "second line\n", "on stderr\n"]


def test_logging_records_use_the_python_runtime_format(lam: Any) -> None:
    create_function("chatty", CHATTY)
    request_id = invoke("chatty", {"n": 7})["ResponseMetadata"]["RequestId"]
    assert f"[WARNING]\t2024-03-05T12:00:00.250Z\t{request_id}\tcareful: 7\n" in messages("chatty")


def test_info_records_need_the_handler_to_lower_the_level(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty")
    assert not any("not shown" in m for m in messages("chatty"))


def test_handler_that_sets_info_level_logs_info(lam: Any) -> None:
    source = (
        "import logging\nlogging.getLogger().setLevel(logging.INFO)\n"
        "def handler(e, c):\n    logging.info('visible')\n"
    )
    create_function("info", source)
    invoke("info")
    assert any(m.startswith("[INFO]\t") and m.endswith("\tvisible\n") for m in messages("info"))


def test_context_log_writes_to_the_log(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty")
    assert "via context.log\n" in messages("chatty")


def test_report_line_format(lam: Any) -> None:
    create_function("chatty", CHATTY, MemorySize=256)
    request_id = invoke("chatty")["ResponseMetadata"]["RequestId"]
    assert re.fullmatch(
        rf"REPORT RequestId: {request_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t\n",
        messages("chatty")[-1],
    )


def test_only_a_cold_start_reports_init_duration(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty")
    invoke("chatty")
    reports = [m for m in messages("chatty") if m.startswith("REPORT")]
    assert ["Init Duration" in r for r in reports] == [True, False]


def test_module_output_is_logged_once_per_environment(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty")
    invoke("chatty")
    assert messages("chatty").count("loading\n") == 1


def test_events_carry_the_virtual_time(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty")
    lam.advance(3600)
    invoke("chatty")
    stamps = sorted({e["timestamp"] for e in events("chatty")})
    assert stamps == [START_MS, START_MS + 3_600_000]


def test_warm_invocations_share_one_stream(lam: Any) -> None:
    create_function("chatty", CHATTY)
    invoke("chatty")
    invoke("chatty")
    assert len(streams("chatty")) == 1


def test_each_execution_environment_has_its_own_stream(lam: Any) -> None:
    source = (
        "import boto3\ndef handler(event, context):\n    if not event:\n"
        "        boto3.client('lambda').invoke(FunctionName='reentrant', Payload=b'[1]')\n"
        "    return context.log_stream_name\n"
    )
    create_function("reentrant", source)
    invoke("reentrant")
    assert len(streams("reentrant")) == 2


def test_published_version_logs_to_a_stream_marked_with_it(lam: Any) -> None:
    create_function("chatty", CHATTY, Publish=True)
    invoke("chatty", Qualifier="1")
    assert streams("chatty")[0].startswith("2024/03/05/[1]")


def test_exception_is_logged_as_an_error_block(lam: Any) -> None:
    create_function("fails", "def handler(e, c):\n    raise ValueError('boom')\n")
    invoke("fails")
    assert (
        "[ERROR] ValueError: boom\nTraceback (most recent call last):\n"
        '\u00a0\u00a0File "/var/task/lambda_function.py", line 2, in handler\n'
        "\u00a0\u00a0\u00a0\u00a0raise ValueError('boom')"
    ) in messages("fails")


def test_init_failure_is_logged_before_start(lam: Any) -> None:
    create_function("noinit", "import not_installed_anywhere\n")
    invoke("noinit")
    logged = messages("noinit")
    assert logged[0].startswith("INIT_START Runtime Version: ")
    assert logged[1].startswith("[ERROR] Runtime.ImportModuleError: Unable to import module")
    assert logged[2].startswith("START RequestId: ")


def test_log_tail_is_the_end_of_the_invocation_log(lam: Any) -> None:
    create_function("chatty", CHATTY)
    response = invoke("chatty", LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert tail.startswith(f"START RequestId: {request_id} Version: $LATEST\nfirst line\n")
    assert tail.endswith("\t\n") and f"END RequestId: {request_id}\n" in tail


def test_log_tail_keeps_only_the_last_4_kb(lam: Any) -> None:
    create_function(
        "loud", "def handler(e, c):\n    for i in range(500):\n        print(i, 'x' * 20)\n"
    )
    response = invoke("loud", LogType="Tail")
    tail = base64.b64decode(response["LogResult"])
    assert len(tail) == 4096 and not tail.startswith(b"START")
    assert tail.decode().rstrip().splitlines()[-1].startswith("REPORT RequestId:")


def test_without_log_type_tail_there_is_no_log_result(lam: Any) -> None:
    create_function("chatty", CHATTY)
    assert "LogResult" not in invoke("chatty")


def test_the_tests_own_output_still_reaches_the_test(
    lam: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    create_function("chatty", CHATTY)
    print("the test's own line")
    invoke("chatty")
    assert capsys.readouterr().out == "the test's own line\n"


def test_logs_are_in_moto_once_the_block_ends_under_an_outer_mock_aws() -> None:
    from moto import mock_aws

    from mock_lambda_async import mock_lambda_async

    with mock_aws():
        with mock_lambda_async(auto_drain=False) as lam:
            lam.add_function("quiet", lambda event, context: print("from the handler"))
            invoke("quiet", InvocationType="Event")
            lam.drain()
        # The mock has stopped: this call is moto's alone, and the lines are there.
        assert "from the handler\n" in messages("quiet")
