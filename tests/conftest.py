"""Shared fixtures: fake credentials, a region, helpers to build deployment packages and resources."""

from __future__ import annotations

import functools
import io
import json
import os
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import HealthCheck, settings

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

REGION = "us-east-1"
ACCOUNT = "123456789012"

#: The keys of the notification SNS writes to SQS, in AWS's order (localstack
#: tests/aws/services/sns/test_sns.snapshot.json, test_redrive_policy_lambda_subscription).
SNS_SQS_ENVELOPE_KEYS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "UnsubscribeURL",
    "MessageAttributes",
]
#: The keys of an S3 event record, in AWS's order (Powertools tests/events/s3Event.json).
S3_RECORD_KEYS = [
    "eventVersion",
    "eventSource",
    "awsRegion",
    "eventTime",
    "eventName",
    "userIdentity",
    "requestParameters",
    "responseElements",
    "s3",
]
#: What botocore raises for an AWS error answer, or for a request it refuses to send.
AWS_ERRORS = (ClientError, ParamValidationError)
#: A client config without botocore's retries (``max_attempts`` counts retries, not attempts): the
#: first 429 or 5xx Lambda answers is the one the caller gets.
NO_RETRIES = Config(retries={"max_attempts": 0})


def property_examples(max_examples: int) -> settings:
    """Hypothesis settings of a property test: ``max_examples`` examples, no deadline.

    The examples of one test share its activation (function-scoped fixtures) and tell themselves
    apart by unique names; an example's real time varies with how much it sends through moto.
    """
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def make_zip(files: dict[str, str]) -> bytes:
    """A deployment package from ``{path: source}`` (sources are dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, source in files.items():
            archive.writestr(path, textwrap.dedent(source))
    return buffer.getvalue()


def lambda_role() -> str:
    iam = boto3.client("iam", region_name=REGION)
    try:
        return str(iam.get_role(RoleName="test-role")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(
            iam.create_role(
                RoleName="test-role",
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )["Role"]["Arn"]
        )


def deploy(
    name: str,
    files: dict[str, str],
    handler: str,
    *,
    region: str = REGION,
    lambda_client: Any = None,
    role: str | None = None,
    **config: Any,
) -> dict[str, Any]:
    """Create a Python function from a package of several files (``{path: source}``).

    Tests sharing one activation pass the ``lambda_client`` and ``role`` they keep: building
    either costs more than the call.
    """
    lambda_client = lambda_client or boto3.client("lambda", region_name=region)
    return dict(
        lambda_client.create_function(
            FunctionName=name,
            Runtime=config.pop("Runtime", "python3.12"),
            Role=role or lambda_role(),
            Handler=handler,
            Code={"ZipFile": make_zip(files)},
            **config,
        )
    )


def create_function(
    name: str, source: str, *, handler: str = "lambda_function.handler", **config: Any
) -> dict[str, Any]:
    """Create a Python function from one source file named after ``handler``'s module."""
    module = handler.rpartition(".")[0].replace(".", "/") + ".py"
    return deploy(name, {module: source}, handler, **config)


@pytest.fixture
def lam(lambda_async: Any) -> Any:
    """The plugin's activation: ``pytest.mark.lambda_async(auto_drain=..., start=...)`` sets it up."""
    return lambda_async


@pytest.fixture
def lambda_client() -> Any:
    return client("lambda")


@pytest.fixture
def sqs() -> Any:
    return client("sqs")


@functools.cache
def client(service: str) -> Any:
    """One client of ``service`` in the tests' region for the whole run.

    Building a client costs more than most calls (a fresh session parses the service model again);
    a client stays valid across activations, as interception is in botocore's handlers.
    """
    return boto3.client(service, region_name=REGION)


def module_activation() -> tuple[Any, Any, Any]:
    """Module-scoped ``lam``, ``client`` (Lambda) and ``role`` fixtures: ``lam, client, role = ...``.

    One activation per module keeps API tests fast; every test then has to use functions and
    resources of its own (unique names) and give back what it changes account-wide.
    """
    from mock_lambda_async import mock_lambda_async

    @pytest.fixture(scope="module")
    def lam() -> Iterator[Any]:
        with mock_lambda_async() as controller:
            yield controller

    @pytest.fixture(scope="module")
    def client(lam: Any) -> Any:
        return boto3.client("lambda", region_name=REGION)

    @pytest.fixture(scope="module")
    def role(lam: Any) -> str:
        return lambda_role()

    return lam, client, role


def error_of(action: Callable[[], Any]) -> tuple[dict[str, Any], int]:
    """The error ``action`` raises, and the HTTP status it came with."""
    with pytest.raises(ClientError) as info:
        action()
    response = info.value.response
    return response["Error"], response["ResponseMetadata"]["HTTPStatusCode"]


def wire_error_body(client: Any, action: Callable[[], Any]) -> dict[str, Any]:
    """The JSON body of the error reply, as it was on the wire."""
    bodies: list[bytes] = []

    def grab(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.raw.getvalue())

    client.meta.events.register("after-call.lambda", grab)
    try:
        with pytest.raises(ClientError):
            action()
    finally:
        client.meta.events.unregister("after-call.lambda", grab)
    return dict(json.loads(bodies[-1]))


def make_queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    """Create an SQS queue; returns its URL and ARN."""
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def metric_sum(lam: Any, name: str, function_name: str = "orders") -> float:
    """The sum of a function's ``AWS/Lambda`` metric, as CloudWatch answers it.

    One period over the last 30 virtual days: everything a test records (tests move time by hours).
    """
    now = lam.now()
    points = client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=name,
        Dimensions=[{"Name": "FunctionName", "Value": function_name}],
        StartTime=now - timedelta(days=30),
        EndTime=now + timedelta(days=1),
        Period=86400 * 60,
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(point["Sum"] for point in points))


def failing_with_on_failure(lam: Any, sqs: Any, name: str) -> tuple[str, str]:
    """Function ``name`` raising on every event, without retries, failing into a new queue.

    The queue (``failures``) is its OnFailure destination; returns the queue's URL and ARN.
    """

    def fails(event: Any, context: Any) -> None:
        raise RuntimeError("cannot handle it")

    url, arn = make_queue(sqs, "failures")
    lam.add_function(name, fails)
    client("lambda").put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    return url, arn


def topic_to_queue(sqs: Any, topic: str) -> tuple[str, str]:
    """SNS topic ``topic`` with a new queue ``subscriber`` subscribed to it.

    Returns the queue's URL and the topic's ARN.
    """
    url, queue_arn = make_queue(sqs, "subscriber")
    topic_arn = client("sns").create_topic(Name=topic)["TopicArn"]
    client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return url, topic_arn


def function_arn(name: str) -> str:
    """The unqualified ARN of a function, as GetFunction answers it."""
    configuration = client("lambda").get_function(FunctionName=name)["Configuration"]
    return str(configuration["FunctionArn"])


@pytest.fixture
def orders(lam: Any) -> list[Any]:
    """Function ``orders``: keeps each event it handles and answers ``{"ok": true}``."""
    handled: list[Any] = []
    lam.add_function("orders", lambda event, context: handled.append(event) or {"ok": True})
    return handled


def recording_function(lam: Any, name: str, **config: Any) -> list[Any]:
    """A function that keeps every event it gets (and the ARN it was invoked as)."""
    received: list[Any] = []

    def handler(event: Any, context: Any) -> None:
        received.append({"event": event, "invoked_as": context.invoked_function_arn})

    lam.add_function(name, handler, **config)
    return received


@pytest.fixture(scope="module")
def one_boto3_session() -> Iterator[None]:
    """One boto3 session, and one client per service and region, for the whole module.

    moto clears ``boto3.DEFAULT_SESSION`` on every start, and a fresh session parses every service
    model again, a few tenths of a second per test; creating clients costs more than most calls.
    Clients stay valid across activations (interception is in botocore's built-in handlers), so
    ``boto3.client`` hands back the same one. A test that registers its own event handlers on a
    client must unregister them. Opt in with
    ``pytestmark = pytest.mark.usefixtures("one_boto3_session")``.
    """
    import mock_lambda_async  # noqa: F401 - a session copies botocore's handlers when created

    session = boto3.Session(region_name=REGION)
    original_setup, original_client = boto3.setup_default_session, boto3.client
    clients: dict[Any, Any] = {}

    def setup_default_session(**kwargs: Any) -> None:
        boto3.DEFAULT_SESSION = session

    def client(*args: Any, **kwargs: Any) -> Any:
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return original_client(*args, **kwargs)
        if key not in clients:
            clients[key] = original_client(*args, **kwargs)
        return clients[key]

    boto3.setup_default_session = setup_default_session
    boto3.client = client  # type: ignore[assignment]
    try:
        yield
    finally:
        boto3.setup_default_session, boto3.client = original_setup, original_client
