"""Charges each order once, however many times Lambda delivers it.

Lambda delivers at least once: an async event or an SQS message can reach the function twice.
Powertools' idempotency utility keeps a record per order id in a DynamoDB table: the first
delivery charges the order and stores the result; a duplicate gets the stored result back without
charging again.

- ``handler``: one order per event (asynchronous invokes), ``@idempotent`` on the order id.
- ``batch_handler``: SQS batches, one order per message, ``@idempotent_function`` per record.
"""

import os
import uuid

import boto3
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
    idempotent_function,
)

persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
config = IdempotencyConfig(event_key_jmespath="order_id")
payments = boto3.resource("dynamodb").Table(os.environ["PAYMENTS_TABLE"])
processor = BatchProcessor(event_type=EventType.SQS)


def charge(order):
    """The side effect that must happen once per order: a payment in the ledger."""
    payment_id = str(uuid.uuid4())
    payments.put_item(
        Item={"payment_id": payment_id, "order_id": order["order_id"], "amount": order["amount"]}
    )
    return {"order_id": order["order_id"], "payment_id": payment_id}


@idempotent(config=config, persistence_store=persistence)
def handler(event, context):
    return charge(event)


@idempotent_function(data_keyword_argument="order", config=config, persistence_store=persistence)
def charge_once(order):
    return charge(order)


def record_handler(record: SQSRecord):
    return charge_once(order=record.json_body)


def batch_handler(event, context):
    config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
