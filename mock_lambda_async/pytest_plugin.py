"""pytest plugin: the ``lambda_async`` fixture (registered through the ``pytest11`` entry point)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .mock import LambdaAsyncController, mock_lambda_async


@pytest.fixture
def lambda_async() -> Iterator[LambdaAsyncController]:
    """An active mock (moto started if needed); yields the controller."""
    with mock_lambda_async() as controller:
        yield controller
