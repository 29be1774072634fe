"""The pipeline as an AWS CloudFormation template, rendered from the same declarations the boto3 deploy uses.

`make template` writes `.sandbox/template.yaml` and the Lambda code beside it (`lambdas.zip`); each function's
`Code` is that local path, which is what `aws cloudformation package` uploads and rewrites to S3.
Nothing here knows LocalStack: the approval links are the stage's own
`https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from bootstrap import functions
from bootstrap.pipeline import DERIVED, OUTPUTS, PARAMETERS, resources
from bootstrap.symbols import CodeAsset, IfTrue, expand, names_in, to_cloudformation

DESCRIPTION = ("Callback Sandbox: human approval with the Step Functions wait-for-callback pattern "
               "(EventBridge, Step Functions, SQS, Lambda, SNS email, API Gateway, S3).")


def code_file(asset: CodeAsset) -> str:
    return f"{asset.package}.zip"


def _parameters() -> dict:
    out = {}
    for name, p in PARAMETERS.items():
        spec: dict = {"Type": p.type, "Description": p.description, **p.constraints}
        if p.default is not None:
            spec["Default"] = p.default
        out[name] = spec
    return out


def _conditions(values: list[object]) -> dict:
    used: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, IfTrue):
            used.add(value.parameter)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for value in values:
        walk(value)
    return {f"{name}Condition": {"Fn::Equals": [{"Ref": name}, "true"]} for name in sorted(used)}


def render(code: Callable[[CodeAsset], object] = code_file) -> dict:
    """The template as a dict. `code` gives each function's Code: a local path, or {S3Bucket, S3Key}."""
    parameters = set(PARAMETERS)

    def form(value: object) -> object:
        return to_cloudformation(expand(value, DERIVED), parameters, code)

    declared = resources()
    template_resources = {}
    for r in declared:
        body: dict = {"Type": r.type, "Properties": form(r.properties)}
        if r.depends_on:
            body["DependsOn"] = list(r.depends_on)
        template_resources[r.logical_id] = body
    outputs = {
        name: {"Description": key.replace("_", " ").replace(".", ": "), "Value": form(value)}
        for key, (name, value) in OUTPUTS.items()
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": DESCRIPTION,
        # Local code paths are meant for `aws cloudformation package` (or `make deploy TARGET=aws`), which is
        # what cfn-lint's W3002 warns about.
        "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W3002"]}}},
        "Parameters": _parameters(),
        "Conditions": _conditions([r.properties for r in declared]),
        "Resources": template_resources,
        "Outputs": outputs,
    }


def dump(template: dict) -> str:
    return yaml.safe_dump(template, sort_keys=False, width=120, allow_unicode=True)


def code_assets() -> list[CodeAsset]:
    assets = {r.properties["Code"] for r in resources() if isinstance(r.properties.get("Code"), CodeAsset)}
    return sorted(assets, key=lambda a: a.package)


def write(directory: Path) -> Path:
    """Write template.yaml and the code zips into `directory`; returns the template's path."""
    directory.mkdir(parents=True, exist_ok=True)
    for asset in code_assets():
        (directory / code_file(asset)).write_bytes(functions.zip_of(asset))
    path = directory / "template.yaml"
    path.write_text(dump(render()))
    return path


def placeholders() -> set[str]:
    """Every placeholder the declarations use (for tests: each must be a parameter, pseudo parameter or
    resource)."""
    return names_in([r.properties for r in resources()])
