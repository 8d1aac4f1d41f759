"""The SQS event source mapping poller. PLACEHOLDER until the event-sources issue."""
