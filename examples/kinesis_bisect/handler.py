"""Applies stock adjustments from a Kinesis stream. A malformed record raises, which fails the
whole batch; ``BisectBatchOnFunctionError`` lets Lambda split the batch to isolate it."""

import base64
import json


def handler(event, context):
    for record in event["Records"]:
        change = json.loads(base64.b64decode(record["kinesis"]["data"]))
        if not isinstance(change.get("delta"), int):
            raise ValueError(f"malformed adjustment: {change}")
        print(f"{change['sku']}: {change['delta']:+d}")
