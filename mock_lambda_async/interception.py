"""botocore request interception: which operations we own, and the wire replies they give.

We register on botocore's ``before-call`` event through ``BUILTIN_HANDLERS`` (as moto registers its
``before-send`` stubber), so every client created after this module is imported is covered, and a
handler that answers stops the request before moto sees it. Operations nobody registered here
return ``None`` and fall through to moto untouched.

``before-call`` only sees the serialized request, so a ``before-parameter-build`` handler stashes
the caller's parameters in the request context first. Replies are raw HTTP (status, headers, body)
parsed by botocore's own parser: ``Payload`` is a real ``StreamingBody`` and errors raise the
client's modelled ``ClientError`` subclasses.

Answering in ``before-call`` skips botocore's endpoint, where retries happen, so :func:`_send` does
what the endpoint does with an error reply: it asks the client's ``needs-retry`` handlers (the
``retries`` config: legacy, standard or adaptive mode, and any handler the caller registered)
and runs the operation again as a new request when they say so.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.exceptions import UnseekableStreamError
from botocore.handlers import BUILTIN_HANDLERS
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.retries.adaptive import ClientRateLimiter

if TYPE_CHECKING:
    from botocore.model import OperationModel

    from .mock import LambdaAsyncController

__all__ = ["REQUEST_LIMITS", "AwsError", "Call", "Reply", "json_reply", "operation"]

_PARAMS_KEY = "mock_lambda_async.params"
_ERROR_KEY = "mock_lambda_async.refused"

#: Request body limits of the deployment operations: "Request must be smaller than 69905067 bytes
#: for the CreateFunction operation" (real AWS, localstack#2999 and many deployment logs), the
#: 50 MB zip quota once base64-encoded in the JSON body (52,428,800 * 4 / 3). Checked by
#: ``validation.check_request_size``; kept here, where the handlers answering them are registered.
REQUEST_LIMITS = {"CreateFunction": 69_905_067, "UpdateFunctionCode": 69_905_067}


class AwsError(Exception):
    """An error AWS would return: raised by an operation handler, rendered on the wire.

    ``message_key`` is the body key AWS uses for the text (``Message`` for most Lambda errors,
    lowercase ``message`` for some, recorded in the spec); ``fields`` are extra body members such as
    ``Type`` or ``Reason``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        message_key: str = "Message",
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.message_key = message_key
        self.fields = {"Type": "User", **(fields or {})}
        self.headers = headers or {}


@dataclass
class Reply:
    """A raw HTTP reply, as AWS would send it."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


@dataclass
class Call:
    """One intercepted API call: what was asked, by whom, where."""

    controller: LambdaAsyncController
    service: str
    operation: str
    params: dict[str, Any]
    region: str
    account_id: str
    model: OperationModel


Handler = Callable[[Call], Reply]
_OPERATIONS: dict[tuple[str, str], Handler] = {}


def operation(service: str, name: str) -> Callable[[Handler], Handler]:
    """Declare that ``handler`` answers ``service``'s ``name`` while the mock is active."""

    def register(handler: Handler) -> Handler:
        _OPERATIONS[(service, name)] = handler
        return handler

    return register


class _Interceptor:
    """The process-wide hook; active only while a controller is installed."""

    def __init__(self) -> None:
        self._stack: list[LambdaAsyncController] = []
        self._lock = threading.Lock()

    @property
    def controller(self) -> LambdaAsyncController | None:
        # One read of the list: ``remove`` (a mock stopping on another thread) replaces it.
        stack = self._stack
        return stack[-1] if stack else None

    def push(self, controller: LambdaAsyncController) -> None:
        with self._lock:
            self._stack.append(controller)

    def is_active(self, controller: LambdaAsyncController | None) -> bool:
        return controller is not None and any(c is controller for c in self._stack)

    def remove(self, controller: LambdaAsyncController) -> None:
        with self._lock:
            self._stack = [c for c in self._stack if c is not controller]

    def stash_params(
        self, params: dict[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
    ) -> None:
        """Keep the caller's parameters for ``before_call``, checked as Lambda's front end does.

        A refused request's error is kept for ``before_call`` to answer. The check runs here,
        before botocore serializes, because a value of the wrong type can break the serializer
        itself once the client's own validation is off (see :class:`_RefusingClient`).
        """
        if not self._stack:
            return
        from .validation import check_request, check_request_size

        too_large = check_request_size(model, params)
        if too_large is not None:
            context[_PARAMS_KEY] = {}
            context[_ERROR_KEY] = too_large
            return
        if (model.service_model.service_name, model.name) not in _OPERATIONS:
            context[_PARAMS_KEY] = dict(params)
            return
        checked, error = check_request(model, params)
        context[_PARAMS_KEY] = checked
        if error is not None:
            context[_ERROR_KEY] = error

    def before_call_refused(self, context: dict[str, Any], **kwargs: Any) -> Any:
        """Answer a request refused at the front door ahead of the operation's other handlers.

        Registered for each operation of :data:`REQUEST_LIMITS` by its own name, so it runs
        before the package checks registered the same way (a too-large upload is a 413 whatever
        its content, as the size is checked first).
        """
        if context.get(_ERROR_KEY) is None:
            return None
        return self.before_call(context=context, **kwargs)

    def before_call(
        self,
        model: OperationModel,
        params: dict[str, Any],
        request_signer: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        controller = self.controller
        if controller is None:
            return None
        controller.before_api_call()
        service = model.service_model.service_name
        handler = _OPERATIONS.get((service, model.name))
        refused = context.get(_ERROR_KEY)
        if refused is not None:
            # Refused at the front door, also an operation moto answers (an oversized upload).
            handler = _refuse(refused)
        if handler is None:
            return None
        call = Call(
            controller=controller,
            service=service,
            operation=model.name,
            params=context.get(_PARAMS_KEY, {}),
            region=context.get("client_region") or "us-east-1",
            account_id=_account_id(request_signer),
            model=model,
        )
        denial = moto_authorization(model, params, request_signer)
        if denial is not None:
            return to_botocore(model, denial, params.get("url", ""))
        return _send(handler, call, params, getattr(request_signer, "_event_emitter", None))


class _RefusingClient:
    """A base of every botocore client class made while this module is loaded.

    A request refused by :func:`~.validation.check_request` is serialized with placeholder path
    members instead of its own parameters when the client does not validate them
    (``parameter_validation=False``): botocore's serializer trusts the types, and ``5`` for a
    structure or ``"x"`` for a timestamp would make it raise a Python error before ``before-call``.
    The request is never sent; ``before_call`` answers it with the error. A client that validates
    raises botocore's own ``ParamValidationError`` first, as it would before sending to AWS.
    """

    _serializer: Any

    def _convert_to_request_dict(self, *args: Any, **kwargs: Any) -> Any:
        context = kwargs.get("context") or {}
        model = kwargs.get("operation_model")
        if _ERROR_KEY in context and model is not None and "api_params" in kwargs:
            from botocore.validate import ParamValidationDecorator

            if not isinstance(self._serializer, ParamValidationDecorator):
                kwargs["api_params"] = _placeholders(model)
        return super()._convert_to_request_dict(*args, **kwargs)  # type: ignore[misc]


def _add_refusing_base(base_classes: list[type], **_: Any) -> None:
    base_classes.insert(0, _RefusingClient)


def _placeholders(model: OperationModel) -> dict[str, Any]:
    """The parameters the serializer needs to build a request that is never sent: its path."""
    shape = model.input_shape
    if shape is None:
        return {}
    return {
        name: "refused"
        for name, member in shape.members.items()
        if member.serialization.get("location") == "uri"
    }


def _refuse(error: AwsError) -> Handler:
    def answer(call: Call) -> Reply:
        raise error

    return answer


def _send(
    handler: Handler, call: Call, request_dict: dict[str, Any], emitter: Any
) -> tuple[AWSResponse, dict[str, Any]]:
    """Answer ``call`` as botocore's endpoint sends a request (``Endpoint._send_request``).

    An error reply goes to the client's ``needs-retry`` handlers, which decide as they would for
    AWS's reply; while one asks for a retry, the operation runs again as a new request (a throttle
    rule with ``count=N`` takes one attempt each time, each throttled attempt counts in
    ``Throttles``). ``RetryAttempts`` and the handlers' ``MaxAttemptsReached`` end in the response
    metadata, so the ``ClientError`` reads "... (reached max retries: 2): Rate Exceeded.".

    A 2xx reply is never offered, so successful calls cost nothing more: the only retry checks
    that can retry one are DynamoDB's CRC32 checks (``retryhandler.CRC32Checker``,
    ``special.RetryDDBChecksumError``), which need an ``x-amz-crc32`` header no reply here has.

    The handlers' delay is neither slept nor added to the virtual clock. The clock is the test's:
    moving it inside a call would make due work (async retries, pollers) fall due in the middle of
    the caller's request, past the point ``lam.advance`` put it, and by an amount botocore draws from
    the unseeded ``random`` module, so the same test would not give the same timeline twice.
    """
    attempts = 1
    response = _answer(handler, call, request_dict)
    while response[0].status_code >= 300 and _needs_retry(
        emitter, call.model, request_dict, response, attempts
    ):
        attempts += 1
        _rewind(request_dict.get("body"))
        response = _answer(handler, call, request_dict)
    metadata = response[1].get("ResponseMetadata")
    if metadata is not None:
        # The endpoint's count: retries, not attempts.
        metadata["RetryAttempts"] = attempts - 1
    return response


def _answer(
    handler: Handler, call: Call, request_dict: dict[str, Any]
) -> tuple[AWSResponse, dict[str, Any]]:
    try:
        reply = handler(call)
    except AwsError as error:
        reply = render_error(call.model, error)
    return to_botocore(call.model, reply, request_dict.get("url", ""))


def _needs_retry(
    emitter: Any,
    model: OperationModel,
    request_dict: dict[str, Any],
    response: tuple[AWSResponse, dict[str, Any]],
    attempts: int,
) -> bool:
    """Whether the client's retry handlers retry ``response`` (``Endpoint._needs_retry``).

    The kwargs are the endpoint's; ``endpoint`` is ``None``, as the reply comes from none (no
    Lambda retry handler reads it).
    """
    if emitter is None:
        return False
    context = request_dict["context"]
    # ``Endpoint._update_retries_context``: the handlers record the attempt limit in it.
    retries = context.setdefault("retries", {})
    retries["attempt"] = attempts
    retries.setdefault("invocation-id", str(uuid.uuid4()))
    event_name = f"needs-retry.{model.service_model.service_id.hyphenize()}.{model.name}"
    kwargs: dict[str, Any] = {
        "response": response,
        "endpoint": None,
        "operation": model,
        "attempts": attempts,
        "caught_exception": None,
        "request_dict": request_dict,
    }
    handlers = _retry_handlers(emitter, event_name)
    if handlers is None:
        answers = [answer for _, answer in emitter.emit(event_name, **kwargs)]
    else:
        answers = [handler(event_name=event_name, **kwargs) for handler in handlers]
    # ``first_non_none_response``: a delay (even 0) retries, ``None`` or ``False`` does not.
    delay = next((answer for answer in answers if answer is not None), None)
    return delay is not None and delay is not False


def _retry_handlers(emitter: Any, event_name: str) -> list[Callable[..., Any]] | None:
    """The handlers ``emitter.emit(event_name)`` would call, but adaptive mode's rate limiter.

    The limiter decides no retry (it returns ``None``); it learns the send rate from throttles,
    then paces the client's next requests on the wall clock in ``before-send``. Taught by the
    mock's throttles, it would make the test wait in real time on its calls that moto answers.
    ``None`` if the emitter does not keep botocore's handler trie (all handlers are called then).
    """
    trie = getattr(getattr(emitter, "_emitter", emitter), "_handlers", None)
    if trie is None:
        return None
    return [
        handler
        for handler in trie.prefix_search(event_name)
        if not isinstance(getattr(handler, "__self__", None), ClientRateLimiter)
    ]


def _rewind(body: Any) -> None:
    """Rewind a streamed request body for the next attempt (``AWSRequest.reset_stream``).

    A ``Payload`` given as a file is read again from its start, as botocore sends it again; one
    that cannot seek fails the call with botocore's own error, as it does against AWS.
    """
    if body is None or isinstance(body, bytes | bytearray | str):
        return
    try:
        body.seek(0)
    except Exception as error:
        raise UnseekableStreamError(stream_object=body) from error


# -- moto's IAM enforcement ---------------------------------------------------------------------------
#: moto's request handler of each service we answer operations of (its IAM check is a method of it).
_MOTO_RESPONSES = {"lambda": ("moto.awslambda.responses", "LambdaResponse")}
_forwarding = threading.local()


def moto_authorization(
    model: OperationModel, request_dict: dict[str, Any], request_signer: Any
) -> Reply | None:
    """moto's answer to a caller its IAM enforcement refuses, or ``None`` to go on.

    moto counts every request against ``set_initial_no_auth_action_count`` and, past that count,
    checks the caller's signature and policies before it runs the operation
    (``ActionAuthenticatorMixin``). We answer before moto sees the request, so we run moto's own
    check on the request signed as the client signs it, and give its error reply (403) unchanged.
    """
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count += 1
        return None
    found = _MOTO_RESPONSES.get(model.service_model.service_name)
    if found is None or request_signer is None:
        return None
    import importlib

    from botocore.awsrequest import create_request_object
    from werkzeug.exceptions import HTTPException

    request = create_request_object(request_dict)
    request_signer.sign(model.name, request)
    prepared = request.prepare()
    responder = getattr(importlib.import_module(found[0]), found[1])()
    responder.setup_class(prepared, prepared.url, prepared.headers)
    try:
        responder._authenticate_and_authorize_normal_action()
    except HTTPException as error:
        # As moto's ``BaseResponse.call_action`` answers it.
        status, headers, body = responder._transform_response(
            responder.response_headers, (error.description, {"status": error.code})
        )
        headers, body = responder._enrich_response(headers, body)
        raw = body.encode() if isinstance(body, str) else bytes(body or b"")
        return Reply(int(status), raw, {str(k): str(v) for k, v in headers.items()})
    return None


class already_authorized:
    """While forwarding a call to moto that :func:`moto_authorization` already let through, moto
    neither counts it again nor checks it (the forwarded request is not signed)."""

    def __enter__(self) -> None:
        _skip_moto_authorization()
        _forwarding.depth = getattr(_forwarding, "depth", 0) + 1

    def __exit__(self, *_: Any) -> None:
        _forwarding.depth -= 1


_authorization_wrapped: list[bool] = []


def _skip_moto_authorization() -> None:
    """Wrap moto's check once, so a forwarding thread skips it (all others are untouched)."""
    if _authorization_wrapped:
        return
    from moto.core.authorization import ActionAuthenticatorMixin

    check = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def check_unless_forwarding(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if getattr(_forwarding, "depth", 0):
            return
        check(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = check_unless_forwarding  # type: ignore[method-assign]
    _authorization_wrapped.append(True)


def _account_id(request_signer: Any) -> str:
    """The moto account the caller's credentials belong to (as moto itself decides it)."""
    from moto.iam.models import get_account_id_from

    credentials = getattr(request_signer, "_credentials", None)
    access_key = getattr(credentials, "access_key", None) or "AKIAEXAMPLE"
    return str(get_account_id_from(access_key))


def render_error(model: OperationModel, error: AwsError) -> Reply:
    """Serialize ``error`` the way the service's protocol puts errors on the wire."""
    protocol = model.service_model.protocol
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id, **error.headers}
    if protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{_xml_escape(error.code)}</Code><Message>{_xml_escape(error.message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Reply(error.status, body.encode(), {**headers, "Content-Type": "text/xml"})
    data: dict[str, Any] = {**error.fields, error.message_key: error.message}
    if protocol == "json":
        data["__type"] = error.code
    headers["x-amzn-ErrorType"] = error.code
    return Reply(
        error.status, json.dumps(data).encode(), {**headers, "Content-Type": "application/json"}
    )


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_botocore(
    model: OperationModel, reply: Reply, url: str
) -> tuple[AWSResponse, dict[str, Any]]:
    """Turn a raw reply into what botocore's ``_make_api_call`` expects from ``before-call``."""
    headers = HeadersDict({"x-amzn-RequestId": str(uuid.uuid4()), **reply.headers})
    raw = io.BytesIO(reply.body)
    response_dict: dict[str, Any] = {
        "headers": headers,
        "status_code": reply.status,
        "context": {"operation_name": model.name},
    }
    if reply.status < 300 and model.has_streaming_output:
        response_dict["body"] = StreamingBody(raw, len(reply.body))
    else:
        response_dict["body"] = reply.body
    parser = _parser(model.service_model.protocol)
    parsed = parser.parse(response_dict, model.output_shape)
    _add_modeled_error_fields(model, parser, response_dict, parsed)
    http = AWSResponse(url, reply.status, headers, raw)
    return http, parsed


_PARSERS: dict[str, Any] = {}


def _parser(protocol: str) -> Any:
    """botocore's parser for ``protocol``, one per protocol (a client also reuses its parser)."""
    parser = _PARSERS.get(protocol)
    if parser is None:
        parser = _PARSERS[protocol] = create_parser(protocol)
    return parser


def _add_modeled_error_fields(
    model: OperationModel, parser: Any, response_dict: dict[str, Any], parsed: dict[str, Any]
) -> None:
    """Members of a modelled error (``Type``, ``Reason`` …) at the top of ``e.response``.

    botocore's endpoint does this after parsing a real HTTP error
    (``Endpoint._add_modeled_error_fields``); we answer before the endpoint, so we do it here.
    """
    code = parsed.get("Error", {}).get("Code")
    if code is None:
        return
    shape = model.service_model.shape_for_error_code(code)
    if shape is not None:
        parsed.update(parser.parse(response_dict, shape))


_INTERCEPTOR = _Interceptor()


def interceptor() -> _Interceptor:
    return _INTERCEPTOR


BUILTIN_HANDLERS.append(("creating-client-class", _add_refusing_base))
BUILTIN_HANDLERS.append(("before-parameter-build", _INTERCEPTOR.stash_params))
BUILTIN_HANDLERS.append(("before-call", _INTERCEPTOR.before_call))
for _operation in REQUEST_LIMITS:
    BUILTIN_HANDLERS.append((f"before-call.lambda.{_operation}", _INTERCEPTOR.before_call_refused))
