"""The WaitForCallback definition: valid ASL shape, the callback task, catches to their own Fail states."""

import json

from bootstrap import definition

GEN = "arn:aws:lambda:us-east-1:000000000000:function:approval-generate-task"
PROC = "arn:aws:lambda:us-east-1:000000000000:function:approval-process-request"
QUEUE = "http://localhost:4566/000000000000/approval-requests"


def make():
    return definition.state_machine_definition(GEN, PROC, QUEUE)


def _transitions(state: dict) -> list[str]:
    nexts = [state["Next"]] if "Next" in state else []
    return nexts + [c["Next"] for c in state.get("Catch", [])]


def test_every_transition_targets_a_state_and_every_state_is_reachable():
    asl = make()
    states = asl["States"]
    assert asl["StartAt"] in states
    seen, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for nxt in _transitions(states[name]):
            assert nxt in states, f"{name} -> {nxt} goes nowhere"
            todo.append(nxt)
    assert seen == set(states)


def test_states_have_valid_types_and_terminal_states_do_not_continue():
    for name, state in make()["States"].items():
        assert state["Type"] in {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
        if state["Type"] in ("Succeed", "Fail"):
            assert "Next" not in state and "End" not in state, name
        else:
            assert ("Next" in state) != bool(state.get("End")), f"{name} needs exactly one of Next/End"


def test_main_path_is_generate_verify_process_success():
    states = make()["States"]
    assert make()["StartAt"] == "Generate task"
    assert states["Generate task"]["Resource"] == GEN
    assert states["Generate task"]["Next"] == "Request user verification"
    assert states["Request user verification"]["Next"] == "Return to main processing"
    assert states["Return to main processing"]["Resource"] == PROC
    assert states[states["Return to main processing"]["Next"]]["Type"] == "Succeed"


def test_verification_waits_for_the_task_token_with_a_per_request_timeout():
    verify = make()["States"]["Request user verification"]
    assert verify["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    body = verify["Parameters"]["MessageBody"]
    assert body["taskToken.$"] == "$$.Task.Token"
    assert body["executionArn.$"] == "$$.Execution.Id"
    assert verify["Parameters"]["QueueUrl"] == QUEUE
    assert verify["TimeoutSecondsPath"] == "$.approvalTimeoutSeconds"
    assert "TimeoutSeconds" not in verify  # ASL forbids both
    assert verify["ResultPath"] == "$.approval"


def test_rejection_and_timeout_are_caught_into_their_own_fail_states():
    states = make()["States"]
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in states["Request user verification"]["Catch"]}
    rejected = catches[("ApprovalRejected",)]
    assert states[rejected] == {**states[rejected], "Type": "Fail", "Error": "ApprovalRejected"}
    # The approval timeout is a task timeout (no HeartbeatSeconds): AWS raises States.Timeout for it, nothing else.
    timeout_catch = ("States.Timeout",)
    assert timeout_catch in catches
    verify = states["Request user verification"]
    assert not {"HeartbeatSeconds", "HeartbeatSecondsPath"} & set(verify)
    timed_out = states[catches[timeout_catch]]
    assert timed_out["Type"] == "Fail" and timed_out["Error"] == "ApprovalTimedOut"
    assert "States.ALL" not in {e for k in catches for e in k}, "a catch-all would hide real failures"


def test_definition_is_json_serialisable_and_deterministic():
    assert json.dumps(make(), sort_keys=True) == json.dumps(make(), sort_keys=True)


def test_localstack_asl_parser_accepts_the_definition():
    # The same parser LocalStack runs at CreateStateMachine; pure, no service needed.
    from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser

    AmazonStateLanguageParser.parse(json.dumps(make()))
