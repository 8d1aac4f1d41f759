"""The Kinesis and DynamoDB Streams mapping poller. PLACEHOLDER until the event-sources issue."""
