"""The waiting-task reader: every task waiting on a token, whatever the integration, found where the definition
put the token (JSONPath `$$.Task.Token`, JSONata `$states.context.Task.Token`, States.Format), with its deadlines;
activities by their worker. Pure, over tests/asl/ definitions and histories shaped like GetExecutionHistory."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asl import load_asl
from test_workflow_graph_asl import History, order_waiting_for_review

from bootstrap import definition as demo
from lambdas.approval import waiting_token
from lambdas.waiting_tasks import find_token, token_paths, waiting_tasks
from sandbox.console.asl import all_states, containers, read_scope

AWS_TOKEN = "AQCEAAAAKgAAAAMAAAAA+x/y=z9" + "Ab/+" * 40 + "=="


def states_of(definition: dict) -> dict:
    return all_states(read_scope(definition))


def containers_of(definition: dict) -> dict[str, set[str]]:
    return containers(read_scope(definition))


def scheduled(h: History, state: str, kind: str, resource: str, parameters: dict | str, **extra) -> int:
    entered = h.enter(state, kind)
    return h.add("TaskScheduled", after=entered, taskScheduledEventDetails={
        "resourceType": resource.split(":")[0], "resource": resource.split(":", 1)[1],
        "parameters": parameters if isinstance(parameters, str) else json.dumps(parameters), **extra})


def test_a_lambda_callback_in_a_parallel_branch_with_its_deadlines():
    h, _ = order_waiting_for_review(AWS_TOKEN)
    definition = load_asl("order_review")
    [task] = waiting_tasks(h.events, states_of(definition), containers_of(definition))
    assert (task.state, task.kind, task.resource) == ("Ask reviewer", "callback", "lambda:invoke.waitForTaskToken")
    assert (task.token, task.token_path) == (AWS_TOKEN, "Payload.token")
    assert (task.timeout_seconds, task.heartbeat_seconds) == (600, 5)
    assert task.timeout_at == task.scheduled + timedelta(seconds=600)
    assert task.heartbeat_due() == task.started + timedelta(seconds=5)
    later = task.started + timedelta(seconds=30)
    assert task.heartbeat_due(later) == later + timedelta(seconds=5)


def test_answered_tasks_and_ended_containers_wait_no_more():
    definition = load_asl("order_review")
    h, submitted = order_waiting_for_review()
    h.add("TaskSucceeded", after=submitted, taskSucceededEventDetails={"output": "{}"})
    assert waiting_tasks(h.events, states_of(definition), containers_of(definition)) == []
    # A Parallel that fails (another branch failed) leaves no task of its branches waiting.
    h, submitted = order_waiting_for_review()
    h.add("ParallelStateFailed")
    h.leave("Review", "Parallel")
    assert waiting_tasks(h.events, states_of(definition), containers_of(definition)) == []


def test_the_demo_token_is_found_the_same_way_the_decision_api_finds_it():
    asl = demo.state_machine_definition("gen", "proc", "http://q")
    for as_string in (False, True):
        h = History()
        h.add("ExecutionStarted")
        body = {"taskToken": AWS_TOKEN, "executionName": "run-1"}
        scheduled(h, demo.VERIFY, "Task", "sqs:sendMessage.waitForTaskToken",
                  {"QueueUrl": "http://q", "MessageBody": json.dumps(body) if as_string else body},
                  timeoutInSeconds=3600)
        [task] = waiting_tasks(h.events, states_of(asl))
        assert (task.token, task.token_path) == (AWS_TOKEN, "MessageBody.taskToken")
        assert task.token == waiting_token(h.events) == AWS_TOKEN


def test_jsonata_arguments_and_lists_of_entries():
    definition = load_asl("jsonata")
    states = states_of(definition)
    h = History()
    h.add("ExecutionStarted")
    scheduled(h, "Page on-call", "Task", "sns:publish.waitForTaskToken",
              {"TopicArn": "t", "Message": {"incident": "i-1", "replyWith": "tok-sns"}}, timeoutInSeconds=120)
    [task] = waiting_tasks(h.events, states)
    assert (task.token, task.token_path, task.timeout_seconds) == ("tok-sns", "Message.replyWith", 120)
    h = History()
    h.add("ExecutionStarted")
    scheduled(h, "Notify", "Task", "events:putEvents.waitForTaskToken",
              {"Entries": [{"Source": "app", "DetailType": "Notify", "Detail": json.dumps({"cb": "tok-ev"})}]})
    [task] = waiting_tasks(h.events, states)
    assert (task.token, task.token_path) == ("tok-ev", "Entries[0].Detail.cb")


@pytest.mark.parametrize("expression, text, token", [
    ("States.Format('Approve: https://x/ok?t={}', $$.Task.Token)", "Approve: https://x/ok?t=abc+/=", "abc+/="),
    ("States.Format('{} waits on {} now', $.who, $$.Task.Token)", "ann waits on t-9 now", "t-9"),
])
def test_a_token_formatted_into_a_message_is_read_back(expression, text, token):
    state = {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
             "Parameters": {"TopicArn": "t", "Message.$": expression}}
    assert [path for path, _ in token_paths(state)] == [("Message",)]
    assert find_token(state, {"TopicArn": "t", "Message": text}) == (token, "Message")


def test_a_field_named_like_a_token_is_the_fallback():
    assert find_token({}, {"QueueUrl": "q", "MessageBody": '{"TaskToken": "tok"}'}) == ("tok", "MessageBody.TaskToken")
    assert find_token({}, {"QueueUrl": "q", "MessageBody": "plain"}) == (None, "")


def test_plain_tasks_are_not_waiting_and_a_lost_token_is_said():
    h = History()
    h.add("ExecutionStarted")
    scheduled(h, "Work", "Task", "lambda:invoke", {"FunctionName": "f"})
    assert waiting_tasks(h.events, {}) == []
    scheduled(h, "Ask", "Task", "sqs:sendMessage.waitForTaskToken", {"MessageBody": "no token here"})
    [task] = waiting_tasks(h.events, {})
    assert task.token is None and task.notes


def test_an_activity_waits_for_a_worker_then_for_its_answer():
    arn = "arn:aws:states:us-east-1:000000000000:activity:check"
    h = History()
    h.add("ExecutionStarted")
    entered = h.enter("Manual check", "Task")
    h.add("ActivityScheduled", after=entered, activityScheduledEventDetails={
        "resource": arn, "input": '{"order": 7}', "timeoutInSeconds": 300, "heartbeatInSeconds": 60})
    [task] = waiting_tasks(h.events, {})
    assert (task.kind, task.resource, task.parameters, task.worker) == ("activity", arn, {"order": 7}, None)
    assert (task.token, task.timeout_seconds, task.heartbeat_seconds) == (None, 300, 60)
    h.add("ActivityStarted", activityStartedEventDetails={"workerName": "sandbox-console-1a2b"})
    [task] = waiting_tasks(h.events, {})
    assert task.worker == "sandbox-console-1a2b" and task.started is not None
    h.add("ActivitySucceeded", activitySucceededEventDetails={"output": "{}"})
    assert waiting_tasks(h.events, {}) == []
