"""Lambda's recursive loop detection: a chain of requests that keeps invoking a function is stopped.

What AWS does ([DOCS] developer guide "Use Lambda recursive loop detection to prevent infinite
loops", docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html; the ``RecursiveInvocations
Dropped`` entry of monitoring-metrics-types; API_PutFunctionRecursionConfig; the launch post
aws.amazon.com/blogs/compute/detecting-and-stopping-recursive-loops-in-aws-lambda-functions):

- A *chain of requests* is the sequence of invocations one triggering event causes. Lambda follows
  it with metadata in the X-Ray trace header that supported SDKs carry from an invocation into the
  requests it makes; the header's ``Lineage`` field keeps one counter per function
  (``Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2``, as seen in real headers).
- Covered: loops between functions, Amazon SQS, Amazon SNS and Amazon S3, and loops of functions
  alone "which may invoke each other synchronously or asynchronously". A loop through any other
  service (DynamoDB, Kinesis, EventBridge ...) is not detected.
- "If your function is invoked approximately 16 times in the same chain of requests, then Lambda
  automatically stops the next function invocation in that request chain"; invocations from other
  triggers are not affected. Each stop counts 1 in ``RecursiveInvocationsDropped``.
- An asynchronous invocation that is stopped goes to the function's on-failure destination or
  dead-letter queue, if configured ("For asynchronous invokes, Lambda sends the event to a
  dead-letter queue or on-failure destination").
- An SQS event source mapping gets ``RecursiveInvocationException``: the receive count goes up,
  the message comes back after its visibility timeout and is stopped again, until the queue's
  ``maxReceiveCount`` sends it to the queue's dead-letter queue.
- A synchronous ``Invoke`` answers ``RecursiveInvocationException`` (HTTP 400, modelled).
- ``PutFunctionRecursionConfig`` sets ``RecursiveLoop`` per function: ``Terminate`` (the default)
  or ``Allow``, which turns detection off for it (no stop, no metric).

How the mock follows a chain. A :class:`Lineage` (invocation counts per function) travels with
everything the mock hands on: the context of a running invocation (a context variable that the
runtime carries into the handler's thread and the threads and pool tasks it starts), async events
(queued from a handler, or sent to a Lambda destination), SQS messages (any message added to a
queue while an invocation's context is current: ``SendMessage[Batch]`` from a handler, SNS fan-out,
S3 notifications, destinations, DLQs), SNS deliveries to functions and S3 notifications to
functions published from a handler. Deliveries made after an async event's attempt carry the
chain including that attempt.

INFERENCE (not documented): the count is per function, as the ``Lineage`` header suggests, so a loop
of two functions stops each after its own 16 invocations; an SQS batch belongs to the longest chain
among its messages; a function counts as one whatever qualifier is invoked; a stopped async event's
OnFailure record has the condition ``RecursiveInvocationException`` and no response, and its DLQ
message the error code 400 with the exception's message.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .functions import (
    function_arn,
    function_exists,
    moto_function,
    parse_function_name,
    validation_exception,
)
from .interception import AwsError, Call, Reply, json_reply, operation
from .metrics import History, Kind, put_metric

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .mock import LambdaAsyncController

__all__ = [
    "CONDITION",
    "MESSAGE",
    "THRESHOLD",
    "Lineage",
    "admit",
    "current",
    "error",
    "of_messages",
    "recursive_loop",
    "running",
    "tag",
]

#: Invocations of one function allowed in one chain; the next one is stopped ("approximately 16").
THRESHOLD = 16
ALLOW = "Allow"
TERMINATE = "Terminate"
#: The modelled description of ``RecursiveInvocationException`` (INFERENCE: used as its message).
MESSAGE = (
    "Lambda has detected your function being invoked in a recursive loop with other Amazon Web "
    "Services resources and stopped your function's invocation."
)
#: ``requestContext.condition`` of a stopped async event's OnFailure record (INFERENCE).
CONDITION = "RecursiveInvocationException"
#: HTTP status of ``RecursiveInvocationException`` (botocore model), the DLQ's ``ErrorCode``.
STATUS = 400
#: Where the setting lives on moto's ``$LATEST`` function object (deleted with the function).
_SETTING = "_mock_lambda_async_recursive_loop"
#: Where an SQS message keeps the chain it was sent in (moto's ``Message`` object).
_MESSAGE_LINEAGE = "_mock_lambda_async_lineage"


@dataclass(frozen=True)
class Lineage:
    """How many times each function (by unqualified ARN) was invoked in one chain of requests."""

    counts: tuple[tuple[str, int], ...] = ()

    def count(self, fn: ResolvedFunction) -> int:
        return dict(self.counts).get(fn.unqualified_arn, 0)

    def after(self, fn: ResolvedFunction) -> Lineage:
        """This chain once ``fn`` has run once more in it."""
        counts = dict(self.counts)
        counts[fn.unqualified_arn] = counts.get(fn.unqualified_arn, 0) + 1
        return Lineage(tuple(sorted(counts.items())))

    @staticmethod
    def longest(lineages: Iterable[Lineage | None]) -> Lineage | None:
        """The chains merged, each function at its highest count (``None`` if there are none)."""
        merged: dict[str, int] = {}
        found = False
        for lineage in lineages:
            if lineage is None:
                continue
            found = True
            for key, value in lineage.counts:
                merged[key] = max(merged.get(key, 0), value)
        return Lineage(tuple(sorted(merged.items()))) if found else None


_CHAIN: contextvars.ContextVar[Lineage | None] = contextvars.ContextVar(
    "mock_lambda_async_lineage", default=None
)


def current() -> Lineage | None:
    """The chain of the invocation the calling thread works for (``None``: the test's own calls)."""
    return _CHAIN.get()


@contextmanager
def running(lineage: Lineage | None) -> Iterator[None]:
    """Make ``lineage`` the current chain: what is run or handed on inside belongs to it."""
    token = _CHAIN.set(lineage)
    try:
        yield
    finally:
        _CHAIN.reset(token)


def recursive_loop(fn: ResolvedFunction) -> str:
    """The function's ``RecursiveLoop`` setting (``Terminate`` unless set to ``Allow``)."""
    latest = moto_function(fn.account_id, fn.region, fn.name, "$LATEST")
    value = getattr(latest, _SETTING, None)
    return value if isinstance(value, str) else TERMINATE


def admit(
    controller: LambdaAsyncController,
    fn: ResolvedFunction,
    lineage: Lineage | None,
    *,
    trigger: str,
    request_id: str | None = None,
    note: bool = True,
    **detail: Any,
) -> Lineage | None:
    """The chain an invocation of ``fn`` runs in, or ``None`` when Lambda stops it.

    A stop counts in ``RecursiveInvocationsDropped`` and, with ``note``, is noted as ``dropped``
    (the async queue notes its own drop, after the destination and DLQ).
    """
    chain = lineage or Lineage()
    if chain.count(fn) < THRESHOLD or recursive_loop(fn) == ALLOW:
        return chain.after(fn)
    put_metric(controller, fn, "RecursiveInvocationsDropped", 1)
    if note:
        controller.state(History).note(
            Kind.DROPPED,
            function_name=fn.name,
            request_id=request_id,
            reason=f"{CONDITION}: recursive loop, {chain.count(fn)} invocations in one chain",
            trigger=trigger,
            **detail,
        )
    return None


def error() -> AwsError:
    """What a synchronous ``Invoke`` stopped by loop detection answers."""
    return AwsError("RecursiveInvocationException", MESSAGE, STATUS)


# -- SQS messages -----------------------------------------------------------------------------------
def tag(message: Any) -> None:
    """Mark an SQS message added now with the current chain (called by the queue hook)."""
    chain = _CHAIN.get()
    if chain is None:
        return
    before = getattr(message, _MESSAGE_LINEAGE, None)
    setattr(message, _MESSAGE_LINEAGE, Lineage.longest([before, chain]))


def of_messages(messages: Iterable[Any]) -> Lineage | None:
    """The chain an SQS batch belongs to: the longest of its messages' (INFERENCE)."""
    return Lineage.longest(getattr(m, _MESSAGE_LINEAGE, None) for m in messages)


# -- PutFunctionRecursionConfig / GetFunctionRecursionConfig ----------------------------------------
#: The ``FunctionName`` pattern of these operations: no qualifier part. The botocore model's, with
#: the ``eusc-`` region prefix today's API reference adds to every Lambda name pattern [DOCS
#: lambda/latest/api/API_ChainedInvokeOptions.html] (INFERENCE: here too).
_NAME_PATTERN_TEXT = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_]+)"
)


def _latest(call: Call) -> Any:
    """moto's ``$LATEST`` of the (unqualified) function named, or AWS's error.

    moto does not implement these operations. INFERENCE: a qualified name fails the operation's
    name pattern (it has no qualifier part) with a ``ValidationException``; a missing function gets
    ``Function not found: <arn>``, as the other function-level operations answer.
    """
    value = call.params["FunctionName"]
    parsed = parse_function_name(value, call.region, call.account_id)
    if parsed.qualifier:
        raise validation_exception(
            [
                f"Value '{value}' at 'functionName' failed to satisfy constraint: Member must "
                f"satisfy regular expression pattern: {_NAME_PATTERN_TEXT}"
            ]
        )
    if not function_exists(parsed.account_id, parsed.region, parsed.name):
        arn = function_arn(parsed.region, parsed.account_id, parsed.name)
        raise AwsError("ResourceNotFoundException", f"Function not found: {arn}", 404)
    return moto_function(parsed.account_id, parsed.region, parsed.name, "$LATEST")


@operation("lambda", "PutFunctionRecursionConfig")
def put_function_recursion_config(call: Call) -> Reply:
    value = call.params["RecursiveLoop"]
    if value not in (ALLOW, TERMINATE):
        # botocore does not check enums; the service does (the model's enum, in its order).
        raise validation_exception(
            [
                f"Value '{value}' at 'recursiveLoop' failed to satisfy constraint: Member must "
                "satisfy enum value set: [Allow, Terminate]"
            ]
        )
    latest = _latest(call)
    setattr(latest, _SETTING, value)
    return json_reply(200, {"RecursiveLoop": value})


@operation("lambda", "GetFunctionRecursionConfig")
def get_function_recursion_config(call: Call) -> Reply:
    value = getattr(_latest(call), _SETTING, None)
    return json_reply(200, {"RecursiveLoop": value if isinstance(value, str) else TERMINATE})
