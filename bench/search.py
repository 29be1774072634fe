"""Catcher search latency with a large store: Mailpit-style queries over HTTP against 100,000 messages.

The store is built once from one parsed sample message with per-message subjects, recipients, bodies and
tokens (parsing 100,000 real messages would take minutes and measure the parser, not search) and kept in
``.sandbox/bench-search-N.sqlite`` for later runs; it is fully indexed before the clock starts. Then a fresh
catcher serves it and each query is asked ``ROUNDS`` times through ``/api/v1/search``; the figures are the
p50 and p95 of all answers, client-measured (HTTP included).
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from bench.ingest import _serving, sample_message
from mailcatcher import record as records
from mailcatcher.store import Store
from sandbox.config import REPO_ROOT
from sandbox.ports import free_port

ROUNDS = 5
BUILD_BATCH = 5000


def queries(total: int) -> list[str]:
    """What testers ask: one message by subject or token, by recipient, free words (few and many matches),
    flags, negation, sizes and dates."""
    one = total // 2 + 7
    return [
        f'subject:"Approval request {one}"', f"token=t{one}&", f'"Request {one}"', "to:approver3@sandbox.local",
        "from:bench@sandbox.local is:unread", "approve", "zzz-not-there", f"approval -subject:{one}",
        "has:attachment", "larger:1kb smaller:10kb", "after:2000-01-01 request", f"message-id:{one}@bench",
    ]


def _record(template: records.Record, raw: bytes, index: int) -> tuple[records.Record, bytes]:
    """The sample's record with this message's subject, recipient, body and token."""
    def swap(text: str) -> str:
        return text.replace("Request 0", f"Request {index}").replace("request 0", f"request {index}") \
            .replace("t0", f"t{index}").replace("approver0@", f"approver{index % 7}@")

    found = copy.deepcopy(template)
    found.summary["Subject"] = found.subject = f"Approval request {index}"
    found.summary["Snippet"] = swap(found.summary["Snippet"])
    found.summary["To"] = [{"Name": "", "Address": f"approver{index % 7}@sandbox.local"}]
    found.message_id = found.summary["MessageID"] = f"{index}@bench"
    view = json.loads(found.view_json)
    view["Text"], view["HTML"] = swap(view["Text"]), swap(view["HTML"])
    found.view_json = json.dumps(view)
    found.search = {column: swap(text) for column, text in found.search.items()}
    found.search["subject"], found.search["message_id"] = f"approval request {index}", f"{index}@bench"
    found.search["text"] = found.search["text"].replace("approval request 0", f"approval request {index}")
    return found, raw.replace(b"Request 0", f"Request {index}".encode())


def build_store(path: Path, total: int, say=print) -> None:
    if path.exists():
        store = Store(str(path), max_messages=total * 2)
        count = store.counts()[0]
        store.close()
        if count == total:
            return
        path.unlink()
    message = sample_message(0)
    message["Message-ID"] = "<0@bench>"
    raw = message.as_bytes()
    template = records.build(raw, "bench@sandbox.local", ["approver0@sandbox.local"])
    store = Store(str(path), max_messages=total * 2)
    started = time.monotonic()
    try:
        for first in range(0, total, BUILD_BATCH):
            with store._lock, store._transaction():  # bulk load: one transaction per batch
                for index in range(first, min(total, first + BUILD_BATCH)):
                    store._insert(*_record(template, raw, index))
        while store.index_pending(BUILD_BATCH) > 0:
            pass
    finally:
        store.close()
    say(f"  built {total:,} messages in {time.monotonic() - started:.0f} s ({path})")


def _get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        count = json.loads(response.read())["messages_count"]
    return (time.perf_counter() - started) * 1000, count


def measure(total: int, say=print) -> dict[str, Any]:
    path = REPO_ROOT / ".sandbox" / f"bench-search-{total}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    build_store(path, total, say)
    http, smtp = free_port(), free_port()
    argv = [sys.executable, "-m", "mailcatcher", "--smtp", f"127.0.0.1:{smtp}", "--http", f"127.0.0.1:{http}",
            "--db", str(path), "--max-messages", str(total * 2), "--log-level", "warning"]
    timings: list[float] = []
    per_query: dict[str, float] = {}
    with _serving("our catcher", argv, http, "/readyz") as served:
        for query in queries(total):
            url = f"{served.base}/api/v1/search?" + urllib.parse.urlencode({"query": query, "limit": 50})
            _get(url)  # warm the page cache for this query's pages
            answers = [_get(url)[0] for _ in range(ROUNDS)]
            timings.extend(answers)
            per_query[query] = round(statistics.median(answers), 1)
    timings.sort()
    return {
        "search_messages": total,
        "search_p50_ms": round(statistics.median(timings), 1),
        "search_p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        "search_by_query_ms": per_query,
    }
