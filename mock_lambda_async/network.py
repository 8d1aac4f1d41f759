"""Nothing botocore sends leaves the process while a mock is active, whenever its client was made.

The interception (``interception.py``) and moto's stub (``moto.core.models``) sit in botocore's
``BUILTIN_HANDLERS``, which a client copies when it is created: a client made before
``import mock_lambda_async`` (a plain script, ``unittest``, pytest with the plugin disabled) has
neither, and a client with a custom endpoint (``AWS_ENDPOINT_URL=http://localhost:4566``) has
URLs moto does not recognise. From the first activation on, three of botocore's class methods are
wrapped, so every client is covered through its class:

- ``BaseClient._make_api_call``: while a mock is active, a client without the interception's
  handlers gets them (once), so the mock answers its Lambda calls as it answers anyone's;
- ``Endpoint.create_request``: while a mock is active, a request for a host that is not AWS's
  goes to the service's own AWS host instead (``https://<prefix>.<region>.amazonaws.com``, an S3
  bucket host keeping its bucket), so moto answers it rather than the custom endpoint;
- ``Endpoint._send`` (the HTTP send, reached only when no ``before-send`` handler answered):
  while a mock is active, moto's stub is asked (for clients that lack it); what it does not
  answer is refused with :class:`RequestRefused`, never sent.

A thread started by a handler may outlive its mock (a non-daemon thread left running after the
block). Its calls, made on behalf of an invocation whose mock is no longer active, are refused
with :class:`RequestRefused` too, also while a later activation runs: they reach neither AWS nor
another test's moto. Outside any activation, every other call passes through untouched.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from botocore.client import BaseClient
from botocore.endpoint import Endpoint
from botocore.exceptions import BotoCoreError

from .interception import interceptor
from .runtime.scope import _SCOPE

__all__ = ["RequestRefused", "guard_network"]

#: Hosts left as they are: AWS's own, the form moto's stub recognises (a host it does not, such as
#: ``vpce-…``, is refused). Any other (``localhost``, dual-stack ``*.api.aws``) is rewritten.
_AWS_SUFFIX = ".amazonaws.com"
_COVERED = "_mock_lambda_async_covered"


class RequestRefused(BotoCoreError):  # type: ignore[misc]
    """A request no mock answers, refused instead of sent (never retried by botocore)."""

    fmt = "mock_lambda_async refused to send {method} {url}: {reason}"


_ORIGINALS: dict[str, Any] = {}
_LOCK = threading.Lock()


def guard_network() -> None:
    """Wrap botocore's client and endpoint methods (once per process; see the module docstring)."""
    with _LOCK:
        if _ORIGINALS:
            return
        _ORIGINALS.update(
            make_api_call=BaseClient._make_api_call,
            create_request=Endpoint.create_request,
            send=Endpoint._send,
        )
        BaseClient._make_api_call = _make_api_call
        Endpoint.create_request = _create_request
        Endpoint._send = _send


def _active() -> bool:
    return interceptor().controller is not None


def _orphaned() -> bool:
    """Whether the calling thread works for an invocation whose mock is no longer active."""
    scope = _SCOPE.get()
    return scope is not None and not interceptor().is_active(scope.controller)


def _make_api_call(client: BaseClient, operation_name: str, params: dict[str, Any]) -> Any:
    if _orphaned():
        raise RequestRefused(
            method=operation_name,
            url=client.meta.endpoint_url,
            reason="the call comes from a thread of an invocation whose mock_lambda_async "
            "activation has ended",
        )
    if _active() and not client.__dict__.get(_COVERED):
        _cover(client)
    return _ORIGINALS["make_api_call"](client, operation_name, params)


def _cover(client: BaseClient) -> None:
    """Give a client made before the interception existed its handlers (checked once a client)."""
    events = client.meta.events
    inner = getattr(events, "_emitter", events)
    trie = getattr(inner, "_handlers", None)
    handlers = trie.prefix_search("before-call.x.y") if trie is not None else []
    hook = interceptor()
    if hook.before_call not in handlers:
        events.register("before-parameter-build", hook.stash_params)
        events.register("before-call", hook.before_call)
    client.__dict__[_COVERED] = True


def _create_request(endpoint: Endpoint, params: dict[str, Any], operation_model: Any = None) -> Any:
    if operation_model is not None and _active():
        region = params.get("context", {}).get("client_region") or "us-east-1"
        params["url"] = _aws_url(
            params["url"], endpoint.host, operation_model.service_model.endpoint_prefix, region
        )
    return _ORIGINALS["create_request"](endpoint, params, operation_model)


def _aws_url(url: str, endpoint_url: str, prefix: str, region: str) -> str:
    """``url`` on the service's AWS host if it is for another host (a custom endpoint)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.endswith(_AWS_SUFFIX):
        return url
    aws_host = f"{prefix}.{region}.amazonaws.com"
    endpoint_host = urlsplit(endpoint_url).hostname or ""
    if endpoint_host and host.endswith("." + endpoint_host):
        # A virtual-hosted S3 bucket on the custom endpoint: ``bucket.localhost``.
        aws_host = host[: -len(endpoint_host)] + aws_host
    return urlunsplit(("https", aws_host, parts.path, parts.query, parts.fragment))


def _send(endpoint: Endpoint, request: Any) -> Any:
    if not _active():
        return _ORIGINALS["send"](endpoint, request)
    from moto.core.models import botocore_stubber

    response = botocore_stubber("before-send", request)
    if response is not None:
        return response
    raise RequestRefused(
        method=request.method,
        url=request.url,
        reason="neither mock_lambda_async nor moto answers it while the mock is active",
    )
