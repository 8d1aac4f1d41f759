"""The event in and the response out, as the runtime's marshaller reads and writes them."""

from __future__ import annotations

import decimal
import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .environments import _Config

    pass


class _Fault(Exception):
    """A runtime fault during the Invoke phase (``Runtime.MarshalError``/``UnmarshalError``)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class _RuntimeCrash(Exception):
    """The runtime itself failed on a value (``error``): its process ends with exit status 1.

    Raised where the runtime's own code, outside any ``try``, cannot handle what the handler gave
    it, e.g. a python3.12 response string holding a lone surrogate (``"\\udcff"``), which its
    marshaller writes as it is and its client then cannot encode as UTF-8.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class _Encoder(json.JSONEncoder):
    """The runtime's encoder (simplejson, ``use_decimal=False``) as far as the stdlib can follow.

    ``Decimal`` is written as a number (the runtime writes ``str(d)`` raw; here integral values
    become ints and others floats, exact for any value a float holds), ``Decimal('NaN')`` as
    ``NaN``; named tuples become objects (simplejson's ``namedtuple_as_object``).
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            if o.is_nan():
                return math.nan
            return int(o) if o == o.to_integral_value() and o.is_finite() else float(o)
        return super().default(o)

    def iterencode(self, o: Any, _one_shot: bool = False) -> Iterator[str]:
        return super().iterencode(_namedtuples_as_objects(o), _one_shot)


def _namedtuples_as_objects(value: Any) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _namedtuples_as_objects(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _namedtuples_as_objects(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_namedtuples_as_objects(v) for v in value]
    return value


def _marshal(value: Any, config: _Config) -> bytes:
    """The response body (``LambdaMarshaller.marshal_response``): bytes pass through, else JSON.

    The python3.12 runtime writes non-ASCII characters as they are; the others escape them.
    """
    if isinstance(value, bytes):
        return value
    try:
        text = _Encoder(ensure_ascii=config.runtime != "python3.12").encode(value)
    except Exception as error:
        raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {error}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        # ``LambdaRuntimeClient.post_invocation_result`` encodes outside any ``try``.
        raise _RuntimeCrash(error) from error


def _unmarshal(payload: bytes) -> Any:
    """The event (``unmarshal_request``). An empty request body is delivered as ``{}``."""
    if not payload:
        return {}
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as error:
        # ``RecursionError`` too: the runtime interface client catches every exception here.
        raise _Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {error}") from None
