"""SNS ``lambda`` subscriptions and SNS's notifications to SQS while a mock is active.

A ``lambda`` subscription's notification goes to the function's async queue (``push`` patches
``moto.sns.models.Subscription.publish`` with :func:`publish`), with SNS's own retries before
Lambda accepts it and the subscription's ``RedrivePolicy`` DLQ after a client error. Notifications
SNS writes to SQS (standard topics, not raw) are written here too, as AWS writes them; the
subscriptions moto makes carry ``SubscriptionPrincipal`` (:func:`subscribe`).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .. import async_queue, recursion
from ..clock import iso_ms
from ..functions import partition_of
from ..interception import AwsError
from .push import (
    _controller,
    _note,
    _original,
    _put_service_metric,
    _resolve_arn,
    _retriable,
    _send_to_queue,
)

if TYPE_CHECKING:
    from ..mock import LambdaAsyncController

__all__ = ["publish", "sns_retry_delay", "subscribe"]


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


def publish(
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


def subscribe(backend: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
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
