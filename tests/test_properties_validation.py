"""Property test: any member of any operation the mock answers, given a value the model forbids.

Values are drawn from each operation's botocore input shape: the wrong JSON type, a number out of
range, a string too long, too short, off its pattern or outside its enum, a list too long, a
required member left out. They go through a client with botocore's validation off, so the mock
sees what AWS would. Each call must end in a ``ClientError`` with a 4xx/5xx status, leave every
observable state as it was, and leave the mock answering the next call.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import OperationModel, Shape
from conftest import ACCOUNT, REGION, make_zip, property_examples
from hypothesis import given
from hypothesis import strategies as st

from mock_lambda_async import operations  # noqa: F401 - registers every operation
from mock_lambda_async.interception import _OPERATIONS

pytestmark = pytest.mark.usefixtures("one_boto3_session")

QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/test-role"
MISSING = object()
#: Every operation the mock answers, with parameters it accepts (``{uuid}``: a live mapping).
VALID: dict[str, dict[str, Any]] = {
    "Invoke": {"FunctionName": "f", "Payload": b"{}"},
    "InvokeAsync": {"FunctionName": "f", "InvokeArgs": b"{}"},
    "CreateEventSourceMapping": {"FunctionName": "f", "EventSourceArn": QUEUE_ARN, "BatchSize": 5},
    "GetEventSourceMapping": {"UUID": "{uuid}"},
    "UpdateEventSourceMapping": {"UUID": "{uuid}", "BatchSize": 3},
    "DeleteEventSourceMapping": {"UUID": "{uuid}"},
    "ListEventSourceMappings": {"FunctionName": "f", "MaxItems": 5},
    "PutFunctionEventInvokeConfig": {"FunctionName": "f", "MaximumRetryAttempts": 1},
    "UpdateFunctionEventInvokeConfig": {"FunctionName": "f", "MaximumRetryAttempts": 0},
    "GetFunctionEventInvokeConfig": {"FunctionName": "f"},
    "DeleteFunctionEventInvokeConfig": {"FunctionName": "f"},
    "ListFunctionEventInvokeConfigs": {"FunctionName": "f", "MaxItems": 5},
    "CreateFunction": {
        "FunctionName": "g",
        "Role": ROLE_ARN,
        "Runtime": "python3.12",
        "Handler": "lambda_function.handler",
        "Code": {"ZipFile": make_zip({"lambda_function.py": "def handler(e, c):\n    return e\n"})},
    },
    "UpdateFunctionConfiguration": {"FunctionName": "f", "Timeout": 5},
    "GetFunctionConfiguration": {"FunctionName": "f"},
    "PublishVersion": {"FunctionName": "f"},
    "GetFunction": {"FunctionName": "f"},
    "ListFunctions": {"MaxItems": 5},
    "ListVersionsByFunction": {"FunctionName": "f", "MaxItems": 5},
    "PutFunctionConcurrency": {"FunctionName": "f", "ReservedConcurrentExecutions": 5},
    "GetFunctionConcurrency": {"FunctionName": "f"},
    "DeleteFunctionConcurrency": {"FunctionName": "f"},
    "PutFunctionRecursionConfig": {"FunctionName": "f", "RecursiveLoop": "Allow"},
    "GetFunctionRecursionConfig": {"FunctionName": "f"},
    "TagResource": {"Resource": "{mapping_arn}", "Tags": {"team": "orders"}},
    "UntagResource": {"Resource": "{mapping_arn}", "TagKeys": ["team"]},
    "ListTags": {"Resource": "{mapping_arn}"},
    "GetAccountSettings": {},
    "PutProvisionedConcurrencyConfig": {
        "FunctionName": "f",
        "Qualifier": "1",
        "ProvisionedConcurrentExecutions": 1,
    },
    "GetProvisionedConcurrencyConfig": {"FunctionName": "f", "Qualifier": "1"},
    "DeleteProvisionedConcurrencyConfig": {"FunctionName": "f", "Qualifier": "1"},
    "ListProvisionedConcurrencyConfigs": {"FunctionName": "f", "MaxItems": 5},
}
#: Texts to find pattern misses among (a pattern that matches all of them is skipped).
TEXTS = ["", " ", "!", "a b", "\n", "ü", "x" * 300, "arn:aws:bad", "$", "::"]
LAMBDA = botocore.session.get_session().get_service_model("lambda")


def test_every_operation_the_mock_answers_is_driven() -> None:
    assert {name for service, name in _OPERATIONS if service == "lambda"} == set(VALID)


def _others(kind: str) -> st.SearchStrategy[Any]:
    """JSON values of another type than ``kind``'s."""
    pool = {
        "number": st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False),
        "text": st.text(max_size=6),
        "bool": st.booleans(),
        "list": st.lists(st.integers(0, 3), max_size=2),
        "dict": st.dictionaries(st.sampled_from(["a", "B"]), st.integers(0, 3), max_size=2),
    }
    fitting = {
        "string": {"text"},
        "integer": {"number"},
        "long": {"number"},
        "float": {"number"},
        "double": {"number"},
        "boolean": {"bool"},
        "blob": {"text"},
        "timestamp": {"number", "text"},
        "structure": {"dict"},
        "map": {"dict"},
        "list": {"list"},
    }[kind]
    return st.one_of([strategy for name, strategy in pool.items() if name not in fitting])


def bad_values(shape: Shape, location: str | None, required: bool) -> list[st.SearchStrategy[Any]]:
    """Strategies for values AWS refuses in a member of ``shape``."""
    meta, kind = shape.metadata, shape.type_name
    found: list[st.SearchStrategy[Any]] = []
    if required:
        found.append(st.just(MISSING))
    if location is None or kind != "string":
        wrong = _others(kind)
        if location is not None:
            # Path, query and header values are text: only text that is no number is wrong.
            wrong = st.text(max_size=6).filter(lambda t: not re.fullmatch(r"-?[0-9]+", t))
        found.append(wrong)
    if kind in ("integer", "long"):
        if "min" in meta:
            found.append(st.integers(meta["min"] - 10**6, meta["min"] - 1))
        if "max" in meta:
            found.append(st.integers(meta["max"] + 1, meta["max"] + 10**6))
        found.append(st.integers(2**63, 2**70))
    if kind == "string":
        if meta.get("min", 0) > 0:
            found.append(st.just(""))
        if "max" in meta:
            found.append(st.integers(1, 5).map(lambda n: "a" * (meta["max"] + n)))
        if "enum" in meta:
            found.append(st.text(max_size=8).filter(lambda t: t not in meta["enum"]))
        misses = [t for t in TEXTS if "pattern" in meta and not re.fullmatch(meta["pattern"], t)]
        if misses:
            found.append(st.sampled_from(misses))
    if kind == "list" and "max" in meta:
        found.append(st.just(["x"] * (meta["max"] + 1)))
    return found


def targets(model: OperationModel) -> list[tuple[tuple[str, ...], st.SearchStrategy[Any]]]:
    """``(member path, bad values)`` for the members of ``model`` and of its structures."""
    shape = model.input_shape
    found = []
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        required = name in shape.required_members
        for strategy in bad_values(member, location, required):
            found.append(((name,), strategy))
        if member.type_name == "structure":
            for child_name, child in member.members.items():
                for strategy in bad_values(child, None, child_name in member.required_members):
                    found.append(((name, child_name), strategy))
    return found


TARGETS = {op: targets(LAMBDA.operation_model(op)) for op in VALID}


def with_value(params: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    params = copy.deepcopy(params)
    holder = params
    for key in path[:-1]:
        if not isinstance(holder.get(key), dict):
            holder[key] = {}
        holder = holder[key]
    if value is MISSING:
        holder.pop(path[-1], None)
    else:
        holder[path[-1]] = value
    return params


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.fixture
def world(lam: Any) -> Iterator[dict[str, Any]]:
    """A function ``f``, a queue mapped to it, and the reads that make up the observable state."""
    lam.add_function("f", lambda event, context: event)
    boto3.client("sqs", region_name=REGION).create_queue(QueueName="jobs")
    client = boto3.client("lambda", region_name=REGION)
    mapping = client.create_event_source_mapping(FunctionName="f", EventSourceArn=QUEUE_ARN)
    client.publish_version(FunctionName="f")
    nv = boto3.client(
        "lambda",
        region_name=REGION,
        config=Config(parameter_validation=False, retries={"max_attempts": 0}),
    )
    yield {
        "client": client,
        "nv": nv,
        "{uuid}": mapping["UUID"],
        "{mapping_arn}": mapping["EventSourceMappingArn"],
    }


def lam_mapping_arn(client: Any) -> str:
    return str(
        client.list_event_source_mappings()["EventSourceMappings"][0]["EventSourceMappingArn"]
    )


def observable(lam: Any, client: Any) -> list[Any]:
    def read(method: str, **params: Any) -> Any:
        answer = getattr(client, method)(**params)
        answer.pop("ResponseMetadata", None)
        return answer

    return [
        len(lam.invocations()),
        read("list_functions"),
        read("list_versions_by_function", FunctionName="f"),
        read("list_event_source_mappings"),
        read("list_function_event_invoke_configs", FunctionName="f"),
        read("get_function_concurrency", FunctionName="f"),
        read("get_function_recursion_config", FunctionName="f"),
        read("list_tags", Resource=lam_mapping_arn(client)),
    ]


@property_examples(300)
@given(data=st.data())
def test_a_forbidden_value_is_refused_and_changes_nothing(
    lam: Any, world: dict[str, Any], data: st.DataObject
) -> None:
    operation = data.draw(
        st.sampled_from(sorted(o for o in TARGETS if TARGETS[o])), label="operation"
    )
    path, strategy = data.draw(st.sampled_from(TARGETS[operation]), label="member")
    value = data.draw(strategy, label="value")
    valid = {k: world.get(v, v) if isinstance(v, str) else v for k, v in VALID[operation].items()}
    params = with_value(valid, path, value)
    client = world["client"]
    before = observable(lam, client)
    with pytest.raises(ClientError) as caught:
        getattr(world["nv"], snake(operation))(**params)
    assert 400 <= caught.value.response["ResponseMetadata"]["HTTPStatusCode"] < 600
    assert observable(lam, client) == before
    assert client.invoke(FunctionName="f", Payload=b'{"ok": 1}')["Payload"].read() == b'{"ok": 1}'
