"""Debian chromium through Playwright, started the same way by every browser test (no downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google's hosts, which this network refuses.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run")
skip_without_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                           reason="Debian chromium is not installed at /usr/bin/chromium")
needs_chromium = [pytest.mark.browser, skip_without_chromium]  # a test module's `pytestmark`


def launch(playwright, *extra_args: str):  # type: ignore[no-untyped-def]
    """A headless Chromium from a running Playwright; `extra_args` e.g. `--host-resolver-rules=MAP evil.example
    127.0.0.1`, so a page can be served under a hostile name that points at this machine (DNS rebinding)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args])


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator:
    """Playwright and a Chromium launched with `launch`, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, *extra_args)
        try:
            yield browser
        finally:
            browser.close()
