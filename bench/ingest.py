"""Catcher ingest side by side: the same SMTP client load against our catcher and against MailDev."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sandbox.config import REPO_ROOT
from sandbox.ports import free_port
from sandbox.services import wait_url

MAILDEV_DIR = REPO_ROOT / "bench" / "maildev"



def sample_message(index: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "bench@sandbox.local"
    message["To"] = f"approver{index % 7}@sandbox.local"
    message["Subject"] = f"Approval request {index}"
    body = f"Request {index}\nApprove: http://localhost:4566/_aws/execute-api/x/sandbox/approve?token=t{index}\n"
    message.set_content(body)
    message.add_alternative(f"<p>Request {index}</p><a href='http://localhost/approve?token=t{index}'>Approve</a>",
                            subtype="html")
    return message


@dataclass
class IngestResult:
    sent: int
    seconds: float
    stored: int
    cpu_seconds: float

    @property
    def cpu_ms_per_message(self) -> float:
        return self.cpu_seconds / self.sent * 1000 if self.sent else 0.0

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def _send_share(port: int, payloads: list[tuple[str, list[str], bytes]], start: Any, accepted: Any) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        start.wait()
        for sender, recipients, data in payloads:
            client.sendmail(sender, recipients, data)
            with accepted.get_lock():
                accepted.value += 1


def smtp_load(port: int, total: int, connections: int) -> tuple[int, float]:
    """Send `total` messages over `connections` concurrent SMTP sessions; returns (accepted, seconds).

    Messages are serialised before the clock starts and each session runs in its own process: the client's
    cost is then the same small constant for both servers, instead of a GIL-bound Python client using most of
    a core (a single-process smtplib client tops out near 700 msg/s here even against a server that stores
    nothing, which capped every ratio).
    """
    context = multiprocessing.get_context("fork")
    payloads = [
        (str(m["From"]), [str(m["To"])], m.as_bytes()) for m in (sample_message(i) for i in range(total))
    ]
    start = context.Barrier(connections + 1)
    accepted = context.Value("i", 0)
    workers = [
        context.Process(target=_send_share, args=(port, payloads[slot::connections], start, accepted))
        for slot in range(connections)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    return accepted.value, seconds


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants so far (from /proc; 0 where there is none)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for thread in os.listdir(f"/proc/{pid}/task"):  # a child is listed under the thread that started it
            with open(f"/proc/{pid}/task/{thread}/children") as children:
                total += sum(cpu_seconds(int(child)) for child in children.read().split())
        return total
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class Served:
    base: str
    pid: int


@contextlib.contextmanager
def _serving(what: str, argv: list[str], http: int, health_path: str) -> Iterator[Served]:
    """Run a mail server process until the block ends; yields its HTTP base URL once it is healthy."""
    process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{http}"
        wait_url(f"{base}{health_path}", what, timeout=30)
        yield Served(base, process.pid)
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def our_catcher() -> Iterator[tuple[int, Served]]:
    smtp, http = free_port(), free_port()
    with tempfile.TemporaryDirectory() as folder:
        # Retention raised above the load so that "stored" counts every message (the default cap is 1000).
        argv = [sys.executable, "-m", "mailcatcher", "--smtp", f"127.0.0.1:{smtp}", "--http", f"127.0.0.1:{http}",
                "--db", str(Path(folder) / "mail.sqlite"), "--max-messages", "100000",
                "--log-level", "warning"]  # as quiet as MailDev with --silent
        with _serving("our catcher", argv, http, "/readyz") as served:
            yield smtp, served


def ensure_maildev() -> Path:
    binary = MAILDEV_DIR / "node_modules" / ".bin" / "maildev"
    if not binary.exists():
        npm = shutil.which("npm")
        if not npm:
            raise RuntimeError("npm is not installed; it is needed to run MailDev for the comparison")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=MAILDEV_DIR, check=True)
    return binary


@contextlib.contextmanager
def maildev() -> Iterator[tuple[int, Served]]:
    binary = ensure_maildev()
    smtp, http = free_port(), free_port()
    with tempfile.TemporaryDirectory() as folder:
        # Persisting to a directory, as our catcher persists to SQLite: the same durability for both.
        argv = [str(binary), "--smtp", str(smtp), "--ip", "127.0.0.1", "--web", str(http), "--web-ip", "127.0.0.1",
                "--mail-directory", folder, "--silent"]
        with _serving("MailDev", argv, http, "/api/healthz") as served:
            yield smtp, served


def _stored_ours(base: str) -> int:
    data = _get_json(f"{base}/api/v1/messages?limit=1")
    return int(data["total"]) if isinstance(data, dict) else 0


def _stored_maildev(base: str) -> int:
    data = _get_json(f"{base}/api/email?limit=1000000")
    return len(data) if isinstance(data, list) else 0


def _measured(port: int, served: Served, total: int, connections: int, stored) -> IngestResult:
    before = cpu_seconds(served.pid)
    sent, seconds = smtp_load(port, total, connections)
    time.sleep(0.6)  # the catcher indexes for search once mail stops: part of what a message costs
    return IngestResult(sent, seconds, stored(served.base), cpu_seconds(served.pid) - before)


def compare(total: int, connections: int) -> dict[str, object]:
    """Throughput side by side, and each server's CPU per message (steadier than throughput when other work
    shares the machine: both servers then wait for the CPU alike, but what each one spends is its own)."""
    with our_catcher() as (port, served):
        ours = _measured(port, served, total, connections, _stored_ours)
    with maildev() as (port, served):
        theirs = _measured(port, served, total, connections, _stored_maildev)
    return {
        "ingest_messages": total,
        "ingest_connections": connections,
        "catcher_msgs_per_s": round(ours.per_second, 1),
        "catcher_stored": ours.stored,
        "maildev_msgs_per_s": round(theirs.per_second, 1),
        "maildev_stored": theirs.stored,
        "catcher_vs_maildev": round(ours.per_second / theirs.per_second, 2) if theirs.per_second else None,
        "catcher_cpu_ms_per_msg": round(ours.cpu_ms_per_message, 2),
        "maildev_cpu_ms_per_msg": round(theirs.cpu_ms_per_message, 2),
        "maildev_setting": "maildev 3.0.0, --mail-directory (persisted), node " + _node_version(),
    }


def _node_version() -> str:
    node = shutil.which("node")
    if not node:
        return "?"
    return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
