"""Issue 11, findings 1, 2 and 9 at the decision endpoint: a hostile page in the approver's browser cannot take a
decision, even when it knows the task token, and a form the endpoint did not write still works when it is honest.

The hostile page is served by a small HTTP server on this machine under the name `evil.example`, which Chromium
resolves to 127.0.0.1 (`--host-resolver-rules`), as DNS rebinding makes a real attacker's name do.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
import requests
from browser_support import chromium, skip_without_chromium
from page_server import PageServer, serving

EVIL = "evil.example"


@pytest.fixture(scope="module")
def hostile() -> Iterator[PageServer]:
    with serving() as pages:
        yield pages


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium([f"--host-resolver-rules=MAP {EVIL} 127.0.0.1"]) as instance:
        yield instance


@pytest.mark.browser
@skip_without_chromium
@pytest.mark.parametrize("action", ["approve", "reject"])
def test_finding_2_a_hostile_page_posting_the_decision_form_is_refused(request_approval, hostile, browser, action):
    request = request_approval()
    target = request.links()[action].split("?", 1)[0]
    hostile.page = (f"<form id=f method=post action='{html.escape(target)}'>"
                    f"<input type=hidden name=token value='{html.escape(request.token)}'></form>"
                    "<script>document.getElementById('f').submit()</script>")
    context = browser.new_context()
    try:
        page = context.new_page()
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.goto(hostile.url(EVIL))
        assert answer.value.status == 403
        page.wait_for_load_state()
        assert "another site" in page.content()
    finally:
        context.close()
    assert request.status()["status"] == "RUNNING", "the hostile page's POST decided"
    # The approver's own click on the confirm page still decides.
    confirm = requests.get(request.links()[action], timeout=30)
    assert confirm.status_code == 200 and "waiting" in confirm.text


@pytest.mark.browser
@skip_without_chromium
def test_finding_2_the_confirm_page_cannot_be_framed_by_another_site(request_approval, hostile, browser):
    request = request_approval()
    hostile.page = f"<iframe id=victim src='{html.escape(request.links()['approve'])}'></iframe>"
    context = browser.new_context()
    try:
        page = context.new_page()
        with page.expect_response(lambda r: "/approve" in r.url) as framed:
            page.goto(hostile.url(EVIL))
        assert framed.value.headers.get("x-frame-options") == "DENY"
        page.wait_for_timeout(500)
        frame = page.frame_locator("#victim")
        assert frame.locator("button").count() == 0, "the confirm button rendered inside another site's frame"
    finally:
        context.close()
    assert request.status()["status"] == "RUNNING"


@pytest.mark.browser
@skip_without_chromium
def test_finding_1_the_gateway_refuses_a_rebound_name(request_approval, browser, sandbox):
    """A page at http://evil.example:<gateway port> (its name re-pointed at 127.0.0.1) reaches nothing."""
    request = request_approval()
    link = request.links()["approve"].replace("://localhost:", f"://{EVIL}:", 1)
    context = browser.new_context()
    try:
        page = context.new_page()
        for url in (link, f"http://{EVIL}:{sandbox.localstack_port}/_localstack/health"):
            answer = page.goto(url)
            assert answer is not None and answer.status == 403, url
            assert "SANDBOX_ALLOWED_HOSTS" in page.content()
    finally:
        context.close()
    assert request.status()["status"] == "RUNNING"


def test_finding_9_an_honest_multipart_form_decides(request_approval):
    request = request_approval()
    answer = requests.post(request.links()["approve"].split("?", 1)[0], files={"token": (None, request.token)},
                           headers={"Accept": "application/json"}, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["decision"] == "approved"
