"""The event source mapping API through boto3: responses, states, validation errors, listing."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION
from test_esm_sqs import add_function, client

from mock_lambda_async import mock_lambda_async


def queue(name: str = "jobs", **attributes: str) -> str:
    """Create a queue; returns its ARN."""
    client("sqs").create_queue(QueueName=name, Attributes=attributes)
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def stream(name: str = "clicks") -> str:
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    return str(kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"])


def table_stream(name: str = "orders") -> str:
    description = client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    return str(description["LatestStreamArn"])


def function(lam: Any, name: str = "worker", **config: Any) -> None:
    add_function(lam, name, **config)


def create(**params: Any) -> dict[str, Any]:
    params.setdefault("FunctionName", "worker")
    return dict(client("lambda").create_event_source_mapping(**params))


def error_of(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return {
        "code": caught.value.response["Error"]["Code"],
        "message": caught.value.response["Error"]["Message"],
        "status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def create_error(**params: Any) -> dict[str, Any]:
    params.setdefault("FunctionName", "worker")
    return error_of(client("lambda").create_event_source_mapping, **params)


def invalid(message: str) -> dict[str, Any]:
    return {"code": "InvalidParameterValueException", "message": message, "status": 400}


def validation(message: str) -> dict[str, Any]:
    return {"code": "ValidationException", "message": message, "status": 400}


# -- responses ---------------------------------------------------------------------------------------
def test_sqs_create_response_is_the_recorded_shape(lam: Any) -> None:
    function(lam)
    arn = queue()
    response = create(EventSourceArn=arn)
    uuid = response["UUID"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    del response["ResponseMetadata"], response["LastModified"]
    assert response == {
        "UUID": uuid,
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
        "EventSourceArn": arn,
        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker",
        "State": "Creating",
        "StateTransitionReason": "USER_INITIATED",
        "FunctionResponseTypes": [],
        "EventSourceMappingArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{uuid}",
    }


def test_kinesis_create_response_echoes_every_stream_default(lam: Any) -> None:
    function(lam)
    arn = stream()
    response = create(EventSourceArn=arn, StartingPosition="LATEST")
    assert {key: response[key] for key in response if key not in ("UUID", "LastModified")} == {
        "ResponseMetadata": response["ResponseMetadata"],
        "StartingPosition": "LATEST",
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "ParallelizationFactor": 1,
        "EventSourceArn": arn,
        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker",
        "LastProcessingResult": "No records processed",
        "State": "Creating",
        "StateTransitionReason": "User action",
        "DestinationConfig": {"OnFailure": {}},
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
        "EventSourceMappingArn": response["EventSourceMappingArn"],
    }


def test_dynamodb_create_response_has_stream_defaults(lam: Any) -> None:
    function(lam)
    response = create(EventSourceArn=table_stream(), StartingPosition="TRIM_HORIZON")
    assert (
        response["StateTransitionReason"],
        response["LastProcessingResult"],
        response["BatchSize"],
        response["DestinationConfig"],
    ) == ("User action", "No records processed", 100, {"OnFailure": {}})


def test_qualified_function_name_gives_a_qualified_function_arn(lam: Any) -> None:
    function(lam, Publish=True)
    response = create(EventSourceArn=queue(), FunctionName="worker:1")
    assert response["FunctionArn"].endswith(":function:worker:1")


def test_settings_given_are_echoed(lam: Any) -> None:
    function(lam)
    pattern = '{"body": {"kind": ["order"]}}'
    response = create(
        EventSourceArn=queue(),
        BatchSize=50,
        MaximumBatchingWindowInSeconds=5,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        FilterCriteria={"Filters": [{"Pattern": pattern}]},
        ScalingConfig={"MaximumConcurrency": 3},
    )
    assert (
        response["BatchSize"],
        response["MaximumBatchingWindowInSeconds"],
        response["FunctionResponseTypes"],
        response["FilterCriteria"],
        response["ScalingConfig"],
    ) == (
        50,
        5,
        ["ReportBatchItemFailures"],
        {"Filters": [{"Pattern": pattern}]},
        {"MaximumConcurrency": 3},
    )


def test_starting_position_timestamp_is_echoed(lam: Any) -> None:
    function(lam)
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    response = create(
        EventSourceArn=stream(), StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=moment
    )
    assert response["StartingPositionTimestamp"] == moment


# -- states ------------------------------------------------------------------------------------------
def test_mapping_is_enabled_by_the_next_call(lam: Any) -> None:
    function(lam)
    uuid = create(EventSourceArn=queue())["UUID"]
    assert client("lambda").get_event_source_mapping(UUID=uuid)["State"] == "Enabled"


def test_without_auto_drain_mapping_stays_creating_until_time_runs() -> None:
    with mock_lambda_async(auto_drain=False) as lam:
        function(lam)
        uuid = create(EventSourceArn=queue())["UUID"]
        before = client("lambda").get_event_source_mapping(UUID=uuid)["State"]
        lam.drain()
        after = client("lambda").get_event_source_mapping(UUID=uuid)["State"]
    assert (before, after) == ("Creating", "Enabled")


def test_created_disabled_mapping_settles_disabled(lam: Any) -> None:
    function(lam)
    uuid = create(EventSourceArn=queue(), Enabled=False)["UUID"]
    assert client("lambda").get_event_source_mapping(UUID=uuid)["State"] == "Disabled"


def test_update_answers_updating_then_settles_enabled(lam: Any) -> None:
    function(lam)
    uuid = create(EventSourceArn=queue())["UUID"]
    response = client("lambda").update_event_source_mapping(UUID=uuid, BatchSize=5)
    settled = client("lambda").get_event_source_mapping(UUID=uuid)
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["State"]) == (202, "Updating")
    assert (settled["State"], settled["BatchSize"]) == ("Enabled", 5)


def test_disabling_goes_through_disabling_to_disabled(lam: Any) -> None:
    function(lam)
    uuid = create(EventSourceArn=queue())["UUID"]
    response = client("lambda").update_event_source_mapping(UUID=uuid, Enabled=False)
    settled = client("lambda").get_event_source_mapping(UUID=uuid)["State"]
    assert (response["State"], settled) == ("Disabling", "Disabled")


def test_re_enabling_goes_through_enabling(lam: Any) -> None:
    function(lam)
    uuid = create(EventSourceArn=queue(), Enabled=False)["UUID"]
    response = client("lambda").update_event_source_mapping(UUID=uuid, Enabled=True)
    settled = client("lambda").get_event_source_mapping(UUID=uuid)["State"]
    assert (response["State"], settled) == ("Enabling", "Enabled")


def test_delete_answers_deleting_then_the_mapping_is_gone(lam: Any) -> None:
    function(lam)
    uuid = create(EventSourceArn=queue())["UUID"]
    response = client("lambda").delete_event_source_mapping(UUID=uuid)
    gone = error_of(client("lambda").get_event_source_mapping, UUID=uuid)
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["State"]) == (202, "Deleting")
    assert gone == {
        "code": "ResourceNotFoundException",
        "message": "The resource you requested does not exist.",
        "status": 404,
    }


def test_update_can_point_the_mapping_at_another_function(lam: Any) -> None:
    function(lam)
    function(lam, "other")
    uuid = create(EventSourceArn=queue())["UUID"]
    response = client("lambda").update_event_source_mapping(UUID=uuid, FunctionName="other")
    assert response["FunctionArn"].endswith(":function:other")


# -- errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("operation", ["get", "update", "delete"])
def test_unknown_uuid_is_404(lam: Any, operation: str) -> None:
    call = getattr(client("lambda"), f"{operation}_event_source_mapping")
    assert error_of(call, UUID="3b8c1d9e-0000-4000-8000-000000000000") == {
        "code": "ResourceNotFoundException",
        "message": "The resource you requested does not exist.",
        "status": 404,
    }


def test_duplicate_sqs_mapping_is_409_with_the_recorded_text(lam: Any) -> None:
    function(lam)
    arn = queue()
    uuid = create(EventSourceArn=arn)["UUID"]
    assert create_error(EventSourceArn=arn) == {
        "code": "ResourceConflictException",
        "message": (
            f'An event source mapping with SQS arn (" {arn} ") and function (" worker ") already '
            f"exists. Please update or delete the existing mapping with UUID {uuid}"
        ),
        "status": 409,
    }


def test_duplicate_stream_mapping_is_409_with_the_stream_text(lam: Any) -> None:
    function(lam)
    arn = stream()
    uuid = create(EventSourceArn=arn, StartingPosition="LATEST")["UUID"]
    assert create_error(EventSourceArn=arn, StartingPosition="LATEST") == {
        "code": "ResourceConflictException",
        "message": (
            f'The event source arn (" {arn} ") and function (" worker ") provided mapping already '
            f"exists. Please update or delete the existing mapping with UUID {uuid}"
        ),
        "status": 409,
    }


def test_missing_queue(lam: Any) -> None:
    function(lam)
    assert create_error(EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:nope") == invalid(
        "Error occurred while ReceiveMessage. SQS Error Code: "
        "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does "
        "not exist."
    )


def test_missing_kinesis_stream(lam: Any) -> None:
    function(lam)
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/nope"
    assert create_error(EventSourceArn=arn, StartingPosition="LATEST") == invalid(
        f"Stream not found: {arn}"
    )


def test_missing_dynamodb_stream(lam: Any) -> None:
    function(lam)
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/nope/stream/2024-01-01T00:00:00.000"
    assert create_error(EventSourceArn=arn, StartingPosition="LATEST") == invalid(
        f"Stream not found: {arn}"
    )


def test_missing_function(lam: Any) -> None:
    assert create_error(EventSourceArn=queue(), FunctionName="ghost") == invalid(
        "Function does not exist"
    )


def test_missing_event_source_arn(lam: Any) -> None:
    function(lam)
    assert create_error() == invalid("Unrecognized event source.")


def test_batch_size_above_10_needs_a_batching_window(lam: Any) -> None:
    function(lam)
    assert create_error(EventSourceArn=queue(), BatchSize=11) == invalid(
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater "
        "than 10"
    )


def test_fifo_queue_refuses_a_batching_window(lam: Any) -> None:
    function(lam)
    arn = queue("jobs.fifo", FifoQueue="true")
    assert create_error(
        EventSourceArn=arn, BatchSize=20, MaximumBatchingWindowInSeconds=5
    ) == invalid("Batching window is not supported for FIFO queues")


def test_fifo_batch_size_above_10_is_refused(lam: Any) -> None:
    function(lam)
    arn = queue("jobs.fifo", FifoQueue="true")
    # Without a window the rule for batches over 10 refuses it; with one, FIFO refuses the window.
    assert create_error(EventSourceArn=arn, BatchSize=11) == invalid(
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater "
        "than 10"
    )


def test_streams_need_a_starting_position(lam: Any) -> None:
    function(lam)
    assert create_error(EventSourceArn=stream()) == invalid(
        "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
        "constraint: Member must not be null."
    )


def test_dynamodb_refuses_at_timestamp(lam: Any) -> None:
    function(lam)
    arn = table_stream()
    assert create_error(
        EventSourceArn=arn, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=1
    ) == invalid(f"Unsupported starting position for arn type: {arn}")


def test_timestamp_needs_at_timestamp(lam: Any) -> None:
    function(lam)
    assert create_error(
        EventSourceArn=stream(), StartingPosition="LATEST", StartingPositionTimestamp=1
    ) == invalid("Timestamp only valid with StartingPosition AT_TIMESTAMP")


def test_unknown_starting_position_is_a_validation_error(lam: Any) -> None:
    function(lam)
    assert create_error(EventSourceArn=stream(), StartingPosition="EARLIEST") == validation(
        "1 validation error detected: Value 'EARLIEST' at 'startingPosition' failed to satisfy "
        "constraint: Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]"
    )


def test_sqs_refuses_a_starting_position(lam: Any) -> None:
    function(lam)
    assert create_error(EventSourceArn=queue(), StartingPosition="LATEST") == invalid(
        "StartingPosition is not valid for SQS event sources."
    )


def test_sqs_refuses_stream_only_settings(lam: Any) -> None:
    function(lam)
    assert create_error(EventSourceArn=queue(), BisectBatchOnFunctionError=True) == invalid(
        "Unsupported 'bisectBatchOnFunctionError' parameter for given event source mapping type."
    )


def test_bad_filter_pattern(lam: Any) -> None:
    function(lam)
    assert create_error(
        EventSourceArn=queue(), FilterCriteria={"Filters": [{"Pattern": "{not json"}]}
    ) == invalid("Invalid filter pattern definition.")


@pytest.mark.parametrize("kind", ["OnSuccess", "OnFailure"])
def test_sqs_refuses_destinations(lam: Any, kind: str) -> None:
    function(lam)
    destination = {kind: {"Destination": queue("elsewhere")}}
    assert create_error(EventSourceArn=queue(), DestinationConfig=destination) == invalid(
        "Unsupported DestinationConfig parameter for given event source mapping type."
    )


def test_streams_refuse_on_success(lam: Any) -> None:
    function(lam)
    destination = {"OnSuccess": {"Destination": queue("elsewhere")}}
    assert create_error(
        EventSourceArn=stream(), StartingPosition="LATEST", DestinationConfig=destination
    ) == invalid("Unsupported DestinationConfig parameter for given event source mapping type.")


def test_record_age_between_0_and_59_is_refused(lam: Any) -> None:
    function(lam)
    assert create_error(
        EventSourceArn=stream(), StartingPosition="LATEST", MaximumRecordAgeInSeconds=30
    ) == invalid(
        "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)"
    )


def test_queue_visibility_must_cover_the_function_timeout(lam: Any) -> None:
    function(lam, Timeout=60)
    assert create_error(EventSourceArn=queue()) == invalid(
        "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"
    )


def test_batch_size_above_the_model_maximum_is_a_validation_error(lam: Any) -> None:
    function(lam)
    assert create_error(
        EventSourceArn=queue(), BatchSize=10001, MaximumBatchingWindowInSeconds=1
    ) == validation(
        "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint: "
        "Member must have value less than or equal to 10000"
    )


def test_nested_maximum_names_the_member_path(lam: Any) -> None:
    function(lam)
    assert create_error(
        EventSourceArn=queue(), ScalingConfig={"MaximumConcurrency": 1001}
    ) == validation(
        "1 validation error detected: Value '1001' at 'scalingConfig.maximumConcurrency' failed "
        "to satisfy constraint: Member must have value less than or equal to 1000"
    )


def test_every_violation_is_listed(lam: Any) -> None:
    function(lam)
    error = create_error(
        EventSourceArn=stream(),
        StartingPosition="LATEST",
        ParallelizationFactor=11,
        MaximumRetryAttempts=10001,
    )
    assert error["message"] == (
        "2 validation errors detected: Value '11' at 'parallelizationFactor' failed to satisfy "
        "constraint: Member must have value less than or equal to 10; Value '10001' at "
        "'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or "
        "equal to 10000"
    )


def test_unknown_function_response_type(lam: Any) -> None:
    function(lam)
    assert create_error(
        EventSourceArn=queue(), FunctionResponseTypes=["ReportEverything"]
    ) == validation(
        "1 validation error detected: Value '[ReportEverything]' at 'functionResponseTypes' failed "
        "to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value "
        "set: [ReportBatchItemFailures]]"
    )


def test_update_checks_the_merged_settings(lam: Any) -> None:
    function(lam)
    uuid = create(EventSourceArn=queue())["UUID"]
    assert error_of(
        client("lambda").update_event_source_mapping, UUID=uuid, BatchSize=20
    ) == invalid(
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater "
        "than 10"
    )


# -- listing -----------------------------------------------------------------------------------------
def test_list_filters_by_event_source(lam: Any) -> None:
    function(lam)
    first = create(EventSourceArn=queue("a"))["UUID"]
    create(EventSourceArn=queue("b"))
    listed = client("lambda").list_event_source_mappings(EventSourceArn=queue("a"))
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [first]


def test_list_filters_by_function(lam: Any) -> None:
    function(lam)
    function(lam, "other")
    create(EventSourceArn=queue("a"))
    other = create(EventSourceArn=queue("b"), FunctionName="other")["UUID"]
    listed = client("lambda").list_event_source_mappings(FunctionName="other")
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [other]


def test_list_paginates_with_marker_and_max_items(lam: Any) -> None:
    function(lam)
    created = [create(EventSourceArn=queue(f"q{i}"))["UUID"] for i in range(5)]
    seen: list[str] = []
    params: dict[str, Any] = {"MaxItems": 2}
    while True:
        page = client("lambda").list_event_source_mappings(**params)
        seen += [m["UUID"] for m in page["EventSourceMappings"]]
        if "NextMarker" not in page:
            break
        params["Marker"] = page["NextMarker"]
    assert seen == created


def test_boto3_paginator_lists_every_mapping(lam: Any) -> None:
    function(lam)
    created = [create(EventSourceArn=queue(f"q{i}"))["UUID"] for i in range(3)]
    paginator = client("lambda").get_paginator("list_event_source_mappings")
    pages = paginator.paginate(PaginationConfig={"PageSize": 1})
    assert [m["UUID"] for page in pages for m in page["EventSourceMappings"]] == created


def test_update_checks_the_visibility_timeout_again(lam: Any) -> None:
    function(lam)
    uuid = create(EventSourceArn=queue())["UUID"]
    client("lambda").update_function_configuration(FunctionName="worker", Timeout=60)
    assert error_of(
        client("lambda").update_event_source_mapping, UUID=uuid, BatchSize=5
    ) == invalid("Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds")


def test_an_empty_filter_criteria_removes_the_filters(lam: Any) -> None:
    function(lam)
    pattern = '{"body": {"kind": ["order"]}}'
    uuid = create(EventSourceArn=queue(), FilterCriteria={"Filters": [{"Pattern": pattern}]})[
        "UUID"
    ]
    response = client("lambda").update_event_source_mapping(UUID=uuid, FilterCriteria={})
    assert "FilterCriteria" not in response
