"""Push triggers: SNS subscriptions, EventBridge rules and S3 notifications invoking Lambda asynchronously.

AWS services push these events to Lambda with an *asynchronous* invoke, so Lambda's async retries,
destinations and DLQ apply [LDG with-sns.md, with-s3.md; spec §8]. moto handles the same deliveries
itself (it runs the function in Docker, raises ``NotImplementedError`` for EventBridge Lambda
targets, or drops the event). While the mock is active we replace the narrowest moto functions
where a delivery to Lambda happens, and hand the event to our async queue instead:

- SNS: ``moto.sns.models.Subscription.publish``, for ``lambda`` subscriptions and the
  notifications SNS writes to SQS, and ``SNSBackend.subscribe`` (``sns``).
- EventBridge: ``moto.events.models.Rule.send_to_targets``, for Lambda targets only (the other
  targets still go to moto), and ``EventsBackend.put_events`` so events carry virtual time.
- S3: ``moto.s3.notifications._invoke_awslambda`` and the functions that decide which events
  fire and what queues and topics get (``s3_notifications``).

The patches go in with the first active mock and come out with the last one: outside an active mock
moto behaves exactly as without this package. Each delivery runs on the scheduler, never inside the
publishing call, and enters the queue with its trigger (``sns``, ``events``, ``s3``) and source ARN
(topic, rule, bucket), so the timeline shows where an async event came from. What the producer
itself decides (filtered, retried, dead-lettered, dropped) is noted here, in the vocabulary of
``metrics.Kind``.

Failures before Lambda accepts the event belong to the producer, not to Lambda:

- SNS: a client-side error (the function no longer exists) is not retried and goes to the
  subscription's ``RedrivePolicy`` DLQ [DOCS sns-dead-letter-queues]; a server-side error (Lambda
  throttling the invoke, or a 5xx) is retried with SNS's policy for AWS-managed endpoints first
  [DOCS sns-message-delivery-retries].
- EventBridge: a missing function (or permission) is not retried and goes straight to the target's
  DLQ; throttles and 5xx are retried under the target's ``RetryPolicy`` [DOCS eb-rule-dlq].
- S3 notifications have no DLQ: the event is dropped, and the drop is noted.

Not modelled: resource-based permissions (AWS refuses a trigger whose function policy does not
allow the service principal; here every trigger may invoke; S3's check of a configuration only
refuses a function that does not exist).
"""

from __future__ import annotations

import contextvars
import json
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from .. import async_queue
from ..clock import to_datetime
from ..functions import ResolvedFunction, resolve
from ..interception import AwsError, interceptor
from ..metrics import History
from ..mock import on_start

if TYPE_CHECKING:
    from ..mock import LambdaAsyncController

__all__ = [
    "EVENTBRIDGE_RETRY_CAP_S",
    "eventbridge_retry_delay",
    "send_scheduled_event",
]


# -- patching moto ------------------------------------------------------------------------------

_PATCH_LOCK = threading.Lock()
_ACTIVE_MOCKS = 0
_ORIGINALS: dict[str, tuple[Any, str, Any]] = {}


def _replacements() -> list[tuple[str, Any, str, Any]]:
    """``(key, owner, attribute, replacement)`` for every moto function (or constant) we replace."""
    from moto.events import models as events_models
    from moto.events.utils import EventTemplateParser
    from moto.sns import models as sns_models

    from . import s3_notifications, sns

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    return [
        ("sns.publish", sns_models.Subscription, "publish", sns.publish),
        ("sns.subscribe", sns_models.SNSBackend, "subscribe", sns.subscribe),
        ("events.send_to_targets", events_models.Rule, "send_to_targets", _events_send),
        ("events.put_events", events_models.EventsBackend, "put_events", _events_put_events),
        # The event a target without Input gets carries ``account`` [DOCS eb-events-structure];
        # moto's template for non-Lambda targets (SQS, logs, buses) leaves it out.
        (
            "events.input_template",
            EventTemplateParser,
            "DEFAULT_EVENT_INPUT_TEMPLATE",
            _with_account(template),
        ),
        *s3_notifications.replacements(),
    ]


@on_start
def _activate(controller: LambdaAsyncController) -> None:
    """Patch moto on the first activation; the last one to stop unpatches it."""
    global _ACTIVE_MOCKS
    with _PATCH_LOCK:
        if _ACTIVE_MOCKS == 0:
            for key, owner, attribute, replacement in _replacements():
                _ORIGINALS[key] = (owner, attribute, vars(owner)[attribute])
                setattr(owner, attribute, replacement)
        _ACTIVE_MOCKS += 1
    controller.add_cleanup(_deactivate)


def _deactivate() -> None:
    global _ACTIVE_MOCKS
    with _PATCH_LOCK:
        _ACTIVE_MOCKS -= 1
        if _ACTIVE_MOCKS == 0:
            for owner, attribute, original in _ORIGINALS.values():
                setattr(owner, attribute, original)
            _ORIGINALS.clear()


def _original(key: str) -> Any:
    return _ORIGINALS[key][2]


def _with_account(template: str) -> str:
    """moto's default target input template with ``"account"`` after ``"source"`` (unchanged if
    it has one already or no ``source`` to follow)."""
    source = '"source": "<source>", '
    if '"account"' in template or source not in template:
        return template
    return template.replace(source, source + '"account": "<account>", ', 1)


def _controller() -> LambdaAsyncController | None:
    return interceptor().controller


# -- shared plumbing ----------------------------------------------------------------------------


def _arn_parts(arn: str) -> tuple[str, str]:
    """``(region, account)`` of an ARN (empty strings when it has too few parts)."""
    parts = arn.split(":")
    return (parts[3], parts[4]) if len(parts) > 4 else ("", "")


def _resolve_arn(arn: str, region: str, account_id: str) -> ResolvedFunction:
    """The function version a trigger names, honouring a qualified ARN (version or alias)."""
    arn_region, arn_account = _arn_parts(arn)
    return resolve(arn, arn_region or region, arn_account or account_id)


def _note(controller: LambdaAsyncController, kind: str, function_arn: str, **detail: Any) -> None:
    """A producer's decision in the history, under the name of the function it was meant for."""
    parts = function_arn.split(":")
    name = parts[6] if len(parts) > 6 else function_arn
    controller.state(History).note(kind, function_name=name, **detail)


def _retriable(error: AwsError) -> bool:
    """Throttles and service errors may pass; other client errors fail the same way every time."""
    return error.status == 429 or error.status >= 500


def _put_service_metric(
    controller: LambdaAsyncController,
    account_id: str,
    region: str,
    namespace: str,
    name: str,
    dimensions: dict[str, str],
) -> None:
    """One ``Count`` datapoint of a producer's metric, at virtual time, in moto CloudWatch."""
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[account_id][region].put_metric_data(
        namespace,
        [
            {
                "MetricName": name,
                "Value": 1.0,
                "Unit": "Count",
                # moto keeps naive UTC datetimes and compares them with naive query bounds.
                "Timestamp": to_datetime(controller.clock.now_ms()).replace(tzinfo=None),
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            }
        ],
    )


def _send_to_queue(
    controller: LambdaAsyncController,
    queue_arn: str,
    body: str,
    attributes: dict[str, str] | None = None,
) -> str | None:
    """Send ``body`` to an SQS queue in moto; returns why it failed, or ``None`` on success."""
    from moto.sqs.models import sqs_backends

    region, account_id = _arn_parts(queue_arn)
    parts = queue_arn.split(":")
    if not region or not account_id or len(parts) < 6:
        return f"invalid queue ARN {queue_arn}"
    message_attributes = {
        name: {"DataType": "String", "StringValue": value}
        for name, value in (attributes or {}).items()
    }
    try:
        sqs_backends[account_id][region].send_message(
            parts[5], body, message_attributes=message_attributes
        )
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    # A mapping may poll this queue, and a message arriving this way is invisible to its poller.
    controller.scheduler.wake_pollers()
    return None


# -- EventBridge --------------------------------------------------------------------------------

#: Target ``RetryPolicy`` defaults: 185 retries within 24 hours [DOCS eb-rule-retry-policy].
EVENTBRIDGE_DEFAULT_RETRIES = 185
EVENTBRIDGE_DEFAULT_MAX_AGE_S = 86_400
#: INFERENCE: AWS documents only "exponential back off and jitter". We double from 1 s up to 480 s,
#: without jitter so runs are reproducible; with that cap the default 185 retries end after about
#: 23.6 hours, so the two documented defaults run out together.
EVENTBRIDGE_RETRY_CAP_S = 480.0


def eventbridge_retry_delay(retry: int) -> float:
    """Delay in seconds before EventBridge's ``retry``-th retry of one target (1-based)."""
    return float(min(2.0 ** (retry - 1), EVENTBRIDGE_RETRY_CAP_S))


def _eb_error_code(error: AwsError) -> str:
    """The DLQ ``ERROR_CODE`` for Lambda's answer.

    INFERENCE: eb-rule-dlq lists codes such as ``CONNECTION_FAILURE``, ``NO_PERMISSIONS`` and
    ``THROTTLING`` without mapping them to target errors; this mapping is ours.
    """
    if error.status == 404:
        return "RESOURCE_NOT_FOUND"
    if error.status == 403:
        return "NO_PERMISSIONS"
    if error.status == 429:
        return "THROTTLING"
    if error.status >= 500:
        return "INTERNAL_ERROR"
    return "SDK_CLIENT_ERROR"


def _eb_time(value: Any) -> str:
    """An event's ``time`` as targets receive it: ISO 8601 to the second, in UTC, with ``Z``."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _eb_envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target receives it (moto's internal copy carries extra keys)."""
    return {
        "version": event.get("version", "0"),
        "id": event.get("id"),
        "detail-type": event.get("detail-type"),
        "source": event.get("source"),
        "account": event.get("account"),
        "time": _eb_time(event.get("time")),
        "region": event.get("region"),
        "resources": list(event.get("resources") or []),
        "detail": event.get("detail"),
    }


def _eb_target_input(target: dict[str, Any], event: dict[str, Any]) -> bytes:
    """What the target receives: the event, or its ``Input``, ``InputPath`` or ``InputTransformer``.

    ``Input`` is passed as given; ``InputPath`` selects part of the event with JSONPath;
    ``InputTransformer`` goes through moto's template engine [DOCS API_Target]. Raises
    ``ValueError`` when the result is not JSON (Lambda takes only JSON), or when a path is not
    JSONPath: AWS refuses such a target at ``PutTargets``, moto stores it, so the mock can only
    fail its deliveries (INFERENCE: as an input that cannot be delivered, never retried).
    """
    envelope = _eb_envelope(event)
    if target.get("Input") is not None:
        text = str(target["Input"])
        json.loads(text)
        return text.encode()
    if target.get("InputPath"):
        from jsonpath_ng.ext.parser import parse

        try:
            expression = parse(target["InputPath"])
        except Exception as error:  # jsonpath_ng's lexer and parser errors
            raise ValueError(f"InputPath is not valid JSONPath: {error}") from error
        matches = expression.find(envelope)
        # INFERENCE: a path that selects nothing delivers JSON null.
        return json.dumps(matches[0].value if matches else None).encode()
    transformer = target.get("InputTransformer")
    if transformer:
        from moto.events.utils import EventTemplateParser

        source = {**envelope, "ingestion-time": event.get("ingestion-time", event.get("time"))}
        try:
            value = EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap") or {},
                event=cast(Any, source),
            )
        except ValueError:
            raise
        except Exception as error:  # a path of InputPathsMap that is not JSONPath
            raise ValueError(f"InputTransformer cannot be applied: {error}") from error
        return json.dumps(value).encode()
    return json.dumps(envelope).encode()


def _events_put_events(backend: Any, events: list[dict[str, Any]]) -> Any:
    """``EventsBackend.put_events``: an entry without ``Time`` gets the virtual time, not the real."""
    controller = _controller()
    if controller is not None:
        now_s = controller.clock.now_s()
        events = [entry if entry.get("Time") else {**entry, "Time": now_s} for entry in events]
    return _original("events.put_events")(backend, events)


def _is_lambda_arn(arn: str) -> bool:
    return arn.startswith("arn:") and arn.split(":")[2:3] == ["lambda"]


#: Set while a scheduled rule fires (:func:`send_scheduled_event`).
_FIRING_SCHEDULE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mock_lambda_async_firing_schedule", default=False
)


def send_scheduled_event(rule: Any, event: dict[str, Any]) -> None:
    """Deliver a scheduled rule's ``Scheduled Event`` to its targets (:mod:`.schedules`)."""
    token = _FIRING_SCHEDULE.set(True)
    try:
        rule.send_to_targets(event)
    finally:
        _FIRING_SCHEDULE.reset(token)


def _events_send(rule: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
    """``Rule.send_to_targets``: Lambda targets go to the async queue, the others to moto.

    A scheduled rule without an event pattern matches no event put on its bus (moto 5.2.1 sends it
    every event: an empty pattern matches all); it sends only its own Scheduled Events.
    """
    if (
        getattr(rule, "scheduled_expression", None)
        and not rule.event_pattern._pattern
        and not _FIRING_SCHEDULE.get()
    ):
        return
    send = _original("events.send_to_targets")
    controller = _controller()
    lambda_targets = [t for t in rule.targets if _is_lambda_arn(str(t.get("Arn", "")))]
    if controller is None or not lambda_targets:
        send(rule, original_event, transform_input)
        return
    # moto delivers whatever the rule's state; a DISABLED rule delivers nothing [DOCS eb-rules].
    if rule.state == "ENABLED" and rule.event_pattern.matches_event(original_event):
        received_ms = controller.clock.now_ms()
        for target in lambda_targets:
            delivery = _EventBridgeDelivery(controller, rule, target, original_event, received_ms)
            controller.scheduler.call_soon(delivery.attempt, label=f"rule {rule.name} -> lambda")
    others = [t for t in rule.targets if not _is_lambda_arn(str(t.get("Arn", "")))]
    if others:
        saved = rule.targets
        rule.targets = others
        try:
            send(rule, original_event, transform_input)
        finally:
            rule.targets = saved


class _EventBridgeDelivery:
    """One event on its way to one Lambda target, under the target's ``RetryPolicy``."""

    def __init__(
        self,
        controller: LambdaAsyncController,
        rule: Any,
        target: dict[str, Any],
        event: dict[str, Any],
        received_ms: int,
    ) -> None:
        self.controller = controller
        self.rule_arn = str(rule.arn)
        self.rule_name = str(rule.name)
        self.account_id = str(rule.account_id)
        self.region = str(rule.region_name)
        self.target = dict(target)
        self.target_arn = str(target["Arn"])
        self.event = dict(event)
        self.received_ms = received_ms
        self.retries = 0
        policy = self.target.get("RetryPolicy") or {}
        self.max_retries = int(policy.get("MaximumRetryAttempts", EVENTBRIDGE_DEFAULT_RETRIES))
        self.max_age_s = int(policy.get("MaximumEventAgeInSeconds", EVENTBRIDGE_DEFAULT_MAX_AGE_S))

    def _metric(self, name: str) -> None:
        _put_service_metric(
            self.controller,
            self.account_id,
            self.region,
            "AWS/Events",
            name,
            {"RuleName": self.rule_name},
        )

    def attempt(self) -> None:
        try:
            fn = _resolve_arn(self.target_arn, self.region, self.account_id)
            try:
                payload = _eb_target_input(self.target, self.event)
            except ValueError as error:
                raise AwsError(
                    "InvalidRequestContentException",
                    f"Could not parse request body into json: {error}",
                ) from error
            async_queue.enqueue(
                self.controller, fn, payload, trigger="events", source=self.rule_arn
            )
        except AwsError as error:
            self._failed(error)
            return
        self._metric("Invocations")

    def _failed(self, error: AwsError) -> None:
        if not _retriable(error):
            # A missing function or permission fails every retry the same way, so EventBridge
            # sends the event straight to the DLQ [DOCS eb-rule-dlq].
            self._give_up(error, exhausted=None)
            return
        if self.retries >= self.max_retries:
            self._give_up(error, exhausted="MaximumRetryAttempts")
            return
        delay = eventbridge_retry_delay(self.retries + 1)
        due_ms = self.controller.clock.now_ms() + round(delay * 1000)
        if due_ms > self.received_ms + self.max_age_s * 1000:
            self._give_up(error, exhausted="MaximumEventAgeInSeconds")
            return
        self.retries += 1
        _note(
            self.controller,
            "retry_scheduled",
            self.target_arn,
            at=due_ms,
            attempt=self.retries + 1,
            reason=f"EventBridge delivery: {error.code}: {error.message}",
            source=self.rule_arn,
        )
        self.controller.scheduler.call_at(due_ms, self.attempt, label="rule retry -> lambda")

    def _give_up(self, error: AwsError, exhausted: str | None) -> None:
        """The target's DLQ gets the event with AWS's attributes; without one, it is dropped."""
        self._metric("FailedInvocations")
        reason = f"EventBridge delivery: {error.code}: {error.message}"
        dlq = (self.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            _note(self.controller, "dropped", self.target_arn, reason=reason, source=self.rule_arn)
            return
        # The attributes eb-rule-dlq names. EXHAUSTED_RETRY_CONDITION only when a retry limit ended
        # the delivery (INFERENCE: an error that is never retried exhausts no retry condition).
        attributes = {
            "RULE_ARN": self.rule_arn,
            "TARGET_ARN": self.target_arn,
            "ERROR_CODE": _eb_error_code(error),
            "ERROR_MESSAGE": error.message,
            "RETRY_ATTEMPTS": str(self.retries),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        # The body is the event itself, before any input transformation (observed on AWS:
        # serverless/serverless#4647).
        body = json.dumps(_eb_envelope(self.event))
        failure = _send_to_queue(self.controller, str(dlq), body, attributes)
        if failure is None:
            self._metric("InvocationsSentToDlq")
            _note(
                self.controller,
                "dead_lettered",
                self.target_arn,
                destination=str(dlq),
                payload=body,
                reason=reason,
                source=self.rule_arn,
            )
        else:
            self._metric("InvocationsFailedToBeSentToDlq")
            _note(
                self.controller,
                "dead_letter_failed",
                self.target_arn,
                destination=str(dlq),
                reason=failure,
                source=self.rule_arn,
            )
