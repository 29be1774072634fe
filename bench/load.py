"""N concurrent workflows: trigger all, wait for every email, approve all at once, wait for every SUCCEEDED.

Figures come from the sandbox's own clocks (the catcher's arrival time of each mail, LocalStack's stopDate of each
execution), so how often the harness looks does not change them; it looks cheaply (the catcher's event stream,
ListExecutions filtered to RUNNING) so that it does not steal the CPU it measures. Every wait has a deadline: a
load that cannot finish reports what it reached.
"""

from __future__ import annotations

import resource
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench.mailwatch import MailWatch
from bench.pipeline import TERMINAL, Pipeline

TRIGGER_BATCH = 10  # EventBridge's limit of entries per PutEvents call
TRIGGER_THREADS = 8
CLICK_THREADS = 100


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
    clicks_s: float = 0.0  # from the first click sent to the last one answered
    read_lag_s: float | None = None  # how long after the last email the harness had read every message
    harness_cpu_s: float = 0.0
    approve_statuses: dict[str, int] = field(default_factory=dict)
    emails_at_s: list[float] = field(default_factory=list)  # each email's arrival, seconds after the trigger
    succeeded_at_s: list[float] = field(default_factory=list)  # each SUCCEEDED, seconds after the first click
    notes: list[str] = field(default_factory=list)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _trigger(pipeline: Pipeline, titles: list[str]) -> None:
    batches = [titles[i:i + TRIGGER_BATCH] for i in range(0, len(titles), TRIGGER_BATCH)]
    with ThreadPoolExecutor(min(len(batches), TRIGGER_THREADS)) as pool:
        list(pool.map(pipeline.put_events, batches))


def _click_all(pipeline: Pipeline, urls: list[str]) -> list[int]:
    """POST every Approve link at once: a pool of threads, one HTTP connection per thread."""
    local = threading.local()

    def click(url: str) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        try:
            return pipeline.approve(url, session)
        except requests.RequestException:
            return 0

    with ThreadPoolExecutor(max(1, min(len(urls), CLICK_THREADS))) as pool:
        return list(pool.map(click, urls))


def run_load(pipeline: Pipeline, n: int, timeout: float) -> LoadResult:
    result = LoadResult(n)
    tag = f"load-{uuid.uuid4().hex[:12]}"
    titles = [f"Bench {tag} {i:04d}" for i in range(n)]
    cpu_before = _cpu_s()
    watch = MailWatch(pipeline.settings.mail_url, pipeline.outputs["api_url"], tag)
    watch.start()
    try:
        # 1. Trigger N requests at once (PutEvents, ten requests a call, from a few threads).
        triggered = time.time()
        _trigger(pipeline, titles)
        result.trigger_s = time.time() - triggered

        # 2. Until every request has its email; each is read as it arrives (bench/mailwatch.py).
        deadline = time.monotonic() + timeout
        while len(watch.executions()) < n and time.monotonic() < deadline:
            time.sleep(0.2)
        if len(watch.executions()) < n:  # the stream may have dropped: one search finds what it missed
            watch.catch_up(pipeline.search, 2 * n + 100)
        if not watch.wait_read(30):
            result.notes.append("the harness had not read every caught message 30 s after the last one")
        read_at = time.time()
        caught = sorted(watch.caught.values(), key=lambda c: c.created)
        first_mail: dict[str, str] = {}  # execution -> its first email's Approve link
        for item in caught:
            if item.execution and item.approve_url:
                first_mail.setdefault(item.execution, item.approve_url)
        result.emailed = len(first_mail)
        result.emails_at_s = [round(c.created - triggered, 3) for c in caught if c.execution in first_mail]
        if result.emailed == n:
            result.all_emails_s = round(max(c.created for c in caught) - triggered, 2)
            result.read_lag_s = round(max(0.0, read_at - max(c.created for c in caught)), 2)
        else:
            result.notes.append(f"{n - result.emailed} of {n} emails not caught within {timeout:g} s")
        for bad in watch.unreadable()[:3]:
            result.notes.append(f"message {bad.message_id}: {bad.error or 'no execution or Approve link in it'}")

        # 3. Approve every caught request at once.
        clicked = time.time()
        statuses = _click_all(pipeline, list(first_mail.values()))
        result.clicks_s = round(time.time() - clicked, 2)
        result.approve_statuses = dict(Counter(str(status) for status in statuses))

        # 4. Until none of ours is RUNNING (ListExecutions filtered to RUNNING: cheap, and cheaper as they end).
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not set(first_mail) & set(pipeline.executions("RUNNING")):
                break
            time.sleep(0.5)
        listed = pipeline.executions()
        ours = {name: listed[name] for name in first_mail if name in listed}
        unfinished = [name for name in first_mail if ours.get(name, {}).get("status") not in TERMINAL]
        if unfinished:
            result.notes.append(f"{len(unfinished)} executions not finished within {timeout:g} s after the clicks")
        succeeded = [item for item in ours.values() if item["status"] == "SUCCEEDED"]
        result.succeeded = len(succeeded)
        result.succeeded_at_s = sorted(round(item["stopDate"].timestamp() - clicked, 3) for item in succeeded)
        if result.succeeded == n:
            result.all_succeeded_s = round(max(result.succeeded_at_s), 2)

        # 5. Lost: no email, or never finished. Failed: finished otherwise than SUCCEEDED, or the click refused.
        finished = len(first_mail) - len(unfinished)
        result.failed = finished - result.succeeded + sum(1 for status in statuses if status != 200)
        result.lost = (n - result.emailed) + len(unfinished)
        # Duplicates: any further email for an execution (the stream stayed open through the approvals).
        watch.wait_read(10)
        result.duplicated = sum(count - 1 for count in watch.per_execution().values() if count > 1)
    finally:
        watch.close()
        result.harness_cpu_s = round(_cpu_s() - cpu_before, 2)
    return result
