"""The event source mapping API (Create/Get/Update/Delete/List) and the mapping registry.

PLACEHOLDER until the event-sources issue.
"""
