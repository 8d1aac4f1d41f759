"""Charges an order; a zero amount fails the charge."""


def handler(event, context):
    if event["amount"] <= 0:
        raise ValueError(f"cannot charge {event['amount']}")
    return {"charged": event["order_id"]}
