"""The in-process Python runtime: every trigger's invocation ends in :meth:`Runtime.run`.

One file per concern:

| file | concern |
|---|---|
| ``runner.py`` | :class:`Runtime`: acquire an environment, run Init and Invoke, build the result |
| ``environments.py`` | execution environments and the configuration one invocation runs with |
| ``isolation.py`` | each environment's world of modules and named loggers; the shared set; ``sys.path``, cwd |
| ``scope.py`` | which invocation a thread works for; the ``os.environ`` its threads see |
| ``context.py`` | the handler's context object and the ``ClientContext`` header |
| ``timeouts.py`` | the environment's worker thread; stopping a handler at its ``Timeout`` |
| ``output.py`` | stdout/stderr and logging capture, ``START``/``END``/``REPORT`` lines |
| ``errors.py`` | error payloads, stack traces with Lambda's paths, exit statuses |
| ``payloads.py`` | the event in, the response out (the runtime's JSON marshaller) |
| ``code.py`` | deployment packages: checked at ``CreateFunction``, extracted to run |
| ``results.py`` | :class:`InvocationResult`, what the engines read |
| ``process_state.py`` | process-wide state a handler may change, put back when the mock stops |
"""

from .code import zip_problem
from .context import ClientContext, LambdaContext, decode_client_context
from .isolation import SHARED_MODULES
from .results import InvocationResult
from .runner import Runtime
from .scope import in_invocation_thread

__all__ = [
    "SHARED_MODULES",
    "ClientContext",
    "InvocationResult",
    "LambdaContext",
    "Runtime",
    "decode_client_context",
    "in_invocation_thread",
    "zip_problem",
]
