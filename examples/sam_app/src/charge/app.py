"""Charges an order; a zero amount is a bug in the caller, and the charge fails."""


def handler(event, context):
    if event["amount"] <= 0:
        raise ValueError(f"cannot charge {event['amount']} for order {event['order_id']}")
    return {"charged": event["order_id"]}
