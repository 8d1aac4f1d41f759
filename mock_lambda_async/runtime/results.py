"""What one attempt produced: :class:`InvocationResult`, read by every engine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..interception import AwsError
from .output import _join

if TYPE_CHECKING:
    pass


@dataclass
class InvocationResult:
    """What one attempt produced, in Lambda's terms.

    ``payload`` is the response body (the handler's JSON result, or the error document);
    ``log`` the invocation's log from ``START`` to ``REPORT`` (what ``LogType=Tail`` returns the
    end of); ``cold_start`` whether a new execution environment was initialised for it.
    """

    request_id: str
    payload: bytes
    function_error: str | None
    executed_version: str
    duration_ms: float
    #: The log text, or its events as written to CloudWatch Logs (joined when read: a history of
    #: many attempts then holds each line once, shared with moto, instead of a second copy).
    _log: str | tuple[str, ...] = field(default="", repr=False)
    error_type: str | None = None
    error_message: str | None = None
    cold_start: bool = False
    init_duration_ms: float | None = None
    log_stream_name: str | None = None
    #: Injected faults (``lam.faults``) that decided this result, e.g. ``("timeout",)``.
    faults: tuple[str, ...] = ()
    #: The part of ``duration_ms`` the handler spent in ``time.sleep``: virtual time the
    #: attempt lasts beyond the instant it ran at (see ``wallclock``).
    virtual_ms: float = 0.0

    @classmethod
    def not_run(cls, request_id: str, version: str, error: AwsError) -> InvocationResult:
        """The error response of an attempt :meth:`Runtime.run` refused with ``error`` (e.g. a
        runtime we cannot run here): the engines handle it like a function error."""
        return cls(
            request_id,
            json.dumps({"errorMessage": error.message, "errorType": error.code}).encode(),
            "Unhandled",
            version,
            0.0,
            error_type=error.code,
            error_message=error.message,
        )

    @property
    def ok(self) -> bool:
        return self.function_error is None

    @property
    def log(self) -> str:
        return self._log if isinstance(self._log, str) else _join(self._log)

    @log.setter
    def log(self, text: str) -> None:
        self._log = text

    def payload_json(self) -> Any:
        """The response decoded: its JSON value, ``None`` when empty, or, for a payload that is not
        JSON (a handler may return any bytes), its text."""
        if not self.payload:
            return None
        try:
            return json.loads(self.payload)
        except ValueError:  # includes UnicodeDecodeError
            return self.payload.decode("utf-8", "replace")
