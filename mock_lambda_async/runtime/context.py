"""The context object Lambda hands the handler, and the ``ClientContext`` header it comes from."""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from ..functions import ResolvedFunction
from ..interception import AwsError
from .timeouts import slept_ms

if TYPE_CHECKING:
    pass


class Client:
    """``context.client_context.client`` (``awslambdaric.lambda_context.Client``)."""

    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, data: dict[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, data.get(name))


class ClientContext:
    """``context.client_context``: ``custom``, ``env`` and ``client``, as the Python runtime builds it."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, data: dict[str, Any]) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else client


class CognitoIdentity:
    """``context.identity``: always present; both ids ``None`` unless invoked through Cognito."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The context object handed to the handler (mirrors ``awslambdaric.lambda_context``).

    ``client_context`` is set only for synchronous invokes that sent one; its ``w3c`` member is
    removed and exposed through :meth:`w3c`, as the runtime does.
    """

    def __init__(
        self,
        request_id: str,
        fn: ResolvedFunction,
        memory_mb: int,
        timeout_s: float,
        log_group: str,
        log_stream: str,
        client_context: dict[str, Any] | None,
    ) -> None:
        self.aws_request_id = request_id
        self.function_name = fn.name
        self.function_version = fn.version
        # Lambda passes the ARN the caller used: unqualified, or with the version/alias named.
        self.invoked_function_arn = fn.unqualified_arn if fn.qualifier is None else fn.qualified_arn
        self.memory_limit_in_mb = str(memory_mb)
        self.log_group_name = log_group
        self.log_stream_name = log_stream
        self.tenant_id: str | None = None
        data = dict(client_context) if client_context is not None else None
        raw_w3c = data.pop("w3c", None) if data is not None else None
        self._w3c = (
            {k: v for k, v in raw_w3c.items() if k in _W3C_FIELDS and isinstance(v, str)}
            if isinstance(raw_w3c, dict)
            else {}
        )
        self.client_context = ClientContext(data) if data is not None else None
        self.identity = CognitoIdentity()
        self._timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """The real time left, less the virtual time the handler has slept."""
        return max(0, int((self._deadline - time.monotonic()) * 1000 - slept_ms()))

    def w3c(self) -> dict[str, str]:
        return dict(self._w3c)

    def log(self, msg: Any) -> None:
        """Write ``msg`` to the invocation's log, as ``context.log`` does."""
        sys.stdout.write(str(msg))

    def _start_clock(self) -> None:
        self._deadline = time.monotonic() + self._timeout_s

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


_W3C_FIELDS = ("traceparent", "tracestate", "baggage")


def decode_client_context(value: str | None) -> dict[str, Any] | None:
    """The ``ClientContext`` header (base64 JSON object), or Lambda's 400 for anything else.

    Message from a real response (boto/boto3#2153).
    """
    if not value:
        return None
    try:
        decoded = json.loads(base64.b64decode(value, validate=True))
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        raise AwsError(
            "InvalidRequestContentException",
            "Client context must be a valid Base64-encoded JSON object.",
            message_key="message",
        )
    return decoded
