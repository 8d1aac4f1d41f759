"""Function ``DeadLetterConfig`` (moto ignores it): stored per version, echoed in responses.

PLACEHOLDER until the async-engine issue.
"""
