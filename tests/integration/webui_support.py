"""Start the real `python -m sandbox.webui` (the catcher with the Workflows page) on free ports, pointed at a
LocalStack port of the test's choosing, and read its address back from its log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"web UI and API (?P<url>http://[\d.]+:\d+)/")


@contextmanager
def running_webui(home: Path, localstack_port: int) -> Iterator[str]:
    log_path = home / "webui.log"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SANDBOX_HOME": str(home),
           "LOCALSTACK_PORT": str(localstack_port)}
    env.pop("LOCALSTACK_ENDPOINT", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.webui", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0",
             "--db", str(home / "mail.sqlite")], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            match = LISTENING.search(log_path.read_text())
            if match:
                break
            assert time.monotonic() < deadline, f"sandbox.webui did not start:\n{log_path.read_text()}"
            time.sleep(0.05)
        yield match["url"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
