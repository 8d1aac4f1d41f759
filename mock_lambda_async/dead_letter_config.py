"""Function settings moto ignores or gets wrong: ``DeadLetterConfig`` and reserved concurrency.

moto accepts ``DeadLetterConfig`` on ``CreateFunction``/``UpdateFunctionConfiguration`` and drops it. We
validate the target as Lambda does, keep it per function version and echo it in every
``FunctionConfiguration`` Lambda returns. moto still does all the function work: each handler here
forwards the call to moto's own request handling (:func:`forward_to_moto`) and only adds to the reply.

The DLQ is version-specific configuration, "locked in when you publish a version" (developer guide,
invocation-async.md). We keep it on moto's ``LambdaFunction`` object of each version, so every path that
publishes (``PublishVersion``, ``CreateFunction``/``UpdateFunctionCode`` with ``Publish``) snapshots it
exactly as moto copies the rest of the version, and deleting a function or version drops it with the
version. ``$LATEST`` stays mutable.

Reserved concurrency applies "to the function as a whole, including all published versions and the
unpublished version" (API_PutFunctionConcurrency). moto stores it on ``$LATEST`` only (versions keep a
stale copy), omits ``0`` from ``GetFunction`` and enforces no account limit unless an environment variable
is set, so we own ``Put/Get/DeleteFunctionConcurrency`` and keep moto's ``reserved_concurrency``
attribute right on every version: readers can use ``fn.moto().reserved_concurrency``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from botocore.awsrequest import AWSRequest
from botocore.serialize import create_serializer

from .function_configuration import complete_configuration, configured, created, updated
from .functions import (
    function_arn,
    function_exists,
    lambda_backend,
    moto_function,
    parse_function_name,
    validation_exception,
)
from .interception import AwsError, Call, Reply, already_authorized, json_reply, operation

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController

__all__ = [
    "check_dead_letter_target",
    "dead_letter_target",
    "echo_function_configuration",
    "forward_to_moto",
    "invalid_parameter",
    "minimum_unreserved",
    "set_dead_letter_target",
    "set_reserved_concurrency",
    "sns_topic_exists",
    "sqs_queue_exists",
]

#: Attribute on moto's ``LambdaFunction`` (one object per version) holding the DLQ target ARN.
_DLQ_ATTRIBUTE = "_mock_lambda_async_dead_letter_target"

#: ``DeadLetterConfig.TargetArn`` pattern from the botocore model (ResourceArn).
_DLQ_PATTERN_TEXT = r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
_DLQ_PATTERN = re.compile(_DLQ_PATTERN_TEXT)
_TARGET_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.*)"
)


# -- shared helpers ---------------------------------------------------------------------------------
def invalid_parameter(message: str) -> AwsError:
    """``InvalidParameterValueException``: 400, lowercase ``message`` plus ``Type`` (recorded)."""
    return AwsError("InvalidParameterValueException", message, message_key="message")


def forward_to_moto(call: Call) -> Reply:
    """Let moto answer ``call`` exactly as if we were not there, and hand back its raw reply.

    The parameters are serialized by botocore as the client would, and the request goes through
    moto's own dispatcher (the one its ``before-send`` stub uses), so moto's validation, errors and
    response shapes are untouched. The caller's account travels in moto's ``x-moto-account-id``.
    """
    from moto.core.models import botocore_stubber

    params = call.params
    name = params.get("FunctionName")
    if (
        isinstance(name, str)
        and not name.startswith("arn:")
        and (name.count(":") >= 2 or name.startswith("function:"))
    ):
        # A partial ARN (``123456789012:function:f``): moto reads ``name:qualifier`` only, and
        # fails on it. AWS resolves it; moto gets the full ARN it stands for.
        parsed = parse_function_name(name, call.region, call.account_id)
        arn = function_arn(parsed.region, parsed.account_id, parsed.name, parsed.qualifier)
        params = {**params, "FunctionName": arn}
    serializer = create_serializer(call.model.service_model.protocol, include_validation=False)
    request = serializer.serialize_to_request(params, call.model)
    url = f"https://{call.model.service_model.endpoint_prefix}.{call.region}.amazonaws.com"
    url += request["url_path"]
    if request["query_string"]:
        url += "?" + urlencode(request["query_string"], doseq=True)
    headers = {**request["headers"], "x-moto-account-id": call.account_id}
    prepared = AWSRequest(
        method=request["method"], url=url, data=request["body"], headers=headers
    ).prepare()
    with already_authorized():
        answer = botocore_stubber.process_request(prepared)
    if answer is None:
        raise AwsError("ServiceException", f"moto has no handler for {call.operation}", 500)
    status, reply_headers, body = answer
    raw = body.encode() if isinstance(body, str) else bytes(body or b"")
    return Reply(int(status), raw, {str(k): str(v) for k, v in reply_headers.items()})


def _json_body(reply: Reply) -> dict[str, Any]:
    data = json.loads(reply.body or b"{}")
    return data if isinstance(data, dict) else {}


def _rewrite(reply: Reply, data: dict[str, Any]) -> Reply:
    headers = {k: v for k, v in reply.headers.items() if k.lower() != "content-length"}
    return json_reply(reply.status, data, headers)


# -- the DLQ per version ----------------------------------------------------------------------------
def _stored_target(moto_fn: Any) -> str | None:
    target = getattr(moto_fn, _DLQ_ATTRIBUTE, None)
    return target if isinstance(target, str) else None


def dead_letter_target(fn: ResolvedFunction) -> str | None:
    """The DLQ of the version ``fn`` resolves to (an alias uses its version's), or ``None``."""
    moto_fn = moto_function(fn.account_id, fn.region, fn.name, fn.version)
    return None if moto_fn is None else _stored_target(moto_fn)


def echo_function_configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    """Add ``DeadLetterConfig`` to one ``FunctionConfiguration`` moto rendered, as Lambda shows it.

    The version is found from the configuration's own ``FunctionArn``/``Version``. Lambda omits the
    key for a function without a DLQ (recorded CreateFunction/GetFunction responses in
    ``test_lambda_api.snapshot.json`` carry no ``DeadLetterConfig``). Public so that other modules
    answering ``FunctionConfiguration`` shapes (e.g. ``UpdateFunctionCode``) can reuse it.
    """
    match = _TARGET_ARN.match(str(configuration.get("FunctionArn", "")))
    name = configuration.get("FunctionName")
    version = str(configuration.get("Version", "$LATEST"))
    if match is None or not name:
        return configuration
    moto_fn = moto_function(match["account"], match["region"], name, version)
    target = None if moto_fn is None else _stored_target(moto_fn)
    if target:
        configuration["DeadLetterConfig"] = {"TargetArn": target}
    else:
        configuration.pop("DeadLetterConfig", None)
    return complete_configuration(configuration, moto_fn)


def _set_target(moto_fn: Any, target: str | None) -> None:
    setattr(moto_fn, _DLQ_ATTRIBUTE, target or None)


def set_dead_letter_target(account_id: str, region: str, name: str, target: str | None) -> None:
    """Set the DLQ of every version of a function (a CloudFormation ``AWS::Lambda::Function``
    is created or updated as a whole)."""
    for moto_fn in _versions_of(account_id, region, name):
        _set_target(moto_fn, target)


def check_dead_letter_target(target: str, region: str, *, on_create: bool) -> None:
    """Raise what Lambda answers for a ``DeadLetterConfig.TargetArn`` it will not accept.

    Sources for the messages:
    - pattern: the botocore model's ResourceArn pattern, in AWS's standard validation wording.
    - empty target on create: ``Invalid dead letter queue ARN: ARNs must start with 'arn:': `` seen
      from CreateFunction (cloud-custodian issue #1990, 2018). On update an empty target removes the
      DLQ (the Terraform provider and serverless-plugin-lambda-dead-letter rely on this).
    - other services: ``Invalid dead letter queue ARN: The service specified by the TargetArn is not
      supported for dead letter configuration.`` and other regions: ``... must be in the same region
      as the Lambda function it's associated with.`` (quoted as CreateFunction failures in a public
      CDK preflight rule set; not recorded first-hand).
    - FIFO queue: ``Invalid dead letter queue ARN: FIFO SQS queue is not supported for dead letter
      configuration`` (a CreateFunction error log with its AWS request id). INFERENCE: the same
      wording with ``FIFO SNS topic`` for a FIFO topic.
    - INFERENCE: a target that does not exist gets the error Lambda gives when it cannot send to it,
      ``The provided execution role does not have permissions to call SendMessage on SQS`` (or
      ``Publish on SNS``): Lambda checks the DLQ at create/update time by whether the role can send
      (many public reports of these messages); moto does not model IAM, so a missing target is the
      case we can detect.
    """
    if not _DLQ_PATTERN.fullmatch(target):
        raise validation_exception(
            [
                f"Value '{target}' at 'deadLetterConfig.targetArn' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {_DLQ_PATTERN_TEXT}"
            ]
        )
    if not target:
        if on_create:
            raise invalid_parameter("Invalid dead letter queue ARN: ARNs must start with 'arn:': ")
        return
    match = _TARGET_ARN.match(target)
    service = match["service"] if match else ""
    if match is None or service not in ("sqs", "sns"):
        raise invalid_parameter(
            "Invalid dead letter queue ARN: The service specified by the TargetArn is not "
            "supported for dead letter configuration."
        )
    if match["region"] != region:
        raise invalid_parameter(
            "Invalid dead letter queue ARN: The resource specified by the TargetArn must be in the "
            "same region as the Lambda function it's associated with."
        )
    name = match["resource"]
    if name.endswith(".fifo"):
        kind = "SQS queue" if service == "sqs" else "SNS topic"
        raise invalid_parameter(
            f"Invalid dead letter queue ARN: FIFO {kind} is not supported for dead letter configuration"
        )
    if service == "sqs" and not sqs_queue_exists(match["account"], match["region"], name):
        raise invalid_parameter(
            "The provided execution role does not have permissions to call SendMessage on SQS"
        )
    if service == "sns" and not sns_topic_exists(target, match["account"], match["region"]):
        raise invalid_parameter(
            "The provided execution role does not have permissions to call Publish on SNS"
        )


def sqs_queue_exists(account_id: str, region: str, name: str) -> bool:
    from moto.sqs.models import sqs_backends

    try:
        return name in sqs_backends[account_id][region].queues
    except KeyError:
        return False


def sns_topic_exists(arn: str, account_id: str, region: str) -> bool:
    from moto.sns.models import sns_backends

    try:
        return arn in sns_backends[account_id][region].topics
    except KeyError:
        return False


def _requested_target(params: dict[str, Any]) -> str | None:
    """The TargetArn asked for, or ``None`` when the request leaves the DLQ alone.

    ``DeadLetterConfig={}`` changes nothing: recorded against AWS (``test_dead_letter_queue``,
    ``delete_dlq``), ``UpdateFunctionConfiguration(DeadLetterConfig={})`` still answers with the
    previous ``TargetArn``.
    """
    config = params.get("DeadLetterConfig")
    if not isinstance(config, dict) or "TargetArn" not in config:
        return None
    return str(config["TargetArn"])


def _versions_of(account_id: str, region: str, name: str) -> list[Any]:
    entry = lambda_backend(account_id, region)._lambdas._functions.get(name)
    if entry is None:
        return []
    return [fn for fn in [entry["latest"], *entry["versions"]] if fn is not None]


# -- operations that return FunctionConfiguration -------------------------------------------------
@operation("lambda", "CreateFunction")
def create_function(call: Call) -> Reply:
    """moto creates the function; we check and keep its DLQ, then echo it.

    INFERENCE: the DLQ is checked before moto's own checks (role, existing name), so a bad target
    is reported even for a request that would fail for another reason.
    """
    target = _requested_target(call.params)
    if target is not None:
        check_dead_letter_target(target, call.region, on_create=True)
    reply = forward_to_moto(call)
    if reply.status >= 300:
        return reply
    data = _json_body(reply)
    parsed = parse_function_name(call.params["FunctionName"], call.region, call.account_id)
    # With Publish=True moto has already copied $LATEST into version 1: set the DLQ on both.
    versions = _versions_of(parsed.account_id, parsed.region, parsed.name)
    for moto_fn in versions:
        _set_target(moto_fn, target)
        configured(moto_fn, call.params)
    configuration = echo_function_configuration(data)
    created(configuration, versions)
    return _rewrite(reply, configuration)


@operation("lambda", "UpdateFunctionConfiguration")
def update_function_configuration(call: Call) -> Reply:
    """Only ``$LATEST`` is mutable; an absent ``TargetArn`` keeps the DLQ, an empty one removes it."""
    target = _requested_target(call.params)
    parsed = parse_function_name(call.params["FunctionName"], call.region, call.account_id)
    exists = function_exists(parsed.account_id, parsed.region, parsed.name)
    if target is not None and exists:
        check_dead_letter_target(target, parsed.region, on_create=False)
    reply = forward_to_moto(call)
    if reply.status >= 300:
        return reply
    latest = moto_function(parsed.account_id, parsed.region, parsed.name, "$LATEST")
    if latest is None:
        return reply
    if target is not None:
        _set_target(latest, target)
    configured(latest, call.params)
    configuration = echo_function_configuration(_json_body(reply))
    updated(configuration, [latest])
    return _rewrite(reply, configuration)


def _echo_single(call: Call) -> Reply:
    reply = forward_to_moto(call)
    if reply.status >= 300:
        return reply
    return _rewrite(reply, echo_function_configuration(_json_body(reply)))


@operation("lambda", "GetFunctionConfiguration")
def get_function_configuration(call: Call) -> Reply:
    return _echo_single(call)


@operation("lambda", "PublishVersion")
def publish_version(call: Call) -> Reply:
    """moto copies ``$LATEST`` (with its DLQ attribute) into the new version; we echo it."""
    return _echo_single(call)


@operation("lambda", "GetFunction")
def get_function(call: Call) -> Reply:
    """Echo the DLQ, and the function's reserved concurrency even when it is 0 (moto omits 0)."""
    reply = forward_to_moto(call)
    if reply.status >= 300:
        return reply
    data = _json_body(reply)
    configuration = data.get("Configuration")
    if isinstance(configuration, dict):
        echo_function_configuration(configuration)
        match = _TARGET_ARN.match(str(configuration.get("FunctionArn", "")))
        if match is not None:
            latest = moto_function(
                match["account"], match["region"], configuration["FunctionName"], "$LATEST"
            )
            reserved = None if latest is None else latest.reserved_concurrency
            if reserved is None:
                data.pop("Concurrency", None)
            else:
                data["Concurrency"] = {"ReservedConcurrentExecutions": int(reserved)}
    return _rewrite(reply, data)


def _echo_list(call: Call, key: str) -> Reply:
    reply = forward_to_moto(call)
    if reply.status >= 300:
        return reply
    data = _json_body(reply)
    for configuration in data.get(key) or []:
        if isinstance(configuration, dict):
            echo_function_configuration(configuration)
    return _rewrite(reply, data)


@operation("lambda", "ListFunctions")
def list_functions(call: Call) -> Reply:
    return _echo_list(call, "Functions")


@operation("lambda", "ListVersionsByFunction")
def list_versions_by_function(call: Call) -> Reply:
    return _echo_list(call, "Versions")


# -- reserved concurrency ---------------------------------------------------------------------------
def _account_concurrency_limit(controller: LambdaAsyncController) -> int:
    """The regional concurrency quota the controller simulates (``lam.set_account_concurrency``)."""
    from .concurrency import Concurrency

    return controller.state(Concurrency).account_limit


def minimum_unreserved(limit: int) -> int:
    """The unreserved floor for an account ``limit``: 100 at the default 1000.

    "Lambda automatically reserves a buffer of 100 concurrent executions for functions without any
    reserved concurrency limit. This means if your account limit is 1000, you have a total of 900
    available to allocate" (API_PutFunctionConcurrency, archived developer guide).
    INFERENCE from the floors public deployment logs report with their account limits: [100] at
    1000, [40] at 400, [50] at 50 and [10] at 10, i.e. a tenth of the limit, but the whole limit for
    small accounts.
    """
    if limit >= 100:
        return limit // 10
    return limit


def _unqualified_function(call: Call) -> tuple[str, str, str]:
    """(account, region, name) of a function-level operation's ``FunctionName``, or AWS's error.

    Qualified names get the recorded 400 (``TestLambdaReservedConcurrency``, ``put_function_concurrency
    _with_qualified_arn``); a missing function gets ``Function not found: <arn>:$LATEST`` (as the
    recorded ``put_function_concurrency_with_function_name_doesnotexist`` case). INFERENCE: Get and
    Delete, which have no recorded error cases, answer the same way.
    """
    parsed = parse_function_name(call.params["FunctionName"], call.region, call.account_id)
    if parsed.qualifier:
        raise invalid_parameter(
            "This operation is permitted on Lambda functions only. Aliases and versions do not "
            "support this operation. Please specify either a function name or an unqualified "
            "function ARN."
        )
    if not function_exists(parsed.account_id, parsed.region, parsed.name):
        arn = function_arn(parsed.region, parsed.account_id, parsed.name, "$LATEST")
        raise AwsError("ResourceNotFoundException", f"Function not found: {arn}", 404)
    return parsed.account_id, parsed.region, parsed.name


def _reserved(moto_fn: Any) -> int | None:
    value = getattr(moto_fn, "reserved_concurrency", None)
    return None if value is None else int(value)


def set_reserved_concurrency(account_id: str, region: str, name: str, value: int | None) -> None:
    """Reserve ``value`` for the function as a whole (``None``: no reservation)."""
    _set_reserved(account_id, region, name, value)


def _set_reserved(account_id: str, region: str, name: str, value: int | None) -> None:
    for moto_fn in _versions_of(account_id, region, name):
        moto_fn.reserved_concurrency = value


@operation("lambda", "PutFunctionConcurrency")
def put_function_concurrency(call: Call) -> Reply:
    """Reserve concurrency, keeping the account's unreserved pool at or above its minimum.

    The function's own current reservation does not count against the new one (LocalStack's
    provider notes this was tested against AWS, 2023-11-28). A value above the whole account limit
    gets the same message ("reserved concurrency does not have a different error message for values
    higher than the account limit", ``test_function_concurrency_limits``). Message verified in many
    public deployment logs: ``Specified ReservedConcurrentExecutions for function decreases account's
    UnreservedConcurrentExecution below its minimum value of [100].``
    """
    value = int(call.params["ReservedConcurrentExecutions"])
    if value < 0:  # only reachable with botocore's client-side validation switched off
        raise validation_exception(
            [
                f"Value '{value}' at 'reservedConcurrentExecutions' failed to satisfy constraint: "
                "Member must have value greater than or equal to 0"
            ]
        )
    account_id, region, name = _unqualified_function(call)
    backend = lambda_backend(account_id, region)
    reserved_elsewhere = sum(
        _reserved(entry["latest"]) or 0
        for other, entry in backend._lambdas._functions.items()
        if other != name and entry["latest"] is not None
    )
    limit = _account_concurrency_limit(call.controller)
    minimum = minimum_unreserved(limit)
    if limit - reserved_elsewhere - value < minimum:
        # Recorded bodies carry ``message`` and no ``Type``, unlike the other
        # InvalidParameterValueExceptions ([LS] ``test_lambda_api.snapshot.json``,
        # ``test_function_concurrency_limits``: ``put_function_concurrency_account_limit_exceeded``,
        # ``put_function_concurrency_below_unreserved_min_value``).
        error = invalid_parameter(
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
        )
        error.fields.pop("Type", None)
        raise error
    from .provisioned_concurrency import check_reserved_covers_provisioned

    check_reserved_covers_provisioned(call.controller, account_id, region, name, value)
    _set_reserved(account_id, region, name, value)
    return json_reply(200, {"ReservedConcurrentExecutions": value})


@operation("lambda", "GetFunctionConcurrency")
def get_function_concurrency(call: Call) -> Reply:
    """``{}`` when nothing is reserved (INFERENCE from the modelled optional member)."""
    account_id, region, name = _unqualified_function(call)
    value = _reserved(moto_function(account_id, region, name, "$LATEST"))
    return json_reply(200, {} if value is None else {"ReservedConcurrentExecutions": value})


@operation("lambda", "DeleteFunctionConcurrency")
def delete_function_concurrency(call: Call) -> Reply:
    account_id, region, name = _unqualified_function(call)
    _set_reserved(account_id, region, name, None)
    return Reply(204)
