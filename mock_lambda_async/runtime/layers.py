"""Layers: moto's layer versions checked at ``CreateFunction``/``UpdateFunctionConfiguration`` and
extracted, in order, into the environment's ``/opt``.

Lambda extracts a function's layers into ``/opt`` in the order listed, a later layer's files
replacing an earlier one's, and puts ``/opt/python/lib/python3.X/site-packages`` and
``/opt/python`` on ``sys.path`` after the function's code [DOCS packaging-layers]; files under
``/opt`` show as such in stack traces.

The checks answer as Lambda does (messages as LocalStack's AWS-validated implementation words them,
``_validate_layers``; the size limit from real deploy errors): more than 5 layers, a layer version
that does not exist, two versions of one layer, a layer of another region, and function code and
layers together at or over 262,144,000 bytes unzipped. ``CompatibleRuntimes`` is not checked:
Lambda accepts a layer whatever runtimes it lists (only the console filters by them).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.handlers import BUILTIN_HANDLERS

from ..interception import AwsError, interceptor, render_error, to_botocore
from .code import UNZIPPED_LIMIT, _Code, _top_names

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from botocore.model import OperationModel

#: Layers one function may reference [DOCS gettingstarted-limits].
MAX_LAYERS = 5


def _layer_version(arn: str) -> Any:
    """moto's layer version for ``arn`` (any account and region moto holds), or ``None``."""
    from moto.awslambda.models import lambda_backends

    parts = arn.split(":")
    if len(parts) != 8 or parts[5] != "layer":
        return None
    region, account = parts[3], parts[4]
    if account not in lambda_backends or region not in lambda_backends[account]:
        return None
    return lambda_backends[account][region].layers_versions_by_arn(arn)


def layer_problem(arns: list[str], region: str, code_size: int) -> AwsError | None:
    """What Lambda answers for a function referencing ``arns``, if it refuses them."""

    def invalid(message: str) -> AwsError:
        return AwsError("InvalidParameterValueException", message, message_key="message")

    if len(arns) > MAX_LAYERS:
        return invalid(f"Cannot reference more than {MAX_LAYERS} layers.")
    seen: dict[str, str] = {}
    total = code_size
    for arn in arns:
        if arn.split(":")[3:4] != [region]:
            return invalid(
                "Layers are not in the same region as the function. "
                f"Layers are expected to be in region {region}."
            )
        version = _layer_version(arn)
        if version is None:
            return invalid(f"Layer version {arn} does not exist.")
        layer = arn.rsplit(":", 1)[0]
        if layer in seen:
            return invalid(
                "Two different versions of the same layer are not allowed to be referenced in "
                f"the same function. {seen[layer]} and {arn} are versions of the same layer."
            )
        seen[layer] = arn
        total += _unzipped_size(bytes(version.code_bytes or b""))
    if total >= UNZIPPED_LIMIT:
        return invalid(
            "Function code combined with layers exceeds the maximum allowed size of "
            f"{UNZIPPED_LIMIT} bytes. The actual size is {total} bytes."
        )
    return None


def _unzipped_size(data: bytes) -> int:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return 0


def with_layers(code: _Code, arns: tuple[str, ...], opt: Path, python_version: str) -> _Code:
    """``code`` with its layers extracted into ``opt`` and their folders on its ``sys.path``."""
    if not arns:
        return code
    opt.mkdir(parents=True, exist_ok=True)
    for arn in arns:
        version = _layer_version(arn)
        if version is None:
            continue  # deleted since the function referenced it: Lambda kept its copy
        with zipfile.ZipFile(io.BytesIO(bytes(version.code_bytes or b""))) as archive:
            archive.extractall(opt)
    folders = [opt / "python" / "lib" / f"python{python_version}" / "site-packages", opt / "python"]
    present = tuple(folder for folder in folders if folder.is_dir())
    names = set(code.top_names)
    for folder in present:
        names |= _top_names(folder)
    return _Code(code.directory, frozenset(names), opt, (*code.paths, *present))


# -- CreateFunction / UpdateFunctionConfiguration -----------------------------------------------------
_LAYERS_KEY = "mock_lambda_async.layers"


def _stash_layers(
    params: dict[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
) -> None:
    layers = params.get("Layers")
    if interceptor().controller is None or not layers or not isinstance(layers, list):
        return  # no layers, or not a list: the request validation answers that
    if not all(isinstance(arn, str) for arn in layers):
        return
    code = params.get("Code") if model.name == "CreateFunction" else None
    context[_LAYERS_KEY] = (
        list(layers),
        str(params.get("FunctionName", "")),
        code.get("ZipFile") if isinstance(code, dict) else None,
    )


def _check_layers(
    model: OperationModel,
    params: dict[str, Any],
    request_signer: Any,
    context: dict[str, Any],
    **_: Any,
) -> tuple[AWSResponse, dict[str, Any]] | None:
    """Refuse layers Lambda would refuse; anything else goes on to moto unchanged."""
    stashed = context.pop(_LAYERS_KEY, None)
    if stashed is None or interceptor().controller is None:
        return None
    arns, function_name, zipped = stashed
    region = str(context.get("client_region") or "")
    if isinstance(zipped, bytes | bytearray):
        size = _unzipped_size(bytes(zipped))
    else:
        size = _current_code_size(function_name, region, request_signer)
    problem = layer_problem(arns, region, size)
    if problem is None:
        return None
    return to_botocore(model, render_error(model, problem), str(params.get("url", "")))


def _current_code_size(function_name: str, region: str, request_signer: Any) -> int:
    """The unzipped size of the code a function has now (``UpdateFunctionConfiguration``)."""
    from moto.awslambda.models import lambda_backends
    from moto.iam.models import get_account_id_from

    credentials = getattr(request_signer, "_credentials", None)
    account = get_account_id_from(getattr(credentials, "access_key", None) or "AKIAEXAMPLE")
    try:
        moto_fn = lambda_backends[account][region].get_function(function_name)
    except Exception:
        return 0  # moto answers for a function it does not have
    return _unzipped_size(bytes(getattr(moto_fn, "code_bytes", b"") or b""))


for _operation in ("CreateFunction", "UpdateFunctionConfiguration"):
    BUILTIN_HANDLERS.append((f"before-parameter-build.lambda.{_operation}", _stash_layers))
    BUILTIN_HANDLERS.append((f"before-call.lambda.{_operation}", _check_layers))
