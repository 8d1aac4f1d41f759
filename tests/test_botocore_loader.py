"""Sessions created under the mock share one botocore loader (service models parsed once)."""

import boto3
import botocore.session

from mock_lambda_async import mock_lambda_async


def _loader_of_default_session() -> object:
    boto3.client("lambda", region_name="us-east-1")
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION._session.get_component("data_loader")


def test_two_activations_share_the_loaded_service_models():
    with mock_lambda_async():
        first = _loader_of_default_session()
    with mock_lambda_async():
        second = _loader_of_default_session()
    assert first is second


def test_botocore_loader_factory_is_restored_on_exit():
    original = botocore.session.create_loader
    with mock_lambda_async():
        assert botocore.session.create_loader is not original
    assert botocore.session.create_loader is original
