"""``lam.deploy``: a SAM, CDK or CloudFormation template deployed through moto's CloudFormation.

What ``sam package``/``cdk deploy`` do before CloudFormation sees a template is done here: local
``CodeUri``/``ContentUri`` folders (SAM), ``Code``/``Content`` paths (``aws cloudformation
package``) and CDK file assets are zipped and uploaded to a moto bucket, and a SAM template is
transformed with ``aws-sam-translator``, the library the SAM CLI and CloudFormation's own transform
use. The result goes to ``cloudformation.create_stack`` (or ``update_stack`` when the stack exists)
through boto3, so moto's engine creates the resources and the mock sees them as it sees resources
created by any other call.

A template moto's engine would deploy only in part is refused before anything is created: every
resource type must be one moto (or this package) models, and every intrinsic function one moto's
engine resolves. moto skips the others with a log warning; a test would then pass or fail for a
reason nobody sees.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .packaging import content_key, upload, zip_source

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
#: Intrinsic functions moto's engine resolves (``moto/cloudformation/parsing.py``, moto 5.2).
SUPPORTED_INTRINSICS = frozenset(
    {
        "Ref",
        "Condition",
        "Fn::And",
        "Fn::Base64",
        "Fn::Equals",
        "Fn::FindInMap",
        "Fn::GetAZs",
        "Fn::GetAtt",
        "Fn::If",
        "Fn::ImportValue",
        "Fn::Join",
        "Fn::Not",
        "Fn::Or",
        "Fn::Select",
        "Fn::Split",
        "Fn::Sub",
        "Fn::ToJsonString",
    }
)
#: Resources that create nothing another resource or a test can see: dropped before deploying.
#: ``AWS::CDK::Metadata`` only reports construct versions to AWS.
METADATA_ONLY = frozenset({"AWS::CDK::Metadata"})
_EXTRA = "pip install 'mock-lambda-async[templates]'"


class TemplateError(ValueError):
    """A template ``lam.deploy`` cannot deploy faithfully; the message names the resource."""


@dataclass(frozen=True)
class Stack:
    """A deployed stack: ``outputs`` by key, ``resources`` as logical id → physical id."""

    name: str
    stack_id: str
    outputs: dict[str, str]
    resources: dict[str, str]


#: ``client(service)``: a boto3 client of the controller's region and credentials.
ClientFactory = Callable[[str], Any]


def deploy_template(
    client: ClientFactory,
    template: str | os.PathLike[str] | dict[str, Any],
    *,
    stack_name: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> Stack:
    """Package, transform, check and deploy ``template``; see :meth:`LambdaAsyncController.deploy`."""
    body, base, cdk = _load(template, stack_name)
    name = stack_name or (cdk.stack_name if cdk is not None else None) or "mock-lambda-async-stack"
    values = {k: str(v) for k, v in (parameters or {}).items()}
    _check_parameters(body, values)
    if cdk is not None:
        cdk.publish_assets(client)
        _stand_in_for_bootstrap(client, body)
    bucket = f"mock-lambda-async-artifacts-{client('s3').meta.region_name}"
    _package_local_code(client, body, base, bucket, name)
    if _is_sam(body):
        body = _transform(client, body, values)
    for logical_id in [k for k, r in _resources(body).items() if r.get("Type") in METADATA_ONLY]:
        del body["Resources"][logical_id]
    _check_supported(body)
    return _create_or_update(client, name, body, values)


# -- loading ----------------------------------------------------------------------------------------
def _load(
    template: str | os.PathLike[str] | dict[str, Any], stack_name: str | None
) -> tuple[dict[str, Any], Path, _CloudAssembly | None]:
    """The template as a dict, the folder its relative paths start from, and its CDK assembly."""
    if isinstance(template, dict):
        return copy.deepcopy(template), Path.cwd(), None
    path = _as_path(template)
    if path is None:
        return _parse(str(template), "<string>"), Path.cwd(), None
    if path.is_dir():
        cdk = _CloudAssembly(path, stack_name)
        return _parse(cdk.template_file.read_text(), str(cdk.template_file)), path, cdk
    if (path.parent / "manifest.json").is_file() and path.name.endswith(".template.json"):
        cdk = _CloudAssembly(path.parent, path.name.removesuffix(".template.json"))
        return _parse(path.read_text(), str(path)), path.parent, cdk
    return _parse(path.read_text(), str(path)), path.parent, None


def _as_path(template: str | os.PathLike[str]) -> Path | None:
    if isinstance(template, os.PathLike):
        path = Path(template)
        if not path.exists():
            raise FileNotFoundError(f"template {str(path)!r} does not exist")
        return path
    if "\n" in template or len(template) > 1024:
        return None
    path = Path(template)
    return path if path.exists() else None


def _parse(text: str, where: str) -> dict[str, Any]:
    """JSON, or YAML with CloudFormation's short-form intrinsics (``!Ref``, ``!GetAtt``, ``!Sub`` …)."""
    try:
        return dict(json.loads(text))
    except ValueError:
        pass
    try:
        from samtranslator.yaml_helper import yaml_parse
    except ImportError:
        raise ImportError(
            f"lam.deploy() of a YAML template needs PyYAML and aws-sam-translator: {_EXTRA}"
        ) from None
    try:
        parsed = yaml_parse(text)
    except Exception as error:
        raise TemplateError(f"{where}: not a JSON or YAML template: {error}") from None
    if not isinstance(parsed, dict) or "Resources" not in parsed:
        raise TemplateError(f"{where}: a template is a mapping with a Resources section")
    return parsed


def _resources(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = body.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError("the template has no Resources")
    return resources


def _is_sam(body: dict[str, Any]) -> bool:
    transform = body.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in names


def _check_parameters(body: dict[str, Any], values: dict[str, str]) -> None:
    """CloudFormation's answer to a missing or unknown parameter, before anything is created."""
    declared = body.get("Parameters") or {}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise TemplateError(f"Parameters: {unknown} do not exist in the template")
    missing = sorted(k for k, p in declared.items() if k not in values and "Default" not in p)
    if missing:
        raise TemplateError(f"Parameters: {missing} must have values")


# -- packaging ----------------------------------------------------------------------------------------
#: Properties holding code: (resource type, property, whether the upload is written as an S3 URI
#: (SAM) or as ``{"S3Bucket", "S3Key"}`` (CloudFormation)).
_CODE_PROPERTIES: tuple[tuple[str, str, bool], ...] = (
    ("AWS::Serverless::Function", "CodeUri", True),
    ("AWS::Serverless::LayerVersion", "ContentUri", True),
    ("AWS::Lambda::Function", "Code", False),
    ("AWS::Lambda::LayerVersion", "Content", False),
)


def _package_local_code(
    client: ClientFactory, body: dict[str, Any], base: Path, bucket: str, stack: str
) -> None:
    """Zip and upload every local code path, and point the template at the upload."""
    s3 = client("s3")

    def uploaded(location: Any, what: str, as_uri: bool) -> Any:
        if not isinstance(location, str) or location.startswith("s3://"):
            return location
        path = Path(location) if os.path.isabs(location) else base / location
        if not path.exists():
            raise TemplateError(f"{what}: local code path {location!r} does not exist ({path})")
        data = path.read_bytes() if path.is_file() and path.suffix == ".zip" else zip_source(path)
        key = content_key(stack, data)
        upload(s3, bucket, key, data)
        return f"s3://{bucket}/{key}" if as_uri else {"S3Bucket": bucket, "S3Key": key}

    function_globals = (body.get("Globals") or {}).get("Function") or {}
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = uploaded(
            function_globals["CodeUri"], "Globals.Function", True
        )
    for logical_id, resource in _resources(body).items():
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        for resource_type, prop, as_uri in _CODE_PROPERTIES:
            if resource.get("Type") == resource_type and prop in properties:
                properties[prop] = uploaded(properties[prop], f"{logical_id}.{prop}", as_uri)


# -- SAM ----------------------------------------------------------------------------------------------
def _transform(
    client: ClientFactory, body: dict[str, Any], values: dict[str, str]
) -> dict[str, Any]:
    """The SAM transform, as ``samtranslator.translator.transform.transform`` runs it, in the
    controller's region (CloudFormation runs it in the stack's)."""
    try:
        import boto3
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
        from samtranslator.translator.translator import Translator
    except ImportError:
        raise ImportError(
            f"lam.deploy() of a SAM template needs aws-sam-translator: {_EXTRA}"
        ) from None
    iam = client("iam")
    session = boto3.session.Session(region_name=iam.meta.region_name)
    translator = Translator(None, Parser(), boto_session=session)
    loader = ManagedPolicyLoader(iam)
    try:
        result: dict[str, Any] = translator.translate(
            body, parameter_values=dict(values), get_managed_policy_map=loader.load
        )
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause.message) for cause in error.causes) or str(error)
        raise TemplateError(f"SAM transform failed: {causes}") from None
    return result


# -- CDK ----------------------------------------------------------------------------------------------
class _CloudAssembly:
    """A synthesized ``cdk.out``: its ``manifest.json``, one stack's template and its file assets."""

    def __init__(self, directory: Path, stack_name: str | None) -> None:
        manifest_file = directory / "manifest.json"
        if not manifest_file.is_file():
            raise TemplateError(f"{directory}: not a CDK cloud assembly (no manifest.json)")
        artifacts = json.loads(manifest_file.read_text()).get("artifacts") or {}
        stacks = {k: a for k, a in artifacts.items() if a.get("type") == "aws:cloudformation:stack"}
        if stack_name is None and len(stacks) == 1:
            stack_name = next(iter(stacks))
        if stack_name not in stacks:
            raise TemplateError(
                f"{directory}: name one of its stacks with stack_name= ({', '.join(sorted(stacks))})"
            )
        stack = stacks[stack_name]
        properties = stack.get("properties") or {}
        self.directory = directory
        self.stack_name = str(properties.get("stackName") or stack_name)
        self.template_file = directory / properties.get(
            "templateFile", f"{stack_name}.template.json"
        )
        self.asset_files = [
            directory / a["properties"]["file"]
            for k, a in artifacts.items()
            if a.get("type") == "cdk:asset-manifest"
            and (k in (stack.get("dependencies") or []) or k == f"{stack_name}.assets")
        ]

    def publish_assets(self, client: ClientFactory) -> None:
        """Upload every file asset where the template expects it, as ``cdk deploy`` does."""
        s3 = client("s3")
        region = s3.meta.region_name
        account = client("sts").get_caller_identity()["Account"]
        for manifest in self.asset_files:
            for asset_id, asset in (json.loads(manifest.read_text()).get("files") or {}).items():
                source = asset.get("source") or {}
                path = self.directory / source.get("path", "")
                if source.get("executable") or not path.exists():
                    raise TemplateError(f"CDK asset {asset_id}: no file at {path}")
                packaging = source.get("packaging", "file")
                data = (
                    zip_source(path) if packaging == "zip" or path.is_dir() else path.read_bytes()
                )
                for destination in (asset.get("destinations") or {}).values():
                    bucket = _substitute(destination["bucketName"], account, region)
                    upload(s3, bucket, _substitute(destination["objectKey"], account, region), data)


def _substitute(text: str, account: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
        .replace("${AWS::Partition}", "aws")
    )


def _stand_in_for_bootstrap(client: ClientFactory, body: dict[str, Any]) -> None:
    """Write the ``cdk bootstrap`` version parameter a CDK template reads, if it is not there.

    Templates of CDK's default synthesizer read ``/cdk-bootstrap/<qualifier>/version`` from SSM and
    refuse versions below 6 (their ``CheckBootstrapVersion`` rule); a bootstrapped account has it.
    """
    ssm = client("ssm")
    for parameter in (body.get("Parameters") or {}).values():
        name = parameter.get("Default")
        if (
            str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value")
            and isinstance(name, str)
            and name.startswith("/cdk-bootstrap/")
        ):
            try:
                ssm.get_parameter(Name=name)
            except ssm.exceptions.ParameterNotFound:
                ssm.put_parameter(Name=name, Value="21", Type="String")


# -- checks and deployment ----------------------------------------------------------------------------
def _check_supported(body: dict[str, Any]) -> None:
    """Refuse resource types and intrinsic functions moto's engine would skip or leave unresolved."""
    from moto.cloudformation import parsing

    known = set(parsing.get_model_map()) | set(parsing.NULL_MODELS)

    def supported(resource_type: Any) -> bool:
        # ``resource_class_from_type`` also knows the models this package adds while active.
        return resource_type in known or (
            isinstance(resource_type, str)
            and not resource_type.startswith("Custom::")
            and parsing.resource_class_from_type(resource_type) is not None
        )

    for logical_id, resource in _resources(body).items():
        resource_type = resource.get("Type")
        if not supported(resource_type):
            raise TemplateError(
                f"resource {logical_id}: type {resource_type} is not supported "
                "(neither moto's CloudFormation nor mock_lambda_async models it)"
            )
        for function in _intrinsics(resource):
            if function not in SUPPORTED_INTRINSICS:
                raise TemplateError(
                    f"resource {logical_id}: intrinsic function {function} is not supported"
                )
    for key, output in (body.get("Outputs") or {}).items():
        for function in _intrinsics(output):
            if function not in SUPPORTED_INTRINSICS:
                raise TemplateError(f"output {key}: intrinsic function {function} is not supported")


def _intrinsics(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if len(value) == 1 and (key == "Ref" or key.startswith("Fn::")):
                yield key
            yield from _intrinsics(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _intrinsics(inner)


def _create_or_update(
    client: ClientFactory, name: str, body: dict[str, Any], values: dict[str, str]
) -> Stack:
    cloudformation = client("cloudformation")
    request = {
        "StackName": name,
        "TemplateBody": json.dumps(body),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    }
    try:
        existing = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        existing = []
    live = [s for s in existing if s["StackStatus"] != "DELETE_COMPLETE"]
    if live:
        cloudformation.update_stack(**request)
    else:
        cloudformation.create_stack(**request)
    [described] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    status = described["StackStatus"]
    if not status.endswith("_COMPLETE") or "ROLLBACK" in status:
        reason = described.get("StackStatusReason", "")
        raise TemplateError(f"stack {name}: {status} {reason}".strip())
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    return Stack(
        name=name,
        stack_id=described["StackId"],
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        resources={r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources},
    )
