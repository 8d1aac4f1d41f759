"""S3 event notifications while a mock is active: which events fire, what they carry, and the check
of a notification configuration's Lambda destinations.

Lambda destinations get the event through the async queue (an S3 notification is an asynchronous
invoke [LDG with-s3.md]); queue and topic destinations get the same record, as AWS writes it. What
moto 5.2.1 gets wrong, corrected here while a mock is active:

- Event names. A multipart upload fires ``ObjectCreated:CompleteMultipartUpload`` only (moto adds
  ``ObjectCreated:Put`` and ``ObjectTagging:Put``); ``PutObject`` and ``CopyObject`` fire no
  ``ObjectTagging:Put`` (moto fires one for every put), ``PutObjectTagging`` does; a delete
  without a version on a versioned bucket fires ``ObjectRemoved:DeleteMarkerCreated`` (moto fires
  nothing) [DOCS notification-how-to-event-types-and-destinations].
- Records. moto gives eventName, configurationId, bucket and object; the record here adds
  ``userIdentity``, ``requestParameters``, ``responseElements``, ``s3.bucket.ownerIdentity``,
  ``versionId`` (versioned buckets) and ``sequencer``, uses virtual time, and is the same for
  every destination of one request (request id, host id, sequencer) [DOCS
  notification-content-structure]. Queues get it as compact JSON (Powertools
  ``tests/events/s3SqsEvent.json``), topics with the subject ``Amazon S3 Notification``.
- ``PutBucketNotificationConfiguration``: a Lambda destination that is not a Lambda ARN, or a
  function that does not exist (unless ``SkipDestinationValidation``), is refused with AWS's
  ``InvalidArgument`` (recorded: [LS] ``tests/aws/services/s3/
  test_s3_notifications_lambda.snapshot.json``, ``test_invalid_lambda_arn``); moto answers
  "The ARN is not well formed" for the first and accepts the second.

S3 notifications to Lambda have no DLQ: an event the function cannot take is dropped, and the drop
is noted.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from botocore.handlers import BUILTIN_HANDLERS

from .. import async_queue, recursion
from ..clock import iso_ms
from ..interception import AwsError, Reply, interceptor, to_botocore
from .push import _controller, _note, _original, _resolve_arn

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from botocore.model import OperationModel

    from ..mock import LambdaAsyncController

__all__: list[str] = []

COMPLETE_MULTIPART_UPLOAD = "s3:ObjectCreated:CompleteMultipartUpload"
TAGGING_PUT = "s3:ObjectTagging:Put"
DELETE_MARKER_CREATED = "s3:ObjectRemoved:DeleteMarkerCreated"


@dataclass(frozen=True)
class _Request:
    """One S3 request's notification: the object and what every destination's record shares."""

    bucket: Any
    key: Any
    request_id: str
    host_id: str
    sequencer: str


#: The notification being sent (set around moto's ``send_event``).
_CURRENT: contextvars.ContextVar[_Request | None] = contextvars.ContextVar(
    "mock_lambda_async_s3_request", default=None
)
#: While set, the only event the request may fire (a multipart upload's completion).
_ONLY_EVENT: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mock_lambda_async_s3_only_event", default=None
)
#: Set while ``PutObjectTagging`` itself is answered: the one request that fires its event.
_TAGGING_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mock_lambda_async_s3_tagging_request", default=False
)
_SEQUENCE = [0]

#: Event-structure versions: 2.2 for replication; 2.3 for lifecycle, Intelligent-Tiering, ACL,
#: tagging and restore-delete events; 2.1 for the rest [DOCS notification-content-structure].
_EVENT_VERSIONS = (
    ("Replication:", "2.2"),
    ("LifecycleExpiration:", "2.3"),
    ("LifecycleTransition", "2.3"),
    ("IntelligentTiering", "2.3"),
    ("ObjectAcl:", "2.3"),
    ("ObjectTagging:", "2.3"),
    ("ObjectRestore:Delete", "2.3"),
)


def replacements() -> list[tuple[str, Any, str, Any]]:
    """``(key, owner, attribute, replacement)`` for the moto functions this module replaces."""
    from moto.s3 import models, notifications, responses

    return [
        ("s3.send_event", notifications, "send_event", _send_event),
        ("s3.invoke_lambda", notifications, "_invoke_awslambda", _invoke_lambda),
        ("s3.send_sqs", notifications, "_send_sqs_message", _send_sqs_message),
        ("s3.send_sns", notifications, "_send_sns_message", _send_sns_message),
        (
            "s3.complete_multipart",
            models.S3Backend,
            "complete_multipart_upload",
            _complete_multipart_upload,
        ),
        ("s3.delete_marker", models.S3Backend, "_set_delete_marker", _set_delete_marker),
        ("s3.tagging_request", responses.S3Response, "put_object_tagging", _put_object_tagging),
    ]


# -- which events fire ----------------------------------------------------------------------------
def _event_name(event_name: Any) -> str:
    return str(getattr(event_name, "value", event_name))


def _send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
    """``notifications.send_event``: drop the events AWS does not send; remember the object."""
    name = _event_name(event_name)
    if interceptor().controller is not None:
        only = _ONLY_EVENT.get()
        if only is not None and name != only:
            return
        if name == TAGGING_PUT and not _TAGGING_REQUEST.get():
            return
    controller = _controller()
    _SEQUENCE[0] += 1
    seconds = controller.clock.now_ms() // 1000 if controller is not None else 0
    request = _Request(
        bucket=bucket,
        key=key,
        request_id=uuid.uuid4().hex[:16].upper(),
        host_id=base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode(),
        # "00" + the time in seconds + a count, in hex (as in AWS's "00643717F9F8B85354" of an
        # event at 2023-04-12T20:43:38Z, 0x643717F9 seconds): grows with each event.
        sequencer=f"00{seconds % 0x100000000:08X}{_SEQUENCE[0] % 0x100000000:08X}",
    )
    token = _CURRENT.set(request)
    try:
        _original("s3.send_event")(account_id, event_name, bucket, key)
    finally:
        _CURRENT.reset(token)


def _complete_multipart_upload(backend: Any, *args: Any, **kwargs: Any) -> Any:
    """moto stores the object with ``put_object`` and ``put_object_tagging``: their events go."""
    if _controller() is None:
        return _original("s3.complete_multipart")(backend, *args, **kwargs)
    token = _ONLY_EVENT.set(COMPLETE_MULTIPART_UPLOAD)
    try:
        return _original("s3.complete_multipart")(backend, *args, **kwargs)
    finally:
        _ONLY_EVENT.reset(token)


def _put_object_tagging(response: Any) -> Any:
    """``S3Response.put_object_tagging``: the ``PutObjectTagging`` request fires its event."""
    token = _TAGGING_REQUEST.set(True)
    try:
        return _original("s3.tagging_request")(response)
    finally:
        _TAGGING_REQUEST.reset(token)


def _set_delete_marker(backend: Any, bucket_name: str, key_name: str) -> Any:
    """A delete marker is created: ``ObjectRemoved:DeleteMarkerCreated``, naming the marker."""
    marker = _original("s3.delete_marker")(backend, bucket_name, key_name)
    if _controller() is not None:
        from moto.s3 import notifications

        # moto's record builder reads an etag and a size; a removal event shows neither.
        described = SimpleNamespace(name=marker.name, etag="", size=0, version_id=marker.version_id)
        event = notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT
        notifications.send_event(
            backend.account_id, event, backend.get_bucket(bucket_name), described
        )
    return marker


# -- what the records carry -----------------------------------------------------------------------
def _customer_id(account_id: str) -> str:
    """INFERENCE: an opaque Amazon customer ID (``A`` + 13 characters), stable per account.

    AWS puts such an ID in ``principalId``; moto does not model it.
    """
    return "A" + hashlib.sha1(account_id.encode()).hexdigest()[:13].upper()


def aws_event(
    controller: LambdaAsyncController, account_id: str, event_body: dict[str, Any]
) -> dict[str, Any]:
    """The S3 event AWS sends, built on moto's record of the current notification.

    ``size`` for creation and restore events; ``eTag`` also for tagging and ACL events;
    ``sequencer`` for creation and removal events (tagging and ACL events have none, as LS's
    S3 notifier, checked against AWS, builds them); removal events describe no object content.
    """
    base = event_body["Records"][0]
    event_name = str(base["eventName"])
    s3 = base["s3"]
    current = _CURRENT.get()
    # Keys arrive URL-encoded with spaces as "+" [DOCS notification-content-structure]; moto also
    # encodes "/", which S3 leaves as is (INFERENCE from events of prefixed keys such as
    # "AWSLogs/<account>/..." and "dt%3D2024-01-01/..."). A literal "%" is "%25", so "%2F" is "/".
    obj: dict[str, Any] = {"key": str(s3["object"]["key"]).replace("%2F", "/")}
    family = event_name.split(":", 1)[0]
    if family in ("ObjectCreated", "ObjectRestore"):
        obj["size"] = s3["object"].get("size")
    if family in ("ObjectCreated", "ObjectRestore", "ObjectTagging", "ObjectAcl"):
        obj["eTag"] = s3["object"].get("eTag")
    if current is not None and getattr(current.bucket, "is_versioned", False):
        obj["versionId"] = str(current.key.version_id)
    if family in ("ObjectCreated", "ObjectRemoved"):
        # A hexadecimal string that grows with each event (compared as strings after padding).
        obj["sequencer"] = current.sequencer if current is not None else "0" * 18
    version = next((v for prefix, v in _EVENT_VERSIONS if event_name.startswith(prefix)), "2.1")
    customer = _customer_id(account_id)
    return {
        "Records": [
            {
                "eventVersion": version,
                "eventSource": "aws:s3",
                "awsRegion": base["awsRegion"],
                "eventTime": iso_ms(controller.clock.now_ms()),
                "eventName": event_name,
                "userIdentity": {"principalId": f"AWS:{customer}"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": current.request_id if current else "0" * 16,
                    "x-amz-id-2": current.host_id if current else "",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": s3["configurationId"],
                    "bucket": {
                        "name": s3["bucket"]["name"],
                        "ownerIdentity": {"principalId": customer},
                        "arn": s3["bucket"]["arn"],
                    },
                    "object": obj,
                },
            }
        ]
    }


# -- the destinations -----------------------------------------------------------------------------
def _invoke_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    """``notifications._invoke_awslambda``: the async queue instead of moto's Docker run."""
    controller = _controller()
    if controller is None:
        _original("s3.invoke_lambda")(account_id, event_body, fn_arn, region_name)
        return
    event = aws_event(controller, account_id, event_body)
    bucket_arn = str(event["Records"][0]["s3"]["bucket"]["arn"])
    chain = recursion.current()  # a handler writing to the bucket: the loop is followed

    def deliver() -> None:
        try:
            fn = _resolve_arn(fn_arn, region_name, account_id)
            payload = json.dumps(event).encode()
            with recursion.running(chain):
                async_queue.enqueue(controller, fn, payload, trigger="s3", source=bucket_arn)
        except AwsError as error:
            # S3 notifications have no DLQ: the event is lost (noted, so not silently).
            reason = f"S3 notification: {error.code}: {error.message}"
            _note(controller, "dropped", fn_arn, reason=reason, source=bucket_arn)

    controller.scheduler.call_soon(deliver, label="s3 notification -> lambda")


def _forward(key: str, account_id: str, event_body: Any, send: Any, *args: str) -> None:
    """Give a queue or topic AWS's record as compact JSON (``send(body)``); moto's test event, and
    anything outside a mock, goes to moto's own sender (``key``) unchanged."""
    controller = _controller()
    if controller is None or not isinstance(event_body, dict) or "Records" not in event_body:
        _original(key)(account_id, event_body, *args)
        return
    body = json.dumps(aws_event(controller, account_id, event_body), separators=(",", ":"))
    try:
        send(body)
    except Exception:  # as moto: S3 sends asynchronously, a missing destination fails nothing
        return


def _send_sqs_message(account_id: str, event_body: Any, queue_name: str, region_name: str) -> None:
    """``notifications._send_sqs_message``: AWS's record."""
    from moto.sqs.models import sqs_backends

    def send(body: str) -> None:
        sqs_backends[account_id][region_name].send_message(queue_name=queue_name, message_body=body)

    _forward("s3.send_sqs", account_id, event_body, send, queue_name, region_name)


def _send_sns_message(account_id: str, event_body: Any, topic_arn: str, region_name: str) -> None:
    """``notifications._send_sns_message``: AWS's record, subject ``Amazon S3 Notification``
    (the subject S3 publishes with; LS's S3 notifier, checked against AWS, uses it too)."""
    from moto.sns.models import sns_backends

    def send(body: str) -> None:
        sns_backends[account_id][region_name].publish(
            arn=topic_arn, message=body, subject="Amazon S3 Notification"
        )

    _forward("s3.send_sns", account_id, event_body, send, topic_arn, region_name)


# -- PutBucketNotificationConfiguration ------------------------------------------------------------
_PARAMS_KEY = "mock_lambda_async.s3_notification_params"
_LAMBDA_ARN = re.compile(r"arn:aws[a-zA-Z-]*:lambda:")


def _stash_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if interceptor().controller is not None:
        context[_PARAMS_KEY] = dict(params)


def _invalid_argument(message: str, fields: dict[str, str]) -> Reply:
    """S3's ``InvalidArgument`` (400) with its argument fields, as S3 writes errors (XML)."""
    extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
        f"<Message>{escape(message)}</Message>{extra}"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return Reply(400, body.encode(), {"Content-Type": "application/xml"})


def notification_problem(params: dict[str, Any]) -> Reply | None:
    """AWS's answer to a configuration whose Lambda destinations it refuses, or ``None``.

    Recorded ([LS] ``test_s3_notifications_lambda.snapshot.json``, ``test_invalid_lambda_arn``):
    a destination that is not a Lambda ARN is refused even with ``SkipDestinationValidation``
    (``invalid_not_skip``, ``invalid_skip``); a function that does not exist is refused as one S3
    may not invoke (``lambda-does-not-exist``), and accepted with ``SkipDestinationValidation``
    (``skip_destination_validation``).
    """
    configuration = params.get("NotificationConfiguration") or {}
    skip = bool(params.get("SkipDestinationValidation"))
    for entry in configuration.get("LambdaFunctionConfigurations") or []:
        arn = str(entry.get("LambdaFunctionArn", ""))
        if not _LAMBDA_ARN.match(arn):
            return _invalid_argument(
                "The ARN could not be parsed",
                {"ArgumentName": "CloudFunction", "ArgumentValue": arn},
            )
        if skip:
            continue
        try:
            parts = arn.split(":")
            _resolve_arn(arn, parts[3] if len(parts) > 3 else "", "")
        except AwsError:
            return _invalid_argument(
                "Unable to validate the following destination configurations",
                {
                    "ArgumentName1": f"{arn}, null",
                    "ArgumentValue1": f"Not authorized to invoke function [{arn}]",
                },
            )
    return None


def _check_configuration(
    model: OperationModel, params: dict[str, Any], context: dict[str, Any], **_: Any
) -> tuple[AWSResponse, dict[str, Any]] | None:
    request = context.pop(_PARAMS_KEY, None)
    if request is None or interceptor().controller is None:
        return None
    problem = notification_problem(request)
    if problem is None:
        return None
    return to_botocore(model, problem, str(params.get("url", "")))


_OPERATION = "s3.PutBucketNotificationConfiguration"
BUILTIN_HANDLERS.append((f"before-parameter-build.{_OPERATION}", _stash_params))
BUILTIN_HANDLERS.append((f"before-call.{_OPERATION}", _check_configuration))
