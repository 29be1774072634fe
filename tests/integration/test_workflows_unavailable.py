"""The Workflows page when it cannot show workflows: LocalStack not running, or the pipeline not deployed.

Runs the real `python -m sandbox.webui` (ports chosen by the process, read back from its log) pointed at a port
where nothing listens. Pages answer with an explanation, the API with a 503 JSON message, never a traceback, and
the mail catcher around them keeps working.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"web UI and API (?P<url>http://[\d.]+:\d+)/")
MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:WaitForCallback"


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def webui(tmp_path: Path) -> Iterator:
    processes: list[subprocess.Popen] = []

    def start(home: Path) -> str:
        log_path = home / "webui.log"
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SANDBOX_HOME": str(home),
               "LOCALSTACK_PORT": str(closed_port())}
        env.pop("LOCALSTACK_ENDPOINT", None)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "sandbox.webui", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0",
                 "--db", str(home / "mail.sqlite")], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            match = LISTENING.search(log_path.read_text())
            if match:
                return match["url"]
            time.sleep(0.05)
        raise AssertionError(f"sandbox.webui did not start:\n{log_path.read_text()}")

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
    assert_explains(requests.get(f"{base}/workflows/some-execution", timeout=30), "LocalStack is not running")

    api = requests.get(f"{base}/workflows/api/executions", timeout=30)
    assert_explains(api)
    assert api.json()["problem"] == "localstack_unavailable"
    assert "LocalStack is not running" in api.json()["message"]
    detail = requests.get(f"{base}/workflows/api/executions/some-execution", timeout=30)
    assert_explains(detail)
    assert detail.json()["problem"] == "localstack_unavailable"

    update = first_update(f"{base}/workflows/api/events?execution=some-execution")
    assert update["problem"] == "localstack_unavailable"

    # The catcher the page is mounted in keeps working.
    assert requests.get(f"{base}/readyz", timeout=30).status_code == 200
    inbox = requests.get(f"{base}/", timeout=30)
    assert inbox.status_code == 200 and 'href="/workflows"' in inbox.text


def test_pipeline_not_deployed_is_explained(webui, tmp_path: Path) -> None:
    home = tmp_path / "empty"
    home.mkdir()
    base = webui(home)
    assert_explains(requests.get(f"{base}/workflows", timeout=30), "not deployed", "make deploy")
    api = requests.get(f"{base}/workflows/api/executions", timeout=30)
    assert_explains(api)
    assert api.json()["problem"] == "not_deployed"
    assert first_update(f"{base}/workflows/api/events")["problem"] == "not_deployed"


def test_bad_execution_names_and_tokens_get_4xx(webui, tmp_path: Path) -> None:
    base = webui(deployed_home(tmp_path))
    bad = requests.get(f"{base}/workflows/api/executions/" + "x" * 81, timeout=30)
    assert bad.status_code == 400 and bad.json()["problem"] == "bad_name"
    stream = requests.get(f"{base}/workflows/api/events", params={"execution": "a b"}, timeout=30)
    assert stream.status_code == 400
    assert requests.get(f"{base}/workflows/lookup", timeout=30).status_code == 400
    assert requests.get(f"{base}/workflows/lookup", params={"token": "t" * 5000}, timeout=30).status_code == 400
