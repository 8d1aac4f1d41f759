"""Push triggers: SNS subscriptions, EventBridge rules and S3 notifications invoking Lambda asynchronously.

AWS services push these events to Lambda with an *asynchronous* invoke, so Lambda's async retries,
destinations and DLQ apply [LDG with-sns.md, with-s3.md; spec §8]. moto handles the same deliveries
itself (it runs the function in Docker, raises ``NotImplementedError`` for EventBridge Lambda
targets, or drops the event). While the mock is active we replace the narrowest moto functions
where a delivery to Lambda happens, and hand the event to our async queue instead:

- SNS: ``moto.sns.models.Subscription.publish``, for ``lambda`` subscriptions only.
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

import base64
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

from .. import async_queue, recursion
from ..clock import iso_ms, to_datetime
from ..functions import ResolvedFunction, partition_of, resolve
from ..interception import AwsError, interceptor
from ..metrics import History
from ..mock import on_start

if TYPE_CHECKING:
    from ..mock import LambdaAsyncController

__all__ = ["EVENTBRIDGE_RETRY_CAP_S", "eventbridge_retry_delay", "sns_retry_delay"]


# -- patching moto ------------------------------------------------------------------------------

_PATCH_LOCK = threading.Lock()
_ACTIVE_MOCKS = 0
_ORIGINALS: dict[str, tuple[Any, str, Any]] = {}


def _replacements() -> list[tuple[str, Any, str, Any]]:
    """``(key, owner, attribute, replacement)`` for every moto function (or constant) we replace."""
    from moto.events import models as events_models
    from moto.events.utils import EventTemplateParser
    from moto.sns import models as sns_models

    from . import s3_notifications

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    return [
        ("sns.publish", sns_models.Subscription, "publish", _sns_publish),
        ("sns.subscribe", sns_models.SNSBackend, "subscribe", _sns_subscribe),
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


# -- SNS ----------------------------------------------------------------------------------------

#: SNS's delivery policy for AWS-managed endpoints (SQS, Lambda), which cannot be changed: 3 retries
#: without delay, 2 at 1 s, 10 backing off from 1 s to 20 s, then 100,000 at 20 s: 100,015 tries
#: over about 23 days [DOCS sns-message-delivery-retries].
SNS_IMMEDIATE_RETRIES = 3
SNS_PRE_BACKOFF_RETRIES = 2
SNS_BACKOFF_RETRIES = 10
SNS_POST_BACKOFF_RETRIES = 100_000
SNS_MIN_DELAY_S = 1.0
SNS_MAX_DELAY_S = 20.0


def sns_retry_delay(retry: int) -> float | None:
    """Delay in seconds before SNS's ``retry``-th retry (1-based); ``None`` once the policy is spent.

    INFERENCE: the backoff phase grows geometrically from the minimum to the maximum delay (SNS's
    ``exponential`` backoff function); AWS does not publish the intermediate values.
    """
    if retry <= SNS_IMMEDIATE_RETRIES:
        return 0.0
    retry -= SNS_IMMEDIATE_RETRIES
    if retry <= SNS_PRE_BACKOFF_RETRIES:
        return SNS_MIN_DELAY_S
    retry -= SNS_PRE_BACKOFF_RETRIES
    if retry <= SNS_BACKOFF_RETRIES:
        ratio = SNS_MAX_DELAY_S / SNS_MIN_DELAY_S
        return float(SNS_MIN_DELAY_S * ratio ** ((retry - 1) / (SNS_BACKOFF_RETRIES - 1)))
    retry -= SNS_BACKOFF_RETRIES
    if retry <= SNS_POST_BACKOFF_RETRIES:
        return SNS_MAX_DELAY_S
    return None


@dataclass(frozen=True)
class _SnsNotification:
    """One message as SNS signed it for one subscription."""

    subscription_arn: str
    endpoint: str
    topic_arn: str
    message_id: str
    message: str
    subject: str | None
    message_attributes: dict[str, Any]
    timestamp: str
    signature_version: str
    signature: str
    signing_cert_url: str
    unsubscribe_url: str

    def lambda_event(self) -> dict[str, Any]:
        """The event Lambda receives, in the spec's key order (§8).

        ``Subject`` is ``null`` and ``MessageAttributes`` ``{}`` when the message has none, as
        recorded against AWS [LS ``test_sns.snapshot.json``, ``test_python_lambda_subscribe_sns_topic``,
        ``test_sns_topic_as_lambda_dead_letter_queue``].
        """
        return {
            "Records": [
                {
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": self.subscription_arn,
                    "EventSource": "aws:sns",
                    "Sns": {
                        # Always "1", also for topics signing with version 2 (SHA256), as
                        # recorded [LS ``test_sns.snapshot.json``,
                        # ``test_publish_lambda_verify_signature[2]``]: the signature itself
                        # follows the topic's version.
                        "SignatureVersion": "1",
                        "Timestamp": self.timestamp,
                        "Signature": self.signature,
                        "SigningCertUrl": self.signing_cert_url,
                        "MessageId": self.message_id,
                        "Message": self.message,
                        "MessageAttributes": self.message_attributes,
                        "Type": "Notification",
                        "UnsubscribeUrl": self.unsubscribe_url,
                        "TopicArn": self.topic_arn,
                        "Subject": self.subject,
                    },
                }
            ]
        }

    def sqs_body(self) -> str:
        """The JSON notification SNS writes to an SQS queue: what a ``lambda`` subscription's DLQ gets.

        Key order and names (``SigningCertURL``, ``UnsubscribeURL``; ``Subject`` and
        ``MessageAttributes`` only when present) as recorded against AWS for a Lambda subscription's
        redrive [LS ``test_sns.snapshot.json``, ``test_redrive_policy_lambda_subscription``]; the
        text is indented JSON with ``" : "`` between key and value, as SNS writes it (Powertools
        ``tests/events/snsSqsEvent.json``, a body SQS received from SNS).
        """
        body: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": self.message_id,
            "TopicArn": self.topic_arn,
        }
        if self.subject is not None:
            body["Subject"] = self.subject
        body.update(
            {
                "Message": self.message,
                "Timestamp": self.timestamp,
                "SignatureVersion": self.signature_version,
                "Signature": self.signature,
                "SigningCertURL": self.signing_cert_url,
                "UnsubscribeURL": self.unsubscribe_url,
            }
        )
        if self.message_attributes:
            body["MessageAttributes"] = self.message_attributes
        return json.dumps(body, indent=2, separators=(",", " : "))


class _SnsSigner:
    """Signs notifications as SNS does, with a certificate moto serves at ``SigningCertURL``.

    The string to sign is ``Message``, ``MessageId``, ``Subject`` (when present), ``Timestamp``,
    ``TopicArn`` and ``Type``, each as ``name\\nvalue\\n``; signature version 1 is RSA-SHA1 and 2 is
    RSA-SHA256 [DOCS sns-verify-signature-of-message]. One key per process: RSA keys are slow to make.
    """

    _lock = threading.Lock()
    _key: Any = None
    _cert_pem = b""
    _key_name = ""

    @classmethod
    def _ensure_key(cls) -> None:
        with cls._lock:
            if cls._key is not None:
                return
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import rsa
            from cryptography.x509.oid import NameOID

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            now = datetime.now(timezone.utc)
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
            issuer = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "Amazon RSA 2048 M01"),
                ]
            )
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=3650))
                .not_valid_after(now + timedelta(days=3650))
                .sign(key, hashes.SHA256())
            )
            cls._cert_pem = cert.public_bytes(serialization.Encoding.PEM)
            cls._key_name = f"SimpleNotificationService-{uuid.uuid4().hex}.pem"
            cls._key = key

    @classmethod
    def sign(cls, region: str, fields: list[tuple[str, str]], version: str) -> tuple[str, str]:
        """``(signature, signing certificate URL)`` for the ordered ``fields``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        cls._ensure_key()
        # moto serves certificates from its default account's backend of the region; backends are
        # reset between mocks, so register on every use.
        keys = sns_backends[DEFAULT_ACCOUNT_ID][region]._message_public_keys
        keys[cls._key_name] = cls._cert_pem
        text = "".join(f"{name}\n{value}\n" for name, value in fields)
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = cls._key.sign(text.encode(), padding.PKCS1v15(), algorithm)
        url = f"https://sns.{region}.amazonaws.com/{cls._key_name}"
        return base64.b64encode(signature).decode(), url


def _sns_publish(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    message_structure: str | None = None,
) -> None:
    """``Subscription.publish``: ``lambda`` subscriptions go to the async queue, others to moto.

    Notifications to ``sqs`` subscriptions (not raw, standard topics) are written here too: moto's
    envelope says ``SignatureVersion`` "2" whatever the topic, names a made-up subscription in its
    ``UnsubscribeURL`` and sorts its keys (moto 5.2.1).
    """
    controller = _controller()
    if controller is None or not _sns_takes_over(subscription):
        _original("sns.publish")(
            subscription,
            message,
            message_id,
            subject=subject,
            message_attributes=message_attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
            message_structure=message_structure,
        )
        return
    topic = subscription.topic
    region = str(topic.sns_backend.region_name)
    # moto's FilterPolicyMatcher: MessageAttributes or MessageBody scope, as set on the subscription.
    matcher = subscription._filter_policy_matcher
    if matcher is not None and not _sns_matches(matcher, message_attributes, message):
        if subscription.protocol == "lambda":
            _sns_filtered_out(controller, subscription, str(matcher.filter_policy_scope), region)
        return
    if message_structure == "json":
        # moto's parser: the protocol's key, else "default" (its InvalidParameter otherwise).
        message = subscription._parse_message_structure(message, subscription.protocol)
    notification = _sns_notification(
        controller, subscription, region, message, message_id, subject, message_attributes
    )
    if subscription.protocol == "sqs":
        _sns_to_queue(subscription, notification, group_id, deduplication_id)
        return
    delivery = _SnsDelivery(controller, subscription, notification, region)
    controller.scheduler.call_soon(delivery.attempt, label=f"sns {topic.name} -> lambda")


def _sns_subscribe(backend: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
    """``SNSBackend.subscribe``: the attributes name the ``SubscriptionPrincipal``.

    AWS records "the authenticated IAM principal that called the Subscribe API" [DOCS
    sns-message-data-protection-scope; LS ``test_sns.snapshot.json`` subscription attributes];
    moto 5.2.1 leaves it out. INFERENCE: the caller is the identity moto's STS reports for
    credentials it did not issue (``user/moto`` of the account), as an IAM ARN.
    """
    subscription = _original("sns.subscribe")(backend, topic_arn, endpoint, protocol)
    if _controller() is not None:
        account = str(backend.account_id)
        region = str(backend.region_name)
        principal = f"arn:{partition_of(region)}:iam::{account}:user/moto"
        subscription.attributes.setdefault("SubscriptionPrincipal", principal)
    return subscription


def _sns_takes_over(subscription: Any) -> bool:
    if subscription.protocol == "lambda":
        return True
    raw = str(subscription.attributes.get("RawMessageDelivery", "false")).lower() == "true"
    return bool(subscription.protocol == "sqs" and not raw and not subscription.topic.fifo_topic)


def _sns_notification(
    controller: LambdaAsyncController,
    subscription: Any,
    region: str,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
) -> _SnsNotification:
    """The message as SNS signs it for ``subscription``, stamped with virtual time."""
    topic = subscription.topic
    version = str(
        getattr(topic, "SignatureVersion", None) or getattr(topic, "signature_version", None) or "1"
    )
    timestamp = iso_ms(controller.clock.now_ms())
    fields = [("Message", message), ("MessageId", message_id)]
    if subject is not None:
        fields.append(("Subject", subject))
    fields += [("Timestamp", timestamp), ("TopicArn", topic.arn), ("Type", "Notification")]
    signature, cert_url = _SnsSigner.sign(region, fields, version)
    return _SnsNotification(
        subscription_arn=str(subscription.arn),
        endpoint=str(subscription.endpoint),
        topic_arn=str(topic.arn),
        message_id=message_id,
        message=message,
        subject=subject,
        message_attributes=dict(message_attributes or {}),
        timestamp=timestamp,
        signature_version=version,
        signature=signature,
        signing_cert_url=cert_url,
        # The subscription the notification was sent for [DOCS sns-message-and-json-formats].
        unsubscribe_url=(
            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn={subscription.arn}"
        ),
    )


def _sns_to_queue(
    subscription: Any,
    notification: _SnsNotification,
    group_id: str | None,
    deduplication_id: str | None,
) -> None:
    """Write the notification to the subscribed queue, as moto does (errors propagate as there)."""
    from moto.sqs.models import sqs_backends

    parts = str(subscription.endpoint).split(":")
    sqs_backends[subscription.account_id][parts[3]].send_message(
        parts[-1],
        notification.sqs_body(),
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=False,
    )


def _sns_matches(matcher: Any, message_attributes: dict[str, Any] | None, message: str) -> bool:
    """Whether the subscription's filter policy lets the message through.

    "Filter policies for the message body assume that the message payload is a well-formed JSON
    object" and a message is sent only "if all of the message attributes or message body
    properties satisfy the conditions" [DOCS sns message-filtering]. moto's matcher fails on some
    bodies it cannot walk (a JSON array); such a body satisfies nothing, so it is filtered out.
    """
    try:
        return bool(matcher.matches(message_attributes, message))
    except Exception:
        return False


def _sns_filtered_out(
    controller: LambdaAsyncController, subscription: Any, scope: str, region: str
) -> None:
    topic = subscription.topic
    _note(controller, "filtered", str(subscription.endpoint), source=str(topic.arn), count=1)
    # SNS counts messages its filter policies reject per topic, in total and per filter policy
    # scope [DOCS sns-monitoring-using-cloudwatch].
    for name in ("NumberOfNotificationsFilteredOut", f"NumberOfNotificationsFilteredOut-{scope}"):
        _put_service_metric(
            controller, str(topic.account_id), region, "AWS/SNS", name, {"TopicName": topic.name}
        )


class _SnsDelivery:
    """One notification on its way to one ``lambda`` subscription, with SNS's retries."""

    def __init__(
        self,
        controller: LambdaAsyncController,
        subscription: Any,
        notification: _SnsNotification,
        region: str,
    ) -> None:
        self.controller = controller
        self.subscription = subscription
        self.notification = notification
        self.region = region
        self.retries = 0
        #: The chain of requests of the publisher (a handler publishing): its loops are stopped.
        self.chain = recursion.current()

    def _metric(self, name: str) -> None:
        topic = self.subscription.topic
        _put_service_metric(
            self.controller,
            str(topic.account_id),
            self.region,
            "AWS/SNS",
            name,
            {"TopicName": str(topic.name)},
        )

    def attempt(self) -> None:
        endpoint = self.notification.endpoint
        try:
            fn = _resolve_arn(endpoint, self.region, str(self.subscription.account_id))
            with recursion.running(self.chain):
                async_queue.enqueue(
                    self.controller,
                    fn,
                    json.dumps(self.notification.lambda_event()).encode(),
                    trigger="sns",
                    source=self.notification.topic_arn,
                )
        except AwsError as error:
            delay = sns_retry_delay(self.retries + 1) if _retriable(error) else None
            if delay is None:
                self._undeliverable(error)
                return
            self.retries += 1
            due_ms = self.controller.clock.now_ms() + round(delay * 1000)
            _note(
                self.controller,
                "retry_scheduled",
                endpoint,
                at=due_ms,
                attempt=self.retries + 1,
                reason=f"SNS delivery: {error.code}: {error.message}",
                source=self.notification.topic_arn,
            )
            self.controller.scheduler.call_at(due_ms, self.attempt, label="sns retry -> lambda")
            return
        self._metric("NumberOfNotificationsDelivered")

    def _undeliverable(self, error: AwsError) -> None:
        """A client error, or server errors past the policy: the subscription's DLQ, else dropped."""
        endpoint = self.notification.endpoint
        self._metric("NumberOfNotificationsFailed")
        reason = f"SNS delivery: {error.code}: {error.message}"
        source = self.notification.topic_arn
        target = _redrive_target(self.subscription)
        if target is None:
            _note(self.controller, "dropped", endpoint, reason=reason, source=source)
            return
        body = self.notification.sqs_body()
        failure = _send_to_queue(self.controller, target, body)
        if failure is None:
            self._metric("NumberOfNotificationsRedrivenToDlq")
            _note(
                self.controller,
                "dead_lettered",
                endpoint,
                destination=target,
                payload=body,
                reason=reason,
                source=source,
            )
        else:
            self._metric("NumberOfNotificationsFailedToRedriveToDlq")
            _note(
                self.controller,
                "dead_letter_failed",
                endpoint,
                destination=target,
                reason=failure,
                source=source,
            )


def _redrive_target(subscription: Any) -> str | None:
    raw = subscription.attributes.get("RedrivePolicy")
    if not raw:
        return None
    try:
        policy = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError:
        return None
    target = policy.get("deadLetterTargetArn")
    return str(target) if target else None


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


def _events_send(rule: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
    """``Rule.send_to_targets``: Lambda targets go to the async queue, the others to moto."""
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
