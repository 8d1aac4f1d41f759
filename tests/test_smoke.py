import json

from conftest import create_function


def test_sync_invoke_returns_handler_result(lam, lambda_client):
    create_function("echo", "def handler(event, context):\n    return {'got': event}\n")
    response = lambda_client.invoke(FunctionName="echo", Payload=json.dumps({"a": 1}))
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert json.loads(response["Payload"].read()) == {"got": {"a": 1}}


def test_unknown_function_is_resource_not_found(lam, lambda_client):
    try:
        lambda_client.invoke(FunctionName="nope")
    except lambda_client.exceptions.ResourceNotFoundException as error:
        assert error.response["Error"]["Message"].endswith(":function:nope:$LATEST")
    else:
        raise AssertionError("expected ResourceNotFoundException")


def test_async_invoke_runs_handler_via_callable(lam, lambda_client):
    seen = []
    lam.add_function("cb", lambda event, context: seen.append(event))
    response = lambda_client.invoke(FunctionName="cb", InvocationType="Event", Payload=b'{"x": 2}')
    assert response["StatusCode"] == 202
    lam.drain()
    assert seen == [{"x": 2}]
