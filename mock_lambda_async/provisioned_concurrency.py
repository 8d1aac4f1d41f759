"""``GetAccountSettings`` and the provisioned concurrency API, from the mock's own state.

moto answers neither (404 "Not yet implemented"). The account settings come from what the mock
models: the concurrency limit (``lam.set_account_concurrency``), the reservations made with
``PutFunctionConcurrency`` and moto's functions with their code sizes.

*Provisioned concurrency* is kept per qualifier (a published version or an alias), as Lambda keeps it.
``Put`` answers ``Status: IN_PROGRESS`` with nothing allocated; the configuration becomes ``READY``
(all of it allocated and available) at the next step of the virtual clock, as event source mapping
states do: with ``auto_drain`` the next call already sees ``READY``, with ``auto_drain=False`` it is
``IN_PROGRESS`` until ``lam.drain()``/``lam.advance()``.

*Effect on concurrency* (recorded against AWS in LocalStack's ``test_reserved_provisioned_overlap``):
provisioned concurrency is carved out of the function's reserved concurrency, or, for a function
without a reservation, out of the account's unreserved pool. Invocations of a provisioned version
first use its provisioned slots, then the on-demand rest; other versions (``$LATEST``) only get the
rest, so reserved == provisioned throttles every ``$LATEST`` invoke while the version still runs.

Errors (LocalStack's provider, validated against AWS by its snapshot tests):
``$LATEST`` on Put → ``Provisioned Concurrency Configs cannot be applied to unpublished function
versions.``; on Get/Delete → ``The function resource provided must be an alias or a published
version.``; more than the reservation allows (all qualifiers together) → ``Requested Provisioned
Concurrency should not be greater than the reservedConcurrentExecution for function``; an
unreserved function leaving less than the unreserved minimum → ``Specified ConcurrentExecutions for
function decreases account's UnreservedConcurrentExecution below its minimum value of [N].``;
nothing configured → 404 ``ProvisionedConcurrencyConfigNotFoundException`` ``No Provisioned
Concurrency Config found for this function``. Not modelled: the conflict between an alias and the
version it points to both carrying a configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Any

from .dead_letter_config import invalid_parameter, minimum_unreserved
from .functions import (
    function_arn,
    function_exists,
    lambda_backend,
    parse_function_name,
    resolve,
)
from .interception import AwsError, Call, Reply, json_reply, operation

if TYPE_CHECKING:
    from .functions import ResolvedFunction
    from .metrics import Attempt
    from .mock import LambdaAsyncController

__all__ = ["ProvisionedConcurrency", "check_reserved_covers_provisioned"]

#: AWS's fixed Lambda quotas as ``GetAccountSettings`` reports them (75 GB of code per region,
#: 250 MB unzipped, 50 MB zipped: the developer guide's "Lambda quotas" page).
TOTAL_CODE_SIZE = 80_530_636_800
CODE_SIZE_UNZIPPED = 262_144_000
CODE_SIZE_ZIPPED = 52_428_800

_NOT_PUBLISHED = "The function resource provided must be an alias or a published version."


@dataclass
class ProvisionedConfig:
    """One qualifier's provisioned concurrency, as Lambda reports it."""

    account_id: str
    region: str
    name: str
    qualifier: str
    requested: int
    last_modified: str
    ready: bool = False

    def render(self) -> dict[str, Any]:
        allocated = self.requested if self.ready else 0
        return {
            "RequestedProvisionedConcurrentExecutions": self.requested,
            "AvailableProvisionedConcurrentExecutions": allocated,
            "AllocatedProvisionedConcurrentExecutions": allocated,
            "Status": "READY" if self.ready else "IN_PROGRESS",
            "LastModified": self.last_modified,
        }


class ProvisionedConcurrency:
    """Per-controller store of provisioned concurrency configurations."""

    def __init__(self, controller: LambdaAsyncController) -> None:
        self.controller = controller
        self._configs: dict[tuple[str, str, str, str], ProvisionedConfig] = {}

    def of_function(self, account_id: str, region: str, name: str) -> list[ProvisionedConfig]:
        """The function's configurations whose qualifier still exists (deleted ones are dropped)."""
        found: list[ProvisionedConfig] = []
        for key, config in list(self._configs.items()):
            if key[:3] != (account_id, region, name):
                continue
            if _resolves(config) is None:
                del self._configs[key]
            else:
                found.append(config)
        return found

    def get(self, fn: ResolvedFunction) -> ProvisionedConfig | None:
        key = (fn.account_id, fn.region, fn.name, str(fn.qualifier))
        return next(
            (c for c in self.of_function(*key[:3]) if c.qualifier == key[3]),
            None,
        )

    def put(self, fn: ResolvedFunction, requested: int) -> ProvisionedConfig:
        now = self.controller.now().astimezone(timezone.utc)
        config = ProvisionedConfig(
            fn.account_id,
            fn.region,
            fn.name,
            str(fn.qualifier),
            requested,
            now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        )
        self._configs[(fn.account_id, fn.region, fn.name, config.qualifier)] = config

        def settle() -> None:
            config.ready = True

        self.controller.scheduler.call_soon(settle, label=f"provisioned concurrency {fn.name}")
        return config

    def delete(self, config: ProvisionedConfig) -> None:
        key = (config.account_id, config.region, config.name, config.qualifier)
        self._configs.pop(key, None)

    # -- effect on concurrency ---------------------------------------------------------------------
    def total(self, account_id: str, region: str, name: str) -> int:
        """Provisioned concurrency of all the function's qualifiers together."""
        return sum(c.requested for c in self.of_function(account_id, region, name))

    def by_version(self, account_id: str, region: str, name: str) -> dict[str, int]:
        """Allocated (``READY``) provisioned slots per version an alias or version resolves to."""
        slots: dict[str, int] = {}
        for config in self.of_function(account_id, region, name):
            version = _resolves(config)
            if config.ready and version is not None:
                slots[version] = slots.get(version, 0) + config.requested
        return slots

    def on_demand_in_use(self, fn_name: str, running: list[Attempt], slots: dict[str, int]) -> int:
        """Running attempts of ``fn_name`` that do not fit in their version's provisioned slots."""
        per_version: dict[str, int] = {}
        for attempt in running:
            if attempt.function_name == fn_name:
                version = _attempt_version(attempt)
                per_version[version] = per_version.get(version, 0) + 1
        return sum(max(0, n - slots.get(v, 0)) for v, n in per_version.items())


def _resolves(config: ProvisionedConfig) -> str | None:
    """The version ``config``'s qualifier resolves to now, or ``None`` when it is gone."""
    try:
        return resolve(config.name, config.region, config.account_id, config.qualifier).version
    except AwsError:
        return None


def _attempt_version(attempt: Attempt) -> str:
    arn = attempt.function_arn
    parts = arn.split(":")
    qualifier = parts[7] if len(parts) > 7 else "$LATEST"
    if qualifier == "$LATEST" or qualifier.isdigit():
        return qualifier
    try:
        return resolve(attempt.function_name, parts[3], parts[4], qualifier).version
    except AwsError:
        return qualifier


def provisioned_free(controller: LambdaAsyncController, fn: ResolvedFunction) -> bool:
    """Whether one of ``fn``'s version's allocated provisioned slots is free now."""
    from .concurrency import Concurrency

    store = controller.state(ProvisionedConcurrency)
    slots = store.by_version(fn.account_id, fn.region, fn.name).get(fn.version, 0)
    if not slots:
        return False
    running = controller.state(Concurrency).running()
    busy = sum(
        1
        for a in running
        if a.function_name == fn.name
        and a.function_arn.startswith(function_arn(fn.region, fn.account_id, fn.name))
        and _attempt_version(a) == fn.version
    )
    return busy < slots


def check_reserved_covers_provisioned(
    controller: LambdaAsyncController, account_id: str, region: str, name: str, reserved: int
) -> None:
    """Refuse a reservation below the function's provisioned concurrency (recorded in
    ``test_reserved_provisioned_overlap`` as an ``InvalidParameterValueException``).

    INFERENCE: the wording, which the stored recordings did not show, follows Lambda's style for
    the related provisioned-concurrency check.
    """
    total = controller.state(ProvisionedConcurrency).total(account_id, region, name)
    if reserved < total:
        raise invalid_parameter(
            f"ReservedConcurrentExecutions {reserved} should not be lower than function's total "
            f"provisioned concurrency [{total}]."
        )


def reservations(account_id: str, region: str) -> dict[str, int]:
    """Reserved concurrency per function name (a setting moto keeps on ``$LATEST``)."""
    functions = lambda_backend(account_id, region)._lambdas._functions
    found: dict[str, int] = {}
    for name, entry in functions.items():
        value = getattr(entry.get("latest"), "reserved_concurrency", None)
        if value is not None:
            found[name] = int(value)
    return found


def unreserved_provisioned(controller: LambdaAsyncController, account_id: str, region: str) -> int:
    """Provisioned concurrency of functions without a reservation (taken from the unreserved pool)."""
    reserved = reservations(account_id, region)
    store = controller.state(ProvisionedConcurrency)
    return sum(
        store.total(account_id, region, name)
        for name in lambda_backend(account_id, region)._lambdas._functions
        if name not in reserved
    )


# -- operations -------------------------------------------------------------------------------------
@operation("lambda", "GetAccountSettings")
def get_account_settings(call: Call) -> Reply:
    """Limits and usage of the caller's region: ``UnreservedConcurrentExecutions`` is the account
    limit minus every reservation (API_AccountLimit); ``TotalCodeSize`` usage sums the code of
    every version, as Lambda counts stored code."""
    from .concurrency import Concurrency

    limit = call.controller.state(Concurrency).account_limit
    functions = lambda_backend(call.account_id, call.region)._lambdas._functions
    code_size = 0
    for entry in functions.values():
        for moto_fn in [entry.get("latest"), *entry.get("versions", [])]:
            if moto_fn is not None:
                code_size += int(getattr(moto_fn, "code_size", 0) or 0)
    reserved = sum(reservations(call.account_id, call.region).values())
    return json_reply(
        200,
        {
            "AccountLimit": {
                "TotalCodeSize": TOTAL_CODE_SIZE,
                "CodeSizeUnzipped": CODE_SIZE_UNZIPPED,
                "CodeSizeZipped": CODE_SIZE_ZIPPED,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit - reserved,
            },
            "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": len(functions)},
        },
    )


def _qualified(call: Call, *, on_put: bool) -> ResolvedFunction:
    qualifier = call.params.get("Qualifier")
    parsed = parse_function_name(call.params["FunctionName"], call.region, call.account_id)
    if (parsed.qualifier or qualifier) == "$LATEST":
        raise invalid_parameter(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
            if on_put
            else _NOT_PUBLISHED
        )
    fn = resolve(call.params["FunctionName"], call.region, call.account_id, qualifier)
    if fn.alias is None and fn.qualifier is None:
        raise invalid_parameter(_NOT_PUBLISHED)
    return fn


def _not_found() -> AwsError:
    return AwsError(
        "ProvisionedConcurrencyConfigNotFoundException",
        "No Provisioned Concurrency Config found for this function",
        404,
        fields={"Type": "User"},
    )


@operation("lambda", "PutProvisionedConcurrencyConfig")
def put_provisioned_concurrency_config(call: Call) -> Reply:
    from .concurrency import Concurrency

    fn = _qualified(call, on_put=True)
    requested = int(call.params["ProvisionedConcurrentExecutions"])
    store = call.controller.state(ProvisionedConcurrency)
    others = sum(
        c.requested
        for c in store.of_function(fn.account_id, fn.region, fn.name)
        if c.qualifier != fn.qualifier
    )
    reserved = reservations(fn.account_id, fn.region).get(fn.name)
    if reserved is not None:
        if reserved < others + requested:
            raise invalid_parameter(
                "Requested Provisioned Concurrency should not be greater than the "
                "reservedConcurrentExecution for function"
            )
    else:
        limit = call.controller.state(Concurrency).account_limit
        pool = limit - sum(reservations(fn.account_id, fn.region).values())
        mine = store.total(fn.account_id, fn.region, fn.name) - others
        taken = unreserved_provisioned(call.controller, fn.account_id, fn.region) - mine
        minimum = minimum_unreserved(limit)
        if pool - taken - requested < minimum:
            raise invalid_parameter(
                "Specified ConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
            )
    config = store.put(fn, requested)
    return json_reply(202, config.render())


@operation("lambda", "GetProvisionedConcurrencyConfig")
def get_provisioned_concurrency_config(call: Call) -> Reply:
    fn = _qualified(call, on_put=False)
    config = call.controller.state(ProvisionedConcurrency).get(fn)
    if config is None:
        raise _not_found()
    return json_reply(200, config.render())


@operation("lambda", "DeleteProvisionedConcurrencyConfig")
def delete_provisioned_concurrency_config(call: Call) -> Reply:
    fn = _qualified(call, on_put=False)
    store = call.controller.state(ProvisionedConcurrency)
    config = store.get(fn)
    if config is None:
        raise _not_found()
    store.delete(config)
    return Reply(204)


@operation("lambda", "ListProvisionedConcurrencyConfigs")
def list_provisioned_concurrency_configs(call: Call) -> Reply:
    """All of one function's configurations, each with its qualified ``FunctionArn``.

    INFERENCE: ``MaxItems``/``Marker`` page in qualifier order, the marker being the next index.
    """
    parsed = parse_function_name(call.params["FunctionName"], call.region, call.account_id)
    if not function_exists(parsed.account_id, parsed.region, parsed.name):
        arn = function_arn(parsed.region, parsed.account_id, parsed.name)
        raise AwsError("ResourceNotFoundException", f"Function not found: {arn}", 404)
    configs = sorted(
        call.controller.state(ProvisionedConcurrency).of_function(
            parsed.account_id, parsed.region, parsed.name
        ),
        key=lambda c: c.qualifier,
    )
    start = int(call.params.get("Marker") or 0)
    size = int(call.params.get("MaxItems") or 50)
    page = configs[start : start + size]
    items = [
        {
            "FunctionArn": function_arn(c.region, c.account_id, c.name, c.qualifier),
            **c.render(),
        }
        for c in page
    ]
    data: dict[str, Any] = {"ProvisionedConcurrencyConfigs": items}
    if start + size < len(configs):
        data["NextMarker"] = str(start + size)
    return json_reply(200, data)
