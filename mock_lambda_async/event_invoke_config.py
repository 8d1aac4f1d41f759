"""The FunctionEventInvokeConfig API and the async settings it gives each function qualifier.

We answer ``Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s)`` (moto answers them for
``$LATEST`` only, and without AWS's checks). The configs are stored where moto stores them: on moto's
object of the qualifier they were put on (the ``$LATEST`` function, a version, an alias; separate:
spec section 3), see :class:`EventInvokeConfigs`. So configs made with plain moto apply under the
mock, configs put under the mock stay in moto after it, and deleting and re-creating a function,
version or alias does not resurrect an old config.

Every message and the order of checks come from AWS-validated snapshots (``test_lambda_api.snapshot
.json``, ``TestLambdaEventInvokeConfig``) unless a comment says INFERENCE.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .dead_letter_config import (
    dead_letter_target,
    invalid_parameter,
    sns_topic_exists,
    sqs_queue_exists,
)
from .functions import (
    ResolvedFunction,
    function_arn,
    function_exists,
    lambda_backend,
    length_and_pattern_problems,
    moto_function,
    parse_function_name,
    resolve,
    validation_exception,
)
from .interception import AwsError, Call, Reply, json_reply, operation

if TYPE_CHECKING:
    from botocore.model import Shape

    from .mock import LambdaAsyncController

__all__ = ["AsyncSettings", "EventInvokeConfig", "EventInvokeConfigs", "settings_for"]

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_S = 21600

#: ``DestinationArn`` pattern as AWS prints it in its ValidationException (recorded Nov 2025; newer
#: than botocore 1.43's model, which lacks the ``(eusc-)?`` group).
DESTINATION_PATTERN_TEXT = (
    r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:"
    r"((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_DESTINATION_PATTERN = re.compile(DESTINATION_PATTERN_TEXT)
_DESTINATION_MAX_LENGTH = 350
_QUALIFIER_PATTERN_TEXT = "(|[a-zA-Z0-9$_-]+)"
_QUALIFIER_PATTERN = re.compile(_QUALIFIER_PATTERN_TEXT)
_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.*)"
)
#: Services Lambda sends invocation records to (DOCS invocation-async-retain-records); S3 only for
#: failures ("S3 buckets are supported only for on-failure destinations", API reference).
_SUPPORTED = {
    "OnSuccess": {"sqs", "sns", "lambda", "events"},
    "OnFailure": {"sqs", "sns", "lambda", "events", "s3"},
}
_SLOTS = ("OnSuccess", "OnFailure")


@dataclass(frozen=True)
class AsyncSettings:
    """What governs one async event: retries, age, destinations, DLQ."""

    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_s: int = DEFAULT_MAXIMUM_EVENT_AGE_S
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter_target: str | None = None


@dataclass(frozen=True)
class EventInvokeConfig:
    """One stored config: what was set (``None`` = not set, so not echoed) and where it belongs."""

    function: ResolvedFunction
    owner: Any
    last_modified_ms: int
    maximum_retry_attempts: int | None = None
    maximum_event_age_s: int | None = None
    on_success: str | None = None
    on_failure: str | None = None

    @property
    def function_arn(self) -> str:
        return self.function.qualified_arn

    def render(self) -> dict[str, Any]:
        """The wire shape: ``DestinationConfig`` always present, unset numbers omitted (recorded)."""
        data: dict[str, Any] = {
            # A ``timestamp`` shape: rest-json puts it on the wire as epoch seconds.
            "LastModified": self.last_modified_ms / 1000,
            "FunctionArn": self.function_arn,
        }
        if self.maximum_retry_attempts is not None:
            data["MaximumRetryAttempts"] = self.maximum_retry_attempts
        if self.maximum_event_age_s is not None:
            data["MaximumEventAgeInSeconds"] = self.maximum_event_age_s
        data["DestinationConfig"] = {
            "OnSuccess": {"Destination": self.on_success} if self.on_success else {},
            "OnFailure": {"Destination": self.on_failure} if self.on_failure else {},
        }
        return data


def _owner(fn: ResolvedFunction) -> Any:
    """The moto object a config on ``fn``'s qualifier belongs to (alias, version or ``$LATEST``)."""
    if fn.alias is not None:
        aliases = lambda_backend(fn.account_id, fn.region)._lambdas._aliases
        return aliases.get(fn.unqualified_arn, {}).get(fn.alias)
    return moto_function(fn.account_id, fn.region, fn.name, fn.config_qualifier)


#: Attributes the mock adds to moto's ``EventInvokeConfig``: its virtual-clock time, its list order.
_MODIFIED_MS = "_mock_lambda_async_last_modified_ms"
_ORDER = "_mock_lambda_async_order"


class EventInvokeConfigs:
    """The configs as moto stores them: on moto's object of each qualifier.

    moto keeps a function version's config in ``LambdaFunction.event_invoke_config`` (a list, whose
    first entry it answers with); we keep the same list on the ``$LATEST`` function, each version,
    and each alias (moto has no place for an alias's config: the list is added to its object). So a
    config put with plain moto applies under the mock, one put under the mock is moto's after it,
    and deleting a function, version or alias takes its config with it.
    """

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller

    def get(self, fn: ResolvedFunction) -> EventInvokeConfig | None:
        """The config of the qualifier ``fn`` was named by, if it still exists."""
        owner = _owner(fn)
        stored = getattr(owner, "event_invoke_config", None) if owner is not None else None
        if not stored or not _belongs_to(stored[0], fn):
            return None
        return _from_moto(fn, owner, stored[0])

    def put(self, config: EventInvokeConfig) -> None:
        current = getattr(config.owner, "event_invoke_config", None) or []
        order = getattr(current[0], _ORDER, None) if current else None
        config.owner.event_invoke_config = [_to_moto(config, order)]

    def delete(self, fn: ResolvedFunction) -> None:
        owner = _owner(fn)
        if owner is not None:
            owner.event_invoke_config = []

    def of_function(self, account_id: str, region: str, name: str) -> Iterator[EventInvokeConfig]:
        """Every config of one function, in the order they were first put."""
        backend = lambda_backend(account_id, region)
        entry = backend._lambdas._functions.get(name)
        if entry is None:
            return
        qualifiers: list[tuple[str, str | None]] = [("$LATEST", None)]
        qualifiers += [(str(v.version), None) for v in entry["versions"]]
        unqualified = function_arn(region, account_id, name)
        for alias_name, alias in backend._lambdas._aliases.get(unqualified, {}).items():
            version = str(alias.function_version)
            qualifiers.append(("$LATEST" if version.lower() == "$latest" else version, alias_name))
        found = []
        for version, alias in qualifiers:
            fn = ResolvedFunction(account_id, region, name, alias or version, version, alias)
            config = self.get(fn)
            if config is not None:
                found.append(config)
        found.sort(key=lambda config: getattr(_stored(config), _ORDER, 0) or 0)
        yield from found


def _belongs_to(stored: Any, fn: ResolvedFunction) -> bool:
    """Whether moto's stored config was put on ``fn``'s qualifier.

    moto's ``PublishVersion`` copies ``$LATEST`` with its config into the version; AWS gives a new
    version no config (recorded), so a copy (its ARN names another qualifier) does not count.
    """
    qualifier = fn.alias or fn.version
    arns = {function_arn(fn.region, fn.account_id, fn.name, qualifier)}
    if qualifier == "$LATEST":
        arns.add(fn.unqualified_arn)
    return stored.arn in arns


def _stored(config: EventInvokeConfig) -> Any:
    stored = getattr(config.owner, "event_invoke_config", None) or [None]
    return stored[0]


def _to_moto(config: EventInvokeConfig, order: int | None) -> Any:
    """moto's ``EventInvokeConfig`` for ``config`` (moto's own checks are older than AWS's: skipped)."""
    from moto.awslambda.models import EventInvokeConfig as MotoConfig

    settings: dict[str, Any] = {}
    if config.maximum_retry_attempts is not None:
        settings["MaximumRetryAttempts"] = config.maximum_retry_attempts
    if config.maximum_event_age_s is not None:
        settings["MaximumEventAgeInSeconds"] = config.maximum_event_age_s
    settings["DestinationConfig"] = config.render()["DestinationConfig"]
    stored = MotoConfig.__new__(MotoConfig)
    stored.config = settings
    stored.arn = config.function_arn
    stored.last_modified = datetime.fromtimestamp(
        config.last_modified_ms / 1000, timezone.utc
    ).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    setattr(stored, _MODIFIED_MS, config.last_modified_ms)
    setattr(stored, _ORDER, order if order is not None else next(_PUT_ORDER))
    return stored


_PUT_ORDER = itertools.count(1)


def _from_moto(fn: ResolvedFunction, owner: Any, stored: Any) -> EventInvokeConfig:
    """The mock's view of moto's stored config (one moto itself stored has no virtual time)."""
    settings = stored.config if isinstance(stored.config, dict) else {}
    destinations = settings.get("DestinationConfig") or {}
    modified_ms = getattr(stored, _MODIFIED_MS, None)
    if modified_ms is None:
        modified_ms = _moto_time_ms(stored.last_modified)

    def number(key: str) -> int | None:
        value = settings.get(key)
        return None if value is None else int(value)

    return EventInvokeConfig(
        function=fn,
        owner=owner,
        last_modified_ms=modified_ms,
        maximum_retry_attempts=number("MaximumRetryAttempts"),
        maximum_event_age_s=number("MaximumEventAgeInSeconds"),
        on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
        on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
    )


def _moto_time_ms(text: Any) -> int:
    """moto's ``LastModified`` text (``2024-01-01T00:00:00.000+0000``) in epoch milliseconds."""
    try:
        return round(datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
    except ValueError:
        return 0


def settings_for(controller: LambdaAsyncController, fn: ResolvedFunction) -> AsyncSettings:
    """The settings an async invoke of ``fn`` (as qualified by the caller) runs under.

    The config is the invoked qualifier's own (``fn.config_qualifier``: unqualified means
    ``$LATEST``, an alias uses the alias's config). INFERENCE (spec section 3 and open point 7): no
    fallback from an alias or version to ``$LATEST``; without a config the defaults apply (2 retries,
    21600 s). The DLQ is version configuration, so an alias uses the DLQ of the version it points to.
    """
    config = controller.state(EventInvokeConfigs).get(fn)
    target = dead_letter_target(fn)
    if config is None:
        return AsyncSettings(dead_letter_target=target)
    return AsyncSettings(
        maximum_retry_attempts=(
            DEFAULT_MAXIMUM_RETRY_ATTEMPTS
            if config.maximum_retry_attempts is None
            else config.maximum_retry_attempts
        ),
        maximum_event_age_s=(
            DEFAULT_MAXIMUM_EVENT_AGE_S
            if config.maximum_event_age_s is None
            else config.maximum_event_age_s
        ),
        on_success=config.on_success,
        on_failure=config.on_failure,
        dead_letter_target=target,
    )


# -- request validation -----------------------------------------------------------------------------
def _range_problems(value: Any, field: str, shape: Shape) -> list[str]:
    """AWS's wording for a number outside the model's range.

    botocore checks only ``min`` on the client; ``max`` is the server's (spec section 0). The text
    ``Value '5' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less
    than or equal to 2`` is from cfn-lint #1926 and moto's tests; ``greater than or equal to`` is its
    counterpart, reachable only with client-side validation switched off.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        return []
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    prefix = f"Value '{value}' at '{field}' failed to satisfy constraint: Member must have value"
    if high is not None and value > high:
        return [f"{prefix} less than or equal to {high}"]
    if low is not None and value < low:
        return [f"{prefix} greater than or equal to {low}"]
    return []


def _destination_problems(destination_config: Any) -> list[str]:
    if not isinstance(destination_config, dict):
        return []
    problems = []
    for slot in _SLOTS:
        value = (destination_config.get(slot) or {}).get("Destination")
        if not isinstance(value, str):
            continue
        field = f"destinationConfig.{slot[0].lower()}{slot[1:]}.destination"
        problems += length_and_pattern_problems(
            value, field, _DESTINATION_MAX_LENGTH, _DESTINATION_PATTERN, DESTINATION_PATTERN_TEXT
        )
    return problems


def _validate_model(call: Call) -> None:
    """The constraints AWS checks before anything else, all reported at once.

    INFERENCE: problems are listed in the order the members appear in the model.
    """
    members = call.model.input_shape.members
    params = call.params
    problems: list[str] = []
    qualifier = params.get("Qualifier")
    if isinstance(qualifier, str) and not _QUALIFIER_PATTERN.fullmatch(qualifier):
        problems.append(
            f"Value '{qualifier}' at 'qualifier' failed to satisfy constraint: Member must "
            f"satisfy regular expression pattern: {_QUALIFIER_PATTERN_TEXT}"
        )
    for name, field in (
        ("MaximumRetryAttempts", "maximumRetryAttempts"),
        ("MaximumEventAgeInSeconds", "maximumEventAgeInSeconds"),
        ("MaxItems", "maxItems"),
    ):
        if name in params and name in members:
            problems += _range_problems(params[name], field, members[name])
    problems += _destination_problems(params.get("DestinationConfig"))
    if problems:
        raise validation_exception(problems)


def _require_settings(params: dict[str, Any]) -> None:
    """Put/Update need at least one setting; ``DestinationConfig={"OnSuccess": {}}`` counts (recorded)."""
    if not any(
        key in params
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
    ):
        raise invalid_parameter(
            "You must specify at least one of error handling or destination setting."
        )


def _requested_destinations(params: dict[str, Any]) -> dict[str, str | None]:
    """``{"OnSuccess": arn|None, "OnFailure": arn|None}``; INFERENCE: an empty ARN means unset."""
    config = params.get("DestinationConfig") or {}
    return {slot: ((config.get(slot) or {}).get("Destination") or None) for slot in _SLOTS}


def _check_destinations(fn: ResolvedFunction, destinations: dict[str, str | None]) -> None:
    """Reject destinations Lambda would not accept, with its messages.

    Unsupported services first (recorded: an ``:iam:`` ARN gives ``The provided destination config
    DestinationConfig(onSuccess=OnSuccess(destination=<arn>), onFailure=null) is invalid.``; the
    ``onFailure=OnFailure(destination=<arn>)`` form mirrors it). INFERENCE: S3 as OnSuccess and
    ``kafka://`` URIs (valid only for event source mappings) are unsupported the same way. Then each
    slot, OnSuccess first (INFERENCE on the order), is checked by :func:`_check_destination`.
    """
    unsupported = False
    for slot, arn in destinations.items():
        if arn is None:
            continue
        match = _ARN.match(arn)
        if match is None or match["service"] not in _SUPPORTED[slot]:
            unsupported = True
    if unsupported:
        rendered = {
            slot: f"{slot}(destination={arn})" if arn else "null"
            for slot, arn in destinations.items()
        }
        raise invalid_parameter(
            "The provided destination config DestinationConfig("
            f"onSuccess={rendered['OnSuccess']}, onFailure={rendered['OnFailure']}) is invalid."
        )
    for arn in destinations.values():
        if arn is not None:
            _check_destination(fn, arn)


def _check_destination(fn: ResolvedFunction, arn: str) -> None:
    """One destination must exist (and not be the function itself).

    Recorded: a missing Lambda function gives ``The destination ARN <arn> is invalid.`` and the
    function itself ``You can't specify the function as a destination for itself.``. The same
    "is invalid" text is what AWS answers for an SQS queue not (yet) there (faast.js notes on a
    CreateFunction failure), for an EventBridge bus ARN that is wrong (serverless #7507) and, per
    the Terraform/Pulumi ``FunctionEventInvokeConfig`` docs, whenever Lambda cannot send to the
    target ("a generic InvalidParameterValueException: The destination ARN ... is invalid."). So
    INFERENCE: a missing SNS topic or S3 bucket, and a FIFO queue or topic (unsupported as
    destinations: aws-cdk #13793 saw Put rejected with a 400 InvalidParameterValueException for a
    FIFO OnFailure queue; the message was not quoted), get that same text.
    """
    invalid = invalid_parameter(f"The destination ARN {arn} is invalid.")
    match = _ARN.match(arn)
    if match is None:
        raise invalid
    service, region, account, resource = (
        match["service"],
        match["region"],
        match["account"],
        match["resource"],
    )
    if service == "lambda":
        if not resource.startswith("function:"):
            raise invalid
        name = resource.removeprefix("function:").split(":")[0]
        # INFERENCE: any qualifier of the function itself counts as itself.
        if (name, region, account) == (fn.name, fn.region, fn.account_id):
            raise invalid_parameter("You can't specify the function as a destination for itself.")
        try:
            resolve(arn, fn.region, fn.account_id)
        except AwsError as error:
            raise invalid from error
        return
    if service in ("sqs", "sns") and resource.endswith(".fifo"):
        raise invalid
    if not _target_exists(service, arn, account, region, resource):
        raise invalid


def _target_exists(service: str, arn: str, account_id: str, region: str, resource: str) -> bool:
    if service == "sqs":
        return sqs_queue_exists(account_id, region, resource)
    if service == "sns":
        return sns_topic_exists(arn, account_id, region)
    if service == "events":
        return _event_bus_exists(account_id, region, resource)
    return _bucket_exists(resource)


def _event_bus_exists(account_id: str, region: str, resource: str) -> bool:
    from moto.events.models import events_backends

    if not resource.startswith("event-bus/"):
        return False
    try:
        return (
            resource.removeprefix("event-bus/") in events_backends[account_id][region].event_buses
        )
    except KeyError:
        return False


def _bucket_exists(name: str) -> bool:
    from moto.s3.models import s3_backends

    return "/" not in name and name in s3_backends.bucket_accounts


# -- operations -------------------------------------------------------------------------------------
_FUNCTION_MISSING = "The function doesn't exist."
_NO_CONFIG = "The function {arn} doesn't have an EventInvokeConfig"


def _named_function(call: Call, not_found: str) -> ResolvedFunction:
    """The function version ``FunctionName`` and ``Qualifier`` name; ``not_found`` is the message
    for a missing one (Put/Update and Get/Delete word it differently, recorded)."""
    params = call.params
    return resolve(
        params["FunctionName"],
        call.region,
        call.account_id,
        params.get("Qualifier"),
        not_found=not_found,
    )


@operation("lambda", "PutFunctionEventInvokeConfig")
def put_function_event_invoke_config(call: Call) -> Reply:
    """Put replaces the whole config: settings left out are removed (API reference, recorded)."""
    _validate_model(call)
    params = call.params
    _require_settings(params)
    fn = _named_function(call, _FUNCTION_MISSING)
    config = put_config(call.controller, fn, params)
    return json_reply(200, config.render())


def put_config(
    controller: LambdaAsyncController, fn: ResolvedFunction, params: dict[str, Any]
) -> EventInvokeConfig:
    """Check ``params``' destinations and store them with its settings as ``fn``'s whole config
    (``PutFunctionEventInvokeConfig``; also a CloudFormation ``AWS::Lambda::EventInvokeConfig``)."""
    destinations = _requested_destinations(params)
    _check_destinations(fn, destinations)
    config = EventInvokeConfig(
        function=fn,
        owner=_owner(fn),
        last_modified_ms=controller.clock.now_ms(),
        maximum_retry_attempts=params.get("MaximumRetryAttempts"),
        maximum_event_age_s=params.get("MaximumEventAgeInSeconds"),
        on_success=destinations["OnSuccess"],
        on_failure=destinations["OnFailure"],
    )
    controller.state(EventInvokeConfigs).put(config)
    return config


@operation("lambda", "UpdateFunctionEventInvokeConfig")
def update_function_event_invoke_config(call: Call) -> Reply:
    """Update changes only what it is given; it never creates a config (recorded 404).

    INFERENCE: ``DestinationConfig`` is one setting, replaced as a whole when given (as LocalStack's
    AWS-validated provider does).
    """
    _validate_model(call)
    params = call.params
    _require_settings(params)
    fn = _named_function(call, _FUNCTION_MISSING)
    configs = call.controller.state(EventInvokeConfigs)
    current = configs.get(fn)
    if current is None:
        raise AwsError("ResourceNotFoundException", _NO_CONFIG.format(arn=fn.qualified_arn), 404)
    changes: dict[str, Any] = {"last_modified_ms": call.controller.clock.now_ms()}
    if "MaximumRetryAttempts" in params:
        changes["maximum_retry_attempts"] = params["MaximumRetryAttempts"]
    if "MaximumEventAgeInSeconds" in params:
        changes["maximum_event_age_s"] = params["MaximumEventAgeInSeconds"]
    if "DestinationConfig" in params:
        destinations = _requested_destinations(params)
        _check_destinations(fn, destinations)
        changes["on_success"] = destinations["OnSuccess"]
        changes["on_failure"] = destinations["OnFailure"]
    updated = replace(current, **changes)
    configs.put(updated)
    return json_reply(200, updated.render())


def _resolve_for_read(call: Call) -> ResolvedFunction:
    """Get/Delete answer a missing function like a missing config (recorded)."""
    return _named_function(call, _NO_CONFIG)


@operation("lambda", "GetFunctionEventInvokeConfig")
def get_function_event_invoke_config(call: Call) -> Reply:
    _validate_model(call)
    fn = _resolve_for_read(call)
    config = call.controller.state(EventInvokeConfigs).get(fn)
    if config is None:
        raise AwsError("ResourceNotFoundException", _NO_CONFIG.format(arn=fn.qualified_arn), 404)
    return json_reply(200, config.render())


@operation("lambda", "DeleteFunctionEventInvokeConfig")
def delete_function_event_invoke_config(call: Call) -> Reply:
    _validate_model(call)
    fn = _resolve_for_read(call)
    configs = call.controller.state(EventInvokeConfigs)
    if configs.get(fn) is None:
        raise AwsError("ResourceNotFoundException", _NO_CONFIG.format(arn=fn.qualified_arn), 404)
    configs.delete(fn)
    return Reply(204)


@operation("lambda", "ListFunctionEventInvokeConfigs")
def list_function_event_invoke_configs(call: Call) -> Reply:
    """All of a function's configs (``$LATEST``, versions, aliases), ``MaxItems`` (default 50) a page.

    ``NextMarker`` is the ARN of the first config of the next page (AWS's marker is opaque).
    INFERENCE: a marker that matches no config gives an empty page. A qualifier in ``FunctionName``
    is ignored (INFERENCE): the list is per function.
    """
    _validate_model(call)
    params = call.params
    parsed = parse_function_name(params["FunctionName"], call.region, call.account_id)
    if not function_exists(parsed.account_id, parsed.region, parsed.name):
        raise AwsError("ResourceNotFoundException", _FUNCTION_MISSING, 404)
    configs = list(
        call.controller.state(EventInvokeConfigs).of_function(
            parsed.account_id, parsed.region, parsed.name
        )
    )
    start = 0
    marker = params.get("Marker")
    if marker:
        arns = [config.function_arn for config in configs]
        start = arns.index(marker) if marker in arns else len(configs)
    size = int(params.get("MaxItems") or 50)
    page = configs[start : start + size]
    data: dict[str, Any] = {"FunctionEventInvokeConfigs": [config.render() for config in page]}
    if start + size < len(configs):
        data["NextMarker"] = configs[start + size].function_arn
    return json_reply(200, data)
