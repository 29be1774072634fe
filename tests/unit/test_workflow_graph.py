"""The Workflows page's graph (ASL -> SVG), an execution's progress on it, and its history timeline: pure, from the
real WaitForCallback definition built by bootstrap/definition.py and boto3-shaped history events."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from bootstrap import definition
from lambdas.approval import waiting_token
from sandbox.webui.graph import END, START, DefinitionError, layout, progress_from_history, render_svg, transitions
from sandbox.webui.timeline import timeline

GEN = "arn:aws:lambda:us-east-1:000000000000:function:approval-generate-task"
PROC = "arn:aws:lambda:us-east-1:000000000000:function:approval-process-request"
QUEUE = "http://localhost:4566/000000000000/approval-requests"
# Shaped like a real AWS task token (LocalStack's are uuids and would hide encoding mistakes).
AWS_TOKEN = "AQCEAAAAKgAAAAMAAAAA+x/y=z9" + "Ab/+" * 40 + "=="
SVG = "{http://www.w3.org/2000/svg}"


def asl() -> dict:
    return definition.state_machine_definition(GEN, PROC, QUEUE)


def nodes_of(svg: str) -> dict[str, str]:
    """data-state -> data-status of every node in the drawing (parsing also proves the SVG is well-formed XML)."""
    root = ET.fromstring(svg)
    return {g.get("data-state"): g.get("data-status") for g in root.iter(f"{SVG}g") if "node" in g.get("class", "")}


def taken_edges(svg: str) -> set[tuple[str, str]]:
    root = ET.fromstring(svg)
    return {(g.get("data-from"), g.get("data-to")) for g in root.iter(f"{SVG}g")
            if "edge" in g.get("class", "").split() and "taken" in g.get("class", "").split()}


# --- history fixtures in GetExecutionHistory's shape ----------------------------------------------------------------

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class History:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.clock = T0

    def add(self, kind: str, seconds: float = 0.1, **details) -> History:
        self.clock += timedelta(seconds=seconds)
        event = {"id": len(self.events) + 1, "type": kind, "timestamp": self.clock}
        event.update(details)
        self.events.append(event)
        return self

    def enter(self, state: str, kind: str = "Task") -> History:
        return self.add(f"{kind}StateEntered", stateEnteredEventDetails={"name": state, "input": "{}"})

    def leave(self, state: str, kind: str = "Task") -> History:
        return self.add(f"{kind}StateExited", stateExitedEventDetails={"name": state, "output": "{}"})

    def lambda_task(self, state: str) -> History:
        self.enter(state)
        self.add("LambdaFunctionScheduled", lambdaFunctionScheduledEventDetails={"resource": GEN})
        self.add("LambdaFunctionStarted")
        self.add("LambdaFunctionSucceeded", 0.2, lambdaFunctionSucceededEventDetails={"output": "{}"})
        return self.leave(state)

    def waiting(self, token: str = AWS_TOKEN, body_as_string: bool = False) -> History:
        self.add("ExecutionStarted", 0, executionStartedEventDetails={"input": "{}"})
        self.lambda_task(definition.GENERATE)
        self.enter(definition.VERIFY)
        body = {"taskToken": token, "executionName": "run-1"}
        parameters = {"QueueUrl": QUEUE, "MessageBody": json.dumps(body) if body_as_string else body}
        self.add("TaskScheduled", taskScheduledEventDetails={
            "resourceType": "sqs", "resource": "sendMessage.waitForTaskToken", "parameters": json.dumps(parameters)})
        self.add("TaskStarted", taskStartedEventDetails={"resourceType": "sqs"})
        return self.add("TaskSubmitted", taskSubmittedEventDetails={
            "resourceType": "sqs", "resource": "sendMessage.waitForTaskToken", "output": "{}"})

    def approved(self) -> History:
        self.waiting()
        self.add("TaskSucceeded", 5.0, taskSucceededEventDetails={
            "resourceType": "sqs", "resource": "sendMessage.waitForTaskToken", "output": '{"decision": "approved"}'})
        self.leave(definition.VERIFY)
        self.lambda_task(definition.PROCESS)
        self.enter(definition.DONE, "Succeed").leave(definition.DONE, "Succeed")
        return self.add("ExecutionSucceeded", executionSucceededEventDetails={"output": "{}"})

    def failed_callback(self, kind: str, error: str, fail_state: str, fail_error: str) -> History:
        self.waiting()
        self.add(kind, 2.0, **{f"{kind[0].lower()}{kind[1:]}EventDetails": {"error": error, "cause": "why"}})
        self.leave(definition.VERIFY)
        self.enter(fail_state, "Fail")
        return self.add("ExecutionFailed", executionFailedEventDetails={"error": fail_error, "cause": "c"})


# --- layout --------------------------------------------------------------------------------------------------------


def test_every_state_of_the_definition_is_drawn_with_start_and_end():
    drawn = nodes_of(render_svg(asl()))
    assert set(drawn) == set(asl()["States"]) | {START, END}
    assert set(drawn.values()) == {"not-visited"}


def test_edges_follow_next_and_catch_and_terminal_states_lead_to_end():
    edges = {(e.source, e.target): e for e in transitions(asl())}
    assert (START, definition.GENERATE) in edges
    assert edges[(definition.GENERATE, definition.VERIFY)].kind == "next"
    assert edges[(definition.VERIFY, definition.PROCESS)].kind == "next"
    assert edges[(definition.PROCESS, definition.DONE)].kind == "next"
    rejected = edges[(definition.VERIFY, definition.REJECTED)]
    timed_out = edges[(definition.VERIFY, definition.TIMED_OUT)]
    assert (rejected.kind, rejected.label) == ("catch", "ApprovalRejected")
    assert timed_out.kind == "catch" and "States.Timeout" in timed_out.label
    assert {s for s, t in edges if t == END} == {definition.DONE, definition.REJECTED, definition.TIMED_OUT}


def test_layout_flows_down_keeps_the_main_path_in_one_column_and_boxes_apart():
    drawing = layout(asl())
    nodes = drawing.nodes
    for edge in drawing.edges:
        if edge.kind != "retry":  # a retry is drawn as a loop on its own state
            assert nodes[edge.target].y > nodes[edge.source].y, edge
    main = [definition.GENERATE, definition.VERIFY, definition.PROCESS, definition.DONE]
    assert len({nodes[n].x for n in main}) == 1
    # The error paths sit beside the main path, on the same level as "Return to main processing".
    assert nodes[definition.REJECTED].y == nodes[definition.TIMED_OUT].y == nodes[definition.PROCESS].y
    boxes = list(nodes.values())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart_x = abs(a.x - b.x) >= (a.width + b.width) / 2
            apart_y = a.bottom <= b.y or b.bottom <= a.y
            assert apart_x or apart_y, (a.name, b.name)
        assert a.x - a.width / 2 >= 0 and a.x + a.width / 2 <= drawing.width
        assert a.y >= 0 and a.bottom <= drawing.height


def test_the_graph_follows_the_definition_it_is_given():
    changed = asl()
    changed["States"]["Audit"] = {"Type": "Pass", "Next": definition.DONE}
    changed["States"][definition.PROCESS]["Next"] = "Audit"
    drawn = nodes_of(render_svg(changed))
    assert "Audit" in drawn
    edges = {(e.source, e.target) for e in transitions(changed)}
    assert (definition.PROCESS, "Audit") in edges and ("Audit", definition.DONE) in edges
    assert (definition.PROCESS, definition.DONE) not in edges


def test_loops_choices_and_markup_in_names_are_drawn_safely():
    looped = {
        "StartAt": "Poll <status> & \"wait\"",
        "States": {
            "Poll <status> & \"wait\"": {"Type": "Task", "Resource": GEN, "Next": "Ready?"},
            "Ready?": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Yes"}],
                       "Default": "Poll <status> & \"wait\""},
            "Yes": {"Type": "Succeed"},
        },
    }
    svg = render_svg(looped)
    drawn = nodes_of(svg)  # well-formed despite <, & and " in a state name
    assert "Poll <status> & \"wait\"" in drawn
    edges = {(e.source, e.target, e.kind) for e in transitions(looped)}
    assert ("Ready?", "Poll <status> & \"wait\"", "default") in edges
    assert ("Ready?", "Yes", "choice") in edges


@pytest.mark.parametrize("broken, message", [
    ({"StartAt": "A", "States": {}}, "no States"),
    ({"StartAt": "B", "States": {"A": {"Type": "Succeed"}}}, "StartAt"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}, "Nowhere"),
])
def test_a_definition_that_cannot_be_drawn_says_why(broken, message):
    with pytest.raises(DefinitionError, match=message):
        render_svg(broken)


# --- colouring by an execution's progress ---------------------------------------------------------------------------


def test_a_waiting_execution_marks_the_callback_state_waiting():
    events = History().waiting().events
    svg = render_svg(asl(), progress_from_history(events, asl()))
    drawn = nodes_of(svg)
    assert drawn[definition.GENERATE] == "visited"
    assert drawn[definition.VERIFY] == "waiting"
    assert drawn[definition.PROCESS] == drawn[definition.DONE] == drawn[END] == "not-visited"
    assert taken_edges(svg) == {(START, definition.GENERATE), (definition.GENERATE, definition.VERIFY)}


def test_an_approved_execution_ends_in_done_through_main_processing():
    events = History().approved().events
    svg = render_svg(asl(), progress_from_history(events, asl()))
    drawn = nodes_of(svg)
    assert drawn[definition.VERIFY] == drawn[definition.PROCESS] == "visited"
    assert drawn[definition.DONE] == drawn[END] == "end-succeeded"
    assert drawn[definition.REJECTED] == drawn[definition.TIMED_OUT] == "not-visited"
    assert (definition.VERIFY, definition.PROCESS) in taken_edges(svg)
    assert (definition.DONE, END) in taken_edges(svg)


@pytest.mark.parametrize("kind, error, end_state, fail_error", [
    ("TaskFailed", "ApprovalRejected", definition.REJECTED, "ApprovalRejected"),
    ("TaskTimedOut", "States.Timeout", definition.TIMED_OUT, "ApprovalTimedOut"),
])
def test_rejected_and_timed_out_executions_end_in_their_own_fail_states(kind, error, end_state, fail_error):
    events = History().failed_callback(kind, error, end_state, fail_error).events
    svg = render_svg(asl(), progress_from_history(events, asl()))
    drawn = nodes_of(svg)
    assert drawn[end_state] == drawn[END] == "end-failed"
    assert drawn[definition.VERIFY] == "visited"
    other = {definition.REJECTED, definition.TIMED_OUT} - {end_state}
    assert drawn[other.pop()] == drawn[definition.PROCESS] == drawn[definition.DONE] == "not-visited"
    assert {(definition.VERIFY, end_state), (end_state, END)} <= taken_edges(svg)


def test_an_uncaught_failure_marks_the_failing_state_failed():
    history = History()
    history.add("ExecutionStarted", 0).enter(definition.GENERATE)
    history.add("LambdaFunctionFailed", lambdaFunctionFailedEventDetails={"error": "Boom", "cause": "x"})
    history.add("ExecutionFailed", executionFailedEventDetails={"error": "Boom"})
    drawn = nodes_of(render_svg(asl(), progress_from_history(history.events, asl())))
    assert drawn[definition.GENERATE] == "failed"
    assert drawn[END] == "not-visited"


# --- timeline and the waiting task token -----------------------------------------------------------------------------


def test_timeline_names_the_steps_of_the_callback_with_durations():
    rows = timeline(History().approved().events)
    by_type = {}
    for row in rows:
        by_type.setdefault(row["type"], []).append(row)
    assert rows[0]["label"] == "Execution started" and rows[0]["offset"] == 0
    submitted = by_type["TaskSubmitted"][0]
    assert submitted["category"] == "callback" and "waiting for the callback" in submitted["detail"]
    received = by_type["TaskSucceeded"][0]
    assert received["label"] == "Callback received" and received["detail"] == "decision: approved"
    # Scheduled at +0.1 s after its state was entered, succeeded 0.1 + 0.1 + 5 s later.
    assert received["duration"] == pytest.approx(5.2)
    exits = {r["label"]: r["duration"] for r in by_type["TaskStateExited"]}
    assert exits[f"Exited {definition.VERIFY}"] == pytest.approx(5.4)
    assert by_type["ExecutionSucceeded"][0]["duration"] == pytest.approx(rows[-1]["offset"])
    assert [r["offset"] for r in rows] == sorted(r["offset"] for r in rows)


def test_timeline_reports_a_rejection_as_a_failed_callback():
    events = History().failed_callback("TaskFailed", "ApprovalRejected", definition.REJECTED,
                                       "ApprovalRejected").events
    failed = next(r for r in timeline(events) if r["type"] == "TaskFailed")
    assert failed["category"] == "callback bad"
    assert failed["detail"].startswith("ApprovalRejected")


@pytest.mark.parametrize("as_string", [False, True])
def test_the_waiting_token_comes_from_the_task_scheduled_message_body(as_string):
    assert waiting_token(History().waiting(AWS_TOKEN, body_as_string=as_string).events) == AWS_TOKEN


def test_no_token_once_the_callback_arrived_or_the_execution_ended():
    assert waiting_token(History().approved().events) is None
    events = History().failed_callback("TaskTimedOut", "States.Timeout", definition.TIMED_OUT,
                                       "ApprovalTimedOut").events
    assert waiting_token(events) is None
    assert waiting_token([]) is None
