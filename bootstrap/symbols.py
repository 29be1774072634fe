"""Values written once for two targets: `${...}` placeholders, resolved to concrete values for boto3 or rendered
as CloudFormation's `Ref`, `Fn::GetAtt` and `Fn::Sub` for the template.

A placeholder names a template parameter (`${NamePrefix}`), a pseudo parameter (`${AWS::Region}`), a resource
(`${Queue}`: its `Ref`) or a resource attribute (`${Queue.Arn}`). A string that is exactly one placeholder
stands for the value itself (a number stays a number); anything else is string substitution, as `Fn::Sub` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\$\{([^}!]+)\}")
PARTITION, REGION, ACCOUNT, URL_SUFFIX = "${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}", "${AWS::URLSuffix}"


@dataclass(frozen=True)
class IfTrue:
    """A choice on a boolean parameter: `Fn::If` on the condition named after the parameter."""

    parameter: str
    when_true: object
    when_false: object


@dataclass(frozen=True)
class CodeAsset:
    """The Lambda code, a Python package: zip bytes for boto3, a local path for `aws cloudformation package`."""

    package: str


def names_in(value: object) -> set[str]:
    """Every placeholder name used anywhere in a value (recursively)."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(PLACEHOLDER.findall(value))
    elif isinstance(value, dict):
        for item in value.values():
            found |= names_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= names_in(item)
    elif isinstance(value, IfTrue):
        found |= {value.parameter} | names_in(value.when_true) | names_in(value.when_false)
    return found


def references(value: object, parameters: set[str]) -> set[str]:
    """The logical ids of the resources a value refers to (what must exist before it)."""
    return {name.split(".", 1)[0] for name in names_in(value) if "::" not in name and name not in parameters}


def expand(value: object, derived: dict[str, str]) -> object:
    """Replace placeholders of derived values by their definitions (which hold placeholders of their own)."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: derived.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: expand(v, derived) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [expand(v, derived) for v in value]
    if isinstance(value, IfTrue):
        return IfTrue(value.parameter, expand(value.when_true, derived), expand(value.when_false, derived))
    return value


def resolve(value: object, lookup: Callable[[str], object]) -> object:
    """The concrete value: every placeholder replaced by `lookup(name)`."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return lookup(whole.group(1))
        return PLACEHOLDER.sub(lambda m: str(lookup(m.group(1))), value)
    if isinstance(value, dict):
        return {k: resolve(v, lookup) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, lookup) for v in value]
    if isinstance(value, IfTrue):
        return resolve(value.when_true if lookup(value.parameter) else value.when_false, lookup)
    return value


def to_cloudformation(value: object, parameters: set[str], code: Callable[[CodeAsset], object]) -> object:
    """The template form: `Ref`/`Fn::GetAtt` for a whole placeholder, `Fn::Sub` for strings with several."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            name = whole.group(1)
            if "." in name and "::" not in name:
                logical, attribute = name.split(".", 1)
                return {"Fn::GetAtt": [logical, attribute]}
            return {"Ref": name}
        return {"Fn::Sub": value} if PLACEHOLDER.search(value) else value
    if isinstance(value, dict):
        return {k: to_cloudformation(v, parameters, code) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_cloudformation(v, parameters, code) for v in value]
    if isinstance(value, IfTrue):
        return {"Fn::If": [value.parameter + "Condition", to_cloudformation(value.when_true, parameters, code),
                           to_cloudformation(value.when_false, parameters, code)]}
    if isinstance(value, CodeAsset):
        return code(value)
    return value
