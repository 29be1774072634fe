"""The Workflows page when it cannot show workflows (LocalStack not running), given bad input, or sent a
cross-site request.

Runs the real `python -m sandbox.webui` (ports chosen by the process, read back from its log) pointed at a port
where nothing listens. Pages answer with an explanation, the API with a 503 JSON message, bad input with a 4xx,
never a traceback, and the mail catcher around them keeps working. Actions refuse cross-site requests before
reading anything.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from webui_support import running_webui

MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:WaitForCallback"


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def webui() -> Iterator:
    with contextlib.ExitStack() as running:
        yield lambda home: running.enter_context(running_webui(home, closed_port()))


def deployed_home(tmp_path: Path) -> Path:
    home = tmp_path / "deployed"
    home.mkdir()
    (home / "outputs.json").write_text(json.dumps({
        "state_machine_arn": MACHINE, "api_url": "http://localhost:1/_aws/execute-api/x/sandbox"}))
    return home


def first_update(url: str) -> dict:
    with requests.get(url, stream=True, timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended without an update")


def assert_explains(response: requests.Response, *phrases: str) -> None:
    assert response.status_code == 503, response.text[:300]
    assert "Traceback" not in response.text
    for phrase in phrases:
        assert phrase in response.text


def test_localstack_not_running_is_explained_on_pages_api_and_stream(webui, tmp_path: Path) -> None:
    base = webui(deployed_home(tmp_path))

    page = requests.get(f"{base}/workflows", timeout=30)
    assert_explains(page, "LocalStack is not running", "make up")
    assert page.headers["Content-Type"].startswith("text/html")
    one = f"{base}/workflows/machines/WaitForCallback/executions/some-execution"
    assert_explains(requests.get(one, timeout=30), "LocalStack is not running")
    assert_explains(requests.get(f"{base}/workflows/some-execution", timeout=30), "LocalStack is not running")

    api = requests.get(f"{base}/workflows/api/overview", timeout=30)
    assert_explains(api)
    assert api.json()["problem"] == "localstack_unavailable"
    assert "LocalStack is not running" in api.json()["message"]
    detail = requests.get(f"{base}/workflows/api/machines/WaitForCallback/executions/some-execution", timeout=30)
    assert_explains(detail)
    assert detail.json()["problem"] == "localstack_unavailable"
    assert requests.get(f"{base}/workflows/api/tasks", timeout=30).json()["problem"] == "localstack_unavailable"

    update = first_update(f"{base}/workflows/api/events?machine=WaitForCallback&execution=some-execution")
    assert update["problem"] == "localstack_unavailable"
    assert first_update(f"{base}/workflows/api/events")["problem"] == "localstack_unavailable"

    # The catcher the page is mounted in keeps working.
    assert requests.get(f"{base}/readyz", timeout=30).status_code == 200
    inbox = requests.get(f"{base}/", timeout=30)
    assert inbox.status_code == 200 and 'href="/workflows"' in inbox.text


def test_without_outputs_json_the_page_does_not_ask_for_a_deploy(webui, tmp_path: Path) -> None:
    """The console lists every machine; outputs.json only helps it recognise the demo."""
    home = tmp_path / "empty"
    home.mkdir()
    base = webui(home)
    api = requests.get(f"{base}/workflows/api/overview", timeout=30)
    assert_explains(api, "LocalStack is not running")
    assert "outputs.json" not in api.text and "make deploy" not in api.text


def test_bad_names_tokens_and_parameters_get_4xx(webui, tmp_path: Path) -> None:
    base = webui(deployed_home(tmp_path))
    machine = f"{base}/workflows/api/machines"
    bad = requests.get(f"{machine}/WaitForCallback/executions/" + "x" * 81, timeout=30)
    assert bad.status_code == 400 and bad.json()["problem"] == "bad_name"
    assert requests.get(f"{machine}/bad%20machine/executions/x", timeout=30).json()["problem"] == "bad_name"
    assert requests.get(f"{base}/workflows/machines/a%01b/executions/x", timeout=30).status_code == 400
    stream = requests.get(f"{base}/workflows/api/events",
                          params={"machine": "WaitForCallback", "execution": "a\x01b"}, timeout=30)
    assert stream.status_code == 400
    assert requests.get(f"{base}/workflows/api/overview", params={"limit": "many"}, timeout=30).status_code == 400
    assert requests.get(f"{base}/workflows/lookup", timeout=30).status_code == 400
    assert requests.get(f"{base}/workflows/lookup", params={"token": "t" * 5000}, timeout=30).status_code == 400


ACTIONS = ["executions", "executions/x/answer", "executions/x/rerun", "executions/x/take"]


def test_a_cross_site_post_is_refused_before_anything_is_read(webui, tmp_path: Path) -> None:
    """A hostile page can POST a form (or, with fetch, JSON it cannot get past the CORS preflight) to the
    sandbox from the approver's browser; every action refuses it, whatever the body."""
    base = webui(deployed_home(tmp_path))
    for action in ACTIONS:
        refuses_cross_site(base, f"{base}/workflows/api/machines/M/{action}")


def refuses_cross_site(base: str, url: str) -> None:
    body = '{"action": "success", "output": "{}"}'
    json_headers = {"Content-Type": "application/json"}
    cases = [
        (403, {**json_headers, "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, body),
        (403, {**json_headers, "Origin": "http://evil.example"}, body),
        (403, {**json_headers, "Sec-Fetch-Site": "same-site"}, body),
        (403, {**json_headers, "Origin": "null"}, body),
        (415, {"Content-Type": "application/x-www-form-urlencoded"}, "action=success"),
        (415, {"Content-Type": "text/plain"}, body),
        (415, {"Content-Type": "multipart/form-data; boundary=x"}, "--x--"),
        (400, json_headers, "[" * 100_000),
        (400, json_headers, "not json"),
        (413, json_headers, '{"output": "' + "x" * (600 * 1024) + '"}'),
    ]
    for status, headers, data in cases:
        answer = requests.post(url, headers=headers, data=data, timeout=30)
        assert answer.status_code == status, (headers, data[:40], answer.text)
        assert "Traceback" not in answer.text
    # Same-origin JSON gets through the guard (and then meets LocalStack's absence).
    own = requests.post(url, headers={**json_headers, "Origin": base, "Sec-Fetch-Site": "same-origin"}, data=body,
                        timeout=30)
    assert own.status_code == 503, own.text
