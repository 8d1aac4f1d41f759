"""Every test run (``tests/``, ``examples/``, each xdist worker, Python processes a test starts)
fails any connection off this machine: see ``tests/network_guard/sitecustomize.py``."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_GUARD = Path(__file__).resolve().parent / "tests" / "network_guard"

_spec = importlib.util.spec_from_file_location("network_guard", _GUARD / "sitecustomize.py")
assert _spec is not None and _spec.loader is not None
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(_GUARD), os.environ.get("PYTHONPATH", "")])
)
