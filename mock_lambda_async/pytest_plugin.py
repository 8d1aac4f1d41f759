"""pytest plugin (``pytest11`` entry point): the ``lambda_async`` fixture and its marker.

Wiring only: the fixture activates :func:`mock_lambda_async` with the marker's keywords, and a
failed test that used it gets the mock's timeline as a report section. Reports carry the section
as text, so it reaches the terminal from ``pytest-xdist`` workers too.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .metrics import History
    from .mock import LambdaAsyncController

# The package (and moto) is imported only when a test asks for the fixture: the plugin is loaded
# into every pytest run of an environment that has the package installed.
_HISTORY: pytest.StashKey[History] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "lambda_async(auto_drain=True, start=None): options of the lambda_async fixture's "
        "mock_lambda_async activation",
    )


@pytest.fixture
def lambda_async(request: pytest.FixtureRequest) -> Iterator[LambdaAsyncController]:
    """An active mock (moto started if needed); yields the controller.

    Configure it with ``@pytest.mark.lambda_async(auto_drain=False, start=datetime(...))`` on the
    test, its class or its module.
    """
    from .metrics import History
    from .mock import mock_lambda_async

    marker = request.node.get_closest_marker("lambda_async")
    options = marker.kwargs if marker is not None else {}
    with mock_lambda_async(**options) as controller:
        # Keep the history itself: the report may be built after the mock has stopped.
        request.node.stash[_HISTORY] = controller.state(History)
        yield controller


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    history = item.stash.get(_HISTORY, None)
    if history is not None:
        if report.failed:
            from .assertions import TIMELINE_HEADING

            report.sections.append((TIMELINE_HEADING, str(history.timeline())))
        if report.when == "teardown":
            # The session keeps every item to the end; it need not keep every test's history.
            del item.stash[_HISTORY]
    return report
