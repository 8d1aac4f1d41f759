"""pytest plugin (``pytest11`` entry point): the ``lambda_async`` fixture and its marker.

Wiring only: the fixture activates :func:`mock_lambda_async` with the marker's keywords, and a
failed test that used it gets the mock's timeline as a report section. Reports carry the section
as text, so it reaches the terminal from ``pytest-xdist`` workers too.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

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
        "lambda_async(auto_drain=True, start=None, patch_time=True): options of the "
        "lambda_async fixture's "
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

    with mock_lambda_async(**_options(request.node)) as controller:
        # Keep the history itself: the report may be built after the mock has stopped.
        request.node.stash[_HISTORY] = controller.state(History)
        yield controller


def _options(node: pytest.Item) -> dict[str, Any]:
    """The keywords of every ``lambda_async`` marker on the test, its class and its module; the
    closest one's value wins for each keyword (a test's ``start`` keeps its module's ``auto_drain``).
    """
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("lambda_async"))):
        if marker.args:
            # A positional value would be dropped without a word (the fixture passes keywords).
            raise TypeError(
                "@pytest.mark.lambda_async takes keywords only (auto_drain=..., start=...), "
                f"got {marker.args!r}"
            )
        options.update(marker.kwargs)
    return options


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
