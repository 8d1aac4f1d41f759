"""Imports every module that declares an intercepted operation, so all are registered at start."""

from . import (  # noqa: F401
    cloudformation,
    dead_letter_config,
    event_invoke_config,
    invoke,
    provisioned_concurrency,
    recursion,
)
from .event_sources import mappings, push, s3_notifications, schedules  # noqa: F401
