"""Deployment packages: checked at ``CreateFunction``/``UpdateFunctionCode``, extracted to run."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from botocore.handlers import BUILTIN_HANDLERS

from ..interception import AwsError, interceptor, render_error, to_botocore
from .isolation import _is_under

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from botocore.model import OperationModel


#: Deployment package limit, unzipped (InvalidParameterValueException at CreateFunction).
UNZIPPED_LIMIT = 262_144_000


_UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


@dataclass
class _Code:
    """A deployment package extracted to disk, with the function's layers (``opt``) if any.

    ``paths`` go first on ``sys.path`` while it runs, in Lambda's order: ``/var/task``, then the
    layers' ``python/lib/python3.X/site-packages`` and ``python`` [DOCS packaging-layers].
    """

    directory: Path
    top_names: frozenset[str]
    opt: Path | None = None
    paths: tuple[Path, ...] = ()

    def owns(self, path: str | None) -> bool:
        """Whether the file ``path`` is this environment's code: the package's or a layer's."""
        return _is_under(path, self.directory) or (
            self.opt is not None and _is_under(path, self.opt)
        )


def zip_problem(data: bytes) -> AwsError | None:
    """What CreateFunction/UpdateFunctionCode answer for a package Lambda cannot unpack, if anything.

    Not a zip: ``InvalidParameterValueException`` "Could not unzip uploaded file. Please check your
    file, then try to upload again." (real responses: boto/boto3#488, terraform-aws-github-runner
    #2269). Unzipped size over 250 MB: "Unzipped size must be smaller than 262144000 bytes".
    INFERENCE: a member whose path would land outside the code folder (absolute, or with ``..``)
    cannot be unpacked into ``/var/task`` either, so it gets the same "Could not unzip" answer.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return AwsError("InvalidParameterValueException", _UNZIP_FAILED, message_key="message")
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", member.filename):
            return AwsError("InvalidParameterValueException", _UNZIP_FAILED, message_key="message")
    if sum(m.file_size for m in members) >= UNZIPPED_LIMIT:
        return AwsError(
            "InvalidParameterValueException",
            f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes",
            message_key="message",
        )
    return None


def _extract(data: bytes, target: Path) -> _Code:
    """Unpack a package already checked by :func:`zip_problem`; list its top-level module names."""
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(target)
    return _Code(target, _top_names(target), paths=(target,))


def _top_names(folder: Path) -> frozenset[str]:
    """The top-level module names a folder on ``sys.path`` defines."""
    names = set()
    for entry in folder.iterdir():
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            names.add(entry.name)
        elif entry.suffix in {".py", ".pyc", ".so", ".pyd"}:
            names.add(entry.name.split(".", 1)[0])
    return frozenset(names)


# -- CreateFunction / UpdateFunctionCode: check the package, then let moto store it -----------------
_CODE_KEY = "mock_lambda_async.code"


def _stash_code(
    params: dict[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
) -> None:
    if interceptor().controller is None:
        return
    code = params.get("Code") if model.name == "CreateFunction" else params
    if isinstance(code, dict):
        context[_CODE_KEY] = {
            k: code.get(k) for k in ("ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion")
        }


def _check_code(
    model: OperationModel,
    params: dict[str, Any],
    request_signer: Any,
    context: dict[str, Any],
    **_: Any,
) -> tuple[AWSResponse, dict[str, Any]] | None:
    """Reject a package Lambda would refuse; anything else goes on to moto unchanged."""
    code = context.pop(_CODE_KEY, None)
    if code is None or interceptor().controller is None:
        return None
    data = _package_bytes(code, request_signer)
    problem = zip_problem(data) if data is not None else None
    if problem is None:
        return None
    return to_botocore(model, render_error(model, problem), str(params.get("url", "")))


def _package_bytes(code: dict[str, Any], request_signer: Any) -> bytes | None:
    zipped = code.get("ZipFile")
    if zipped is not None:
        if isinstance(zipped, str):
            return zipped.encode()
        if isinstance(zipped, bytes | bytearray):
            return bytes(zipped)
        if hasattr(zipped, "read") and hasattr(zipped, "seek"):
            position = zipped.tell()
            data = zipped.read()
            zipped.seek(position)
            return data if isinstance(data, bytes) else str(data).encode()
        return None
    if code.get("S3Bucket") and code.get("S3Key"):
        from moto.iam.models import get_account_id_from
        from moto.s3.models import s3_backends

        credentials = getattr(request_signer, "_credentials", None)
        account = get_account_id_from(getattr(credentials, "access_key", None) or "AKIAEXAMPLE")
        try:
            key = s3_backends[account]["aws"].get_object(
                code["S3Bucket"], code["S3Key"], version_id=code.get("S3ObjectVersion")
            )
        except Exception:
            return None  # moto answers a missing bucket or key itself
        return bytes(key.value) if key is not None else None
    return None


for _operation in ("CreateFunction", "UpdateFunctionCode"):
    BUILTIN_HANDLERS.append((f"before-parameter-build.lambda.{_operation}", _stash_code))
    BUILTIN_HANDLERS.append((f"before-call.lambda.{_operation}", _check_code))
