"""Helpers for the end-to-end approval tests: submit the confirm page like a browser, read JSON answers."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urljoin

import requests


def post_form(page_url: str, html_page: str) -> requests.Response:
    """Submit the confirm page's form the way a browser does: its action resolved against the page URL."""
    action = re.search(r"<form method=post action='([^']+)'>", html_page).group(1)
    token = re.search(r"<input type=hidden name=token value='([^']*)'>", html_page).group(1)
    return requests.post(urljoin(page_url, action), data={"token": html.unescape(token)}, timeout=30)


def as_json(response: requests.Response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    return json.loads(response.text)
