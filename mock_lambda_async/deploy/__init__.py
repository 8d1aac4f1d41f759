"""Deploying what users deploy: a function from a folder, a SAM, CDK or CloudFormation template."""

from .packaging import zip_source
from .templates import Stack, TemplateError, deploy_template

__all__ = ["Stack", "TemplateError", "deploy_template", "zip_source"]
