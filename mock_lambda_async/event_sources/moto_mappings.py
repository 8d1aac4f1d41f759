"""moto's ``EventSourceMapping`` objects as the one store of mappings.

Every mapping lives in moto's Lambda backend (``LambdaBackend._event_source_mappings``), whoever
created it: boto3 before the mock started, the mock's own ``CreateEventSourceMapping``, moto's
CloudFormation (``AWS::Lambda::EventSourceMapping``) or moto's backend API. The mock keeps only what
moto has no place for (the transition state, the poller) beside each object, by UUID
(:class:`~.mappings.MappingRegistry`). This module is the bridge: it reads and writes a mapping's
settings on moto's object, and keeps moto's own delivery path out of the way while a mock is active.

moto delivers to Lambda itself from the source's side: a queue, a Kinesis stream and a DynamoDB table
each hold a ``lambda_event_source_mappings`` dict, and moto runs the function (in Docker, or its
Docker-less backend) from ``SendMessage``/``PutRecord``/a table write for every entry. While the
first mock is active those entries are taken out (the mock's pollers deliver instead); when the
last one stops, every mapping still in moto's store is wired again as moto's
``create_event_source_mapping`` wires it, so moto alone carries on with what the mock left.

moto's ``create/update/delete_event_source_mapping`` (the methods its CloudFormation calls) are
wrapped while active: a mapping they create or change is handed to the active mock at once.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "MOTO_ATTRIBUTES",
    "all_moto_mappings",
    "attach_wiring",
    "detach_wiring",
    "hold_moto_backend",
    "moto_mappings",
    "new_moto_mapping",
]

#: The API name of each mapping setting and the attribute moto's ``EventSourceMapping`` keeps it in.
MOTO_ATTRIBUTES = {
    "BatchSize": "_batch_size",
    "MaximumBatchingWindowInSeconds": "max_batch_window",
    "StartingPosition": "starting_position",
    "StartingPositionTimestamp": "starting_position_timestamp",
    "ParallelizationFactor": "parallelization_factor",
    "FilterCriteria": "filter_criteria",
    "DestinationConfig": "destination_config",
    "MaximumRecordAgeInSeconds": "max_record_age",
    "BisectBatchOnFunctionError": "bisect_on_error",
    "MaximumRetryAttempts": "max_retry_attempts",
    "TumblingWindowInSeconds": "tumbling_window",
    "FunctionResponseTypes": "function_response_types",
    "ScalingConfig": "scaling_config",
    "KMSKeyArn": "kms_key",
    "MetricsConfig": "metrics",
    "ProvisionedPollerConfig": "poller_config",
}


def moto_mappings(account_id: str, region: str) -> dict[str, Any]:
    """moto's mappings of one account and region, by UUID (the backend moto serves requests from)."""
    from ..functions import lambda_backend

    store: dict[str, Any] = lambda_backend(account_id, region)._event_source_mappings
    return store


def _backend_dicts() -> list[Any]:
    from moto.awslambda.models import lambda_backends
    from moto.awslambda_simple.models import lambda_simple_backends

    return [lambda_backends, lambda_simple_backends]


def all_moto_mappings() -> Iterator[tuple[dict[str, Any], Any]]:
    """``(store, mapping)`` for every mapping moto holds, in every account and region, both modes.

    Reads only the backends that exist (``dict`` methods: moto's backend dicts create on access).
    """
    for backends in _backend_dicts():
        for account in list(dict.values(backends)):
            for backend in list(dict.values(account)):
                store = backend._event_source_mappings
                for mapping in list(store.values()):
                    yield store, mapping


def _lambda_models() -> Any:
    """``moto.awslambda.models``, typed loosely: we replace some of its methods while active."""
    return importlib.import_module("moto.awslambda.models")


def new_moto_mapping(spec: dict[str, Any]) -> Any:
    """A moto ``EventSourceMapping`` (UUID from moto's seedable random), not stored anywhere yet."""
    return _lambda_models().EventSourceMapping(spec)


# -- moto's own delivery path ------------------------------------------------------------------------
def _source_side(mapping: Any) -> tuple[dict[str, Any], str] | None:
    """The ``lambda_event_source_mappings`` dict moto delivers from for ``mapping``, and its key."""
    arn = str(mapping.event_source_arn)
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    try:
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            queue = sqs_backends[account][region].queues.get(resource)
            return (queue.lambda_event_source_mappings, mapping.function_arn) if queue else None
        if service == "kinesis":
            from moto.kinesis.models import kinesis_backends

            streams = kinesis_backends[account][region].streams.values()
            stream = next((s for s in streams if s.arn == arn), None)
            return (stream.lambda_event_source_mappings, arn) if stream else None
        if service == "dynamodb":
            from moto.dynamodb.models import dynamodb_backends

            name = resource.removeprefix("table/").split("/stream/")[0]
            table = dynamodb_backends[account][region].tables.get(name)
            return (table.lambda_event_source_mappings, mapping.function_arn) if table else None
    except KeyError:
        return None
    return None


def detach_wiring(mapping: Any) -> None:
    """Take ``mapping`` out of its source's delivery dict (moto must not deliver it)."""
    side = _source_side(mapping)
    if side is None:
        return
    wiring = side[0]
    for name, wired in list(wiring.items()):
        if wired is mapping:
            del wiring[name]


def attach_wiring(mapping: Any) -> None:
    """Wire ``mapping`` into its source as moto's ``create_event_source_mapping`` does."""
    side = _source_side(mapping)
    if side is not None:
        wiring, key = side
        wiring[key] = mapping


def _source_wirings() -> Iterator[dict[str, Any]]:
    """The delivery dict of every queue, Kinesis stream and DynamoDB table moto holds."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends
    from moto.sqs.models import sqs_backends

    sources: list[tuple[Any, str]] = [
        (sqs_backends, "queues"),
        (kinesis_backends, "streams"),
        (dynamodb_backends, "tables"),
    ]
    for backends, resources in sources:
        for account in list(dict.values(backends)):
            for backend in list(dict.values(account)):
                for resource in list(getattr(backend, resources).values()):
                    wiring = getattr(resource, "lambda_event_source_mappings", None)
                    if isinstance(wiring, dict):
                        yield wiring


#: What was taken out of moto's delivery dicts at the first hold: ``(dict, key, mapping)``.
_taken: list[tuple[dict[str, Any], str, Any]] = []
#: The UUIDs moto's store held then.
_stored_at_start: set[str] = set()


def _take_all_wiring() -> None:
    """Empty every delivery dict, the entries of mappings since deleted from moto's store too
    (moto's ``delete_event_source_mapping`` leaves them, and moto would deliver through them)."""
    _stored_at_start.update(mapping.uuid for _, mapping in all_moto_mappings())
    for wiring in _source_wirings():
        for key, mapping in list(wiring.items()):
            _taken.append((wiring, key, mapping))
            del wiring[key]


def _give_back_wiring() -> None:
    """Restore what was taken (but mappings deleted while active), then wire every stored mapping."""
    stored = {mapping.uuid for _, mapping in all_moto_mappings()}
    for wiring, key, mapping in _taken:
        uuid = getattr(mapping, "uuid", None)
        if uuid not in _stored_at_start or uuid in stored:
            wiring[key] = mapping
    _taken.clear()
    _stored_at_start.clear()
    for _, mapping in all_moto_mappings():
        attach_wiring(mapping)


# -- moto's backend API while active -------------------------------------------------------------------
#: Called with ``("create" | "update" | "delete", moto mapping)`` when moto's API changes one.
Listener = Callable[[str, Any], None]

_lock = threading.Lock()
_holders: list[Listener] = []
_saved: dict[str, Any] = {}


def hold_moto_backend(listener: Listener) -> Callable[[], None]:
    """Keep moto's delivery path out while held; ``listener`` hears of moto-API changes.

    Returns the release. The first holder detaches every mapping moto holds and wraps moto's
    create/update/delete; the last release rewires every mapping left and unwraps them. The
    innermost (last) holder is the one told.
    """
    with _lock:
        if not _holders:
            _take_all_wiring()
            _wrap()
        _holders.append(listener)

    def release() -> None:
        with _lock:
            if listener in _holders:
                _holders.remove(listener)
            if not _holders and _saved:
                _unwrap()
                _give_back_wiring()

    return release


def _tell(kind: str, mapping: Any) -> None:
    holders = list(_holders)
    if holders and mapping is not None:
        holders[-1](kind, mapping)


def _wrap() -> None:
    backend_class = _lambda_models().LambdaBackend

    create = backend_class.create_event_source_mapping
    update = backend_class.update_event_source_mapping
    delete = backend_class.delete_event_source_mapping

    def create_held(self: Any, spec: dict[str, Any]) -> Any:
        mapping = create(self, spec)
        detach_wiring(mapping)
        _tell("create", mapping)
        return mapping

    def update_held(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        mapping = update(self, uuid, spec)
        _tell("update", mapping)
        return mapping

    def delete_held(self: Any, uuid: str) -> Any:
        mapping = delete(self, uuid)
        _tell("delete", mapping)
        return mapping

    _saved.update(create=create, update=update, delete=delete)
    backend_class.create_event_source_mapping = create_held
    backend_class.update_event_source_mapping = update_held
    backend_class.delete_event_source_mapping = delete_held


def _unwrap() -> None:
    backend_class = _lambda_models().LambdaBackend

    backend_class.create_event_source_mapping = _saved.pop("create")
    backend_class.update_event_source_mapping = _saved.pop("update")
    backend_class.delete_event_source_mapping = _saved.pop("delete")
