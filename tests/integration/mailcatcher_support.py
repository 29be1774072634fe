"""Start the real mail catcher (`python -m mailcatcher`) as a subprocess and talk to it over SMTP and HTTP.

Ports are chosen by the catcher itself (port 0) and read back from its log line, so parallel test runs never
collide on a port.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
import uvicorn

REPO_ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"SMTP (?P<smtp_host>[\d.]+):(?P<smtp>\d+), web UI and API (?P<http>http://[\d.]+:\d+)/")
START_TIMEOUT_S = 30


class Catcher:
    """One running catcher process with its own database and log under ``workdir``."""

    def __init__(self, workdir: Path, *args: str, db: Path | None = None, env: dict[str, str] | None = None):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.db = db or workdir / "mail.sqlite"
        self.log_path = workdir / f"mailcatcher-{time.monotonic_ns()}.log"
        self.args = ["--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--db", str(self.db), *args]
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.smtp_host = "127.0.0.1"
        self.smtp_port = 0
        self.url = ""

    def start(self) -> Catcher:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **self.extra_env}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mailcatcher", *self.args],
                cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mailcatcher exited with {self.process.returncode}:\n{self.log()}")
            match = _LISTENING.search(self.log())
            if match:
                self.smtp_port = int(match["smtp"])
                self.url = match["http"]
                if self._ready():
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mailcatcher did not become ready in {START_TIMEOUT_S}s:\n{self.log()}")

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=5)

    # --- clients ---

    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=30)

    def send(self, message: EmailMessage) -> None:
        with self.smtp() as client:
            client.send_message(message)

    def sendmail(self, sender: str, recipients: list[str], raw: bytes, options: list[str] | None = None) -> None:
        with self.smtp() as client:
            client.sendmail(sender, recipients, raw, mail_options=options or [])

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.url}{path}", timeout=kwargs.pop("timeout", 30), **kwargs)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", timeout=kwargs.pop("timeout", 30), **kwargs)

    def search(self, query: str, limit: int = 1000) -> dict:
        response = self.get("/api/v1/search", params={"query": query, "limit": limit})
        assert response.status_code == 200, response.text
        return response.json()

    def only(self, query: str) -> dict:
        """The full message for the single message matching ``query``."""
        found = self.search(query)
        assert found["messages_count"] == 1, found
        response = self.get(f"/api/v1/message/{found['messages'][0]['ID']}")
        assert response.status_code == 200, response.text
        return response.json()


def message(subject: str, body: str = "hello", sender: str = "sender@example.com",
            to: str = "approver@example.com", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{time.monotonic_ns()}"


@contextlib.contextmanager
def served_app(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn in a thread on a free port (lifespan on); yields its base URL."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
