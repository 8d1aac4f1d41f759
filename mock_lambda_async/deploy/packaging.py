"""Deployment packages made from a folder or a file, as ``sam build``/``cdk synth`` would zip them.

The archive is deterministic (sorted entries, a fixed timestamp, no ``__pycache__``): the same
source gives the same bytes and so the same ``CodeSha256``, as a real build of unchanged code does.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import Any

#: What a build leaves out of a package: byte-code caches and editor/VCS clutter.
_SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".aws-sam", ".pytest_cache", ".mypy_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
#: zip's earliest representable time: the bytes must not depend on when the files were written.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_source(source: str | os.PathLike[str]) -> bytes:
    """The zip of ``source``: a folder's contents at the archive's root, or one file at the root.

    A missing path raises ``FileNotFoundError`` naming it, before any AWS call is made.
    """
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"deployment source {str(path)!r} does not exist")
    if path.is_file():
        files = [(path, path.name)]
    else:
        files = [
            (file, file.relative_to(path).as_posix())
            for file in sorted(path.rglob("*"))
            if file.is_file()
            and not _SKIPPED_DIRS.intersection(file.relative_to(path).parts[:-1])
            and not file.name.endswith(_SKIPPED_SUFFIXES)
        ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file, name in files:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def upload(s3: Any, bucket: str, key: str, data: bytes) -> None:
    """Put ``data`` at ``bucket``/``key`` in moto's S3, creating the bucket as a bootstrap would."""
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        region = s3.meta.region_name
        config = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=bucket, **config)
    s3.put_object(Bucket=bucket, Key=key, Body=data)


def content_key(prefix: str, data: bytes, suffix: str = ".zip") -> str:
    """An artifact's key named by its content, as ``sam package`` names what it uploads."""
    return f"{prefix}/{hashlib.md5(data, usedforsecurity=False).hexdigest()}{suffix}"
