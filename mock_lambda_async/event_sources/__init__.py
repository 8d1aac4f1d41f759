"""Event sources: event source mappings (SQS, Kinesis, DynamoDB Streams) and push triggers."""
