"""X-Ray trace headers: one per invocation, carried from SQS messages and onto the ones Lambda sends.

Lambda gives every invocation a trace header in ``_X_AMZN_TRACE_ID``
(``Root=1-<8 hex epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=0``, developer guide
"Using Lambda environment variables" and services-xray), and sets ``AWS_XRAY_CONTEXT_MISSING``
(``LOG_ERROR``) and ``AWS_XRAY_DAEMON_ADDRESS`` (``169.254.79.129:2000``). Powertools Logger logs
the header's ``Root`` as ``xray_trace_id``. With active tracing off the header is not sampled.

- An invocation triggered by SQS messages continues the trace of the first message's
  ``AWSTraceHeader`` system attribute (same ``Root``, new ``Parent``).
- Messages Lambda sends to SQS destinations and DLQs carry an ``AWSTraceHeader`` system attribute
  (recorded: LocalStack's AWS-validated snapshots of destination and DLQ messages show it).
- The header carries the request chain's ``Lineage`` as recursion detection keeps it
  (``Lineage=<8 hex>:<count>|...``). INFERENCE: AWS's 8 hex digits are an undocumented hash of the
  function; here they are the first 8 hex digits of the SHA-256 of its unqualified ARN.

Times are virtual: the ``Root`` time is the virtual clock's.
"""

from __future__ import annotations

import contextvars
import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from . import recursion

__all__ = ["XRAY_VARIABLES", "continuing", "header_of_messages", "new_header", "root_of"]

#: The X-Ray variables every Lambda Python runtime sets besides ``_X_AMZN_TRACE_ID``.
XRAY_VARIABLES = {
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
}

_INCOMING: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mock_lambda_async_incoming_trace", default=None
)


def root_of(header: str | None) -> str | None:
    """The ``Root`` field of a trace header, or ``None``."""
    for field in (header or "").split(";"):
        key, _, value = field.strip().partition("=")
        if key == "Root" and value:
            return value
    return None


@contextmanager
def continuing(header: str | None) -> Iterator[None]:
    """Invocations started inside continue the trace of ``header`` (``None``: a new trace)."""
    token = _INCOMING.set(header)
    try:
        yield
    finally:
        _INCOMING.reset(token)


def new_header(now_s: float) -> str:
    """A fresh header: the incoming trace's ``Root`` (or a new one at ``now_s``), a new ``Parent``."""
    root = root_of(_INCOMING.get()) or f"1-{int(now_s):08x}-{secrets.token_hex(12)}"
    fields = [f"Root={root}", f"Parent={secrets.token_hex(8)}", "Sampled=0"]
    lineage = recursion.current()
    if lineage is not None and lineage.counts:
        fields.append("Lineage=" + "|".join(f"{_short(arn)}:{n}" for arn, n in lineage.counts))
    return ";".join(fields)


def header_of_messages(messages: Iterable[Any]) -> str | None:
    """The ``AWSTraceHeader`` of the first of moto's SQS messages that has one."""
    for message in messages:
        trace = (getattr(message, "system_attributes", None) or {}).get("AWSTraceHeader")
        if trace and trace.get("StringValue"):
            return str(trace["StringValue"])
    return None


def _short(arn: str) -> str:
    return hashlib.sha256(arn.encode()).hexdigest()[:8]
