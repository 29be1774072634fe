"""An ASL definition read as what the graph draws: scopes of states with their transitions. Pure.

The top level is a scope; so is every Parallel branch and the item processor of a Map (``ItemProcessor``, or the
older ``Iterator``), which makes the drawing recursive. Transitions carry what a person needs to read the flow: the
rule of a Choice (JSONPath comparisons or a JSONata ``Condition``), the errors a Catch takes, the errors and
attempts of a Retry. JSONata definitions (``QueryLanguage: JSONata``) and distributed Maps are read the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

START = "__start__"
END = "__end__"

# Comparison operators of JSONPath Choice rules, as a person would write them.
_SYMBOLS = {
    "Equals": "==", "GreaterThan": ">", "GreaterThanEquals": ">=", "LessThan": "<", "LessThanEquals": "<=",
    "Matches": "matches",
}
_TYPE_TESTS = {"IsPresent": "present", "IsNull": "null", "IsString": "a string", "IsNumeric": "a number",
               "IsBoolean": "a boolean", "IsTimestamp": "a timestamp"}
_NOT_RULE_KEYS = {"Variable", "Next", "Comment", "Assign", "Output"}


class DefinitionError(ValueError):
    """The definition is not a state machine the page can draw (no States, StartAt missing...)."""


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    kind: str  # start | next | choice | default | catch | retry | end
    label: str = ""
    detail: str = ""  # the whole rule when the label is shortened


@dataclass
class Scope:
    """States that transition among themselves: the machine, a Parallel branch or a Map's item processor."""

    start: str
    states: dict[str, Mapping[str, Any]]
    transitions: list[Transition]
    top: bool = False
    children: dict[str, list[Scope]] = field(default_factory=dict)  # Parallel/Map state -> its inner scopes


def kind_label(state: Mapping[str, Any]) -> str:
    """The state's Type, with the Map mode and the integration pattern where they matter."""
    kind = str(state.get("Type", "?"))
    if kind == "Map":
        processor = state.get("ItemProcessor")
        mode = (processor.get("ProcessorConfig") or {}).get("Mode") if isinstance(processor, Mapping) else None
        return "Map (distributed)" if str(mode).upper() == "DISTRIBUTED" else "Map"
    if kind == "Task":
        resource = str(state.get("Resource", ""))
        if resource.endswith(".waitForTaskToken"):
            return "Task · callback"
        if ":activity:" in resource:
            return "Task · activity"
    return kind


def _strip_jsonata(text: str) -> str:
    text = text.strip()
    return text[2:-2].strip() if text.startswith("{%") and text.endswith("%}") else text


def rule_text(rule: Any) -> str:
    """A Choice rule as one line: ``$.amount > 100``, ``($.a == "x") and (not $.b present)``, or a JSONata
    condition as written."""
    if not isinstance(rule, Mapping):
        return "?"
    if "Condition" in rule:
        return _strip_jsonata(str(rule["Condition"]))
    for combinator in ("And", "Or"):
        if isinstance(rule.get(combinator), list):
            return f" {combinator.lower()} ".join(f"({rule_text(r)})" for r in rule[combinator])
    if "Not" in rule:
        return f"not ({rule_text(rule['Not'])})"
    variable = str(rule.get("Variable", ""))
    for key, value in rule.items():
        if key in _NOT_RULE_KEYS:
            continue
        if key in _TYPE_TESTS:
            return f"{variable} {'is' if value else 'is not'} {_TYPE_TESTS[key]}"
        from_path = key.endswith("Path")
        operator = key.removesuffix("Path")
        for suffix, symbol in _SYMBOLS.items():
            if operator.endswith(suffix) and operator[: -len(suffix)] in ("String", "Numeric", "Boolean",
                                                                            "Timestamp"):
                shown = str(value) if from_path else json.dumps(value, ensure_ascii=False)
                return f"{variable} {symbol} {shown}"
        return f"{variable} {key} {value}"
    return variable or "?"


def _errors(entry: Mapping) -> str:
    return ", ".join(str(e) for e in entry.get("ErrorEquals") or [])


def _retry_label(retriers: list) -> tuple[str, str]:
    attempts = sum(int(r.get("MaxAttempts", 3)) for r in retriers if isinstance(r, Mapping))
    errors = "; ".join(_errors(r) for r in retriers if isinstance(r, Mapping))
    return f"retry ≤{attempts}×", f"retry on {errors}"


def _inner_definitions(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if state.get("Type") == "Parallel":
        return [b for b in state.get("Branches") or [] if isinstance(b, Mapping)]
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [processor] if isinstance(processor, Mapping) else []
    return []


def read_scope(definition: Mapping[str, Any], top: bool = True) -> Scope:
    """The definition (or a branch of it) as a scope; raises DefinitionError when it cannot be drawn."""
    states = definition.get("States")
    start = definition.get("StartAt")
    if not isinstance(states, Mapping) or not states:
        raise DefinitionError("the definition has no States")
    if start not in states:
        raise DefinitionError(f"StartAt {start!r} is not one of the States")
    edges = [Transition(START, str(start), "start")] if top else []
    children: dict[str, list[Scope]] = {}
    for name, state in states.items():
        if not isinstance(state, Mapping):
            raise DefinitionError(f"state {name!r} is not an object")
        if state.get("Next"):
            edges.append(Transition(name, str(state["Next"]), "next"))
        for choice in state.get("Choices") or ():
            if isinstance(choice, Mapping) and choice.get("Next"):
                text = rule_text(choice)
                edges.append(Transition(name, str(choice["Next"]), "choice", text, text))
        if state.get("Default"):
            edges.append(Transition(name, str(state["Default"]), "default", "default"))
        for catcher in state.get("Catch") or ():
            if isinstance(catcher, Mapping) and catcher.get("Next"):
                edges.append(Transition(name, str(catcher["Next"]), "catch", _errors(catcher),
                                        f"catch {_errors(catcher)}"))
        if isinstance(state.get("Retry"), list) and state["Retry"]:
            label, detail = _retry_label(state["Retry"])
            edges.append(Transition(name, name, "retry", label, detail))
        if state.get("Type") in ("Succeed", "Fail") or state.get("End"):
            edges.append(Transition(name, END, "end"))
        inner = _inner_definitions(state)
        if inner:
            children[name] = [read_scope(branch, top=False) for branch in inner]
    unknown = sorted({e.target for e in edges if e.target != END and e.target not in states})
    if unknown:
        raise DefinitionError(f"transitions to unknown states: {', '.join(unknown)}")
    if not top:  # a branch ends where its states end; only the machine draws Start and End markers
        edges = [e for e in edges if e.target != END]
    return Scope(str(start), dict(states), edges, top, children)


def all_states(scope: Scope) -> dict[str, Mapping[str, Any]]:
    """Every state of the scope and of the scopes inside it, by name."""
    found = dict(scope.states)
    for inner in scope.children.values():
        for branch in inner:
            found.update(all_states(branch))
    return found


def containers(scope: Scope) -> dict[str, set[str]]:
    """Every Parallel/Map state (at any depth) with the names of all the states inside it."""
    found: dict[str, set[str]] = {}
    for name, branches in scope.children.items():
        found[name] = set()
        for branch in branches:
            found[name] |= set(all_states(branch))
            found.update(containers(branch))
    return found
