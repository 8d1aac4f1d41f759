"""Delivery of outcomes: invocation records to destinations, failed events to dead-letter queues.

Callers decide *whether* to deliver; this module decides *how* a record reaches SQS, SNS, Lambda,
EventBridge or S3 in moto, and reports any failure by raising :class:`DeliveryFailed` (never
anything else), so callers can count it (``DestinationDeliveryFailures``/``DeadLetterErrors``).

Everything goes straight into moto's backends, so ``receive_message``, SNS subscriptions,
EventBridge rules and ``get_object`` see it. SQS messages are appended to moto's queue object
directly: moto's ``send_message`` recomputes every queue attribute on each call, which is slow with
many messages, and it stamps real time where we want virtual ``SentTimestamp``.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from . import tracing
from .clock import iso_ms, to_datetime
from .faults import refused_delivery
from .interception import AwsError

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController
    from .runtime import InvocationResult

__all__ = [
    "DeliveryFailed",
    "deliver_dead_letter",
    "deliver_record",
    "invocation_record",
    "record_body",
]

#: SNS message limit ([BC] OnFailure doc: "Amazon SNS destinations have a message size limit of 256 KB").
SNS_MAX_BYTES = 262_144
#: A Lambda destination is invoked asynchronously, so the Event payload limit applies.
LAMBDA_EVENT_MAX_BYTES = 1_048_576
#: DLQ ``ErrorMessage`` holds "the first 1 KB of the error message" ([LDG] invocation-async).
DLQ_ERROR_MESSAGE_BYTES = 1024
SUCCESS_DETAIL_TYPE = "Lambda Function Invocation Result - Success"
FAILURE_DETAIL_TYPE = "Lambda Function Invocation Result - Failure"


class DeliveryFailed(Exception):
    """The target refused or does not exist; ``reason`` says why (for the timeline)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- the invocation record ----------------------------------------------------------------------
def invocation_record(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    *,
    request_id: str,
    condition: str,
    approximate_invoke_count: int,
    payload: bytes,
    result: InvocationResult | None,
) -> dict[str, Any]:
    """The destination record, keys in AWS's order (spec §4, appendix (a)).

    Without an attempt (``result`` is ``None``: reserved concurrency 0, or an event that aged out
    while throttled) the record ends after ``requestPayload``, as recorded for
    ``ZeroReservedConcurrency``. ``functionArn`` is the ARN as invoked (``:$LATEST`` when
    unqualified; INFERENCE: ``:alias`` when invoked through an alias).
    """
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_ms(controller.clock.now_ms()),
        "requestContext": {
            "requestId": request_id,
            "functionArn": fn.qualified_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": _json_or_text(payload),
    }
    if result is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": result.executed_version}
        if result.function_error:
            context["functionError"] = result.function_error
        record["responseContext"] = context
        record["responsePayload"] = _json_or_text(result.payload)
    return record


def record_body(record: dict[str, Any]) -> str:
    """The record as Lambda serializes it: compact JSON."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _json_or_text(data: bytes) -> Any:
    # INFERENCE: an empty payload is the event ``{}`` (what the handler receives).
    if not data:
        return {}
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return data.decode("utf-8", "replace")


# -- destinations -------------------------------------------------------------------------------
def deliver_record(
    controller: LambdaAsyncController,
    target_arn: str,
    record: dict[str, Any],
    *,
    fn: ResolvedFunction,
    success: bool,
    s3_prefix: str | None = None,
) -> None:
    """Send an invocation record to a destination (SQS, SNS, Lambda, EventBridge, S3).

    ``s3_prefix`` names an S3 object's folder (see :func:`s3_record_key`); async records leave it
    out."""
    request_id = record.get("requestContext", {}).get("requestId")
    refused = refused_delivery(controller, target_arn, function_name=fn.name, request_id=request_id)
    if refused is not None:
        raise DeliveryFailed(refused)
    try:
        service, region, account, resource = _split_arn(target_arn)
        if service == "sqs":
            _send_sqs(controller, account, region, resource, record_body(record), None)
        elif service == "sns":
            _publish_record_sns(account, region, target_arn, record, success)
        elif service == "lambda":
            _invoke_destination(controller, target_arn, record, fn)
        elif service == "events":
            _put_event(controller, account, region, target_arn, resource, record, fn, success)
        elif service == "s3":
            if success:
                raise DeliveryFailed("S3 buckets are supported only as OnFailure destinations")
            _put_s3_record(controller, fn, resource, record, s3_prefix)
        else:
            raise DeliveryFailed(f"{service} is not a supported destination service")
    except DeliveryFailed:
        raise
    except Exception as error:  # whatever moto raises, the test must not see it
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from error


def _split_arn(arn: str) -> tuple[str, str, str, str]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise DeliveryFailed(f"{arn} is not an ARN")
    return parts[2], parts[3], parts[4], parts[5]


def _publish_record_sns(
    account: str, region: str, topic_arn: str, record: dict[str, Any], success: bool
) -> None:
    body = record_body(record)
    if len(body.encode()) > SNS_MAX_BYTES and not success:
        # [BC] OnFailure: "If the combined size of the function request and response payload
        # exceeds the limit, Lambda will drop the payload when sending OnFailure event to the
        # destination." INFERENCE: both payload members are removed, the rest of the record kept.
        trimmed = {
            k: v for k, v in record.items() if k not in ("requestPayload", "responsePayload")
        }
        body = record_body(trimmed)
    _publish_sns(account, region, topic_arn, body, None)


def _invoke_destination(
    controller: LambdaAsyncController, target_arn: str, record: dict[str, Any], fn: ResolvedFunction
) -> None:
    from .async_queue import enqueue
    from .functions import resolve

    payload = record_body(record).encode()
    if len(payload) > LAMBDA_EVENT_MAX_BYTES:
        raise DeliveryFailed(
            f"{len(payload)} byte record is too large for the Event invocation type "
            f"(limit {LAMBDA_EVENT_MAX_BYTES} bytes)"
        )
    try:
        target = resolve(target_arn, fn.region, fn.account_id)
    except AwsError as error:
        raise DeliveryFailed(error.message) from error
    # INFERENCE (spec §4): the destination function is invoked asynchronously.
    enqueue(controller, target, payload, trigger="destination", source=fn.qualified_arn)


def _put_event(
    controller: LambdaAsyncController,
    account: str,
    region: str,
    bus_arn: str,
    resource: str,
    record: dict[str, Any],
    fn: ResolvedFunction,
    success: bool,
) -> None:
    from moto.events.models import events_backends

    backend = events_backends[account][region]
    bus_name = resource.partition("/")[2] if resource.startswith("event-bus/") else resource
    if bus_name not in backend.event_buses:
        raise DeliveryFailed(f"event bus {bus_arn} does not exist")
    # Envelope recorded against AWS in Nov 2025 (spec appendix (a)): source "lambda", resources
    # [bus, function]. The current developer guide says the source is "aws.lambda"; the recording
    # wins: it is what AWS was observed to send.
    entries = backend.put_events(
        [
            {
                "Source": "lambda",
                "DetailType": SUCCESS_DETAIL_TYPE if success else FAILURE_DETAIL_TYPE,
                "Detail": record_body(record),
                "Resources": [bus_arn, fn.qualified_arn],
                "EventBusName": bus_arn,
                # moto's convention for ``Time``: epoch seconds, as boto3 sends it.
                "Time": controller.clock.now_ms() / 1000,
            }
        ]
    )
    if entries and "ErrorCode" in entries[0]:
        raise DeliveryFailed(f"{entries[0]['ErrorCode']}: {entries[0].get('ErrorMessage', '')}")


def s3_record_key(fn: ResolvedFunction, epoch_ms: int, prefix: str | None = None) -> str:
    """``<prefix>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>``.

    The prefix of an async record is ``aws/lambda/async/<function-name>`` ("Capturing records of
    Lambda asynchronous invocations", docs.aws.amazon.com/lambda/latest/dg/
    invocation-async-retain-records.html, destination table, Amazon S3 row); a stream mapping's
    is ``aws/lambda/<ESM-UUID>/<shardID>`` (kinesis-on-failure-destination.html and
    services-dynamodb-errors.html: "The S3 object containing the invocation record uses the
    following naming convention").
    """
    at = to_datetime(epoch_ms)
    folder = prefix or f"aws/lambda/async/{fn.name}"
    return f"{folder}/{at:%Y/%m/%d}/{at:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"


def _put_s3_record(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    resource: str,
    record: dict[str, Any],
    prefix: str | None,
) -> None:
    from moto.s3.models import s3_backends

    bucket = resource.split("/", 1)[0]
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        raise DeliveryFailed(f"bucket {bucket} does not exist")
    partition, account = owner
    backend = s3_backends[account][partition]
    backend.put_object(
        bucket, s3_record_key(fn, controller.clock.now_ms(), prefix), record_body(record).encode()
    )


# -- dead-letter queues -------------------------------------------------------------------------
def deliver_dead_letter(
    controller: LambdaAsyncController,
    target_arn: str,
    payload: bytes,
    *,
    request_id: str,
    error_code: str,
    error_message: str,
    fn: ResolvedFunction | None = None,
) -> None:
    """Send a failed event's original payload to a function DLQ (SQS or SNS).

    Body: the event as sent ([LDG] "the original event as-is"). Attributes ``RequestID`` (String),
    ``ErrorCode`` (Number, the HTTP status: "200" for function errors), ``ErrorMessage`` (String,
    first 1 KB), as recorded (appendix (b)). SQS and SNS refuse empty attribute values, so an empty
    error message is left out (INFERENCE). ``fn``, the failed event's function, names it on the
    timeline when an injected fault refuses the message.
    """
    function_name = None if fn is None else fn.name
    refused = refused_delivery(
        controller, target_arn, function_name=function_name, request_id=request_id
    )
    if refused is not None:
        raise DeliveryFailed(refused)
    body = payload.decode("utf-8", "replace") or "{}"
    message = _truncate_utf8(error_message, DLQ_ERROR_MESSAGE_BYTES)
    values = [
        ("ErrorCode", "Number", error_code),
        ("ErrorMessage", "String", message),
        ("RequestID", "String", request_id),
    ]
    try:
        service, region, account, resource = _split_arn(target_arn)
        if service == "sqs":
            attributes = {
                name: {"DataType": kind, "StringValue": value}
                for name, kind, value in values
                if value
            }
            _send_sqs(controller, account, region, resource, body, attributes)
        elif service == "sns":
            sns_attributes = {
                name: {"Type": kind, "Value": value} for name, kind, value in values if value
            }
            _publish_sns(account, region, target_arn, body, sns_attributes)
        else:
            raise DeliveryFailed(f"{service} is not a supported dead-letter target")
    except DeliveryFailed:
        raise
    except Exception as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from error


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


# -- moto plumbing ------------------------------------------------------------------------------
def _send_sqs(
    controller: LambdaAsyncController,
    account: str,
    region: str,
    queue_name: str,
    body: str,
    attributes: dict[str, dict[str, str]] | None,
) -> None:
    from moto.sqs.models import Message, sqs_backends

    queue = sqs_backends[account][region].queues.get(queue_name)
    if queue is None:
        raise DeliveryFailed(f"queue arn:aws:sqs:{region}:{account}:{queue_name} does not exist")
    if queue.fifo_queue:
        # [DOCS] invocation-async-retain-records: FIFO queues are unsupported destination types.
        raise DeliveryFailed(f"FIFO queue {queue_name} is not supported")
    size = len(body.encode())
    for name, attribute in (attributes or {}).items():
        size += len(name.encode()) + len(attribute["DataType"].encode())
        size += len(attribute["StringValue"].encode())
    # moto sets these attributes dynamically from the queue's attribute map.
    limit = int(getattr(queue, "maximum_message_size", 1_048_576))
    if size > limit:
        raise DeliveryFailed(f"message of {size} bytes exceeds the queue's {limit} byte limit")
    header = tracing.new_header(controller.clock.now_ms() / 1000)
    trace = {"AWSTraceHeader": {"StringValue": header, "DataType": "String"}}
    message = Message(str(uuid.uuid4()), body, trace)
    if attributes:
        message.message_attributes = attributes
    message.sent_timestamp = controller.clock.now_ms()  # type: ignore[assignment]
    delay = int(getattr(queue, "delay_seconds", 0) or 0)
    if delay:
        message.delay(delay)
    queue.add_message(message)


def _publish_sns(
    account: str,
    region: str,
    topic_arn: str,
    message: str,
    attributes: dict[str, dict[str, str]] | None,
) -> None:
    from moto.sns.models import sns_backends

    backend = sns_backends[account][region]
    topic = backend.topics.get(topic_arn)
    if topic is None:
        raise DeliveryFailed(f"topic {topic_arn} does not exist")
    if topic.fifo_topic:
        raise DeliveryFailed(f"FIFO topic {topic_arn} is not supported")
    size = len(message.encode())
    if size > SNS_MAX_BYTES:
        raise DeliveryFailed(f"message of {size} bytes exceeds SNS's {SNS_MAX_BYTES} byte limit")
    backend.publish(message, arn=topic_arn, message_attributes=attributes)
