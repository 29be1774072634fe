"""Shared by the Workflows browser tests: the page's base URL, a Chromium page that fails the test on script
errors, screenshots, and locators for the graph."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from browser_support import chromium

from sandbox.config import REPO_ROOT, Settings

ARTIFACTS = REPO_ROOT / "test-artifacts"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def ui(sandbox: Settings) -> str:
    base = sandbox.mail_url
    answer = requests.get(f"{base}/workflows/api/overview", timeout=30)
    assert answer.status_code != 404, (
        f"{base} serves the plain mail catcher without the Workflows page; restart the sandbox (`make down up`) "
        "so it runs `python -m sandbox.webui`")
    assert answer.status_code == 200, answer.text
    return base


EVIL = "evil.example"  # a hostile site's name, resolved to this machine (as DNS rebinding would)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium([f"--host-resolver-rules=MAP {EVIL} 127.0.0.1"]) as started:
        yield started


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


def node(page, state: str):
    return page.locator(f'#graph g.node[data-state="{state}"]')


def node_is(page, state: str, status: str) -> None:
    node(page, state).and_(page.locator(f'[data-status="{status}"]')).wait_for()


def mark_no_reload(page) -> None:
    """Put a marker in the page's JS context; it survives only if the page is not reloaded or left."""
    page.evaluate("window.__noReloadMarker = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReloadMarker === true"), "the page was reloaded"
