"""The event source mapping API (Create/Get/Update/Delete/List) and the mock's state of each mapping.

We answer all five operations ourselves, for SQS queues, Kinesis streams and DynamoDB streams, with
the responses and errors AWS gives (spec §6, §7). The mappings are moto's objects in moto's store
(:mod:`.moto_mappings`), whoever made them; :class:`MappingRegistry` keeps the mock's state beside
each one by UUID. Each enabled mapping has a poller registered on the controller's scheduler:
:class:`~.sqs.SqsPoller` for queues, ``streams.StreamPoller`` for streams.

*States on the virtual clock.* ``CreateEventSourceMapping`` answers ``Creating`` (202; ``Disabled``
with ``Enabled=False``), ``Update``
answers ``Updating`` (``Enabling``/``Disabling`` when ``Enabled`` flips) and ``Delete`` answers
``Deleting``; the mapping settles (``Enabled``/``Disabled``, or gone) at the next scheduler step of
the same virtual instant. With ``auto_drain`` (the default) any following AWS call drains first, so
a ``Get`` right after ``Create`` already sees ``Enabled``; with ``auto_drain=False`` it sees
``Creating`` until ``lam.drain()``/``lam.advance()``. Disabling or deleting stops polling at once:
no batch starts after the call.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..functions import (
    ResolvedFunction,
    function_arn,
    parse_function_name,
    resolve,
)
from ..interception import AwsError, Call, Reply, json_reply, operation
from ..mock import on_start
from .filtering import parse_filter_criteria
from .moto_mappings import (
    MOTO_ATTRIBUTES,
    all_moto_mappings,
    hold_moto_backend,
    moto_mappings,
    new_moto_mapping,
)
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
    #: moto's ``EventSourceMapping``, the stored mapping this state belongs to.
    moto: Any = None


class MappingPoller(Protocol):
    """A poller for one mapping, registered on the scheduler while the mapping is enabled."""

    def poll(self, now_ms: int) -> int | None: ...

    def close(self) -> None: ...


class MappingRegistry:
    """The mock's state beside each of moto's mappings (by UUID), and the enabled ones' pollers.

    moto's store is the only list of mappings (:mod:`.moto_mappings`): a mapping exists while
    moto holds it, and what the mock knows of one (its transition state, its poller) is found
    by its UUID. A mapping the mock has not seen yet (made before it started, or by moto's
    CloudFormation) is taken up the first time it is looked at, or when moto's API makes it.
    """

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self.mappings: dict[str, EventSourceMapping] = {}
        self.pollers: dict[str, MappingPoller] = {}
        self._release = hold_moto_backend(self._moto_changed)
        for _, moto_mapping in all_moto_mappings():
            self.view(moto_mapping)

    # -- moto's objects -------------------------------------------------------------------------
    def view(self, moto_mapping: Any, *, state: str | None = None) -> EventSourceMapping | None:
        """The mock's state for moto's ``moto_mapping``, taken up (and polled) on first sight.

        ``state`` is the transition a mapping moto's API just made starts in; without it a mapping
        first seen is settled (it existed before the mock). ``None`` for a mapping the mock cannot
        run (its function is gone): moto's own view of it is shown then.
        """
        known = self.mappings.get(moto_mapping.uuid)
        if known is not None and known.moto is moto_mapping:
            return known
        try:
            source = _parse_source(str(moto_mapping.event_source_arn))
            fn = resolve(
                str(moto_mapping.function_arn), moto_mapping.region, moto_mapping.account_id
            )
        except AwsError:
            return None
        enabled = _flag(moto_mapping.enabled)
        mapping = EventSourceMapping(
            uuid=moto_mapping.uuid,
            arn=moto_mapping.arn,
            function=fn,
            source_arn=source.arn,
            source_type=source.kind,
            config=_config_from_moto(moto_mapping, source.kind),
            enabled=enabled,
            state=state or ("Enabled" if enabled else "Disabled"),
            state_transition_reason=_REASONS[source.kind == SQS],
            last_modified_ms=round(float(moto_mapping.last_modified or 0) * 1000),
            function_arn=str(moto_mapping.function_arn),
            tags=dict(moto_mapping.tags or {}),
            moto=moto_mapping,
        )
        self.mappings[mapping.uuid] = mapping
        if state is not None:
            self._settle_soon(mapping)
        elif enabled:
            self.start(mapping)
        return mapping

    def _moto_changed(self, kind: str, moto_mapping: Any) -> None:
        """moto's API (its CloudFormation) created, updated or deleted ``moto_mapping``."""
        if kind == "create":
            self.view(moto_mapping, state="Creating")
            return
        mapping = self.mappings.get(moto_mapping.uuid)
        if mapping is None or mapping.moto is not moto_mapping:
            if kind == "update":
                self.view(moto_mapping, state="Updating")
            return
        if kind == "delete":
            self.stop(mapping)
            mapping.deleted = True
            del self.mappings[mapping.uuid]
            return
        with contextlib.suppress(AwsError):
            mapping.function = resolve(
                str(moto_mapping.function_arn), moto_mapping.region, moto_mapping.account_id
            )
        mapping.function_arn = str(moto_mapping.function_arn)
        mapping.config.clear()
        mapping.config.update(_config_from_moto(moto_mapping, mapping.source_type))
        self.update(mapping, _flag(moto_mapping.enabled))

    def save(self, mapping: EventSourceMapping) -> None:
        """Write the mapping's settings onto moto's object, as moto would show them."""
        _write_to_moto(mapping)

    # -- lifecycle --------------------------------------------------------------------------------
    def add(self, moto_mapping: Any, state: str = "Creating") -> EventSourceMapping:
        """Store a mapping the mock created in moto's store; it starts in ``state``."""
        moto_mappings(moto_mapping.account_id, moto_mapping.region)[moto_mapping.uuid] = (
            moto_mapping
        )
        mapping = self.view(moto_mapping, state=state)
        assert mapping is not None  # its function and source were just checked
        return mapping

    def _settle_soon(self, mapping: EventSourceMapping) -> None:
        self.controller.scheduler.call_soon(
            lambda: self._settle(mapping), label=f"event source mapping {mapping.uuid}"
        )

    def _settle(self, mapping: EventSourceMapping) -> None:
        """End a transition: ``Deleting`` mappings vanish, others become Enabled or Disabled."""
        if mapping.deleted:
            self._forget(mapping)
            return
        if self.mappings.get(mapping.uuid) is not mapping:
            return
        mapping.state = "Enabled" if mapping.enabled else "Disabled"
        mapping.last_modified_ms = self.controller.clock.now_ms()
        _write_to_moto(mapping)
        if mapping.enabled:
            self.start(mapping)
        else:
            self.stop(mapping)

    def _forget(self, mapping: EventSourceMapping) -> None:
        """A deleted mapping leaves moto's store and the mock."""
        store = moto_mappings(mapping.moto.account_id, mapping.moto.region)
        if store.get(mapping.uuid) is mapping.moto:
            del store[mapping.uuid]
        if self.mappings.get(mapping.uuid) is mapping:
            del self.mappings[mapping.uuid]

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
        _write_to_moto(mapping)
        self._settle_soon(mapping)

    def delete(self, mapping: EventSourceMapping) -> None:
        mapping.state = "Deleting"
        mapping.deleted = True
        mapping.last_modified_ms = self.controller.clock.now_ms()
        self.stop(mapping)
        self._settle_soon(mapping)

    def close(self) -> None:
        """Stop polling; a deletion still pending completes (AWS finishes it on its own)."""
        for uuid_ in list(self.pollers):
            self.stop(self.mappings[uuid_])
        for mapping in list(self.mappings.values()):
            if mapping.deleted:
                self._forget(mapping)
        self._release()

    # -- queries ----------------------------------------------------------------------------------
    def found(
        self, uuid_: str, region: str, account_id: str
    ) -> tuple[Any, EventSourceMapping | None]:
        """moto's mapping ``uuid_`` of that region and account and the mock's view of it, or 404."""
        moto_mapping = moto_mappings(account_id, region).get(uuid_)
        if moto_mapping is None:
            raise AwsError(
                "ResourceNotFoundException", "The resource you requested does not exist.", 404
            )
        return moto_mapping, self.view(moto_mapping)

    def get(self, uuid_: str, region: str, account_id: str) -> EventSourceMapping:
        """The live mapping ``uuid_`` of that region and account, or AWS's 404 ([LS] recorded)."""
        _, mapping = self.found(uuid_, region, account_id)
        if mapping is None or mapping.deleted:
            raise AwsError(
                "ResourceNotFoundException", "The resource you requested does not exist.", 404
            )
        return mapping

    def of(self, region: str, account_id: str) -> list[tuple[Any, EventSourceMapping | None]]:
        """Every mapping of one region and account, in moto's order, with the mock's view."""
        return [(m, self.view(m)) for m in list(moto_mappings(account_id, region).values())]

    def pollers_of(self, source_arn: str) -> list[MappingPoller]:
        """The running pollers reading ``source_arn``."""
        return [
            poller
            for uuid_, poller in self.pollers.items()
            if self.mappings[uuid_].source_arn == source_arn
        ]


#: ``StateTransitionReason`` of a mapping (SQS, streams), as AWS words it (recorded).
_REASONS = {True: "USER_INITIATED", False: "User action"}
#: Settings that are whole numbers (a CloudFormation template may give them as text).
_INTEGERS = (
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "ParallelizationFactor",
    "MaximumRecordAgeInSeconds",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
)


def _flag(value: Any) -> bool:
    """A boolean as moto keeps it: CloudFormation passes template text (``"false"``) through."""
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return value is not False


def _config_from_moto(moto_mapping: Any, kind: str) -> dict[str, Any]:
    """The mock's settings of moto's ``moto_mapping``: what it holds over the source's defaults."""
    config: dict[str, Any] = _copy(_SQS_DEFAULTS if kind == SQS else _STREAM_DEFAULTS)
    for name, attribute in MOTO_ATTRIBUTES.items():
        value = getattr(moto_mapping, attribute, None)
        if value is None or (kind == SQS and name.startswith("StartingPosition")):
            continue
        if name in _INTEGERS:
            value = int(value)
        elif name == "BisectBatchOnFunctionError":
            value = _flag(value)
        elif name == "StartingPositionTimestamp":
            value = _epoch_seconds(value)
        config[name] = _copy(value)
    _normalise(config)
    return config


def _write_settings(moto_mapping: Any, config: dict[str, Any]) -> None:
    for name, attribute in MOTO_ATTRIBUTES.items():
        setattr(moto_mapping, attribute, _copy(config.get(name)))


def _write_to_moto(mapping: EventSourceMapping) -> None:
    """Mirror the mapping onto moto's object: moto's own Get/List show it after the mock."""
    moto_mapping = mapping.moto
    _write_settings(moto_mapping, mapping.config)
    moto_mapping.enabled = mapping.enabled
    moto_mapping.function_arn = mapping.function_arn
    moto_mapping.tags = dict(mapping.tags)
    moto_mapping.last_modified = mapping.last_modified_ms / 1000


@on_start
def _hold_mappings(controller: LambdaAsyncController) -> None:
    """Take up moto's mappings (and keep moto's delivery path out) from the start."""
    controller.state(MappingRegistry)


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
    for _, existing in registry.of(call.region, call.account_id):
        if (
            existing is not None
            and not existing.deleted
            and existing.source_arn == source.arn
            and existing.function_arn == shown_arn
        ):
            raise _duplicate_error(source, existing)
    moto_mapping = new_moto_mapping(
        {
            "RegionName": call.region,
            "AccountId": call.account_id,
            "FunctionName": params["FunctionName"],
            "EventSourceArn": source.arn,
            "FunctionArn": shown_arn,
            "Enabled": params.get("Enabled", True) is not False,
            "Tags": dict(params.get("Tags") or {}),
        }
    )
    _write_settings(moto_mapping, config)
    moto_mapping.last_modified = call.controller.clock.now_ms() / 1000
    # AWS answers a mapping created disabled with ``Disabled`` at once, not ``Creating``.
    mapping = registry.add(moto_mapping, "Creating" if moto_mapping.enabled else "Disabled")
    return json_reply(202, describe(mapping))


@operation("lambda", "GetEventSourceMapping")
def get_event_source_mapping(call: Call) -> Reply:
    registry = call.controller.state(MappingRegistry)
    moto_mapping, mapping = registry.found(call.params["UUID"], call.region, call.account_id)
    return json_reply(200, _shown(moto_mapping, mapping))


def _shown(moto_mapping: Any, mapping: EventSourceMapping | None) -> dict[str, Any]:
    """The mapping as Get/List show it; one the mock cannot run (its function is gone), as moto does."""
    if mapping is None:
        return dict(moto_mapping.get_configuration())
    return describe(mapping)


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
    if params.get("FunctionName"):
        mapping.moto.function_name = params["FunctionName"]
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
    listed = [
        (moto_mapping, mapping)
        for moto_mapping, mapping in registry.of(call.region, call.account_id)
        if params.get("EventSourceArn") in (None, moto_mapping.event_source_arn)
        and wanted_fn in (None, moto_mapping.function_arn)
    ]
    mappings = [moto_mapping for moto_mapping, _ in listed]
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
    views = {moto_mapping.uuid: mapping for moto_mapping, mapping in listed}
    body: dict[str, Any] = {"EventSourceMappings": [_shown(m, views[m.uuid]) for m in page]}
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


# -- tags --------------------------------------------------------------------------------------------
_MAPPING_ARN = re.compile(r"arn:[^:]+:lambda:[^:]+:\d{12}:event-source-mapping:(?P<uuid>.+)")


def _tagged_mapping(call: Call) -> EventSourceMapping | None:
    """The mapping a tag operation's ``Resource`` names (``None``: another resource, moto's).

    A malformed ARN is refused with the model's ``ValidationException``; a mapping that does not
    exist answers 404 ``Event source mapping not found: <arn>``, as AWS records it.
    """
    arn = call.params["Resource"]
    match = _MAPPING_ARN.fullmatch(arn)
    if match is None:
        return None
    registry = call.controller.state(MappingRegistry)
    try:
        mapping = registry.get(match["uuid"], call.region, call.account_id)
    except AwsError:
        mapping = None
    if mapping is None or mapping.arn != arn:
        raise AwsError("ResourceNotFoundException", f"Event source mapping not found: {arn}", 404)
    return mapping


def _function_tags(call: Call, method: str, *args: Any) -> Any:
    """A function's tags are moto's: its backend answers, its errors go out as AWS's."""
    from moto.awslambda.models import lambda_backends
    from moto.core.exceptions import JsonRESTError

    backend = lambda_backends[call.account_id][call.region]
    try:
        return getattr(backend, method)(call.params["Resource"], *args)
    except JsonRESTError as error:
        raise AwsError(error.error_type, error.message, error.code) from error


@operation("lambda", "TagResource")
def tag_resource(call: Call) -> Reply:
    tags = dict(call.params.get("Tags") or {})
    mapping = _tagged_mapping(call)
    if mapping is None:
        _function_tags(call, "tag_resource", tags)
    else:
        mapping.tags.update(tags)
        call.controller.state(MappingRegistry).save(mapping)
    return Reply(204)


@operation("lambda", "UntagResource")
def untag_resource(call: Call) -> Reply:
    keys = list(call.params.get("TagKeys") or [])
    mapping = _tagged_mapping(call)
    if mapping is None:
        _function_tags(call, "untag_resource", keys)
    else:
        for key in keys:
            mapping.tags.pop(key, None)
        call.controller.state(MappingRegistry).save(mapping)
    return Reply(204)


@operation("lambda", "ListTags")
def list_tags(call: Call) -> Reply:
    mapping = _tagged_mapping(call)
    tags = _function_tags(call, "list_tags") if mapping is None else mapping.tags
    return json_reply(200, {"Tags": dict(tags)})
