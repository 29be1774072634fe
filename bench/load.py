"""N concurrent workflows: trigger all, wait for every email, approve all at once, wait for every SUCCEEDED."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench.pipeline import TERMINAL, Pipeline, parse_created


@dataclass
class LoadResult:
    n: int
    trigger_s: float = 0.0
    all_emails_s: float | None = None
    all_succeeded_s: float | None = None
    emailed: int = 0
    succeeded: int = 0
    lost: int = 0
    duplicated: int = 0
    failed: int = 0
    approve_statuses: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_load(pipeline: Pipeline, n: int, timeout: float) -> LoadResult:
    result = LoadResult(n)
    tag = f"load-{uuid.uuid4().hex[:12]}"
    titles = [f"Bench {tag} {i:04d}" for i in range(n)]

    # 1. Trigger N requests at once (one PutEvents each, from a pool of threads).
    triggered = time.time()
    with ThreadPoolExecutor(min(n, 32)) as pool:
        list(pool.map(pipeline.put_event, titles))
    result.trigger_s = time.time() - triggered

    # 2. Until every request has its email: read each new message once (execution name, Approve link).
    by_message: dict[str, tuple[str, str, float]] = {}  # message id -> (execution, approve url, created)
    deadline = time.monotonic() + timeout
    while True:
        for summary in pipeline.search(tag, limit=5000):
            if summary["ID"] not in by_message:
                message = pipeline.message(summary["ID"])
                by_message[summary["ID"]] = (pipeline.execution_of(message), pipeline.approve_url(summary["ID"]),
                                             parse_created(summary["Created"]))
        executions = {execution for execution, _, _ in by_message.values()}
        if len(executions) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    result.emailed = len(executions)
    if result.emailed == n:
        result.all_emails_s = round(max(created for _, _, created in by_message.values()) - triggered, 2)
    else:
        result.notes.append(f"{n - result.emailed} of {n} emails not caught within {timeout:g} s")

    # 3. Approve every caught request at once (one thread and one HTTP connection per click).
    first_url: dict[str, str] = {}  # execution -> its first email's Approve link
    for execution, url, _ in sorted(by_message.values(), key=lambda item: item[2]):
        first_url.setdefault(execution, url)

    def click(url: str) -> int:
        with requests.Session() as session:
            try:
                return pipeline.approve(url, session)
            except requests.RequestException:
                return 0

    clicked = time.time()
    with ThreadPoolExecutor(max(1, min(len(first_url), 100))) as pool:
        statuses = list(pool.map(click, first_url.values()))
    result.approve_statuses = dict(Counter(str(status) for status in statuses))

    # 4. Until every approved execution is terminal (ListExecutions, so the polling costs one call per round).
    ours: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while True:
        listed = pipeline.executions()
        ours = {name: listed[name] for name in first_url if name in listed}
        if all(item["status"] in TERMINAL for item in ours.values()) and len(ours) == len(first_url):
            break
        if time.monotonic() > deadline:
            result.notes.append(f"executions not finished within {timeout:g} s after the approvals")
            break
        time.sleep(0.1)
    succeeded = [item for item in ours.values() if item["status"] == "SUCCEEDED"]
    result.succeeded = len(succeeded)
    if result.succeeded == n:
        result.all_succeeded_s = round(max(item["stopDate"].timestamp() for item in succeeded) - clicked, 2)

    # 5. Lost: no email, or never finished. Failed: finished otherwise than SUCCEEDED, or the click was refused.
    finished = {name for name, item in ours.items() if item["status"] in TERMINAL}
    result.failed = len(finished) - result.succeeded
    result.failed += sum(1 for status in statuses if status != 200)
    result.lost = (n - result.emailed) + (len(first_url) - len(finished))
    # Duplicates: any further email for an execution (a second look, after the approvals, catches late ones).
    late = Counter(
        by_message[summary["ID"]][0] if summary["ID"] in by_message
        else pipeline.execution_of(pipeline.message(summary["ID"]))
        for summary in pipeline.search(tag, 5000)
    )
    result.duplicated = sum(count - 1 for count in late.values() if count > 1)
    return result
