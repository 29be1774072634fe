"""`make e2e`: the approval workflow end to end, through the caught email and its links.

Each test starts its own uniquely titled request through EventBridge (PutEvents), finds its email in the catcher
and drives the Approve/Reject endpoint over real HTTP, then checks the execution in Step Functions.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests
from approval_support import as_json, post_form

from sandbox import workflow
from sandbox.console import listing
from sandbox.console.reader import Reader

VERIFY = "Request user verification"


def test_approve_confirm_page_then_post_succeeds_with_processing_result(request_approval):
    request = request_approval()
    assert request.title in request.email["Subject"]
    text = request.email["Text"]
    assert request.title in text and request.name in text
    links = request.links()

    page = requests.get(links["approve"], timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert request.title in page.text and "waiting" in page.text
    assert request.status()["status"] == "RUNNING"

    result = post_form(links["approve"], page.text)
    assert result.status_code == 200, result.text
    assert "approved" in result.text

    done = workflow.wait_for_status(request.settings, request.name, timeout=60)
    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])
    assert output["approval"]["decision"] == "approved"
    assert output["processing"]["decision"] == "approved"
    assert output["processing"]["title"] == request.title
    assert ("TaskStateEntered", "Return to main processing") in request.history_types()
    listed = listing.executions(Reader(request.settings), limit=50)["executions"]
    row = next(r for r in listed if r["name"] == request.name)
    assert (row["status"], row["decision"], row["title"]) == ("SUCCEEDED", "approved", request.title)


def test_reject_fails_with_approval_rejected(request_approval):
    request = request_approval()
    link = request.links()["reject"]
    page = requests.get(link, timeout=30)
    assert page.status_code == 200 and "Reject" in page.text
    result = post_form(link, page.text)
    assert result.status_code == 200, result.text

    done = workflow.wait_for_status(request.settings, request.name, timeout=60)
    assert (done["status"], done.get("error")) == ("FAILED", "ApprovalRejected")
    assert ("FailStateEntered", "Rejected") in request.history_types()
    assert ("TaskStateEntered", "Return to main processing") not in request.history_types()


def test_short_per_request_timeout_fails_with_approval_timed_out(request_approval):
    request = request_approval(approvalTimeoutSeconds=2)
    done = workflow.wait_for_status(request.settings, request.name, timeout=60)
    assert (done["status"], done.get("error")) == ("FAILED", "ApprovalTimedOut")
    assert ("FailStateEntered", "TimedOut") in request.history_types()

    # The link of an expired request says so and changes nothing.
    late = requests.post(request.links()["approve"], headers={"Accept": "application/json"}, timeout=30)
    assert late.status_code == 410
    assert as_json(late)["error"] == "Expired"
    page = requests.get(request.links()["approve"], timeout=30)
    assert page.status_code == 410 and "ended" in page.text
    assert workflow.describe(request.settings, request.name)["status"] == "FAILED"


def test_twenty_concurrent_posts_and_a_second_click_apply_exactly_one_decision(request_approval):
    request = request_approval()
    links = request.links()
    # Half approve, half reject, all released at once.
    targets = [links["approve"] if i % 2 == 0 else links["reject"] for i in range(20)]
    barrier = threading.Barrier(len(targets))

    def click(url: str) -> requests.Response:
        barrier.wait()
        return requests.post(url, headers={"Accept": "application/json"}, timeout=60)

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        responses = list(pool.map(click, targets))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19, statuses
    winner = as_json(next(r for r in responses if r.status_code == 200))
    for loser in (as_json(r) for r in responses if r.status_code == 409):
        assert loser["error"] == "AlreadyDecided"
        assert (loser["decision"], loser["decidedAt"]) == (winner["decision"], winner["decidedAt"])

    second = requests.post(links["reject" if winner["decision"] == "approved" else "approve"], timeout=30)
    assert second.status_code == 409
    assert f"already {winner['decision']} at {winner['decidedAt']}" in second.text

    done = workflow.wait_for_status(request.settings, request.name, timeout=60)
    expected = ("SUCCEEDED", None) if winner["decision"] == "approved" else ("FAILED", "ApprovalRejected")
    assert (done["status"], done.get("error")) == expected
    callbacks = [t for t, state in request.history_types() if state == VERIFY and t in ("TaskSucceeded", "TaskFailed")]
    assert len(callbacks) == 1


def test_forged_missing_and_oversized_tokens_get_a_clear_4xx(request_approval):
    request = request_approval()
    base = request.links()["approve"].split("?", 1)[0]
    forged = request.token[:-4] + ("AAAA" if not request.token.endswith("AAAA") else "BBBB")
    cases = {
        "forged": (f"{base}?token={quote(forged, safe='')}", 404, "does not belong to any approval request"),
        "missing": (base, 400, "no token"),
        "empty": (f"{base}?token=", 400, "no token"),
        "10 KB": (f"{base}?token={'A' * 10240}", 400, "characters long"),
        "markup": (f"{base}?token={quote('<script>x</script>')}", 400, "characters no real token has"),
    }
    for label, (url, status, phrase) in cases.items():
        for method in ("GET", "POST"):
            response = requests.request(method, url, timeout=30)
            assert response.status_code == status, (label, method, response.status_code, response.text[:300])
            assert phrase in response.text, (label, method)
            assert "Traceback" not in response.text and "<script>" not in response.text
            as_js = requests.request(method, url, headers={"Accept": "application/json"}, timeout=30)
            assert as_js.status_code == status and as_json(as_js)["message"]
    # None of that touched the real request.
    assert request.status()["status"] == "RUNNING"
    requests.post(request.links()["reject"], timeout=30)


def test_get_on_the_links_leaves_the_execution_waiting(request_approval):
    request = request_approval()
    for kind in ("approve", "reject", "approve"):
        assert requests.get(request.links()[kind], timeout=30).status_code == 200
    assert request.status()["status"] == "RUNNING"
    types = request.history_types()
    assert ("TaskSubmitted", VERIFY) in types
    assert not [t for t, state in types if state == VERIFY and t in ("TaskSucceeded", "TaskFailed", "TaskStateExited")]
    page = as_json(requests.get(request.links()["approve"], headers={"Accept": "application/json"}, timeout=30))
    assert (page["state"], page["executionStatus"]) == ("waiting", "RUNNING")
    # Clean up: decide it, so a reused sandbox has no request left waiting.
    assert requests.post(request.links()["reject"], timeout=30).status_code == 200


def test_a_redelivered_verification_message_sends_no_second_email(request_approval, mail):
    request = request_approval()
    settings = request.settings
    outputs = workflow.load_outputs(settings)
    scheduled = next(s["event"] for s in workflow.execution_history(settings, request.name)
                     if s["type"] == "TaskScheduled" and s["state"] == VERIFY)
    body = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["MessageBody"]
    assert body["taskToken"] == request.token

    sqs = workflow.client(settings, "sqs")
    sqs.send_message(QueueUrl=outputs["queue_url"], MessageBody=json.dumps(body))
    # The queue drains only when the function succeeded on the redelivered message.
    deadline = time.monotonic() + 60
    while True:
        attributes = sqs.get_queue_attributes(
            QueueUrl=outputs["queue_url"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}:
            break
        assert time.monotonic() < deadline, f"the redelivered message was not consumed: {attributes}"
        time.sleep(0.2)
    # Had it sent, the email would follow within the relay's delivery; wait a little for one.
    assert mail.wait(request.name, timeout=5, after=request.email["ID"]) is None
    assert mail.count(request.name) == 1
    assert requests.post(request.links()["reject"], timeout=30).status_code == 200
