"""Issues an invoice. An invoice without a customer raises; with both a dead-letter queue and an
OnFailure destination configured, Lambda sends the failed event to each."""


def handler(event, context):
    if not event.get("customer"):
        raise ValueError(f"invoice {event['invoice']} has no customer")
    return {"invoice": event["invoice"], "status": "issued"}
