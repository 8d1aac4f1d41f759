"""Ships the orders of an SQS batch one record at a time with Powertools' ``BatchProcessor``.

A record that raises is reported in ``batchItemFailures``, so only that message comes back; the
rest of the batch is deleted. The event source mapping must have ``ReportBatchItemFailures``.
"""

import json

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    order = json.loads(record.body)
    if order["quantity"] <= 0:
        raise ValueError(f"order {order['order_id']}: nothing to ship")
    print(f"shipped order {order['order_id']}")


def handler(event, context):
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
