"""Event source mapping tags and the state of a mapping created disabled, through boto3."""

from __future__ import annotations

from typing import Any

from conftest import ACCOUNT, REGION, client
from test_esm_api import create, error_of, function, queue, validation


def mapping_arn(**params: Any) -> str:
    return str(create(EventSourceArn=queue(), **params)["EventSourceMappingArn"])


def test_a_mapping_created_disabled_answers_disabled(lam: Any) -> None:
    # AWS answers CreateEventSourceMapping(Enabled=False) with 202 and "State": "Disabled" (a
    # recording of real AWS; no snapshot file available here holds it, so none is named).
    function(lam)
    response = create(EventSourceArn=queue(), Enabled=False)
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["State"]) == (202, "Disabled")


def test_tags_given_on_create_are_listed(lam: Any) -> None:
    function(lam)
    arn = mapping_arn(Tags={"team": "orders"})
    assert client("lambda").list_tags(Resource=arn)["Tags"] == {"team": "orders"}


def test_tag_and_untag_a_mapping(lam: Any) -> None:
    function(lam)
    arn = mapping_arn(Tags={"team": "orders", "stage": "dev"})
    lam_client = client("lambda")
    lam_client.tag_resource(Resource=arn, Tags={"cost": "42"})
    lam_client.untag_resource(Resource=arn, TagKeys=["stage"])
    assert lam_client.list_tags(Resource=arn)["Tags"] == {"team": "orders", "cost": "42"}


def test_tags_of_a_missing_mapping_answer_404(lam: Any) -> None:
    missing = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:"
        "00000000-0000-0000-0000-000000000000"
    )
    lam_client = client("lambda")
    expected = {
        "code": "ResourceNotFoundException",
        "message": f"Event source mapping not found: {missing}",
        "status": 404,
    }
    assert error_of(lam_client.list_tags, Resource=missing) == expected
    assert error_of(lam_client.tag_resource, Resource=missing, Tags={"a": "b"}) == expected
    assert error_of(lam_client.untag_resource, Resource=missing, TagKeys=["a"]) == expected


def test_tags_of_a_deleted_mapping_answer_404(lam: Any) -> None:
    function(lam)
    response = create(EventSourceArn=queue())
    client("lambda").delete_event_source_mapping(UUID=response["UUID"])
    lam.drain()
    arn = response["EventSourceMappingArn"]
    assert error_of(client("lambda").list_tags, Resource=arn)["status"] == 404


def test_a_malformed_resource_arn_is_a_validation_error(lam: Any) -> None:
    pattern = (
        client("lambda")
        .meta.service_model.operation_model("ListTags")
        .input_shape.members["Resource"]
        .metadata["pattern"]
    )
    assert error_of(client("lambda").list_tags, Resource="not-an-arn") == validation(
        "1 validation error detected: Value 'not-an-arn' at 'resource' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {pattern}"
    )


def test_function_tags_stay_moto_s(lam: Any) -> None:
    function(lam)
    lam_client = client("lambda")
    arn = lam_client.get_function(FunctionName="worker")["Configuration"]["FunctionArn"]
    lam_client.tag_resource(Resource=arn, Tags={"owner": "me"})
    assert lam_client.list_tags(Resource=arn)["Tags"] == {"owner": "me"}
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nobody"
    assert error_of(lam_client.list_tags, Resource=missing) == {
        "code": "ResourceNotFoundException",
        "message": f"Function not found: {missing}",
        "status": 404,
    }
