"""Stacks made through moto's CloudFormation get the async behaviour of what they declare.

moto's engine (``cloudformation.create_stack``/``update_stack``/``delete_stack``) creates the
resources in moto's backends, where the mock reads them: ``AWS::Lambda::EventSourceMapping`` goes
through moto's backend API, which hands each mapping to the mock (:mod:`.event_sources.moto_mappings`);
SNS ``lambda`` subscriptions and EventBridge rule targets (``RetryPolicy``, ``DeadLetterConfig``) are
stored by moto and delivered by the mock's push patches. While a mock is active this module adds
what moto's engine lacks:

- ``AWS::Lambda::EventInvokeConfig`` (moto has no model for it: "No Moto CloudFormation support"),
  stored as ``PutFunctionEventInvokeConfig`` stores it; an update replaces it, a delete removes it.
- ``AWS::Lambda::Function``: ``DeadLetterConfig`` (moto drops it) is kept per version as
  ``CreateFunction`` keeps it; ``ReservedConcurrentExecutions`` (moto applies it on create only)
  is applied to every version on create and update, and removed when the template drops it.
- ``AWS::S3::Bucket``: ``NotificationConfiguration`` (moto drops it) is set as
  ``PutBucketNotificationConfiguration`` sets it, on create and update.

Template values are taken as given: CloudFormation's own validation (and the errors the resource
would answer through the API) are not repeated here.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import sys
import threading
import types
import uuid
from typing import TYPE_CHECKING, Any

from .dead_letter_config import set_dead_letter_target, set_reserved_concurrency
from .event_invoke_config import EventInvokeConfigs, put_config
from .functions import resolve
from .interception import AwsError
from .mock import get_controller, on_start

if TYPE_CHECKING:
    from .mock import LambdaAsyncController

__all__ = ["EventInvokeConfigResource"]

EVENT_INVOKE_CONFIG = "AWS::Lambda::EventInvokeConfig"
_PARSING = "moto.cloudformation.parsing"


class _AddedModel:
    """What moto's engine asks of a resource model, for the models this module adds."""

    TYPE = ""
    physical_resource_id: str

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return False

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """Replaced, as CloudFormation replaces it when a property that names it changes."""
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls(account_id, region_name, cloudformation_json["Properties"])

    def __init__(self, account_id: str, region: str, properties: dict[str, Any]) -> None:
        raise NotImplementedError

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError


class EventInvokeConfigResource(_AddedModel):
    """One ``AWS::Lambda::EventInvokeConfig`` of a stack: the qualifier it configures.

    Properties (CloudFormation resource reference): ``FunctionName`` and ``Qualifier`` (required),
    ``MaximumRetryAttempts``, ``MaximumEventAgeInSeconds``, ``DestinationConfig``.
    """

    TYPE = EVENT_INVOKE_CONFIG

    def __init__(self, account_id: str, region: str, properties: dict[str, Any]) -> None:
        self.account_id = account_id
        self.region = region
        self.function_name = str(properties["FunctionName"])
        self.qualifier = str(properties.get("Qualifier") or "$LATEST")
        self.physical_resource_id = str(uuid.uuid4())
        self.cf_resource_type = EVENT_INVOKE_CONFIG
        self.logical_resource_id = ""
        _put(self, properties)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EventInvokeConfigResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EventInvokeConfigResource:
        properties = cloudformation_json["Properties"]
        moved = (str(properties["FunctionName"]), str(properties.get("Qualifier") or "$LATEST"))
        if moved != (original_resource.function_name, original_resource.qualifier):
            original_resource.delete(account_id, region_name)
            return cls(account_id, region_name, properties)
        _put(original_resource, properties)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        properties = cloudformation_json["Properties"]
        cls.__new__(cls)._delete(
            account_id, region_name, str(properties["FunctionName"]), properties.get("Qualifier")
        )

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete(self.account_id, self.region, self.function_name, self.qualifier)

    def _delete(self, account_id: str, region: str, name: str, qualifier: Any) -> None:
        try:
            fn = resolve(name, region, account_id, str(qualifier or "$LATEST"))
        except Exception:
            return  # the function (or qualifier) went first: its config went with it
        _controller().state(EventInvokeConfigs).delete(fn)


def _put(resource: EventInvokeConfigResource, properties: dict[str, Any]) -> None:
    """Store the resource's config, refused as ``PutFunctionEventInvokeConfig`` refuses it.

    AWS would fail the stack (``CREATE_FAILED``, the reason worded ``Resource handler returned
    message: "<Lambda's message>" (Service: Lambda, Status Code: 400, ...)``, as public deployment
    logs show it); moto's engine has no failed resources, so the stack call itself fails, with
    moto's ``ValidationError`` carrying that reason (a ``ClientError``).
    """
    from moto.cloudformation.exceptions import ValidationError

    settings = {
        key: int(properties[key])
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
        if properties.get(key) is not None
    }
    if properties.get("DestinationConfig"):
        settings["DestinationConfig"] = properties["DestinationConfig"]
    try:
        fn = resolve(
            resource.function_name, resource.region, resource.account_id, resource.qualifier
        )
        put_config(_controller(), fn, settings)
    except AwsError as error:
        raise ValidationError(
            message=(
                f'Resource handler returned message: "{error.message}" '
                f"(Service: Lambda, Status Code: {error.status}, Error Code: {error.code})"
            )
        ) from error


def _controller() -> LambdaAsyncController:
    return get_controller()


# -- AWS::Lambda::Alias, AWS::SNS::Subscription ------------------------------------------------------
def _function_name(value: Any) -> str:
    """A function named by name or by (possibly qualified) ARN."""
    text = str(value)
    return text.split(":")[6] if text.startswith("arn:") else text


class AliasResource(_AddedModel):
    """``AWS::Lambda::Alias`` (what SAM's ``AutoPublishAlias`` makes): ``CreateAlias``'s alias.

    ``Ref`` is the alias ARN, as CloudFormation returns it; ``RoutingConfig`` is stored, and a
    weighted alias runs its main version (README, Asynchronous invocations).
    """

    TYPE = "AWS::Lambda::Alias"

    def __init__(self, account_id: str, region: str, properties: dict[str, Any]) -> None:
        from moto.awslambda.models import lambda_backends

        self.account_id, self.region = account_id, region
        self.function_name = _function_name(properties["FunctionName"])
        self.name = str(properties["Name"])
        alias = lambda_backends[account_id][region].create_alias(
            self.name,
            self.function_name,
            str(properties["FunctionVersion"]),
            str(properties.get("Description") or ""),
            properties.get("RoutingConfig"),  # type: ignore[arg-type]
        )
        self.physical_resource_id = str(alias.arn)

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return attribute == "AliasArn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_resource_id

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        from moto.awslambda.models import lambda_backends

        properties = cloudformation_json["Properties"]
        lambda_backends[account_id][region_name].delete_alias(
            str(properties["Name"]), _function_name(properties["FunctionName"])
        )

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.awslambda.models import lambda_backends

        lambda_backends[self.account_id][self.region].delete_alias(self.name, self.function_name)


class VersionResource(_AddedModel):
    """``AWS::Lambda::Version`` (SAM's ``AutoPublishAlias`` publishes one): ``PublishVersion``.

    moto's own model has no ``Ref`` (CloudFormation's is the version ARN) and no ``Fn::GetAtt``
    (``Version``, ``FunctionArn``), which SAM's alias reads. Deleting the resource deletes the
    version, as CloudFormation does without a retain policy.
    """

    TYPE = "AWS::Lambda::Version"

    def __init__(self, account_id: str, region: str, properties: dict[str, Any]) -> None:
        from moto.awslambda.models import lambda_backends

        self.account_id, self.region = account_id, region
        self.function_name = _function_name(properties["FunctionName"])
        backend = lambda_backends[account_id][region]
        published = backend.publish_version(
            self.function_name, str(properties.get("Description") or "")
        )
        if published is None:
            raise ValueError(f"function {self.function_name} has no code to publish")
        self.version = str(published.version)
        self.physical_resource_id = str(published.function_arn)

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return attribute in ("Version", "FunctionArn")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.version if attribute_name == "Version" else self.physical_resource_id

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """moto deletes by resource name only; the version is found when the stack deletes the
        resource object itself (:meth:`delete`)."""
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.awslambda.models import lambda_backends

        with contextlib.suppress(Exception):  # gone with its function already
            lambda_backends[self.account_id][self.region].delete_function(
                self.function_name, self.version
            )


class SubscriptionResource(_AddedModel):
    """``AWS::SNS::Subscription`` (what SAM's ``SNS`` event makes): ``Subscribe`` and its attributes.

    ``Ref`` is the subscription ARN; ``FilterPolicy`` and ``RedrivePolicy`` are JSON objects in a
    template and JSON strings in the API.
    """

    TYPE = "AWS::SNS::Subscription"
    _ATTRIBUTES = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")

    def __init__(self, account_id: str, region: str, properties: dict[str, Any]) -> None:
        import json

        from moto.sns.models import sns_backends

        self.account_id = account_id
        self.region = str(properties.get("Region") or region)
        backend = sns_backends[account_id][self.region]
        subscription = backend.subscribe(
            str(properties["TopicArn"]), str(properties["Endpoint"]), str(properties["Protocol"])
        )
        self.physical_resource_id = str(subscription.arn)
        for name in self._ATTRIBUTES:
            value = properties.get(name)
            if value is not None:
                text = (
                    json.dumps(value)
                    if isinstance(value, dict)
                    else str(value).lower()
                    if isinstance(value, bool)
                    else str(value)
                )
                backend.set_subscription_attributes(self.physical_resource_id, name, text)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """moto deletes by resource name; the subscription is found by its topic and endpoint."""
        from moto.sns.models import sns_backends

        properties = cloudformation_json["Properties"]
        backend = sns_backends[account_id][str(properties.get("Region") or region_name)]
        for arn, subscription in list(backend.subscriptions.items()):
            if (
                subscription.topic.arn == properties["TopicArn"]
                and subscription.endpoint == properties["Endpoint"]
            ):
                backend.unsubscribe(arn)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.sns.models import sns_backends

        sns_backends[self.account_id][self.region].unsubscribe(self.physical_resource_id)


#: Resource types moto's engine lacks, and the models this module gives them while active.
_ADDED_MODELS: dict[str, Any] = {
    EventInvokeConfigResource.TYPE: EventInvokeConfigResource,
    AliasResource.TYPE: AliasResource,
    VersionResource.TYPE: VersionResource,
    SubscriptionResource.TYPE: SubscriptionResource,
}


# -- AWS::Lambda::Function --------------------------------------------------------------------------
def _apply_function_settings(moto_fn: Any, properties: dict[str, Any]) -> None:
    """What moto's engine drops from an ``AWS::Lambda::Function``: its DLQ, its reservation."""
    account_id, region, name = moto_fn.account_id, moto_fn.region, moto_fn.function_name
    dead_letter = properties.get("DeadLetterConfig") or {}
    set_dead_letter_target(account_id, region, name, dead_letter.get("TargetArn"))
    reserved = properties.get("ReservedConcurrentExecutions")
    set_reserved_concurrency(account_id, region, name, None if reserved is None else int(reserved))
    # ``Layers`` (moto drops it): the layer versions' data, as ``CreateFunction`` stores it.
    moto_fn.layers = moto_fn._get_layers_data([str(arn) for arn in properties.get("Layers") or []])


# -- AWS::S3::Bucket ----------------------------------------------------------------------------------
#: CloudFormation's ``NotificationConfiguration`` lists and moto's (its XML API's) names for them.
_BUCKET_TARGETS = (
    ("LambdaConfigurations", "Function", "CloudFunctionConfiguration", "CloudFunction"),
    ("QueueConfigurations", "Queue", "QueueConfiguration", "Queue"),
    ("TopicConfigurations", "Topic", "TopicConfiguration", "Topic"),
)


def _apply_bucket_settings(bucket: Any, properties: dict[str, Any]) -> None:
    """``NotificationConfiguration``, which moto's engine drops, set as ``PutBucketNotificationConfiguration``
    sets it (CloudFormation's ``Filter.S3Key.Rules`` is the API's ``FilterRule`` list)."""
    given = properties.get("NotificationConfiguration") or {}
    config: dict[str, Any] = {}
    for cfn_list, cfn_target, moto_list, moto_target in _BUCKET_TARGETS:
        entries = []
        for entry in given.get(cfn_list) or []:
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            entries.append(
                {
                    moto_target: entry[cfn_target],
                    "Event": [entry["Event"]],
                    "Filter": {"S3Key": {"FilterRule": rules}} if rules else None,
                }
            )
        if entries:
            config[moto_list] = entries
    if given.get("EventBridgeConfiguration"):
        config["EventBridgeConfiguration"] = given["EventBridgeConfiguration"]
    bucket.set_notification_configuration(config or None)


# -- patching moto's engine while active --------------------------------------------------------------
_lock = threading.Lock()
_holders = 0
_saved: dict[str, Any] = {}


def _patched_classes() -> list[tuple[Any, Any]]:
    """moto's models whose CloudFormation create/update we complete, and what completes them."""
    lambda_models: Any = importlib.import_module("moto.awslambda.models")
    s3_models: Any = importlib.import_module("moto.s3.models")
    return [
        (lambda_models.LambdaFunction, _apply_function_settings),
        (s3_models.FakeBucket, _apply_bucket_settings),
    ]


def _completed(model: Any, complete: Any) -> tuple[Any, Any]:
    """``model``'s CloudFormation create and update, each followed by ``complete``."""
    create = model.create_from_cloudformation_json
    update = model.update_from_cloudformation_json

    def create_and_complete(
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        made = create(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        complete(made, cloudformation_json["Properties"])
        return made

    def update_and_complete(
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        updated = update(
            original_resource=original_resource,
            new_resource_name=new_resource_name,
            cloudformation_json=cloudformation_json,
            account_id=account_id,
            region_name=region_name,
        )
        complete(updated, cloudformation_json["Properties"])
        return updated

    return staticmethod(create_and_complete), staticmethod(update_and_complete)


def _patch() -> None:
    parsing: Any = importlib.import_module(_PARSING)
    class_from_type = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type in _ADDED_MODELS:
            return _ADDED_MODELS[resource_type]
        return class_from_type(resource_type)

    _saved["class_from_type"] = class_from_type
    parsing.resource_class_from_type = resource_class_from_type
    # ``Ref`` of an ``AWS::Lambda::LayerVersion`` is its version ARN (moto's model has none).
    layer_version = importlib.import_module("moto.awslambda.models").LayerVersion
    layer_version.physical_resource_id = property(lambda self: self.arn)
    for model, complete in _patched_classes():
        originals = vars(model)
        _saved[model] = (
            originals["create_from_cloudformation_json"],
            originals["update_from_cloudformation_json"],
        )
        model.create_from_cloudformation_json, model.update_from_cloudformation_json = _completed(
            model, complete
        )


def _unpatch() -> None:
    parsing: Any = importlib.import_module(_PARSING)
    parsing.resource_class_from_type = _saved.pop("class_from_type")
    del importlib.import_module("moto.awslambda.models").LayerVersion.physical_resource_id
    for model, _ in _patched_classes():
        model.create_from_cloudformation_json, model.update_from_cloudformation_json = _saved.pop(
            model
        )


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches moto's engine when it is first imported while a mock is active.

    Importing it takes seconds (it imports every moto service with CloudFormation models), so a
    mock does not import it at start: a test that uses CloudFormation imports it on its first
    stack call, and the patch goes in then.
    """

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _PARSING:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_patch(module: types.ModuleType) -> None:
            exec_module(module)
            with _lock:
                if _holders and not _saved:
                    _patch()

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


_FINDER = _PatchOnImport()


@on_start
def _hold(controller: LambdaAsyncController) -> None:
    """Patch moto's engine with the first active mock; the last one to stop unpatches it."""
    global _holders
    with _lock:
        if _holders == 0:
            if _PARSING in sys.modules:
                _patch()
            elif _FINDER not in sys.meta_path:
                sys.meta_path.insert(0, _FINDER)
        _holders += 1

    def release() -> None:
        global _holders
        with _lock:
            _holders -= 1
            if _holders == 0:
                if _saved:
                    _unpatch()
                if _FINDER in sys.meta_path:
                    sys.meta_path.remove(_FINDER)

    controller.add_cleanup(release)
