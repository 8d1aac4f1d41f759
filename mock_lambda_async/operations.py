"""Imports every module that declares an intercepted operation, so all are registered at start."""

from . import invoke  # noqa: F401
