"""``Invoke`` and ``InvokeAsync``: payload limits, qualifiers, and the three invocation types.

Synchronous invokes run the handler now and answer with its result; ``Event`` invokes and the
legacy ``InvokeAsync`` hand the event to the async queue and answer 202.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from . import recursion
from .async_queue import enqueue
from .concurrency import check_sync_invoke
from .faults import refuse_sync_invoke
from .functions import resolve, validation_exception
from .interception import AwsError, Call, Reply, operation
from .metrics import History, put_invocation_metrics
from .runtime import Runtime, decode_client_context
from .wallclock import waited

#: Request payload limits in bytes. Sync: 6 MB. Event: 1 MB since Oct 2025 (256 KB before); the
#: message "<n> byte payload is too large for the Event invocation type (limit 1048576 bytes)" is
#: quoted from AWS in public code and notes since the change. InvokeAsync keeps the legacy 256 KB
#: limit (API_InvokeAsync: "The payload limit is 256KB. For larger payloads, for up to 1MB, use
#: Invoke").
SYNC_PAYLOAD_LIMIT = 6_291_456
EVENT_PAYLOAD_LIMIT = 1_048_576
INVOKE_ASYNC_PAYLOAD_LIMIT = 262_144
#: ``ClientContext``: "Up to 3,583 bytes of base64-encoded data" (API_Invoke).
CLIENT_CONTEXT_LIMIT = 3583
#: ``LogType=Tail`` returns the last 4 KB of the execution log.
LOG_TAIL_BYTES = 4096


def payload_bytes(value: Any) -> bytes:
    """The request body as bytes, whatever form boto3 was given (bytes, str, file-like)."""
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    read = getattr(value, "read", None)
    if callable(read):
        data = read()
        return data.encode() if isinstance(data, str) else bytes(data)
    raise AwsError("InvalidRequestContentException", "Could not parse request body into json")


def check_json(payload: bytes) -> None:
    """Lambda refuses a payload that is not JSON before anything runs.

    The prefix is AWS's ("Could not parse request body into json: Could not parse payload into
    json: "); the rest is the wording of the Java parser on Lambda's side, reproduced for the
    common cases. INFERENCE, from real messages such as "Unexpected character (''' (code 39)):
    expected a valid value (...)", "Unrecognized token 'e30': was expecting ('true', 'false' or
    'null')" (boto/boto3#2153) and "Invalid UTF-8 start byte 0xa7".

    Only the syntax is judged, as JSON (RFC 8259) defines it, not what Python can decode: a
    5,000-digit integer and an array nested 5,000 deep are valid JSON, which Lambda accepts; the
    Python runtime then fails to decode them, as awslambdaric's ``json.loads`` does, with
    ``Runtime.UnmarshalError``. ``NaN`` and ``Infinity`` are not JSON: Python's decoder takes
    them, Lambda's Jackson parser refuses them (its ``ALLOW_NON_NUMERIC_NUMBERS`` feature is off
    by default; the text is Jackson's, INFERENCE for Lambda's).
    """
    if not payload:
        return
    try:
        json.loads(payload, parse_int=_syntax_only, parse_constant=_not_json)
    except RecursionError:
        return
    except ValueError as error:
        raise AwsError(
            "InvalidRequestContentException",
            "Could not parse request body into json: Could not parse payload into json: "
            + _parser_message(payload, error),
            message_key="message",
        ) from error


class _NonStandardToken(ValueError):
    pass


def _syntax_only(text: str) -> int:
    """An integer's digits are valid JSON however many they are; their value is not needed."""
    return 0


def _not_json(token: str) -> Any:
    raise _NonStandardToken(
        f"Non-standard token '{token}': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"
    )


def _parser_message(payload: bytes, error: ValueError) -> str:
    if isinstance(error, _NonStandardToken):
        return str(error)
    if isinstance(error, UnicodeDecodeError):
        return f"Invalid UTF-8 start byte 0x{payload[error.start]:02x}"
    if not isinstance(error, json.JSONDecodeError):
        return str(error)
    text, position = error.doc, error.pos
    if position >= len(text):
        return "Unexpected end-of-input"
    char = text[position]
    if char.isalpha():
        token = re.match(r"[A-Za-z0-9_$]+", text[position:])
        word = token.group(0) if token else char
        return f"Unrecognized token '{word}': was expecting ('true', 'false' or 'null')"
    if error.msg == "Expecting value":
        return (
            f"Unexpected character ('{char}' (code {ord(char)})): expected a valid value "
            "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        )
    expected = _JAVA_PARSER_WORDS.get(error.msg, error.msg)
    return f"Unexpected character ('{char}' (code {ord(char)})): {expected}"


#: Python's JSON decoder complaints, in the words of the Java parser Lambda uses.
_JAVA_PARSER_WORDS = {
    "Expecting property name enclosed in double quotes": (
        "was expecting double-quote to start field name"
    ),
    "Expecting ':' delimiter": "was expecting a colon to separate field name and value",
}


def check_client_context_size(value: str | None) -> None:
    """Refuse a ``ClientContext`` header over its documented 3,583 bytes.

    INFERENCE: no recorded response exists; the limit is the API reference's, and it is answered
    as Lambda answers its other documented member limits, a ``ValidationException`` on the length
    (the value itself is left out of the message, as it can be long).
    """
    if value is not None and len(value.encode()) > CLIENT_CONTEXT_LIMIT:
        raise validation_exception(
            [
                "Value at 'clientContext' failed to satisfy constraint: Member must have length "
                f"less than or equal to {CLIENT_CONTEXT_LIMIT}"
            ]
        )


def _too_large(message: str) -> AwsError:
    # The wire code is RequestEntityTooLargeException (HTTP 413), not the modelled
    # RequestTooLargeException, so boto3 raises a plain ClientError, as it does against AWS.
    return AwsError("RequestEntityTooLargeException", message, 413, message_key="message")


@operation("lambda", "Invoke")
def invoke(call: Call) -> Reply:
    """Invoke: size limit, function, payload and client context checks, then run or queue.

    The request size is checked first (at the front door: a payload too large for a missing
    function is still a 413), then the function, then the body.
    """
    params = call.params
    invocation_type = params.get("InvocationType", "RequestResponse")
    payload = payload_bytes(params.get("Payload"))
    if invocation_type == "Event" and len(payload) > EVENT_PAYLOAD_LIMIT:
        raise _too_large(
            f"{len(payload)} byte payload is too large for the Event invocation type "
            f"(limit {EVENT_PAYLOAD_LIMIT} bytes)"
        )
    if len(payload) > SYNC_PAYLOAD_LIMIT:
        raise _too_large(
            f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
        )
    check_client_context_size(params.get("ClientContext"))
    fn = resolve(params["FunctionName"], call.region, call.account_id, params.get("Qualifier"))
    check_json(payload)
    # Validated for every invocation type; passed to the function only on synchronous ones [BC].
    client_context = decode_client_context(params.get("ClientContext"))
    if invocation_type == "DryRun":
        return Reply(204)
    if invocation_type == "Event":
        request_id = enqueue(call.controller, fn, payload, trigger="async")
        return Reply(202, headers={"x-amzn-RequestId": request_id})
    runtime = call.controller.state(Runtime)
    runtime.check_invocable(fn)
    chain = recursion.admit(call.controller, fn, recursion.current(), trigger="sync")
    if chain is None:
        raise recursion.error()
    refuse_sync_invoke(call.controller, fn)
    check_sync_invoke(call.controller, fn)
    history = call.controller.state(History)
    attempt = history.start_attempt(fn, payload, trigger="sync", attempt=1)
    with recursion.running(chain):
        result = runtime.run(fn, payload, client_context=client_context)
    # The caller waited while the handler slept: the invocation holds its slot meanwhile.
    waited(call.controller, result.virtual_ms / 1000)
    history.finish_attempt(attempt, result)
    put_invocation_metrics(call.controller, fn, result)
    # The response's request id is the invocation's (what ``context.aws_request_id`` and the log
    # lines show), which is how a caller finds its invocation in CloudWatch Logs.
    headers = {
        "x-amzn-RequestId": result.request_id,
        "X-Amz-Executed-Version": result.executed_version,
    }
    if result.function_error:
        headers["X-Amz-Function-Error"] = result.function_error
    if params.get("LogType") == "Tail":
        tail = result.log.encode()[-LOG_TAIL_BYTES:]
        headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
    return Reply(200, result.payload, headers)


@operation("lambda", "InvokeAsync")
def invoke_async(call: Call) -> Reply:
    payload = payload_bytes(call.params.get("InvokeArgs"))
    if len(payload) > INVOKE_ASYNC_PAYLOAD_LIMIT:
        # INFERENCE: no recorded InvokeAsync over-limit message; this is the synchronous
        # operation's wording with InvokeAsync's limit and name.
        raise _too_large(
            f"Request must be smaller than {INVOKE_ASYNC_PAYLOAD_LIMIT} bytes for the "
            "InvokeAsync operation"
        )
    fn = resolve(call.params["FunctionName"], call.region, call.account_id)
    check_json(payload)
    request_id = enqueue(call.controller, fn, payload, trigger="async")
    return Reply(
        202,
        b'{"Status": 202}',
        {"Content-Type": "application/json", "x-amzn-RequestId": request_id},
    )
