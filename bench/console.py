"""The console figure: with many executions across several machines, how fast the Workflows list answers, and
that the live poller's cost follows the open pages only.

Creates ``machines`` small state machines (one Pass state each) in the running sandbox and ``executions`` finished
executions spread over them, then measures GET /workflows/api/overview (what the page's stream sends: every
machine's counts, the newest 50 rows, the waiting tasks) cold and warm, with a search over inputs, and opens and
closes event streams while reading the poller's counters (/workflows/api/live). The machines are deleted at the
end (LocalStack keeps their executions until it restarts).
"""

from __future__ import annotations

import json
import socket
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import requests

from sandbox import workflow
from sandbox.config import Settings

PASS = json.dumps({"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}})
ROLE = "arn:aws:iam::000000000000:role/bench-console"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _timed_get(url: str, **params: Any) -> float:
    started = time.perf_counter()
    answer = requests.get(url, params=params, timeout=120)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return elapsed


def _create(settings: Settings, machines: int, executions: int) -> tuple[list[str], str]:
    sfn = workflow.client(settings, "stepfunctions")
    tag = uuid.uuid4().hex[:6]
    arns = [sfn.create_state_machine(name=f"bench-console-{tag}-{i}", definition=PASS, roleArn=ROLE)
            ["stateMachineArn"] for i in range(machines)]

    def start(index: int) -> None:
        sfn.start_execution(stateMachineArn=arns[index % machines], name=f"bench-{tag}-{index}",
                            input=json.dumps({"order": index, "marker": f"needle-{tag}-{index}"}))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(start, range(executions)))
    deadline = time.monotonic() + 300
    for arn in arns:  # all finished, so the list is measured, not executions still running
        while sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1)["executions"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the bench executions did not finish within 300 s")
            time.sleep(0.2)
    return arns, tag


def _streams(url: str, count: int) -> list[socket.socket]:
    """Open ``count`` event streams (as pages do) and read their first update; closing the sockets is closing the
    pages."""
    parts = urlsplit(url)
    opened = []
    for _ in range(count):
        connection = socket.create_connection((parts.hostname, parts.port), timeout=30)
        connection.sendall(f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                           "Accept: text/event-stream\r\n\r\n".encode())
        received = b""
        while b"event: update" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                raise RuntimeError("an event stream closed before its first update")
            received += chunk
        opened.append(connection)
    return opened


def measure(settings: Settings, machines: int = 5, executions: int = 1000, runs: int = 20) -> dict[str, Any]:
    base = f"{settings.mail_url}/workflows/api"
    arns, tag = _create(settings, machines, executions)
    try:
        cold = _timed_get(f"{base}/overview")
        warm = [_timed_get(f"{base}/overview") for _ in range(runs)]
        filtered = [_timed_get(f"{base}/overview", machine=arns[0].rsplit(":", 1)[-1], status="SUCCEEDED")
                    for _ in range(runs)]
        search_cold = _timed_get(f"{base}/overview", q=f"needle-{tag}-7")
        search = [_timed_get(f"{base}/overview", q=f"needle-{tag}-{n}") for n in range(runs)]

        before = requests.get(f"{base}/live", timeout=30).json()
        pages = _streams(f"{base}/events?limit=50", 10)
        during = requests.get(f"{base}/live", timeout=30).json()
        for page in pages:
            page.close()
        time.sleep(1.0)  # a closed page unsubscribes at once, not at its next write
        after = requests.get(f"{base}/live", timeout=30).json()
        time.sleep(3.0)
        idle = requests.get(f"{base}/live", timeout=30).json()
    finally:
        sfn = workflow.client(settings, "stepfunctions")
        for arn in arns:
            sfn.delete_state_machine(stateMachineArn=arn)
    return {
        "console_executions": executions,
        "console_machines": machines,
        "console_list_cold_ms": round(cold),
        "console_list_ms": round(statistics.median(warm)),
        "console_list_ms_p95": round(_percentile(warm, 0.95)),
        "console_list_filtered_ms": round(statistics.median(filtered)),
        "console_search_cold_ms": round(search_cold),
        "console_search_ms": round(statistics.median(search)),
        "console_streams_open": {"pages": during["pages"], "watches": during["watches"]},
        "console_streams_closed": {"pages": after["pages"], "watches": after["watches"]},
        "console_polls_while_closed": idle["polls"] - after["polls"],
        "console_polls_before": before["polls"],
    }
