"""mock_lambda_async: test AWS Lambda's asynchronous behaviour in-process, on a virtual clock.

>>> from mock_lambda_async import mock_lambda_async
>>> with mock_lambda_async() as lam:
...     ...
"""

from .assertions import DeadLetter
from .clock import VirtualClock
from .deploy import Stack, TemplateError
from .faults import Fault, Faults
from .metrics import Attempt, Timeline, TimelineEntry
from .mock import LambdaAsyncController, MockLambdaAsync, get_controller, mock_lambda_async
from .runtime import SHARED_MODULES, InvocationResult, LambdaContext

__all__ = [
    "SHARED_MODULES",
    "Attempt",
    "DeadLetter",
    "Fault",
    "Faults",
    "InvocationResult",
    "LambdaAsyncController",
    "LambdaContext",
    "MockLambdaAsync",
    "Stack",
    "TemplateError",
    "Timeline",
    "TimelineEntry",
    "VirtualClock",
    "get_controller",
    "mock_lambda_async",
]
