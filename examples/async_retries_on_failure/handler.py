"""Charges an order. A bad order raises, so Lambda retries the event, then gives it to the
function's OnFailure destination."""


def handler(event, context):
    if event["amount"] <= 0:
        raise ValueError(f"order {event['order_id']}: amount must be positive")
    return {"order_id": event["order_id"], "status": "charged"}
