"""Put/Get/DeleteFunctionConcurrency (reserved concurrency) through boto3."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ParamValidationError
from conftest import (
    ACCOUNT,
    REGION,
    create_function,
    error_of,
    module_activation,
    wire_error_body,
)

from mock_lambda_async.functions import function_arn, resolve

_NAMES = itertools.count()


# One activation per module keeps the suite fast; every test uses functions of its own and gives
# back what it reserved, so the account's unreserved pool is whole for the next test.
lam, client, role = module_activation()


@pytest.fixture
def make_function(lam: Any, client: Any, role: str) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        name = f"cc-fn-{next(_NAMES)}"
        source = "def handler(e, c):\n    return e\n"
        create_function(name, source, handler="index.handler", lambda_client=client, role=role)
        made.append(name)
        return name

    yield make
    lam.set_account_concurrency(1000)
    for name in made:
        client.delete_function_concurrency(FunctionName=name)


@pytest.fixture
def fn(make_function: Callable[[], str]) -> str:
    return make_function()


def below_minimum(minimum: int) -> str:
    return (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
    )


def test_put_answers_the_reserved_value(client: Any, fn: str) -> None:
    response = client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=5)
    assert response["ReservedConcurrentExecutions"] == 5


def test_get_returns_the_reserved_value(client: Any, fn: str) -> None:
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=5)
    assert client.get_function_concurrency(FunctionName=fn)["ReservedConcurrentExecutions"] == 5


def test_get_without_reservation_has_no_value(client: Any, fn: str) -> None:
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=fn)


def test_delete_answers_204(client: Any, fn: str) -> None:
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=5)
    response = client.delete_function_concurrency(FunctionName=fn)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_removes_the_reservation(client: Any, fn: str) -> None:
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=5)
    client.delete_function_concurrency(FunctionName=fn)
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=fn)


def test_get_function_shows_a_reservation_of_zero(client: Any, fn: str) -> None:
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=0)
    assert client.get_function(FunctionName=fn)["Concurrency"] == {
        "ReservedConcurrentExecutions": 0
    }


def test_get_function_without_reservation_has_no_concurrency(client: Any, fn: str) -> None:
    assert "Concurrency" not in client.get_function(FunctionName=fn)


def test_reservation_applies_to_published_versions(client: Any, fn: str) -> None:
    version = client.publish_version(FunctionName=fn)["Version"]
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=3)
    response = client.get_function(FunctionName=fn, Qualifier=version)
    assert response["Concurrency"] == {"ReservedConcurrentExecutions": 3}


def test_moto_versions_carry_the_reservation(client: Any, fn: str) -> None:
    version = client.publish_version(FunctionName=fn)["Version"]
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=3)
    assert resolve(fn, REGION, ACCOUNT, version).moto().reserved_concurrency == 3


def test_put_on_unknown_function_is_not_found(client: Any) -> None:
    error, status = error_of(
        lambda: client.put_function_concurrency(
            FunctionName="doesnotexist", ReservedConcurrentExecutions=1
        )
    )
    assert (status, error["Code"], error["Message"]) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: {function_arn(REGION, ACCOUNT, 'doesnotexist', '$LATEST')}",
    )


def test_get_on_unknown_function_is_not_found(client: Any) -> None:
    error, status = error_of(lambda: client.get_function_concurrency(FunctionName="doesnotexist"))
    assert (status, error["Code"]) == (404, "ResourceNotFoundException")


def test_delete_on_unknown_function_is_not_found(client: Any) -> None:
    error, status = error_of(
        lambda: client.delete_function_concurrency(FunctionName="doesnotexist")
    )
    assert (status, error["Code"]) == (404, "ResourceNotFoundException")


def test_put_on_a_qualified_arn_is_refused(client: Any, fn: str) -> None:
    qualified = function_arn(REGION, ACCOUNT, fn, "$LATEST")
    error, status = error_of(
        lambda: client.put_function_concurrency(
            FunctionName=qualified, ReservedConcurrentExecutions=0
        )
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidParameterValueException",
        "This operation is permitted on Lambda functions only. Aliases and versions do not "
        "support this operation. Please specify either a function name or an unqualified "
        "function ARN.",
    )


def test_reserving_up_to_900_of_1000_is_allowed(client: Any, fn: str) -> None:
    response = client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=900)
    assert response["ReservedConcurrentExecutions"] == 900


def test_leaving_fewer_than_100_unreserved_is_refused(client: Any, fn: str) -> None:
    error, status = error_of(
        lambda: client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=901)
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidParameterValueException",
        below_minimum(100),
    )


def test_limit_error_body_has_message_and_no_type(client: Any, fn: str) -> None:
    # Recorded: localstack tests/aws/services/lambda_/test_lambda_api.snapshot.json,
    # TestLambdaReservedConcurrency::test_function_concurrency_limits,
    # "put_function_concurrency_below_unreserved_min_value": ``message`` only, no ``Type``.
    body = wire_error_body(
        client,
        lambda: client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=901),
    )
    assert body == {"message": below_minimum(100)}


def test_more_than_the_account_limit_gets_the_same_message(client: Any, fn: str) -> None:
    error, _ = error_of(
        lambda: client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=1001)
    )
    assert error["Message"] == below_minimum(100)


def test_other_functions_reservations_count(client: Any, make_function: Callable[[], str]) -> None:
    first, second = make_function(), make_function()
    client.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=500)
    error, _ = error_of(
        lambda: client.put_function_concurrency(
            FunctionName=second, ReservedConcurrentExecutions=401
        )
    )
    assert error["Message"] == below_minimum(100)


def test_the_functions_own_reservation_is_replaced_not_added(client: Any, fn: str) -> None:
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=900)
    response = client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=900)
    assert response["ReservedConcurrentExecutions"] == 900


def test_a_lower_account_limit_lowers_what_can_be_reserved(lam: Any, client: Any, fn: str) -> None:
    lam.set_account_concurrency(400)
    error, _ = error_of(
        lambda: client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=361)
    )
    assert error["Message"] == below_minimum(40)


def test_negative_value_is_refused_by_botocore(client: Any, fn: str) -> None:
    with pytest.raises(ParamValidationError, match="valid min value: 0"):
        client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=-1)


def test_negative_value_without_client_validation_is_a_validation_error(fn: str) -> None:
    raw = boto3.client("lambda", region_name=REGION, config=Config(parameter_validation=False))
    error, status = error_of(
        lambda: raw.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=-1)
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "ValidationException",
        "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to "
        "satisfy constraint: Member must have value greater than or equal to 0",
    )


def test_zero_reserved_concurrency_throttles_sync_invokes(client: Any, fn: str) -> None:
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=0)
    error, status = error_of(lambda: client.invoke(FunctionName=fn, Payload=b"{}"))
    assert (status, error["Code"]) == (429, "TooManyRequestsException")
