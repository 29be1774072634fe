"""The Workflows page in a real browser (Debian chromium through Playwright), against the running sandbox.

A request started through EventBridge appears in the open list without a reload, waiting; its view marks
`Request user verification`; Approve opens the decision endpoint's confirm page (the email's link) in a new tab,
and after confirming there the view turns SUCCEEDED through `Return to main processing`, again without a reload.
Rejected and timed-out requests end in their own Fail states. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox import workflow
from sandbox.config import REPO_ROOT, Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO_ROOT / "test-artifacts"
TIMEOUT_MS = 60_000
VERIFY = "Request user verification"
PROCESS = "Return to main processing"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def ui(sandbox: Settings) -> str:
    base = sandbox.mail_url
    answer = requests.get(f"{base}/workflows/api/executions", timeout=30)
    assert answer.status_code != 404, (
        f"{base} serves the plain mail catcher without the Workflows page; restart the sandbox (`make down up`) "
        "so it runs `python -m sandbox.webui`")
    assert answer.status_code == 200, answer.text
    return base


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"script errors on the page: {errors}"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"workflows-{name}.png"), full_page=True)


def mark_no_reload(page) -> None:
    """Put a marker in the page's JS context; it survives only if the page is not reloaded or left."""
    page.evaluate("window.__noReloadMarker = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReloadMarker === true"), "the page was reloaded"


def node(page, state: str):
    return page.locator(f'#graph g.node[data-state="{state}"]')


def start_request(settings: Settings, **fields) -> tuple[str, str]:
    title = f"ui {uuid.uuid4().hex[:10]}"
    return workflow.start(settings, {"title": title, **fields}).name, title


def decide_in_new_tab(page, button: str) -> None:
    """Click Approve or Reject on the view; in the confirm page it opens (the decision endpoint), confirm."""
    with page.context.expect_page() as opened:
        page.locator(f"#{button}").click()
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
    page.locator(f'#executions tr[data-name="{name}"] td.decision.waiting').wait_for()
    assert_not_reloaded(page)
    screenshot(page, "list")

    row.locator("a").click()
    page.wait_for_url(f"**/workflows/{name}")
    node(page, VERIFY).and_(page.locator('[data-status="waiting"]')).wait_for()
    page.locator("#approve:not([hidden])").wait_for()  # shown once the email (and its token) exists
    assert node(page, PROCESS).get_attribute("data-status") == "not-visited"
    # The buttons carry the very links of the approval email.
    email = mail.wait(name, timeout=60)
    assert email is not None, f"no approval email for {name}"
    assert page.locator("#approve").get_attribute("href") in email["Text"]
    assert page.locator("#reject").get_attribute("href") in email["Text"]
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


def test_reject_from_the_view_ends_in_rejected(sandbox: Settings, ui: str, page) -> None:
    name, _ = start_request(sandbox)
    page.goto(f"{ui}/workflows/{name}")
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
    page.goto(f"{ui}/workflows/{name}")
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
    page.wait_for_url(f"**/workflows/{name}")
    node(page, VERIFY).and_(page.locator('[data-status="waiting"]')).wait_for()
    page.locator("#approve:not([hidden])").wait_for()  # shown once the email (and its token) exists
    token = page.locator("#approve").get_attribute("href").split("token=", 1)[1]
    # ...and back: the view's email button opens this email.
    page.locator("#mail").click()
    page.wait_for_url(re.compile(rf"/view/{email['ID']}(#\w*)?$"))  # the message page adds its tab as #hash
    # An email without the execution's name would link through its token instead; that resolves too.
    found = requests.get(f"{ui}/workflows/lookup", params={"token": requests.utils.unquote(token)},
                         allow_redirects=False, timeout=30)
    assert (found.status_code, found.headers["Location"]) == (303, f"/workflows/{name}")
