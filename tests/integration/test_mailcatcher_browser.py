"""The catcher's web UI in a real browser (Debian chromium through Playwright).

Hostile mail tries to run script in several ways; each attempt would hit a local "beacon" HTTP server. The test
first proves that the beacon does record script execution (the same HTML in a plain page), then that nothing
reaches it from the catcher's UI, and that no dialog or console message comes from the mail.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from browser_support import chromium, needs_chromium
from mailcatcher_support import REPO_ROOT, message, unique
from page_server import PageServer, serving

ARTIFACTS = REPO_ROOT / "test-artifacts"
TIMEOUT_MS = 30_000

pytestmark = needs_chromium


def script_hits(beacon: PageServer) -> list[str]:
    return [hit for hit in beacon.hits if hit.startswith("/hit/")]


def wait_for(predicate, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def beacon() -> Iterator[PageServer]:
    """Records every request a hostile mail's script or link would make."""
    with serving("<!doctype html><title>decision</title><p>recorded</p>") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


def hostile_html(beacon_url: str, marker: str) -> str:
    return f"""
<h1 id="marker">{marker}</h1>
<p>Please decide: <a href="{beacon_url}/decide?token=T&amp;action=approve">Approve</a>
or <a href="{beacon_url}/decide?token=T&amp;action=reject">Reject</a></p>
<script>fetch("{beacon_url}/hit/script"); alert("xss-script"); console.log("xss-script");</script>
<img src="x" onerror="fetch('{beacon_url}/hit/onerror'); alert('xss-onerror'); console.log('xss-onerror')">
<img src="{beacon_url}/hit/remote-image">
<div style="background-image:url({beacon_url}/hit/css)">styled</div>
<iframe src="{beacon_url}/hit/iframe"></iframe>
<svg><script>fetch("{beacon_url}/hit/svg")</script></svg>
<a href="javascript:fetch('{beacon_url}/hit/js-url')">js link</a>
<body onload="fetch('{beacon_url}/hit/onload')"></body>
"""


def test_beacon_detects_script_execution_in_a_plain_page(browser, beacon):
    """Control: the same HTML in an unprotected page does run, so the beacon would notice."""
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.set_content(hostile_html(beacon.url(), "control"))
        assert wait_for(lambda: "/hit/script" in beacon.hits and "/hit/onerror" in beacon.hits)
        assert "xss-script" in dialogs
    finally:
        page.close()


def test_new_mail_appears_live_html_is_shown_and_mail_scripts_never_run(browser, beacon, mailcatcher):
    ARTIFACTS.mkdir(exist_ok=True)
    subject = unique("browser")
    marker = f"Visible marker {subject}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    console: list[str] = []
    outside_requests: list[str] = []
    context.on("request", lambda request: None if request.url.startswith(mailcatcher.url)
               else outside_requests.append(request.url))
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda msg: console.append(msg.text))
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{mailcatcher.url}/")
        page.locator("#live").filter(has_text="live").wait_for()  # event stream connected
        page.evaluate("window.__sameDocument = true")

        msg = message(subject, f"{marker} (text part)", sender="Mallory <mallory@example.com>")
        msg.add_alternative(hostile_html(beacon.url(), marker), subtype="html")
        mailcatcher.send(msg)

        row = page.locator("#messages tbody tr", has_text=subject)
        row.wait_for()
        assert page.evaluate("window.__sameDocument") is True  # it arrived without a reload
        assert "Mallory" in row.inner_text()
        if page.locator("#messages tbody tr").count() < 50:  # one page: no pager buttons
            assert page.locator("#older").is_hidden() and page.locator("#newer").is_hidden()
        page.screenshot(path=str(ARTIFACTS / "mailcatcher-list.png"), full_page=True)

        row.locator("a").click()
        page.wait_for_url(re.compile(r"/view/\d+"))
        frame_element = page.locator("#html-frame")
        assert frame_element.get_attribute("sandbox") == "allow-popups allow-popups-to-escape-sandbox"
        mail_frame = page.frame_locator("#html-frame")
        mail_frame.locator("h1").filter(has_text=marker).wait_for()
        # Wait for the frame's load event: by then inline scripts, handlers and image errors have had their turn.
        html_frame = next(f for f in page.frames if f.url.endswith("/html"))
        html_frame.wait_for_load_state("load")
        assert html_frame.locator("script").count() == 0
        for anchor in html_frame.locator("a[href]").all():
            assert anchor.get_attribute("target") == "_blank"
        page.screenshot(path=str(ARTIFACTS / "mailcatcher-message.png"), full_page=True)

        assert beacon.hits == []  # nothing ran, nothing was fetched, and the server prefetched no link
        assert dialogs == []
        assert not [line for line in console if "xss" in line]
        assert outside_requests == []

        # The Approve button opens the mail's link in a new tab; only then is it requested, by the browser.
        with context.expect_page() as new_tab:
            page.locator("#approval a.approve").click()
        new_tab.value.wait_for_load_state()
        assert [hit for hit in beacon.hits if hit != "/favicon.ico"] == ["/decide?token=T&action=approve"]
        assert page.url.startswith(f"{mailcatcher.url}/view/")  # the catcher stays open
    finally:
        context.close()


def test_search_box_and_delete_one_in_the_ui(browser, mailcatcher):
    keep, drop = unique("ui-keep"), unique("ui-drop")
    mailcatcher.send(message(f"{keep} 결재 요청"))
    mailcatcher.send(message(drop))
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{mailcatcher.url}/")
        page.fill("#query", f'subject:"{keep} 결재"')
        page.click("#search button")
        page.locator("#summary").filter(has_text="1 of").wait_for()
        assert page.locator("#messages tbody tr").all_inner_texts()[0].count(keep) == 1
        assert page.locator("#messages tbody tr").count() == 1
        assert "q=" in page.url  # the search survives a reload

        page.fill("#query", drop)
        page.click("#search button")
        page.locator("#messages tbody tr", has_text=drop).locator("a").click()
        page.wait_for_url(re.compile(r"/view/\d+"))
        page.click("#delete")
        page.wait_for_url(f"{mailcatcher.url}/")
        page.locator("#summary").filter(has_text=re.compile(r"\d+ messages?, ")).wait_for()
        assert page.locator("#messages tbody tr", has_text=drop).count() == 0
        assert mailcatcher.search(drop)["messages_count"] == 0
        assert mailcatcher.search(keep)["messages_count"] == 1
    finally:
        page.close()
