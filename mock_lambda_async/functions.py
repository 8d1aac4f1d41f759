"""Finding Lambda functions in moto: names, ARNs, partial ARNs and qualifiers, with AWS's errors.

moto holds the functions; this module only answers "which function, which version, by which name"
the way Lambda does, so every operation we own resolves ``FunctionName`` identically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .interception import AwsError

__all__ = ["FunctionName", "ResolvedFunction", "function_arn", "parse_function_name", "resolve"]

# From the botocore model (NamespacedFunctionName); anchored here because AWS matches the whole value.
_NAME_PATTERN = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_NAME_PATTERN_TEXT = _NAME_PATTERN.pattern
_FULL_ARN = re.compile(
    r"arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"function:(?P<name>[a-zA-Z0-9-_\.]+)(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)
_PARTIAL_ARN = re.compile(
    r"(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9-_\.]+)(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def function_arn(region: str, account_id: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:{partition_of(region)}:lambda:{region}:{account_id}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


@dataclass(frozen=True)
class FunctionName:
    """A parsed ``FunctionName`` argument."""

    name: str
    qualifier: str | None
    region: str
    account_id: str


def parse_function_name(
    value: str, region: str, account_id: str, *, field: str = "functionName"
) -> FunctionName:
    """Split a name, ARN or partial ARN; malformed values get AWS's ``ValidationException``."""
    if not _NAME_PATTERN.fullmatch(value) or len(value) > 256:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {_NAME_PATTERN_TEXT}",
            message_key="message",
        )
    full = _FULL_ARN.match(value)
    if full:
        return FunctionName(full["name"], full["qualifier"], full["region"], full["account"])
    partial = _PARTIAL_ARN.match(value)
    if partial:
        return FunctionName(partial["name"], partial["qualifier"], region, partial["account"])
    name, _, qualifier = value.partition(":")
    return FunctionName(name, qualifier or None, region, account_id)


@dataclass(frozen=True)
class ResolvedFunction:
    """One function version, as an invocation or a config sees it.

    ``qualifier`` is what the caller named (``None`` for unqualified), ``version`` what it resolves
    to (``$LATEST`` or a number; an alias resolves to its version).
    """

    account_id: str
    region: str
    name: str
    qualifier: str | None
    version: str
    alias: str | None

    @property
    def unqualified_arn(self) -> str:
        return function_arn(self.region, self.account_id, self.name)

    @property
    def qualified_arn(self) -> str:
        """The ARN with the qualifier as invoked (``$LATEST`` when unqualified)."""
        return function_arn(self.region, self.account_id, self.name, self.qualifier or "$LATEST")

    @property
    def version_arn(self) -> str:
        return function_arn(self.region, self.account_id, self.name, self.version)

    @property
    def config_qualifier(self) -> str:
        """The qualifier whose per-qualifier settings apply (event invoke config, DLQ)."""
        return self.qualifier or "$LATEST"

    def moto(self) -> Any:
        """The moto ``LambdaFunction`` of this version, looked up fresh (moto resets its state)."""
        fn = moto_function(self.account_id, self.region, self.name, self.version)
        if fn is None:
            raise AwsError(
                "ResourceNotFoundException", f"Function not found: {self.qualified_arn}", 404
            )
        return fn


def lambda_backend(account_id: str, region: str) -> Any:
    from moto.awslambda.models import lambda_backends

    return lambda_backends[account_id][region]


def moto_function(account_id: str, region: str, name: str, version: str) -> Any | None:
    storage = lambda_backend(account_id, region)._lambdas
    entry = storage._functions.get(name)
    if entry is None:
        return None
    if version == "$LATEST":
        return entry["latest"]
    for fn in entry["versions"]:
        if str(fn.version) == version:
            return fn
    return None


def function_exists(account_id: str, region: str, name: str) -> bool:
    return name in lambda_backend(account_id, region)._lambdas._functions


def resolve(
    function_name: str,
    region: str,
    account_id: str,
    qualifier: str | None = None,
    *,
    not_found: str = "Function not found: {arn}",
) -> ResolvedFunction:
    """Resolve ``FunctionName`` (+ ``Qualifier``) to one version, or raise AWS's 404.

    ``not_found`` is the message template; ``{arn}`` is the fully qualified ARN of the request.
    """
    parsed = parse_function_name(function_name, region, account_id)
    if parsed.qualifier and qualifier and parsed.qualifier != qualifier:
        raise AwsError(
            "InvalidParameterValueException",
            "The derived qualifier from the function name does not match the specified qualifier.",
            message_key="message",
        )
    wanted = parsed.qualifier or qualifier
    arn = function_arn(parsed.region, parsed.account_id, parsed.name, wanted or "$LATEST")

    def missing() -> AwsError:
        return AwsError("ResourceNotFoundException", not_found.format(arn=arn), 404)

    try:
        storage = lambda_backend(parsed.account_id, parsed.region)._lambdas
    except KeyError as error:
        raise missing() from error
    if parsed.name not in storage._functions:
        raise missing()
    version, alias = "$LATEST", None
    if wanted and wanted != "$LATEST":
        if moto_function(parsed.account_id, parsed.region, parsed.name, wanted) is not None:
            version = wanted
        else:
            unqualified = function_arn(parsed.region, parsed.account_id, parsed.name)
            found = storage._aliases.get(unqualified, {}).get(wanted)
            if found is None:
                raise missing()
            alias, version = wanted, str(found.function_version)
            if version.lower() == "$latest":
                version = "$LATEST"
    return ResolvedFunction(parsed.account_id, parsed.region, parsed.name, wanted, version, alias)
