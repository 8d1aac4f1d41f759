"""pytest plugin for ``compat/moto_suite.sh``: run moto's own tests with ``mock_lambda_async`` active.

``--compat-mock`` picks where the mock goes around every test:

- ``none``: plain moto (the baseline).
- ``outside``: the mock is active before the test's function-scoped fixtures and its own
  ``@mock_aws`` start, and stops after they end (it starts moto itself, the test's mock nests).
- ``inside``: the mock starts right after the test's outermost moto mock starts (decorator,
  ``with mock_aws()`` or fixture) and stops right before that mock stops.
- ``moto``: a plain ``mock_aws`` where ``outside`` puts the mock. It is the control for
  ``outside``: a test that fails here fails because its moto mock is nested, not because of us.

``--compat-results=PATH`` writes each test's outcome (``passed``/``failed``/``skipped``) and, for a
failure, the phase and first line of its message, as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

MODES = ("none", "outside", "inside", "moto")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("moto compatibility")
    group.addoption("--compat-mock", choices=MODES, default="none")
    group.addoption("--compat-results", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Outcomes(config.getoption("compat_results")), "compat-outcomes")
    if config.getoption("compat_mock") == "inside":
        _start_inside_every_moto_mock()


class _Outcomes:
    """Each test's worst phase outcome; under xdist the controller sees every worker's reports."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.outcomes: dict[str, list[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        previous = self.outcomes.get(report.nodeid)
        if report.failed and (previous is None or previous[0] != "failed"):
            self.outcomes[report.nodeid] = ["failed", f"{report.when}: {_reason(report)}"]
        elif previous is None and (report.skipped or report.when == "call"):
            self.outcomes[report.nodeid] = ["skipped" if report.skipped else "passed", ""]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.path is not None and not hasattr(session.config, "workerinput"):
            Path(self.path).write_text(json.dumps(self.outcomes, indent=0, sort_keys=True))


def _reason(report: pytest.TestReport) -> str:
    """The first line of the failure's message (the crash line pytest prints in its summary)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or str(report.longrepr)
    return message.strip().splitlines()[0][:300] if message.strip() else "?"


@pytest.fixture(autouse=True)
def _compat_outside(request: pytest.FixtureRequest) -> Iterator[None]:
    """Plugin autouse fixtures are set up before the test's own function-scoped fixtures."""
    mode = request.config.getoption("compat_mock")
    if mode == "outside":
        from mock_lambda_async import MockLambdaAsync

        activation = MockLambdaAsync()
        activation.start()
        try:
            yield
        finally:
            activation.stop()
    elif mode == "moto":
        from moto import mock_aws

        with mock_aws():
            yield
    else:
        yield


def _start_inside_every_moto_mock() -> None:
    """Wrap moto's ``MockAWS.start``/``stop`` so the outermost moto mock carries our mock."""
    from moto.core.models import MockAWS

    from mock_lambda_async import MockLambdaAsync

    original_start: Callable[..., None] = MockAWS.start
    original_stop: Callable[..., None] = MockAWS.stop
    active: list[MockLambdaAsync] = []

    def start(self: Any, *args: Any, **kwargs: Any) -> None:
        original_start(self, *args, **kwargs)
        if MockAWS._nested_count == 1 and not active:
            activation = MockLambdaAsync()
            active.append(activation)
            activation.start()

    def stop(self: Any, *args: Any, **kwargs: Any) -> None:
        if MockAWS._nested_count == 1 and active:
            try:
                active.pop().stop()
            finally:
                original_stop(self, *args, **kwargs)
            return
        original_stop(self, *args, **kwargs)

    MockAWS.start = start  # type: ignore[method-assign]
    MockAWS.stop = stop  # type: ignore[method-assign]
