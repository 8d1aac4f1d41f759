"""Push triggers: SNS subscriptions, EventBridge rules and S3 notifications invoking Lambda
asynchronously. PLACEHOLDER until the event-sources issue."""
