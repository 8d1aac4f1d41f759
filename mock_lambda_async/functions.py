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

# What Lambda's front end accepts as ``FunctionName`` on Invoke/GetFunction, and the pattern text
# its ValidationException quotes: today's API reference pattern for an invocable ``FunctionName``,
# with the ``eusc-`` (European Sovereign Cloud) region prefix and the ``$LATEST.PUBLISHED``
# qualifier [DOCS lambda/latest/api/API_ChainedInvokeOptions.html]. Lambda's messages quote the
# model pattern verbatim (older recordings in [LS] quote the older pattern the same way, with
# ``[a-zA-Z0-9-_\.]``). botocore's model on disk is older still: it lacks ``eusc-``.
_NAME_PATTERN = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_NAME_PATTERN_TEXT = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
#: Longest ``FunctionName`` (name, ARN or partial ARN, with qualifier) Invoke accepts [LS].
_NAME_MAX_LENGTH = 170
#: ``Qualifier`` as the ValidationException describes it [LS ``validate_qualifier``].
_QUALIFIER_PATTERN = re.compile(r"[a-zA-Z0-9$_-]+")
_QUALIFIER_PATTERN_TEXT = "(|[a-zA-Z0-9$_-]+)"
_QUALIFIER_MAX_LENGTH = 128
# The same pattern with its parts named, to read a value that passed validation.
_NAME_PARTS = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?"
    r"((?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}):)?"
    r"((?P<account>\d{12}):)?(function:)?(?P<name>[a-zA-Z0-9-_.]+)"
    r"(:(?P<qualifier>\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
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


def validation_exception(problems: list[str]) -> AwsError:
    """AWS's model-validation error: ``N validation error(s) detected: <problem>; <problem>``.

    The body is ``{"message": ...}`` alone: the recorded bodies (spec §0) carry no ``Type``, unlike
    the service's own errors (INFERENCE: the request is refused before Lambda's code sees it).
    """
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    error = AwsError(
        "ValidationException",
        f"{count} validation {noun} detected: {'; '.join(problems)}",
        message_key="message",
    )
    error.fields.pop("Type", None)
    return error


def length_and_pattern_problems(
    value: str, field: str, max_length: int, pattern: re.Pattern[str], pattern_text: str
) -> list[str]:
    """AWS's ValidationException wording for a string member that is too long and/or does not
    match its pattern, the length problem first as Lambda lists them (botocore checks neither)."""
    problems = []
    if len(value) > max_length:
        problems.append(
            f"Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {max_length}"
        )
    if not pattern.fullmatch(value):
        problems.append(
            f"Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern_text}"
        )
    return problems


def parse_function_name(
    value: str, region: str, account_id: str, *, field: str = "functionName"
) -> FunctionName:
    """Split a name, ARN or partial ARN; malformed values get AWS's ``ValidationException``.

    The length problem is listed before the pattern problem, both in one message, as Lambda does.
    """
    problems = length_and_pattern_problems(
        value, field, _NAME_MAX_LENGTH, _NAME_PATTERN, _NAME_PATTERN_TEXT
    )
    if problems:
        raise validation_exception(problems)
    if value.count(":") <= 1 and not value.startswith("function:"):
        # A plain name cannot contain ':', so one colon is always ``name:qualifier``.
        name, _, qualifier = value.partition(":")
        return FunctionName(name, qualifier or None, region, account_id)
    parts = _NAME_PARTS.fullmatch(value)
    assert parts is not None  # the value matched the validation pattern above
    return FunctionName(
        parts["name"], parts["qualifier"], parts["region"] or region, parts["account"] or account_id
    )


def check_qualifier(qualifier: str) -> None:
    """``Qualifier`` must be 1..128 of ``[a-zA-Z0-9$_-]`` (botocore checks only the minimum)."""
    problems = length_and_pattern_problems(
        qualifier, "qualifier", _QUALIFIER_MAX_LENGTH, _QUALIFIER_PATTERN, _QUALIFIER_PATTERN_TEXT
    )
    if problems:
        raise validation_exception(problems)


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
    """The Lambda backend moto itself serves requests from: its Docker-less backend under
    ``mock_aws(config={"lambda": {"use_docker": False}})``, the normal one otherwise."""
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region)


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
    if qualifier is not None:
        check_qualifier(qualifier)
    if parsed.region != region:
        # Each region's Lambda endpoint only serves its own functions [LS api_utils].
        raise AwsError(
            "ResourceNotFoundException",
            f"Functions from '{parsed.region}' are not reachable in this region ('{region}')",
            404,
        )
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
