"""Issue 11 findings 1, 3 and 4 and issue 12 (links that open offline) in a real browser (Debian chromium).

Finding 1 is DNS rebinding: Chromium resolves evil.example to 127.0.0.1 (``--host-resolver-rules``), and the
attacker's page is really served as ``http://evil.example:PORT/`` (the port of the catcher, as after a
rebinding). Its script then tries to read the API and delete mail from that same origin. A control run against
a catcher told to allow that host shows the page would succeed, so the test can fail.
"""

from __future__ import annotations

import pytest
import requests
from browser_support import launch, needs_chromium
from mailcatcher_support import message, served_app, unique
from page_server import serving

from mailcatcher.app import create_app
from mailcatcher.store import Store

TIMEOUT_MS = 30_000
pytestmark = needs_chromium

ATTACK = """<!doctype html><title>cute cats</title><pre id="out">running</pre><script>
(async () => {
  const out = [];
  try {
    const r = await fetch("/api/v1/messages?limit=5");
    out.push("read " + r.status + " " + (await r.text()).slice(0, 3000));
  } catch (e) { out.push("read error " + e); }
  try {
    const r = await fetch("/api/v1/messages", {method: "DELETE"});
    out.push("delete " + r.status);
  } catch (e) { out.push("delete error " + e); }
  document.getElementById("out").textContent = out.join("\\n");
})();
</script>"""


@pytest.fixture(scope="module")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def rebinding_attack(playwright, catcher) -> str:
    """Serve the attacker's page as http://evil.example:PORT/ and return what its script saw."""
    port = int(catcher.url.rsplit(":", 1)[1])
    # Chromium's own Private/Local Network Access checks would stop a public page's requests to 127.0.0.1 where
    # they are enforced; they are turned off so that this test measures the catcher's guard, not the browser's.
    browser = launch(playwright, "--host-resolver-rules=MAP evil.example 127.0.0.1",
                     "--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,"
                     "PrivateNetworkAccessRespectPreflightResults,LocalNetworkAccessChecks")
    try:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        # The attacker's server answers this one document (before the rebinding); everything else the page asks
        # for goes to evil.example:PORT, which now resolves to the catcher.
        page.route(f"http://evil.example:{port}/cats", lambda route: route.fulfill(
            status=200, content_type="text/html", body=ATTACK))
        page.goto(f"http://evil.example:{port}/cats")
        page.locator("#out").filter(has_not_text="running").wait_for()
        return page.locator("#out").inner_text()
    finally:
        browser.close()


def test_finding_1_a_rebound_page_can_neither_read_nor_delete_mail(playwright_instance, start_mailcatcher, tmp_path):
    secret = unique("token-secret")
    guarded = start_mailcatcher()
    guarded.send(message(f"Approve {secret}", f"http://localhost:4566/approve?token={secret}"))
    seen = rebinding_attack(playwright_instance, guarded)
    assert "read 403" in seen and "delete 403" in seen, seen
    assert secret not in seen
    assert guarded.search(secret)["messages_count"] == 1

    # Control: told to allow that host, the same page reads the token and deletes the mail.
    exposed = start_mailcatcher("--allowed-hosts", "evil.example", workdir=tmp_path / "exposed")
    exposed.send(message(f"Approve {secret}", "body"))
    seen = rebinding_attack(playwright_instance, exposed)
    assert "read 200" in seen and secret in seen and "delete 200" in seen, seen


def test_finding_3_the_tutorial_mail_has_one_approve_and_one_reject_button(playwright_instance, mailcatcher):
    api = "https://abc123.execute-api.us-east-1.amazonaws.com/states/execution"
    subject = unique("tutorial")
    mailcatcher.send(message(subject, f"Approve: {api}?action=approve&ex=RejectTest&sm=sm\n\n"
                                      f"Reject: {api}?action=reject&ex=RejectTest&sm=sm\n"))
    message_id = mailcatcher.search(subject)["messages"][0]["ID"]
    browser = launch(playwright_instance)
    try:
        page = browser.new_page()
        page.goto(f"{mailcatcher.url}/view/{message_id}")
        approve, reject = page.locator("#approval a.approve"), page.locator("#approval a.reject")
        assert approve.count() == 1 and reject.count() == 1
        assert "action=approve" in approve.get_attribute("href")
        assert "action=reject" in reject.get_attribute("href")
    finally:
        browser.close()


def test_finding_4_a_url_in_the_request_never_becomes_a_button(playwright_instance, tmp_path):
    api = "http://localhost:4566/_aws/execute-api/abc123/sandbox"
    store = Store(str(tmp_path / "mail.sqlite"))
    text = ("A request is waiting for your decision.\r\n\r\n"
            "Title:       Deploy http://evil.example/approve?token=phish\r\n\r\n"
            f"Approve:\r\n{api}/approve?token=T1\r\n\r\nReject:\r\n{api}/reject?token=T1\r\n")
    message_id = store.add(f"Subject: Approval needed\r\nFrom: sandbox@example.com\r\n\r\n{text}".encode())["ID"]
    app = create_app(store, trusted_decision_links=lambda: [api + "/"])
    browser = launch(playwright_instance)
    try:
        with served_app(app) as url:
            page = browser.new_page()
            page.goto(f"{url}/view/{message_id}")
            buttons = page.locator("#approval a.button")
            hrefs = [buttons.nth(i).get_attribute("href") for i in range(buttons.count())]
            assert hrefs == [f"{api}/approve?token=T1", f"{api}/reject?token=T1"]
            assert page.locator("#approval").get_by_text("evil.example").count() == 0
    finally:
        browser.close()
        store.close()


def test_issue_12_a_cdk_link_in_mail_is_routed_to_the_local_gateway_and_opens(playwright_instance,
                                                                                  start_mailcatcher):
    # A stand-in for LocalStack's gateway that records the paths the browser opens.
    with serving("<!doctype html><title>confirm</title><p>Confirm your decision</p>") as gateway:
        catcher = start_mailcatcher("--aws-gateway", gateway.url())
        subject = unique("cdk-link")
        cdk = "https://k2x9q1.execute-api.localhost:4566/dev//verification?action=approve&token=a%2Bb%2F%3D"
        msg = message(subject, f"Approve: {cdk}\n")
        msg.add_alternative(f'<p><a href="{cdk}">Approve</a></p>', subtype="html")
        catcher.send(msg)
        message_id = catcher.search(subject)["messages"][0]["ID"]
        routed = f"{gateway.url()}/_aws/execute-api/k2x9q1/dev//verification?action=approve&token=a%2Bb%2F%3D"
        approval = requests.get(f"{catcher.url}/api/v1/message/{message_id}/approval", timeout=30).json()
        assert approval["Approve"][0]["URL"] == routed and approval["Approve"][0]["OriginalURL"] == cdk

        browser = launch(playwright_instance)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{catcher.url}/view/{message_id}")
            assert "routed to the local gateway" in page.locator("#approval").inner_text()
            assert cdk in page.locator("#approval").inner_text()
            with context.expect_page() as new_tab:
                page.locator("#approval a.approve").click()
            new_tab.value.wait_for_load_state()
            assert "Confirm your decision" in new_tab.value.content()
            # The sanitised HTML and the text view carry the routed link too.
            html_frame = page.frame_locator("#html-frame")
            assert html_frame.locator("a").first.get_attribute("href") == routed
            page.locator("#tabs button[data-tab=text]").click()
            assert page.locator("#tab-text a").first.get_attribute("href") == routed
        finally:
            browser.close()
        assert [hit for hit in gateway.hits if hit != "/favicon.ico"] == [
            "/_aws/execute-api/k2x9q1/dev//verification?action=approve&token=a%2Bb%2F%3D"]
