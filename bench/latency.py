"""Bench phase `latency`: one cold approval, one warm-up, then sequential approvals timed stage by stage."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench.pipeline import Pipeline, Run

STAGES = ("trigger_to_started_ms", "started_to_queued_ms", "queued_to_email_ms", "started_to_email_ms",
          "trigger_to_email_ms", "approve_post_ms", "approve_to_succeeded_ms")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(pipeline: Pipeline, runs: int, say: Callable[[str], None]) -> tuple[dict[str, Any], list[Run]]:
    cold = pipeline.one_approval()
    say(f"  cold run: trigger→email {cold.trigger_to_email_ms:.0f} ms, "
        f"approve→SUCCEEDED {cold.approve_to_succeeded_ms:.0f} ms")
    pipeline.one_approval()  # warm-up, not counted
    measured: list[Run] = []
    for index in range(runs):
        measured.append(pipeline.one_approval())
        say(f"  run {index + 1}/{runs}: trigger→email {measured[-1].trigger_to_email_ms:.0f} ms, "
            f"approve→SUCCEEDED {measured[-1].approve_to_succeeded_ms:.0f} ms")
    figures: dict[str, Any] = {
        "cold_trigger_to_email_ms": round(cold.trigger_to_email_ms),
        "cold_approve_to_succeeded_ms": round(cold.approve_to_succeeded_ms),
        "cold_trigger_to_started_ms": round(cold.trigger_to_started_ms),
        "runs": runs,
    }
    for stage in STAGES:
        values = [getattr(run, stage) for run in measured]
        figures[stage] = round(statistics.median(values))
        figures[f"{stage}_p95"] = round(percentile(values, 0.95))
    figures["runs_not_succeeded"] = sum(1 for run in measured if run.status != "SUCCEEDED")
    return figures, measured
