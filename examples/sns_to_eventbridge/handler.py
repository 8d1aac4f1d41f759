"""Reserves stock for an order published on an SNS topic. The function has no code for what
happens next: its OnSuccess and OnFailure destinations put the result on an EventBridge bus."""

import json


def handler(event, context):
    [record] = event["Records"]  # SNS invokes the function with one message at a time
    order = json.loads(record["Sns"]["Message"])
    if not order.get("items"):
        raise ValueError(f"order {order['order_id']} has no items")
    return {"order_id": order["order_id"], "reserved": len(order["items"])}
