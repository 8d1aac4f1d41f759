"""One botocore data loader shared by every session created while the mock is active.

moto resets ``boto3.DEFAULT_SESSION`` on each activation, so every test's first client builds a new
botocore session whose fresh loader parses the service models from disk again (~0.3 s per test for
Lambda alone). The models are read-only data, so sessions can share one loader per search path.
"""

from __future__ import annotations

from typing import Any

import botocore.session

__all__ = ["share_loaders", "stop_sharing"]

_original_create_loader = botocore.session.create_loader
_loaders: dict[str | None, Any] = {}
_active = 0


def _shared_create_loader(search_path_string: str | None = None) -> Any:
    loader = _loaders.get(search_path_string)
    if loader is None:
        loader = _loaders[search_path_string] = _original_create_loader(search_path_string)
    return loader


def share_loaders() -> None:
    """Start sharing (nested activations count); pair every call with :func:`stop_sharing`."""
    global _active
    _active += 1
    botocore.session.create_loader = _shared_create_loader


def stop_sharing() -> None:
    global _active
    _active = max(0, _active - 1)
    if _active == 0:
        botocore.session.create_loader = _original_create_loader
