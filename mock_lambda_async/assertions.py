"""The ``lam.assert_*`` helpers: check what happened, never wait.

Time is virtual, so there is nothing to wait for: with ``auto_drain`` each helper first settles
pending work, as any AWS call the test makes would (without it, the helper checks what has run so
far). A failed check raises ``AssertionError`` whose message ends with the timeline, so the reason
is on screen. Every helper returns what it found, for further checks.

``count``/``times``: ``None`` means "at least one"; a number means exactly that many (``0``: none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlparse

from .metrics import Attempt, History, Kind, TimelineEntry, function_name_of

if TYPE_CHECKING:
    from .mock import LambdaAsyncController

__all__ = [
    "DeadLetter",
    "assert_dead_lettered",
    "assert_delivered",
    "assert_dropped",
    "assert_failed",
    "assert_invoked",
    "assert_succeeded",
    "settle",
    "target_contents",
]

#: Heading of the timeline in failure messages (and of the pytest report section).
TIMELINE_HEADING = "mock_lambda_async timeline"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A failed event as a dead-letter queue or topic holds it (what ``assert_dead_lettered`` finds).

    ``body``: the message body, decoded when it is JSON (a function's DLQ gets the original event;
    an SQS redrive DLQ, the original message). ``attributes``: each message attribute's value. A
    function's DLQ message says why it failed in ``RequestID``, ``ErrorCode`` and ``ErrorMessage``,
    also readable as :attr:`request_id`, :attr:`error_code` and :attr:`error_message` (``None``
    on messages that lack them, such as a redrive DLQ's).
    """

    body: Any
    attributes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    @property
    def request_id(self) -> str | None:
        return self.attributes.get("RequestID")

    @property
    def error_code(self) -> str | None:
        """``"200"`` after a function error, ``"429"`` for an event throttled until it expired."""
        return self.attributes.get("ErrorCode")

    @property
    def error_message(self) -> str | None:
        return self.attributes.get("ErrorMessage")


def settle(controller: LambdaAsyncController) -> None:
    """With ``auto_drain``, run pending work as before any AWS call; otherwise do nothing."""
    controller.before_api_call()


def assert_invoked(
    controller: LambdaAsyncController,
    function_name: str,
    *,
    times: int | None = None,
    trigger: str | None = None,
) -> list[Attempt]:
    """``function_name`` (name or ARN) ran, ``times`` attempts if given, of ``trigger`` if given."""
    __tracebackhide__ = True
    found = _attempts(controller, function_name, trigger)
    if not _matches(len(found), times):
        _fail(
            controller,
            f"expected {_who(function_name, trigger)} to run {_expected(times, 'time')}, "
            f"it ran {_plural(len(found), 'time')}",
        )
    return found


def assert_succeeded(
    controller: LambdaAsyncController,
    function_name: str,
    *,
    times: int | None = None,
    trigger: str | None = None,
) -> list[Attempt]:
    """``function_name`` had successful attempts (``times`` of them if given)."""
    __tracebackhide__ = True
    return _counted_attempts(
        controller, function_name, trigger, times, "successful attempt", lambda attempt: attempt.ok
    )


def assert_failed(
    controller: LambdaAsyncController,
    function_name: str,
    *,
    error_type: str | type[BaseException] | None = None,
    times: int | None = None,
    trigger: str | None = None,
) -> list[Attempt]:
    """``function_name`` had failed attempts, of ``error_type`` if given (``ValueError`` or
    ``"Sandbox.Timedout"``), ``times`` of them if given."""
    __tracebackhide__ = True
    wanted = error_type if isinstance(error_type, str | None) else error_type.__name__
    return _counted_attempts(
        controller,
        function_name,
        trigger,
        times,
        f"failed attempt with {wanted}" if wanted else "failed attempt",
        lambda attempt: attempt.ok is False and wanted in (None, attempt.error_type),
    )


def assert_delivered(
    controller: LambdaAsyncController,
    destination: str,
    count: int | None = None,
    *,
    condition: str | None = None,
) -> list[Any]:
    """``destination`` holds invocation records (``count`` of them if given); returns them.

    An SQS queue (URL or ARN) or SNS topic is read as it is now in moto, without consuming
    anything. Other destinations (a function, an event bus, a bucket) are checked against the
    deliveries the mock recorded. ``condition`` keeps the records whose
    ``requestContext.condition`` matches (``Success``, ``RetriesExhausted``, ``EventAgeExceeded`` …).
    """
    __tracebackhide__ = True
    settle(controller)
    records = _holdings(controller, destination, Kind.DELIVERED, "record")
    if condition is not None:
        records = [record for record in records if _condition(record) == condition]
    if not _matches(len(records), count):
        which = f" with condition {condition}" if condition else ""
        _fail(
            controller,
            f"expected {_expected(count, 'record')}{which} at {destination}, found {len(records)}",
        )
    return records


def assert_dead_lettered(
    controller: LambdaAsyncController, target: str, count: int | None = None
) -> list[DeadLetter]:
    """Dead-letter queue ``target`` holds failed events (``count`` of them if given); returns them
    as :class:`DeadLetter` records (body and message attributes), oldest first.

    Reads an SQS queue (URL or ARN) or SNS topic as it is now in moto, without consuming it, so
    it serves both a function's ``DeadLetterConfig`` and an SQS source queue's redrive DLQ.
    """
    __tracebackhide__ = True
    settle(controller)
    messages = _target_messages(controller, target)
    if messages is None:
        recorded = _recorded(controller, target, Kind.DEAD_LETTERED, "payload")
        events = [DeadLetter(payload) for payload in recorded]
    else:
        events = [DeadLetter(_decode(body), attributes) for body, attributes in messages]
    if not _matches(len(events), count):
        _fail(
            controller,
            f"expected {_expected(count, 'dead-lettered event')} in {target}, found {len(events)}",
        )
    return events


def assert_dropped(
    controller: LambdaAsyncController,
    function_name: str | None = None,
    *,
    reason: str | None = None,
    count: int | None = None,
) -> list[TimelineEntry]:
    """The mock dropped events (of ``function_name``; whose reason contains ``reason``)."""
    __tracebackhide__ = True
    settle(controller)
    name = function_name_of(function_name) if function_name else None
    found = [
        entry
        for entry in controller.state(History).timeline().select(Kind.DROPPED, function_name=name)
        if reason is None or reason in str(entry.detail.get("reason", ""))
    ]
    if not _matches(len(found), count):
        whose = f" of {function_name!r}" if function_name else ""
        why = f" because of {reason!r}" if reason else ""
        _fail(
            controller,
            f"expected {_expected(count, 'dropped event')}{whose}{why}, found {len(found)}",
        )
    return found


# -- reading targets ------------------------------------------------------------------------------
def target_contents(controller: LambdaAsyncController, target: str) -> list[Any] | None:
    """What an SQS queue (URL or ARN) or SNS topic (ARN) holds now, decoded; ``None`` otherwise.

    SQS: every message not deleted (in flight or not), oldest first; reading changes nothing (no
    receive count, no visibility). SNS: every message published to the topic. Bodies that are
    JSON are decoded. Raises ``AssertionError`` when the queue or topic does not exist.
    """
    messages = _target_messages(controller, target)
    return None if messages is None else [_decode(body) for body, _ in messages]


#: A message's raw body and its attributes' values.
_Message = tuple[str, dict[str, str]]


def _target_messages(controller: LambdaAsyncController, target: str) -> list[_Message] | None:
    """The messages :func:`target_contents` reads, undecoded, with their attributes."""
    if target.startswith("arn:"):
        parts = target.split(":", 5)
        if len(parts) == 6 and parts[2] == "sqs":
            return _queue_messages(controller, parts[4], parts[3], parts[5], target)
        if len(parts) == 6 and parts[2] == "sns":
            return _topic_messages(controller, parts[4], parts[3], target)
        return None
    url = urlparse(target)
    path = url.path.strip("/").split("/")
    if url.scheme in ("http", "https") and len(path) == 2:
        region = _url_region(url.hostname or "")
        return _queue_messages(controller, path[0], region, path[1], target)
    return None


def _queue_messages(
    controller: LambdaAsyncController, account: str, region: str, name: str, shown: str
) -> list[_Message]:
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account][region].queues.get(name)
    if queue is None:
        _fail(controller, f"SQS queue {shown} does not exist")
    # moto's public ``messages`` hides in-flight and delayed messages; the queue still holds them.
    messages = getattr(queue, "_messages", None)
    if messages is None:
        messages = queue.messages
    return [(m.body, _attribute_values(m.message_attributes)) for m in list(messages)]


def _topic_messages(
    controller: LambdaAsyncController, account: str, region: str, arn: str
) -> list[_Message]:
    from moto.sns.models import sns_backends

    topic = sns_backends[account][region].topics.get(arn)
    if topic is None:
        _fail(controller, f"SNS topic {arn} does not exist")
    return [(sent[1], _attribute_values(sent[3])) for sent in list(topic.sent_notifications)]


def _attribute_values(attributes: Mapping[str, Any] | None) -> dict[str, str]:
    """Message attribute values as moto keeps them: SQS ``StringValue``/``BinaryValue`` (base64),
    SNS ``Value``."""
    values: dict[str, str] = {}
    for name, attribute in (attributes or {}).items():
        for key in ("StringValue", "Value", "BinaryValue"):
            if isinstance(attribute, Mapping) and attribute.get(key) is not None:
                values[name] = str(attribute[key])
                break
    return values


def _url_region(host: str) -> str:
    """The region in ``sqs.<region>.amazonaws.com`` or legacy ``<region>.queue.amazonaws.com``."""
    from .mock import _default_region

    found = re.match(r"sqs\.([a-z0-9-]+)\.", host) or re.match(r"([a-z0-9-]+)\.queue\.", host)
    return found.group(1) if found else _default_region()


def _holdings(
    controller: LambdaAsyncController, target: str, kind: str, detail_key: str
) -> list[Any]:
    """The target's contents when moto can show them, else what the mock recorded sending there."""
    contents = target_contents(controller, target)
    if contents is not None:
        return contents
    return _recorded(controller, target, kind, detail_key)


def _recorded(
    controller: LambdaAsyncController, target: str, kind: str, detail_key: str
) -> list[Any]:
    """The ``detail_key`` of each ``kind`` entry the mock noted for ``target``, decoded."""
    entries = controller.state(History).timeline().select(kind)
    return [
        _decode(entry.detail.get(detail_key))
        for entry in entries
        if entry.detail.get("destination") == target
    ]


# -- helpers --------------------------------------------------------------------------------------
def _attempts(
    controller: LambdaAsyncController, function_name: str, trigger: str | None
) -> list[Attempt]:
    settle(controller)
    attempts = controller.state(History).invocations(function_name)
    return [attempt for attempt in attempts if trigger in (None, attempt.trigger)]


def _counted_attempts(
    controller: LambdaAsyncController,
    function_name: str,
    trigger: str | None,
    times: int | None,
    noun: str,
    keep: Callable[[Attempt], bool | None],
) -> list[Attempt]:
    """The attempts ``keep`` accepts, ``times`` of them if given, else a failure naming ``noun``.

    ``assert_succeeded`` and ``assert_failed`` differ only in what they count; both list every
    attempt's outcome in the message, so a wrong count shows what happened instead.
    """
    __tracebackhide__ = True
    attempts = _attempts(controller, function_name, trigger)
    found = [attempt for attempt in attempts if keep(attempt)]
    if not _matches(len(found), times):
        _fail(
            controller,
            f"expected {_expected(times, noun)} of {_who(function_name, trigger)}, "
            f"found {len(found)} {_outcomes(attempts)}",
        )
    return found


def _decode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _condition(record: Any) -> Any:
    context = record.get("requestContext") if isinstance(record, dict) else None
    return context.get("condition") if isinstance(context, dict) else None


def _matches(found: int, expected: int | None) -> bool:
    return found >= 1 if expected is None else found == expected


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _expected(count: int | None, noun: str) -> str:
    if count is None:
        return f"at least one {noun}"
    return f"exactly {_plural(count, noun)}"


def _who(function_name: str, trigger: str | None) -> str:
    return f"function {function_name!r}" + (f" ({trigger})" if trigger else "")


def _outcomes(attempts: list[Attempt]) -> str:
    if not attempts:
        return "(it never ran)"
    words = [
        "running" if attempt.ok is None else "ok" if attempt.ok else str(attempt.error_type)
        for attempt in attempts
    ]
    return f"(attempts: {', '.join(words)})"


def _fail(controller: LambdaAsyncController, message: str) -> NoReturn:
    __tracebackhide__ = True
    timeline = controller.state(History).timeline()
    raise AssertionError(f"{message}\n\n{TIMELINE_HEADING}:\n{timeline}")
