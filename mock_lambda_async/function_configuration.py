"""``FunctionConfiguration`` as Lambda renders it, where moto's rendering differs (moto 5.2.1).

Recorded against AWS ([LS] ``tests/aws/services/lambda_/test_lambda_api.snapshot.json``,
``TestLambdaFunction::test_function_lifecycle``: ``create_response`` and ``get_function_response``),
every configuration carries ``LoggingConfig``, ``RevisionId`` and (managed runtimes)
``RuntimeVersionConfig``; ``Environment`` (recorded as ``{"Variables": {}}`` for a function
created without variables; INFERENCE: that test's helper passes an empty ``Environment``, and
AWS's documented examples show no ``Environment`` for a function created without one, so it is
echoed when the request gave one); no ``Layers`` key without layers. ``CreateFunction`` answers ``State: "Pending"`` with
``StateReason: "The function is being created."`` and ``StateReasonCode: "Creating"``; the function
is ``Active`` (no reason) by the next read, with a new ``RevisionId`` (the recorded ``<uuid:1>`` and
``<uuid:2>``). moto gives none of these (``Layers: []``, ``Environment`` only with variables,
``State: "Active"`` at once) and ignores ``LoggingConfig`` in requests.

The values live on moto's ``LambdaFunction`` object of each version, as the DLQ does
(``dead_letter_config``): moto copies ``$LATEST`` into a published version, which then gets a
revision of its own (the recorded ``fn_version_result``).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from .functions import partition_of

__all__ = ["complete_configuration", "configured", "created", "updated"]

#: Attributes on moto's ``LambdaFunction``.
_REVISION = "_mock_lambda_async_revision"
_ENVIRONMENT_SET = "_mock_lambda_async_environment_set"
_LOGGING = "_mock_lambda_async_logging_config"

#: ``CreateFunction``'s state while Lambda prepares the function (recorded).
PENDING_STATE = {
    "State": "Pending",
    "StateReason": "The function is being created.",
    "StateReasonCode": "Creating",
}
#: ``UpdateFunctionConfiguration``'s status while Lambda applies the change (recorded).
UPDATING_STATUS = {
    "LastUpdateStatus": "InProgress",
    "LastUpdateStatusReason": "The function is being created.",
    "LastUpdateStatusReasonCode": "Creating",
}
#: The log levels a JSON-format function defaults to [DOCS monitoring-cloudwatchlogs-advanced,
#: "the default log level is INFO"] (recorded: ``test_function_advanced_logging_configuration``).
_DEFAULT_LOG_LEVEL = "INFO"


def _new_revision(moto_fn: Any) -> str:
    revision = str(uuid.uuid4())
    setattr(moto_fn, _REVISION, (id(moto_fn), revision))
    return revision


def _revision(moto_fn: Any) -> str:
    """The version's revision; a copy of another version's object (a publish) gets its own."""
    stored = getattr(moto_fn, _REVISION, None)
    if isinstance(stored, tuple) and stored[0] == id(moto_fn):
        return str(stored[1])
    return _new_revision(moto_fn)


def _logging_config(requested: Any, name: str, previous: dict[str, str] | None) -> dict[str, str]:
    """The stored ``LoggingConfig``: the request's fields over the previous (or default) ones."""
    config = dict(previous or {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"})
    if isinstance(requested, dict):
        config.update({k: str(v) for k, v in requested.items() if v is not None})
    if config.get("LogFormat") == "JSON":
        config.setdefault("ApplicationLogLevel", _DEFAULT_LOG_LEVEL)
        config.setdefault("SystemLogLevel", _DEFAULT_LOG_LEVEL)
    else:
        # Log levels apply to JSON logs only (INFERENCE: Text drops them, as the console does).
        config.pop("ApplicationLogLevel", None)
        config.pop("SystemLogLevel", None)
    return config


def configured(moto_fn: Any, params: dict[str, Any]) -> str:
    """Keep what a Create/UpdateFunctionConfiguration request set; returns the new revision."""
    if "Environment" in params:
        setattr(moto_fn, _ENVIRONMENT_SET, True)
    previous = getattr(moto_fn, _LOGGING, None)
    if "LoggingConfig" in params or previous is None:
        name = str(moto_fn.function_name)
        setattr(moto_fn, _LOGGING, _logging_config(params.get("LoggingConfig"), name, previous))
    return _new_revision(moto_fn)


def _settled(configuration: dict[str, Any], moto_fns: list[Any], state: dict[str, str]) -> None:
    """Answer with the transitional ``state``; reads after it see the change done, which is a change
    of its own: a new revision (recorded ``<uuid:1>`` -> ``<uuid:2>``)."""
    configuration.update(state)
    for moto_fn in moto_fns:
        _new_revision(moto_fn)


def created(configuration: dict[str, Any], moto_fns: list[Any]) -> None:
    """``CreateFunction``'s answer: ``Pending``, without ``LastUpdateStatus`` (recorded)."""
    configuration.pop("LastUpdateStatus", None)
    _settled(configuration, moto_fns, PENDING_STATE)


def updated(configuration: dict[str, Any], moto_fns: list[Any]) -> None:
    """``UpdateFunctionConfiguration``'s answer: ``LastUpdateStatus: "InProgress"`` (recorded
    ``update_func_conf_response``); later reads see ``Successful``, as moto renders them."""
    _settled(configuration, moto_fns, UPDATING_STATUS)


def complete_configuration(configuration: dict[str, Any], moto_fn: Any | None) -> dict[str, Any]:
    """Add what Lambda shows and moto leaves out to one ``FunctionConfiguration`` moto rendered."""
    if not configuration.get("Layers"):
        configuration.pop("Layers", None)
    if moto_fn is None:
        return configuration
    if getattr(moto_fn, _ENVIRONMENT_SET, False) and "Environment" not in configuration:
        configuration["Environment"] = {"Variables": dict(moto_fn.environment_vars or {})}
    logging = getattr(moto_fn, _LOGGING, None)
    configuration["LoggingConfig"] = dict(
        logging or _logging_config(None, str(moto_fn.function_name), None)
    )
    configuration["RevisionId"] = _revision(moto_fn)
    runtime = configuration.get("Runtime")
    if runtime and configuration.get("PackageType", "Zip") == "Zip":
        configuration["RuntimeVersionConfig"] = {
            "RuntimeVersionArn": runtime_version_arn(str(moto_fn.region), str(runtime))
        }
    return configuration


def runtime_version_arn(region: str, runtime: str) -> str:
    """``arn:<partition>:lambda:<region>::runtime:<64 hex digits>`` (the recorded shape).

    INFERENCE: AWS's digest names one build of the runtime; here it is the SHA-256 of the runtime
    name, so it is stable for a runtime and differs between runtimes (as the recorded update from
    python3.12 to python3.11 changes ``<resource:2>`` to ``<resource:3>``).
    """
    digest = hashlib.sha256(runtime.encode()).hexdigest()
    return f"arn:{partition_of(region)}:lambda:{region}::runtime:{digest}"
