"""GetAccountSettings and Put/Get/Delete/ListProvisionedConcurrencyConfig(s) through boto3."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ACCOUNT, REGION, create_function, error_of, lambda_role

SOURCE = "def handler(e, c):\n    return e\n"


def make(client: Any, name: str = "pc-fn") -> str:
    create_function(name, SOURCE, handler="index.handler", lambda_client=client, role=lambda_role())
    client.publish_version(FunctionName=name)
    return name


def test_account_settings_report_limits_and_usage(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lam.set_account_concurrency(400)
    lambda_client.put_function_concurrency(FunctionName="pc-fn", ReservedConcurrentExecutions=30)
    settings = lambda_client.get_account_settings()
    assert settings["AccountLimit"] == {
        "TotalCodeSize": 80_530_636_800,
        "CodeSizeUnzipped": 262_144_000,
        "CodeSizeZipped": 52_428_800,
        "ConcurrentExecutions": 400,
        "UnreservedConcurrentExecutions": 370,
    }
    assert settings["AccountUsage"]["FunctionCount"] == 1
    assert settings["AccountUsage"]["TotalCodeSize"] > 0


def test_put_answers_in_progress_with_nothing_allocated(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    put = lambda_client.put_provisioned_concurrency_config(
        FunctionName="pc-fn", Qualifier="1", ProvisionedConcurrentExecutions=5
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["Status"] == "IN_PROGRESS"
    assert put["RequestedProvisionedConcurrentExecutions"] == 5
    assert put["AllocatedProvisionedConcurrentExecutions"] == 0
    assert put["AvailableProvisionedConcurrentExecutions"] == 0
    assert put["LastModified"].endswith("+0000")


@pytest.mark.lambda_async(auto_drain=False)
def test_config_is_ready_at_the_next_step_of_the_clock(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lambda_client.put_provisioned_concurrency_config(
        FunctionName="pc-fn", Qualifier="1", ProvisionedConcurrentExecutions=2
    )
    before = lambda_client.get_provisioned_concurrency_config(FunctionName="pc-fn", Qualifier="1")
    lam.drain()
    after = lambda_client.get_provisioned_concurrency_config(FunctionName="pc-fn", Qualifier="1")
    assert before["Status"] == "IN_PROGRESS"
    assert after["Status"] == "READY"
    assert after["AllocatedProvisionedConcurrentExecutions"] == 2
    assert after["AvailableProvisionedConcurrentExecutions"] == 2


def test_latest_is_refused_on_put(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    error, status = error_of(
        lambda: lambda_client.put_provisioned_concurrency_config(
            FunctionName="pc-fn", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    )
    assert (error["Code"], status) == ("InvalidParameterValueException", 400)
    assert error["Message"] == (
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    )


def test_latest_is_refused_on_get(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    error, _ = error_of(
        lambda: lambda_client.get_provisioned_concurrency_config(
            FunctionName="pc-fn", Qualifier="$LATEST"
        )
    )
    assert error["Message"] == (
        "The function resource provided must be an alias or a published version."
    )


def test_missing_config_is_not_found(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    error, status = error_of(
        lambda: lambda_client.get_provisioned_concurrency_config(
            FunctionName="pc-fn", Qualifier="1"
        )
    )
    assert (error["Code"], status) == ("ProvisionedConcurrencyConfigNotFoundException", 404)
    assert error["Message"] == "No Provisioned Concurrency Config found for this function"


def test_missing_version_is_not_found(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    error, status = error_of(
        lambda: lambda_client.put_provisioned_concurrency_config(
            FunctionName="pc-fn", Qualifier="9", ProvisionedConcurrentExecutions=1
        )
    )
    assert (error["Code"], status) == ("ResourceNotFoundException", 404)


def test_delete_removes_the_config(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lambda_client.put_provisioned_concurrency_config(
        FunctionName="pc-fn", Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    lambda_client.delete_provisioned_concurrency_config(FunctionName="pc-fn", Qualifier="1")
    error, _ = error_of(
        lambda: lambda_client.get_provisioned_concurrency_config(
            FunctionName="pc-fn", Qualifier="1"
        )
    )
    assert error["Code"] == "ProvisionedConcurrencyConfigNotFoundException"


def test_list_names_each_qualifier(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lambda_client.create_alias(FunctionName="pc-fn", Name="live", FunctionVersion="1")
    lambda_client.put_provisioned_concurrency_config(
        FunctionName="pc-fn", Qualifier="live", ProvisionedConcurrentExecutions=3
    )
    listed = lambda_client.list_provisioned_concurrency_configs(FunctionName="pc-fn")
    configs = listed["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in configs] == [
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pc-fn:live"
    ]
    assert configs[0]["Status"] == "READY"


def test_provisioned_above_reserved_is_refused(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lambda_client.put_function_concurrency(FunctionName="pc-fn", ReservedConcurrentExecutions=2)
    error, _ = error_of(
        lambda: lambda_client.put_provisioned_concurrency_config(
            FunctionName="pc-fn", Qualifier="1", ProvisionedConcurrentExecutions=3
        )
    )
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"] == (
        "Requested Provisioned Concurrency should not be greater than the "
        "reservedConcurrentExecution for function"
    )


def test_reserved_below_provisioned_is_refused(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lambda_client.put_provisioned_concurrency_config(
        FunctionName="pc-fn", Qualifier="1", ProvisionedConcurrentExecutions=2
    )
    error, _ = error_of(
        lambda: lambda_client.put_function_concurrency(
            FunctionName="pc-fn", ReservedConcurrentExecutions=1
        )
    )
    assert error["Code"] == "InvalidParameterValueException"


def test_unreserved_minimum_applies_to_provisioned(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lam.set_account_concurrency(1000)
    error, _ = error_of(
        lambda: lambda_client.put_provisioned_concurrency_config(
            FunctionName="pc-fn", Qualifier="1", ProvisionedConcurrentExecutions=901
        )
    )
    assert error["Message"] == (
        "Specified ConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100]."
    )


def test_reserved_equal_to_provisioned_throttles_latest(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lambda_client.put_provisioned_concurrency_config(
        FunctionName="pc-fn", Qualifier="1", ProvisionedConcurrentExecutions=2
    )
    lambda_client.put_function_concurrency(FunctionName="pc-fn", ReservedConcurrentExecutions=2)
    error, status = error_of(lambda: lambda_client.invoke(FunctionName="pc-fn"))
    assert (error["Code"], status) == ("TooManyRequestsException", 429)


def test_reserved_equal_to_provisioned_runs_the_version(lam: Any, lambda_client: Any) -> None:
    make(lambda_client)
    lambda_client.put_provisioned_concurrency_config(
        FunctionName="pc-fn", Qualifier="1", ProvisionedConcurrentExecutions=2
    )
    lambda_client.put_function_concurrency(FunctionName="pc-fn", ReservedConcurrentExecutions=2)
    assert lambda_client.invoke(FunctionName="pc-fn", Qualifier="1")["StatusCode"] == 200
