"""Issue 7, decisions: double clicks at scale and clicks that come too late never change an execution twice.

- 50 POSTs released at once on one token, approve and reject mixed, HTML and JSON clients mixed: exactly one
  decision applies (one 200, 49 x 409 naming the winner), the execution ends the way the winner decided, and
  its history has exactly one callback.
- Approve (and reject) after the approval timed out: a 410 page that says the request ended; the execution's
  status, error and history are unchanged.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from sandbox import workflow

VERIFY = "Request user verification"
CLICKS = 50


def callbacks(request) -> list[str]:
    return [t for t, state in request.history_types() if state == VERIFY and t in ("TaskSucceeded", "TaskFailed")]


def test_fifty_concurrent_mixed_posts_apply_exactly_one_decision(request_approval):
    request = request_approval()
    links = request.links()
    clicks = [(links["approve" if i % 2 == 0 else "reject"], i % 4 < 2) for i in range(CLICKS)]
    barrier = threading.Barrier(CLICKS)

    def click(target: tuple[str, bool]) -> requests.Response:
        url, as_json = target
        headers = {"Accept": "application/json"} if as_json else {}
        barrier.wait()
        return requests.post(url, headers=headers, timeout=120)

    with ThreadPoolExecutor(max_workers=CLICKS) as pool:
        responses = list(pool.map(click, clicks))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CLICKS - 1), statuses
    winner_response = next(r for r in responses if r.status_code == 200)
    if winner_response.headers["Content-Type"].startswith("application/json"):
        decision = json.loads(winner_response.text)["decision"]
    else:
        decision = "approved" if "request is approved" in winner_response.text else "rejected"
        assert f"the request is {decision}" in winner_response.text
    for loser in (r for r in responses if r.status_code == 409):
        if loser.headers["Content-Type"].startswith("application/json"):
            body = json.loads(loser.text)
            assert (body["error"], body["decision"]) == ("AlreadyDecided", decision)
        else:
            assert f"already {decision} at" in loser.text and "your click changed nothing" in loser.text

    done = workflow.wait_for_status(request.settings, request.name, timeout=60)
    expected = ("SUCCEEDED", None) if decision == "approved" else ("FAILED", "ApprovalRejected")
    assert (done["status"], done.get("error")) == expected
    assert len(callbacks(request)) == 1


def test_approve_after_the_timeout_gets_410_and_changes_nothing(request_approval):
    request = request_approval(approvalTimeoutSeconds=2)
    ended = workflow.wait_for_status(request.settings, request.name, timeout=60)
    assert (ended["status"], ended.get("error")) == ("FAILED", "ApprovalTimedOut")
    history_before = request.history_types()

    late = requests.post(request.links()["approve"], timeout=30)
    assert late.status_code == 410, late.text[:300]
    assert late.headers["Content-Type"].startswith("text/html")
    assert "This approval request has ended" in late.text and "the link no longer works" in late.text
    late_json = requests.post(request.links()["reject"], headers={"Accept": "application/json"}, timeout=30)
    assert late_json.status_code == 410
    assert json.loads(late_json.text)["error"] == "Expired"
    again = requests.post(request.links()["approve"], timeout=30)  # the expiry is remembered, still 410
    assert again.status_code == 410

    after = workflow.describe(request.settings, request.name)
    assert (after["status"], after.get("error"), after["stopDate"]) == ("FAILED", "ApprovalTimedOut",
                                                                         ended["stopDate"])
    assert request.history_types() == history_before
    assert callbacks(request) == []
