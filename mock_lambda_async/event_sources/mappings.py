"""The event source mapping API (Create/Get/Update/Delete/List) and the mapping registry.

We answer all five operations ourselves (moto's mappings are never created), for SQS queues,
Kinesis streams and DynamoDB streams, with the responses and errors AWS gives (spec §6, §7). Each
enabled mapping has a poller registered on the controller's scheduler: :class:`~.sqs.SqsPoller` for
queues, ``streams.StreamPoller`` for streams.

*States on the virtual clock.* ``CreateEventSourceMapping`` answers ``Creating`` (202), ``Update``
answers ``Updating`` (``Enabling``/``Disabling`` when ``Enabled`` flips) and ``Delete`` answers
``Deleting``; the mapping settles (``Enabled``/``Disabled``, or gone) at the next scheduler step of
the same virtual instant. With ``auto_drain`` (the default) any following AWS call drains first, so
a ``Get`` right after ``Create`` already sees ``Enabled``; with ``auto_drain=False`` it sees
``Creating`` until ``lam.drain()``/``lam.advance()``. Disabling or deleting stops polling at once:
no batch starts after the call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..functions import (
    ResolvedFunction,
    function_arn,
    parse_function_name,
    partition_of,
    resolve,
)
from ..interception import AwsError, Call, Reply, json_reply, operation
from .filtering import parse_filter_criteria
from .sqs import SqsPoller, sqs_queue
from .streams import StreamPoller

if TYPE_CHECKING:
    from ..mock import LambdaAsyncController

__all__ = ["EventSourceMapping", "MappingPoller", "MappingRegistry"]

SQS, KINESIS, DYNAMODB = "sqs", "kinesis", "dynamodb"
STREAMS = (KINESIS, DYNAMODB)

#: ``ListEventSourceMappings`` returns at most 100 items a page "even if you set the number
#: higher" ([DOCS] API_ListEventSourceMappings, MaxItems).
LIST_PAGE_LIMIT = 100

#: Settings that only stream mappings take ([BC] "(Kinesis, DynamoDB Streams)" members).
_STREAM_ONLY = (
    "ParallelizationFactor",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
)
#: Every setting a mapping echoes, in the order AWS prints them (recorded CLI/[LS] responses).
_SQS_KEYS = (
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "FilterCriteria",
    "FunctionResponseTypes",
    "ScalingConfig",
    "KMSKeyArn",
    "MetricsConfig",
    "ProvisionedPollerConfig",
)
_STREAM_KEYS = (
    "StartingPosition",
    "StartingPositionTimestamp",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "ParallelizationFactor",
    "FilterCriteria",
    "DestinationConfig",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "FunctionResponseTypes",
    "KMSKeyArn",
    "MetricsConfig",
    "ProvisionedPollerConfig",
)
_SQS_DEFAULTS: dict[str, Any] = {
    "BatchSize": 10,
    "MaximumBatchingWindowInSeconds": 0,
    "FunctionResponseTypes": [],
}
_STREAM_DEFAULTS: dict[str, Any] = {
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "ParallelizationFactor": 1,
    "DestinationConfig": {"OnFailure": {}},
    "MaximumRecordAgeInSeconds": -1,
    "BisectBatchOnFunctionError": False,
    "MaximumRetryAttempts": -1,
    "TumblingWindowInSeconds": 0,
    "FunctionResponseTypes": [],
}
#: Create/Update members that are neither settings nor identity (never echoed as config).
_NOT_CONFIG = ("FunctionName", "EventSourceArn", "Enabled", "Tags", "UUID")


@dataclass
class EventSourceMapping:
    """One mapping. ``config`` holds the settings under their API names (``BatchSize``,
    ``MaximumBatchingWindowInSeconds``, ``StartingPosition``, ``StartingPositionTimestamp``,
    ``MaximumRetryAttempts``, ``MaximumRecordAgeInSeconds``, ``BisectBatchOnFunctionError``,
    ``ParallelizationFactor``, ``TumblingWindowInSeconds``, ``DestinationConfig``,
    ``FunctionResponseTypes``, ``FilterCriteria``, ``ScalingConfig``) with defaults filled in, so
    pollers read ``mapping.config["BatchSize"]`` and see updates live. ``FilterCriteria`` and
    ``ScalingConfig`` are present only when set; ``StartingPositionTimestamp`` is in epoch seconds.
    ``function`` is the function as resolved when the mapping was created or updated (an alias
    keeps its name: resolve it again to follow the alias), ``function_arn`` the ARN AWS shows.
    """

    uuid: str
    arn: str
    function: ResolvedFunction
    source_arn: str
    source_type: str  # "sqs" | "kinesis" | "dynamodb"
    config: dict[str, Any]
    enabled: bool = True
    state: str = "Creating"
    state_transition_reason: str = "USER_INITIATED"
    last_modified_ms: int = 0
    last_processing_result: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: ``FunctionArn`` as the mapping reports it: qualified when the mapping names a qualifier.
    function_arn: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    deleted: bool = False


class MappingPoller(Protocol):
    """A poller for one mapping, registered on the scheduler while the mapping is enabled."""

    def poll(self, now_ms: int) -> int | None: ...

    def close(self) -> None: ...


class MappingRegistry:
    """Per-controller mappings by UUID, and the pollers of the enabled ones."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self.mappings: dict[str, EventSourceMapping] = {}
        self.pollers: dict[str, MappingPoller] = {}

    # -- lifecycle --------------------------------------------------------------------------------
    def add(self, mapping: EventSourceMapping) -> None:
        self.mappings[mapping.uuid] = mapping
        self._settle_soon(mapping)

    def _settle_soon(self, mapping: EventSourceMapping) -> None:
        self.controller.scheduler.call_soon(
            lambda: self._settle(mapping), label=f"event source mapping {mapping.uuid}"
        )

    def _settle(self, mapping: EventSourceMapping) -> None:
        """End a transition: ``Deleting`` mappings vanish, others become Enabled or Disabled."""
        if mapping.deleted:
            if self.mappings.get(mapping.uuid) is mapping:
                del self.mappings[mapping.uuid]
            return
        mapping.state = "Enabled" if mapping.enabled else "Disabled"
        mapping.last_modified_ms = self.controller.clock.now_ms()
        if mapping.enabled:
            self.start(mapping)
        else:
            self.stop(mapping)

    def start(self, mapping: EventSourceMapping) -> None:
        if mapping.uuid in self.pollers:
            return
        poller = _make_poller(self.controller, mapping)
        if poller is None:
            return
        self.pollers[mapping.uuid] = poller
        self.controller.scheduler.add_poller(poller)

    def stop(self, mapping: EventSourceMapping) -> None:
        poller = self.pollers.pop(mapping.uuid, None)
        if poller is not None:
            self.controller.scheduler.remove_poller(poller)
            poller.close()

    def update(self, mapping: EventSourceMapping, enabled: bool | None) -> None:
        if enabled is None or enabled == mapping.enabled:
            mapping.state = "Updating"
        else:
            mapping.state = "Enabling" if enabled else "Disabling"
            mapping.enabled = enabled
        if not mapping.enabled:
            self.stop(mapping)
        mapping.last_modified_ms = self.controller.clock.now_ms()
        self._settle_soon(mapping)

    def delete(self, mapping: EventSourceMapping) -> None:
        mapping.state = "Deleting"
        mapping.deleted = True
        mapping.last_modified_ms = self.controller.clock.now_ms()
        self.stop(mapping)
        self._settle_soon(mapping)

    def close(self) -> None:
        for uuid_ in list(self.pollers):
            self.stop(self.mappings[uuid_])

    # -- queries ----------------------------------------------------------------------------------
    def get(self, uuid_: str, region: str, account_id: str) -> EventSourceMapping:
        """The live mapping ``uuid_`` of that region and account, or AWS's 404 ([LS] recorded)."""
        mapping = self.mappings.get(uuid_)
        if (
            mapping is None
            or mapping.deleted
            or mapping.arn.split(":")[3:5] != [region, account_id]
        ):
            raise AwsError(
                "ResourceNotFoundException", "The resource you requested does not exist.", 404
            )
        return mapping

    def pollers_of(self, source_arn: str) -> list[MappingPoller]:
        """The running pollers reading ``source_arn``."""
        return [
            poller
            for uuid_, poller in self.pollers.items()
            if self.mappings[uuid_].source_arn == source_arn
        ]


def _make_poller(controller: LambdaAsyncController, mapping: EventSourceMapping) -> MappingPoller:
    if mapping.source_type == SQS:
        return SqsPoller(controller, mapping)
    return StreamPoller(controller, mapping)


# -- errors -----------------------------------------------------------------------------------------
def _invalid(message: str) -> AwsError:
    """``InvalidParameterValueException``: body ``{"Type": "User", "message": ...}`` ([LS])."""
    return AwsError("InvalidParameterValueException", message, message_key="message")


def _camel(name: str) -> str:
    """AWS's member path spelling: the first letter lowered (``KMSKeyArn`` -> ``kMSKeyArn``)."""
    return name[:1].lower() + name[1:]


# -- event sources ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    arn: str
    kind: str  # sqs | kinesis | dynamodb
    region: str
    account_id: str
    resource: str  # queue name | stream name | "table/stream-label"


def _parse_source(arn: str) -> _Source:
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise _invalid("Unrecognized event source.")
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    if service == "sqs":
        return _Source(arn, SQS, region, account, resource)
    if service == "kinesis" and resource.startswith("stream/"):
        return _Source(arn, KINESIS, region, account, resource.split("/")[1])
    if service == "dynamodb" and "/stream/" in resource:
        return _Source(arn, DYNAMODB, region, account, resource)
    if service in ("kafka", "mq", "rds", "docdb"):
        raise _invalid(
            f"mock_lambda_async maps SQS queues, Kinesis streams and DynamoDB streams; "
            f"{service} event sources are not supported: {arn}"
        )
    raise _invalid("Unrecognized event source.")


def _check_source_exists(source: _Source) -> None:
    if source.kind == SQS:
        if sqs_queue(source.account_id, source.region, source.resource) is None:
            # [LS] recorded; AWS reports the failure of its own first poll.
            raise _invalid(
                "Error occurred while ReceiveMessage. SQS Error Code: "
                "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue "
                "does not exist."
            )
        return
    if not _stream_exists(source):
        # Real AWS message, e.g. CloudFormation "Invalid request provided: Stream not found: arn:…"
        # (aws-samples stack output quoted in a public project README).
        raise _invalid(f"Stream not found: {source.arn}")


def _stream_exists(source: _Source) -> bool:
    if source.kind == KINESIS:
        from moto.kinesis.models import kinesis_backends

        streams = kinesis_backends[source.account_id][source.region].streams
        stream_arn = source.arn.split("/consumer/")[0]
        return any(stream.arn == stream_arn for stream in streams.values())
    from moto.dynamodb.models import dynamodb_backends

    table_name, _, label = source.resource.removeprefix("table/").partition("/stream/")
    table = dynamodb_backends[source.account_id][source.region].tables.get(table_name)
    return table is not None and table.latest_stream_label == label


# -- shared validation ---------------------------------------------------------------------------------
def _check_settings(source: _Source, config: dict[str, Any], given: dict[str, Any]) -> None:
    """The per-source rules of Create and Update; ``config`` is the merged result."""
    destination = given.get("DestinationConfig")
    if destination and "OnSuccess" in destination:
        # [LS] test_event_source_mapping_exceptions (recorded).
        raise _invalid(
            "Unsupported DestinationConfig parameter for given event source mapping type."
        )
    if source.kind == SQS:
        _check_sqs_settings(source, config, given)
    else:
        _check_stream_settings(source, config, given)
    if "FilterCriteria" in given:
        parse_filter_criteria(given["FilterCriteria"])


def _check_sqs_settings(source: _Source, config: dict[str, Any], given: dict[str, Any]) -> None:
    if "StartingPosition" in given or "StartingPositionTimestamp" in given:
        # [LS] test_api.snapshot.json (recorded for both parameters).
        raise _invalid("StartingPosition is not valid for SQS event sources.")
    for name in _STREAM_ONLY:
        if name in given:
            # INFERENCE: the form AWS uses for MSK ("Unsupported 'maximumBatchingWindowInSeconds'
            # parameter for given event source mapping type.", pulumi-aws#1418).
            raise _invalid(
                f"Unsupported '{_camel(name)}' parameter for given event source mapping type."
            )
    if "DestinationConfig" in given:
        # INFERENCE: OnFailure on SQS is unrecorded; DestinationConfig is "(Streams and Kafka only)"
        # [BC], so we answer as for OnSuccess.
        raise _invalid(
            "Unsupported DestinationConfig parameter for given event source mapping type."
        )
    batch_size = config["BatchSize"]
    window = config["MaximumBatchingWindowInSeconds"]
    if source.resource.endswith(".fifo") and window:
        # Real AWS (aws-lambda-dotnet#1758, CloudFormation output). A FIFO batch size above 10
        # therefore always fails: with a window this way, without one on the rule below.
        raise _invalid("Batching window is not supported for FIFO queues")
    if batch_size > 10 and not window:
        raise _invalid(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10"
        )


def _check_stream_settings(source: _Source, config: dict[str, Any], given: dict[str, Any]) -> None:
    position = config.get("StartingPosition")
    if position is None:
        # [LS] provider, InvalidParameterValueException (spec §7).
        raise _invalid(
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null."
        )
    if source.kind == DYNAMODB and position == "AT_TIMESTAMP":
        raise _invalid(f"Unsupported starting position for arn type: {source.arn}")
    if "StartingPositionTimestamp" in config and position != "AT_TIMESTAMP":
        raise _invalid("Timestamp only valid with StartingPosition AT_TIMESTAMP")
    if position == "AT_TIMESTAMP" and "StartingPositionTimestamp" not in config:
        # INFERENCE: unrecorded; a Kinesis AT_TIMESTAMP read needs a timestamp.
        raise _invalid(
            "StartingPositionTimestamp must be provided with StartingPosition AT_TIMESTAMP"
        )
    age = config["MaximumRecordAgeInSeconds"]
    if age != -1 and not 60 <= age <= 604800:
        # Real AWS (terraform-provider-aws#16113).
        raise _invalid(
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)"
        )
    if "ScalingConfig" in given:
        # INFERENCE: ScalingConfig is "(Amazon SQS only)" [BC]; answered like other misplaced settings.
        raise _invalid("Unsupported 'scalingConfig' parameter for given event source mapping type.")


def _check_function(fn: ResolvedFunction, source: _Source) -> None:
    """SQS: the queue's visibility timeout must cover the function timeout ([DOCS] services-sqs-configure)."""
    if source.kind != SQS:
        return
    queue = sqs_queue(source.account_id, source.region, source.resource)
    if queue is None:
        return
    timeout = int(fn.moto().timeout or 3)
    visibility = int(queue.visibility_timeout)
    if visibility < timeout:
        # Real AWS text (terraform-provider-aws issue output and several public projects).
        raise _invalid(
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
            f"{timeout} seconds"
        )


def _resolve_function(name: str, call: Call) -> tuple[ResolvedFunction, str]:
    """The function and the ``FunctionArn`` the mapping shows; a missing one is AWS's 400."""
    parsed = parse_function_name(name, call.region, call.account_id)
    try:
        fn = resolve(name, call.region, call.account_id)
    except AwsError as error:
        if error.code == "ResourceNotFoundException":
            # [LS] recorded: 400 "Function does not exist" (also for an unknown qualifier, INFERENCE).
            raise _invalid("Function does not exist") from error
        raise
    shown = function_arn(parsed.region, parsed.account_id, parsed.name, parsed.qualifier)
    return fn, shown


def _duplicate_error(source: _Source, existing: EventSourceMapping) -> AwsError:
    name = existing.function.name
    if source.kind == SQS:
        # Real AWS text (DataBiosphere/azul#3399, aws-cdk#7122 quote); 409.
        message = (
            f'An event source mapping with SQS arn (" {source.arn} ") and function (" {name} ") '
            f"already exists. Please update or delete the existing mapping with UUID {existing.uuid}"
        )
    else:
        # Real AWS text (aws/serverless-application-model#1320).
        message = (
            f'The event source arn (" {source.arn} ") and function (" {name} ") provided mapping '
            f"already exists. Please update or delete the existing mapping with UUID {existing.uuid}"
        )
    return AwsError("ResourceConflictException", message, 409, message_key="message")


def _settings_from(params: dict[str, Any]) -> dict[str, Any]:
    settings = {k: v for k, v in params.items() if k not in _NOT_CONFIG and v is not None}
    if "StartingPositionTimestamp" in settings:
        settings["StartingPositionTimestamp"] = _epoch_seconds(
            settings["StartingPositionTimestamp"]
        )
    return settings


def _epoch_seconds(value: Any) -> float:
    """A timestamp parameter (datetime, ISO text or epoch number, as boto3 takes it) in epoch s."""
    from botocore.utils import parse_to_aware_datetime

    if isinstance(value, int | float):
        return float(value)
    return float(parse_to_aware_datetime(value).timestamp())


def _normalise(config: dict[str, Any]) -> None:
    """Empty ``FilterCriteria``/``ScalingConfig`` remove the setting ([DOCS] "pass an empty value")."""
    for key in ("FilterCriteria", "ScalingConfig"):
        value = config.get(key)
        if value is not None and not any(value.values()):
            del config[key]


# -- rendering ---------------------------------------------------------------------------------------
def describe(mapping: EventSourceMapping) -> dict[str, Any]:
    """``EventSourceMappingConfiguration`` as AWS returns it (spec §6/§7 recorded shapes)."""
    stream = mapping.source_type in STREAMS
    body: dict[str, Any] = {"UUID": mapping.uuid}
    keys = _STREAM_KEYS if stream else _SQS_KEYS
    config = mapping.config
    for key in keys:
        if key == "FilterCriteria":
            body["EventSourceArn"] = mapping.source_arn
        if key in config:
            body[key] = config[key]
    body["FunctionArn"] = mapping.function_arn
    body["LastModified"] = mapping.last_modified_ms / 1000
    if stream:
        body["LastProcessingResult"] = mapping.last_processing_result or "No records processed"
    body["State"] = mapping.state
    body["StateTransitionReason"] = mapping.state_transition_reason
    body["EventSourceMappingArn"] = mapping.arn
    return body


# -- operations ----------------------------------------------------------------------------------------
@operation("lambda", "CreateEventSourceMapping")
def create_event_source_mapping(call: Call) -> Reply:
    params = call.params
    if not params.get("EventSourceArn"):
        raise _invalid("Unrecognized event source.")
    source = _parse_source(params["EventSourceArn"])
    defaults = _SQS_DEFAULTS if source.kind == SQS else _STREAM_DEFAULTS
    given = _settings_from(params)
    config = {**_copy(defaults), **_copy(given)}
    _check_settings(source, config, given)
    _normalise(config)
    fn, shown_arn = _resolve_function(params["FunctionName"], call)
    _check_source_exists(source)
    _check_function(fn, source)
    registry = call.controller.state(MappingRegistry)
    for existing in registry.mappings.values():
        if (
            not existing.deleted
            and existing.source_arn == source.arn
            and existing.function_arn == shown_arn
        ):
            raise _duplicate_error(source, existing)
    mapping_id = str(uuid.uuid4())
    mapping = EventSourceMapping(
        uuid=mapping_id,
        arn=(
            f"arn:{partition_of(call.region)}:lambda:{call.region}:{call.account_id}:"
            f"event-source-mapping:{mapping_id}"
        ),
        function=fn,
        source_arn=source.arn,
        source_type=source.kind,
        config=config,
        enabled=params.get("Enabled", True) is not False,
        state="Creating",
        state_transition_reason="USER_INITIATED" if source.kind == SQS else "User action",
        last_modified_ms=call.controller.clock.now_ms(),
        function_arn=shown_arn,
        tags=dict(params.get("Tags") or {}),
    )
    registry.add(mapping)
    return json_reply(202, describe(mapping))


@operation("lambda", "GetEventSourceMapping")
def get_event_source_mapping(call: Call) -> Reply:
    registry = call.controller.state(MappingRegistry)
    mapping = registry.mappings.get(call.params["UUID"])
    if mapping is None or not mapping.deleted:
        mapping = registry.get(call.params["UUID"], call.region, call.account_id)
    return json_reply(200, describe(mapping))


@operation("lambda", "UpdateEventSourceMapping")
def update_event_source_mapping(call: Call) -> Reply:
    params = call.params
    registry = call.controller.state(MappingRegistry)
    mapping = registry.get(params["UUID"], call.region, call.account_id)
    source = _parse_source(mapping.source_arn)
    given = _settings_from(params)
    config = {**_copy(mapping.config), **_copy(given)}
    _check_settings(source, config, given)
    _normalise(config)
    fn, shown_arn = mapping.function, mapping.function_arn
    if params.get("FunctionName"):
        fn, shown_arn = _resolve_function(params["FunctionName"], call)
    _check_function(fn, source)
    mapping.config.clear()
    mapping.config.update(config)
    mapping.function, mapping.function_arn = fn, shown_arn
    registry.update(mapping, params.get("Enabled"))
    return json_reply(202, describe(mapping))


@operation("lambda", "DeleteEventSourceMapping")
def delete_event_source_mapping(call: Call) -> Reply:
    registry = call.controller.state(MappingRegistry)
    mapping = registry.get(call.params["UUID"], call.region, call.account_id)
    registry.delete(mapping)
    return json_reply(202, describe(mapping))


@operation("lambda", "ListEventSourceMappings")
def list_event_source_mappings(call: Call) -> Reply:
    params = call.params
    registry = call.controller.state(MappingRegistry)
    wanted_fn: str | None = None
    if params.get("FunctionName"):
        parsed = parse_function_name(params["FunctionName"], call.region, call.account_id)
        wanted_fn = function_arn(parsed.region, parsed.account_id, parsed.name, parsed.qualifier)
    mappings = [
        m
        for m in registry.mappings.values()
        if params.get("EventSourceArn") in (None, m.source_arn)
        and wanted_fn in (None, m.function_arn)
        and m.arn.split(":")[3:5] == [call.region, call.account_id]
    ]
    start = 0
    marker = params.get("Marker")
    if marker:
        ids = [m.uuid for m in mappings]
        if marker not in ids:
            # INFERENCE: markers are opaque; ours is the UUID of the next mapping.
            raise _invalid(f"Invalid marker: {marker}")
        start = ids.index(marker)
    size = min(int(params.get("MaxItems") or LIST_PAGE_LIMIT), LIST_PAGE_LIMIT)
    page = mappings[start : start + size]
    body: dict[str, Any] = {"EventSourceMappings": [describe(m) for m in page]}
    if start + size < len(mappings):
        body["NextMarker"] = mappings[start + size].uuid
    return json_reply(200, body)


def _copy(value: Any) -> Any:
    """A deep copy of plain JSON-like data (configs must not share lists with requests)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
