"""Error payloads, stack traces and exit statuses, worded as Lambda's Python runtime words them.

The wording of every runtime error follows the Python runtime interface client
(``awslambdaric/bootstrap.py``, ``lambda_runtime_marshaller.py``) and the platform errors recorded
against real AWS (spec section 1). ``sys.exit``/``SystemExit`` and ``os._exit`` end the invocation
with ``Runtime.ExitError`` instead of ending the test process; signals and ``os.abort`` are not
intercepted.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import sysconfig
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .code import _Code
from .environments import _Config
from .isolation import _is_under
from .payloads import _marshal

if TYPE_CHECKING:
    pass

#: Largest response Lambda returns (bytes), from the recorded ``Function.ResponseSizeTooLarge``.
MAX_RESPONSE_BYTES = 6_291_556


TASK_ROOT = "/var/task"


#: The runtime's own frames (the job that calls the handler) lead every trace; Lambda drops its own.
_RUNTIME_DIR = os.path.dirname(os.path.normcase(os.path.abspath(__file__)))
_STDLIB = os.path.normcase(sysconfig.get_paths()["stdlib"])


class _InitError(Exception):
    """The Init phase failed: ``(errorType, errorMessage, stackTrace)`` as the runtime reports it."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


def _lambda_path(path: str, code: _Code | None, config: _Config) -> str:
    """Where ``path`` lives on Lambda: the package under ``/var/task``, the stdlib under ``/var/lang``."""
    if code is not None and _is_under(path, code.directory):
        relative = os.path.relpath(path, code.directory).replace(os.sep, "/")
        return f"{TASK_ROOT}/{relative}"
    if code is not None and code.opt is not None and _is_under(path, code.opt):
        return "/opt/" + os.path.relpath(path, code.opt).replace(os.sep, "/")
    if _is_under(path, Path(_STDLIB)) and "site-packages" not in path:
        relative = os.path.relpath(path, _STDLIB).replace(os.sep, "/")
        return f"/var/lang/lib/python{config.python_version}/{relative}"
    return path


def _stack_trace(tb: TracebackType | None, code: _Code | None, config: _Config) -> list[str]:
    """``traceback.format_list`` of the frames below the runtime, with Lambda's file paths.

    The runtime drops its own leading frames (``bootstrap.py``); so do we (this package's runtime). At init,
    the import machinery frames stay, as they do in Lambda's reports.
    """
    frames = traceback.extract_tb(tb)
    while frames and _in_runtime(frames[0].filename):
        frames.pop(0)
    # And the last ones: the mock's stand-ins for Lambda's C code (its strict UTF-8 stdout).
    while frames and _in_runtime(frames[-1].filename):
        frames.pop()
    entries = [(_lambda_path(f.filename, code, config), f.lineno, f.name, f.line) for f in frames]
    return traceback.format_list(entries)  # type: ignore[arg-type]


def _in_runtime(filename: str) -> bool:
    return os.path.dirname(os.path.normcase(os.path.abspath(filename))) == _RUNTIME_DIR


def _error_block(error_type: str, message: str, trace: list[str]) -> str:
    """The ``[ERROR]`` log event the runtime writes for a failed phase (``log_error``, text format)."""
    lines = [f"[ERROR] {error_type}: {message}" if message else f"[ERROR] {error_type}"]
    lines.append("Traceback (most recent call last):")
    for entry in trace:
        for line in entry.splitlines():
            stripped = line.lstrip(" ")
            # Indentation becomes no-break spaces (U+00A0), as the runtime writes it.
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines)


def _exit_status(error: SystemExit, stderr: Any) -> int:
    """The process exit status ``SystemExit`` produces (a non-int code is printed, status 1).

    A code that cannot be printed is skipped, as Python's own exit handling clears that error.
    """
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with contextlib.suppress(Exception):
        stderr.write(_printable(f"{code}\n"))
    return 1


def _crash(code: _Code | None, config: _Config, error: BaseException | None = None) -> int:
    """An exception the runtime does not catch (``error``, else the one being handled): Python
    prints the traceback (stderr escapes what UTF-8 cannot hold) and exits with status 1."""
    if error is None:
        error = sys.exc_info()[1]
    assert error is not None
    lines = ["Traceback (most recent call last):\n"]
    lines += _stack_trace(error.__traceback__, code, config)
    lines += traceback.format_exception_only(type(error), error)
    with contextlib.suppress(Exception):
        sys.stderr.write(_printable("".join(lines)))
    return 1


def _printable(text: str) -> str:
    """``text`` as ``sys.stderr`` writes it (``errors="backslashreplace"``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _describe(error: BaseException, trace: list[str]) -> tuple[str, str]:
    """``(errorType, errorMessage)`` of a handler's exception, as the runtime reports it.

    The runtime calls ``str(value)`` and writes the ``[ERROR]`` block to its UTF-8 log sink in its
    own code (``awslambdaric.bootstrap.handle_event_request``, ``log_error``). What fails there
    (an exception whose ``__str__`` raises, text holding a lone surrogate such as
    ``ValueError("\\udcff")``) escapes the runtime's loop and ends its process, exit status 1:
    the caller gets ``Runtime.ExitError``. So this raises whatever the runtime would crash on.
    """
    error_type, message = type(error).__name__, str(error)
    _error_block(error_type, message, trace).encode("utf-8")
    return error_type, message


def _compact(data: dict[str, Any]) -> bytes:
    """Errors the Lambda platform (not the Python runtime) writes: compact JSON, as recorded."""
    return json.dumps(data, separators=(",", ":")).encode()


def _runtime_error(
    message: str, error_type: str, request_id: str, trace: list[str], config: _Config
) -> bytes:
    """``awslambdaric.bootstrap.make_error``, serialised as the runtime's ``to_json`` does.

    Init errors carry the request id as well: real responses to invokes whose init failed show it
    (``"requestId": "4ff2a5d6-…"`` with ``Runtime.ImportModuleError``), although the runtime's own
    init report leaves it empty.
    """
    return _marshal(
        {
            "errorMessage": message or "",
            "errorType": error_type or "",
            "requestId": request_id,
            "stackTrace": trace,
        },
        config,
    )
