"""Graphs of any ASL: Choice rules as edge labels, Parallel and Map drawn with their branches inside, Catch and
Retry edges, distributed Maps and JSONata definitions; and an execution's progress through concurrent branches
(followed by previousEventId). Pure, over the definitions in tests/asl/."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from asl import load_asl

from sandbox.console.asl import kind_label, read_scope, rule_text
from sandbox.webui.graph import END, START, layout, progress_from_history, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def drawn(svg: str) -> dict[str, dict[str, str]]:
    """data-state -> the node group's attributes (parsing proves the SVG is well-formed)."""
    root = ET.fromstring(svg)
    return {g.get("data-state"): dict(g.attrib) for g in root.iter(f"{SVG}g")
            if "node" in g.get("class", "").split()}


def edges(svg: str) -> dict[tuple[str, str], dict]:
    root = ET.fromstring(svg)
    found = {}
    for g in root.iter(f"{SVG}g"):
        if "edge" in g.get("class", "").split():
            label = g.find(f"{SVG}text")
            title = label.find(f"{SVG}title") if label is not None else g.find(f"{SVG}title")
            found[(g.get("data-from"), g.get("data-to"))] = {
                "class": g.get("class").split(), "label": (title.tail or "") if label is not None else "",
                "title": title.text if title is not None else ""}
    return found


@pytest.mark.parametrize("name", ["order_review", "map_inline", "map_distributed", "jsonata", "activity"])
def test_every_state_at_every_depth_is_drawn_once(name):
    definition = load_asl(name)
    svg = render_svg(definition)
    names = set()

    def collect(scope: dict) -> None:
        for state_name, state in scope["States"].items():
            names.add(state_name)
            for branch in state.get("Branches", []):
                collect(branch)
            for key in ("ItemProcessor", "Iterator"):
                if key in state:
                    collect(state[key])

    collect(definition)
    assert set(drawn(svg)) == names | {START, END}


def test_choice_rules_become_edge_labels():
    found = edges(render_svg(load_asl("order_review")))
    assert found[("Check amount", "Review")]["label"] == "$.amount > 100"
    assert "choice" in found[("Check amount", "Review")]["class"]
    assert found[("Check amount", "Auto approve")]["label"] == "default"
    combined = read_scope(load_asl("order_review")).transitions
    blocked = next(t for t in combined if t.target == "Blocked")
    assert blocked.detail == '($.country is present) and ($.country == "XX")'
    assert blocked.label == blocked.detail  # shortened only when drawn; the full rule is the SVG <title>


@pytest.mark.parametrize("rule, text", [
    ({"Not": {"Variable": "$.a", "IsNull": True}}, "not ($.a is null)"),
    ({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.limit"}, "$.t <= $.limit"),
    ({"Variable": "$.s", "StringMatches": "log-*.txt"}, '$.s matches "log-*.txt"'),
    ({"Or": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.b", "BooleanEquals": False}]},
     "($.n == 1) or ($.b == false)"),
    ({"Condition": "{% $states.input.priority = 'high' %}"}, "$states.input.priority = 'high'"),
])
def test_rule_text_reads_like_the_rule(rule, text):
    assert rule_text(rule) == text


def test_catch_and_retry_edges_are_drawn_with_their_errors():
    found = edges(render_svg(load_asl("order_review")))
    assert "catch" in found[("Review", "Rejected")]["class"]
    assert found[("Review", "Rejected")]["label"] == "ReviewRejected"
    assert found[("Review", "Review timed out")]["title"] == "catch States.Timeout, States.HeartbeatTimeout"
    retry = found[("Review", "Review")]
    assert "retry" in retry["class"] and retry["title"] == "retry on States.TaskFailed"


def test_parallel_branches_are_drawn_inside_their_state():
    drawing = layout(load_asl("order_review"))
    review = drawing.nodes["Review"]
    assert len(review.branches) == 2
    first, second = review.branches
    assert set(first.nodes) == {"Ask reviewer"} and set(second.nodes) == {"Reserve stock", "Settle"}
    assert first.x + first.width <= second.x  # side by side
    for branch in review.branches:
        assert branch.x >= 0 and branch.x + branch.width <= review.width
        assert branch.y > 0 and branch.y + branch.height <= review.height
    # The container pushes what follows it down: nothing overlaps it.
    fulfil = drawing.nodes["Fulfil"]
    assert fulfil.y >= review.bottom
    svg = render_svg(load_asl("order_review"))
    assert "container" in drawn(svg)["Review"]["class"].split()
    assert ("Reserve stock", "Settle") in edges(svg)


def test_map_modes_and_callback_tasks_are_named():
    assert kind_label(load_asl("map_distributed")["States"]["Process files"]) == "Map (distributed)"
    states = load_asl("map_inline")["States"]
    assert kind_label(states["Each item"]) == "Map"
    assert kind_label(states["Each item"]["Iterator"]["States"]["Approve item"]) == "Task · callback"
    assert kind_label(load_asl("activity", ActivityArn="arn:aws:states:us-east-1:000000000000:activity:check")
                      ["States"]["Manual check"]) == "Task · activity"


def test_markup_in_names_and_rules_stays_text():
    definition = {"StartAt": "<b>&", "States": {
        "<b>&": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "</text><script>", "Next": "ok"}],
                 "Default": "ok"},
        "ok": {"Type": "Succeed"}}}
    svg = render_svg(definition)
    assert "<script>" not in svg
    assert "<b>&" in drawn(svg)


def test_a_deep_chain_is_laid_out_without_recursion_limits():
    states = {f"s{i}": {"Type": "Pass", "Next": f"s{i + 1}"} for i in range(1500)}
    states["s1500"] = {"Type": "Succeed"}
    drawing = layout({"StartAt": "s0", "States": states})
    assert drawing.nodes["s1500"].layer == 1501


# --- progress through concurrent branches ----------------------------------------------------------------------


class History:
    """GetExecutionHistory events with ids and previousEventId, in the order Step Functions writes them."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.ids = itertools.count(1)
        self.clock = datetime(2026, 1, 2, tzinfo=UTC)

    def add(self, kind: str, after: int | None = None, **details) -> int:
        self.clock += timedelta(milliseconds=10)
        event_id = next(self.ids)
        previous = after if after is not None else (self.events[-1]["id"] if self.events else 0)
        self.events.append({"id": event_id, "type": kind, "timestamp": self.clock, "previousEventId": previous,
                            **details})
        return event_id

    def enter(self, state: str, kind: str, after: int | None = None) -> int:
        return self.add(f"{kind}StateEntered", after, stateEnteredEventDetails={"name": state})

    def leave(self, state: str, kind: str, after: int | None = None) -> int:
        return self.add(f"{kind}StateExited", after, stateExitedEventDetails={"name": state})


def order_waiting_for_review(token: str = "tok-1") -> tuple[History, int]:
    """Check amount -> Review; branch 2 finishes while branch 1 waits for its callback. Returns the id of the
    callback's TaskSubmitted (where branch 1 stands)."""
    h = History()
    h.add("ExecutionStarted")
    h.enter("Check amount", "Choice")
    h.leave("Check amount", "Choice")
    h.enter("Review", "Parallel")
    started = h.add("ParallelStateStarted")
    ask = h.enter("Ask reviewer", "Task", after=started)
    reserve = h.enter("Reserve stock", "Pass", after=started)
    scheduled = h.add("TaskScheduled", after=ask, taskScheduledEventDetails={
        "resourceType": "lambda", "resource": "invoke.waitForTaskToken", "heartbeatInSeconds": 5,
        "timeoutInSeconds": 600, "parameters": f'{{"FunctionName": "f", "Payload": {{"token": "{token}"}}}}'})
    left = h.leave("Reserve stock", "Pass", after=reserve)
    settle = h.enter("Settle", "Wait", after=left)
    task_started = h.add("TaskStarted", after=scheduled)
    h.leave("Settle", "Wait", after=settle)
    submitted = h.add("TaskSubmitted", after=task_started)
    return h, submitted


def test_a_waiting_branch_and_a_finished_one_are_told_apart():
    h, _ = order_waiting_for_review()
    progress = progress_from_history(h.events, load_asl("order_review"))
    assert progress.states["Ask reviewer"] == "waiting"
    assert progress.states["Reserve stock"] == progress.states["Settle"] == "visited"
    assert progress.states["Review"] == "running"
    assert ("Reserve stock", "Settle") in progress.taken
    assert ("Check amount", "Review") in progress.taken
    # The first state of a branch is not reached "from" the state before the Parallel.
    assert ("Check amount", "Ask reviewer") not in progress.taken


def test_a_failed_callback_in_a_branch_takes_the_parallels_catch():
    h, submitted = order_waiting_for_review()
    failed = h.add("TaskFailed", after=submitted, taskFailedEventDetails={"error": "ReviewRejected"})
    h.add("ParallelStateFailed", after=failed)
    h.leave("Review", "Parallel")
    h.enter("Rejected", "Fail")
    h.add("ExecutionFailed", executionFailedEventDetails={"error": "OrderRejected"})
    progress = progress_from_history(h.events, load_asl("order_review"))
    assert progress.states["Rejected"] == progress.states[END] == "end-failed"
    assert ("Review", "Rejected") in progress.taken
    assert progress.states["Ask reviewer"] == "failed"
    assert "Fulfil" not in progress.states


def test_map_iterations_mark_the_inner_states():
    h = History()
    h.add("ExecutionStarted")
    h.enter("Each item", "Map")
    started = h.add("MapStateStarted")
    for index in range(2):
        iteration = h.add("MapIterationStarted", after=started, mapIterationStartedEventDetails={"index": index})
        entered = h.enter("Approve item", "Task", after=iteration)
        h.add("TaskScheduled", after=entered, taskScheduledEventDetails={
            "resourceType": "sqs", "resource": "sendMessage.waitForTaskToken", "parameters": "{}"})
    progress = progress_from_history(h.events, load_asl("map_inline"))
    assert progress.states["Approve item"] == "waiting"
    assert progress.states["Each item"] == "running"
