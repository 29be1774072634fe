"""The Workflows page in a real browser (Debian chromium through Playwright), against the running sandbox.

A request started through EventBridge appears in the open list without a reload, waiting; its view marks
`Request user verification`; Approve opens the decision endpoint's confirm page (the email's link) in a new tab,
and after confirming there the view turns SUCCEEDED through `Return to main processing`, again without a reload;
a second click on the same link gets the decision API's 409. Rejected and timed-out requests end in their own Fail
states. Screenshots go to test-artifacts/. (Users' own machines: test_workflows_console.py.)
"""

from __future__ import annotations

import re
import uuid

import requests
from browser_support import needs_chromium
from workflows_support import assert_not_reloaded, mark_no_reload, node, screenshot

from sandbox import workflow
from sandbox.config import Settings

VERIFY = "Request user verification"
PROCESS = "Return to main processing"

pytestmark = needs_chromium


def demo_url(settings: Settings, name: str) -> str:
    machine = workflow.load_outputs(settings)["state_machine_arn"].rsplit(":", 1)[-1]
    return f"/workflows/machines/{machine}/executions/{name}"


def start_request(settings: Settings, **fields) -> tuple[str, str]:
    title = f"ui {uuid.uuid4().hex[:10]}"
    return workflow.start(settings, {"title": title, **fields}).name, title


def decide_in_new_tab(page, button: str) -> None:
    """Click Approve or Reject on the view; in the confirm page it opens (the decision endpoint), confirm."""
    with page.context.expect_page() as opened:
        page.locator(f"#task-list a.{button}").click()
    confirm = opened.value
    confirm.wait_for_load_state()
    assert "/_aws/execute-api/" in confirm.url and f"/{button}?token=" in confirm.url
    confirm.locator("form button[type=submit]").click()
    confirm.wait_for_load_state()
    assert confirm.locator("body").inner_text()  # the decision endpoint's result page
    confirm.close()


def test_approve_from_the_workflows_page_live(sandbox: Settings, ui: str, page, mail) -> None:
    page.goto(f"{ui}/workflows")
    page.locator("#live.on").wait_for()
    mark_no_reload(page)

    name, title = start_request(sandbox)
    row = page.locator(f'#executions tr[data-name="{name}"]')
    row.wait_for()
    assert title in row.inner_text()
    page.locator(f'#executions tr[data-name="{name}"] .decision.waiting').wait_for()
    assert_not_reloaded(page)
    screenshot(page, "list")

    row.locator("a").click()
    page.wait_for_url(f"**{demo_url(sandbox, name)}")
    node(page, VERIFY).and_(page.locator('[data-status="waiting"]')).wait_for()
    approve = page.locator("#task-list a.approve")
    page.locator("#task-list a.approve:not([hidden])").wait_for()  # shown once the email (and its token) exists
    assert node(page, PROCESS).get_attribute("data-status") == "not-visited"
    # The buttons carry the very links of the approval email; the demo has no direct success/failure form.
    email = mail.wait(name, timeout=60)
    assert email is not None, f"no approval email for {name}"
    approve_link = approve.get_attribute("href")
    assert approve_link in email["Text"]
    assert page.locator("#task-list a.reject").get_attribute("href") in email["Text"]
    assert page.locator("#task-list .answer").is_hidden()
    screenshot(page, "waiting")

    mark_no_reload(page)
    decide_in_new_tab(page, "approve")
    page.locator("#status.succeeded").wait_for()
    node(page, "Done").and_(page.locator('[data-status="end-succeeded"]')).wait_for()
    assert page.locator("#status").inner_text() == "SUCCEEDED"
    assert node(page, PROCESS).get_attribute("data-status") == "visited"
    assert node(page, VERIFY).get_attribute("data-status") == "visited"
    assert page.locator(f'#graph g.edge.taken[data-from="{VERIFY}"][data-to="{PROCESS}"]').count() == 1
    assert node(page, "Rejected").get_attribute("data-status") == "not-visited"
    assert page.locator("#decide").is_hidden()
    timeline = page.locator("#timeline").inner_text()
    assert "Callback received" in timeline and f"Entered {PROCESS}" in timeline
    assert '"decision": "approved"' in page.locator("#output").inner_text()
    assert_not_reloaded(page)
    screenshot(page, "approved")
    assert workflow.describe(sandbox, name)["status"] == "SUCCEEDED"
    # Decisions went through the decision API: a second click on the same link changes nothing and says so.
    again = requests.post(approve_link, headers={"Accept": "application/json"}, timeout=30)
    assert again.status_code == 409 and again.json()["error"] == "AlreadyDecided", again.text


def test_reject_from_the_view_ends_in_rejected(sandbox: Settings, ui: str, page) -> None:
    name, _ = start_request(sandbox)
    page.goto(f"{ui}{demo_url(sandbox, name)}")
    node(page, VERIFY).and_(page.locator('[data-status="waiting"]')).wait_for()
    mark_no_reload(page)
    decide_in_new_tab(page, "reject")
    node(page, "Rejected").and_(page.locator('[data-status="end-failed"]')).wait_for()
    assert page.locator("#status").inner_text() == "FAILED"
    assert "ApprovalRejected" in page.locator("#error").inner_text()
    assert node(page, PROCESS).get_attribute("data-status") == "not-visited"
    assert node(page, "TimedOut").get_attribute("data-status") == "not-visited"
    assert_not_reloaded(page)
    screenshot(page, "rejected")


def test_a_timed_out_request_ends_in_timed_out(sandbox: Settings, ui: str, page) -> None:
    name, _ = start_request(sandbox, approvalTimeoutSeconds=2)
    page.goto(f"{ui}{demo_url(sandbox, name)}")
    node(page, "TimedOut").and_(page.locator('[data-status="end-failed"]')).wait_for()
    assert page.locator("#status").inner_text() == "FAILED"
    assert "ApprovalTimedOut" in page.locator("#error").inner_text()
    assert node(page, "Rejected").get_attribute("data-status") == "not-visited"
    assert node(page, PROCESS).get_attribute("data-status") == "not-visited"
    assert page.locator("#decide").is_hidden()
    screenshot(page, "timed-out")


def test_the_caught_email_links_to_its_execution(sandbox: Settings, ui: str, page, mail) -> None:
    name, _ = start_request(sandbox, approvalTimeoutSeconds=300)  # left undecided; ends by itself
    email = mail.wait(name, timeout=60)
    assert email is not None, f"no approval email for {name}"
    page.goto(f"{ui}/view/{email['ID']}")
    page.locator("#approval a.related", has_text="View execution").click()
    page.wait_for_url(f"**{demo_url(sandbox, name)}")
    node(page, VERIFY).and_(page.locator('[data-status="waiting"]')).wait_for()
    page.locator("#task-list a.approve:not([hidden])").wait_for()  # shown once the email (and its token) exists
    token = page.locator("#task-list a.approve").get_attribute("href").split("token=", 1)[1]
    # ...and back: the view's email button opens this email.
    page.locator("#mail").click()
    page.wait_for_url(re.compile(rf"/view/{email['ID']}(#\w*)?$"))  # the message page adds its tab as #hash
    # An email without the execution's name would link through its token instead; that resolves too.
    found = requests.get(f"{ui}/workflows/lookup", params={"token": requests.utils.unquote(token)},
                         allow_redirects=False, timeout=30)
    assert (found.status_code, found.headers["Location"]) == (303, demo_url(sandbox, name))


def test_a_failed_send_is_shown_as_retrying(sandbox: Settings, ui: str, page) -> None:
    """Issue 15 item 8: while the verification message waits for SQS to deliver it again after a failed
    send-verification run, the page says it is retrying and when, instead of "being sent"."""
    outputs = workflow.load_outputs(sandbox)
    lam = workflow.client(sandbox, "lambda")
    function = outputs["functions"]["send_verification"]
    original = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    broken = {**original, "TOPIC_ARN": f"{original['TOPIC_ARN']}-missing"}  # every publish fails
    lam.update_function_configuration(FunctionName=function, Environment={"Variables": broken})
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    name = None
    try:
        name, _ = start_request(sandbox)
        page.goto(f"{ui}{demo_url(sandbox, name)}")
        retrying = page.locator('#task-list .delivery[data-delivery="retrying"]')
        retrying.wait_for()
        assert "retrying, delivery 2" in retrying.inner_text()
        assert page.locator("#task-list a.approve").is_hidden()
        screenshot(page, "retrying")
    finally:
        lam.update_function_configuration(FunctionName=function, Environment={"Variables": original})
        lam.get_waiter("function_updated_v2").wait(FunctionName=function)
        if name:
            workflow.client(sandbox, "stepfunctions").stop_execution(
                executionArn=f"{outputs['state_machine_arn'].replace(':stateMachine:', ':execution:')}:{name}")
