"""Bench phase `load` at several sizes: N concurrent workflows each, memory and CPU sampled, a growth curve.

bench.json gets each size's figures as `load_{N}_...` (e.g. `load_1000_all_emails_s`), the curve as `load_curve`,
and issue 6's unnumbered keys (`load_all_emails_s`, `peak_rss_mb`, ...) from N = 100.
"""

from __future__ import annotations

from typing import Any

from bench.load import run_load
from bench.memory import Sampler, pid_from_file, sample
from bench.pipeline import Pipeline
from sandbox.config import Settings


def load_timeout(n: int) -> float:
    """How long each wait of a load may take (emails, then SUCCEEDED): three times issue 17's goal at 1,000."""
    return max(60.0, 0.18 * n)


def load_and_memory(pipeline: Pipeline, settings: Settings, n: int, curve: list[dict[str, Any]]) -> dict[str, Any]:
    """One load of N concurrent workflows with memory and CPU sampled; figures keyed `load_{n}_...`, and a point
    of the growth curve appended to `curve`."""
    localstack_pid = pid_from_file(settings.home / "localstack.pid")
    catcher_pid = pid_from_file(settings.home / "mailcatcher.pid")
    idle = sample(localstack_pid, catcher_pid)
    with Sampler(localstack_pid, catcher_pid) as sampler:
        result = run_load(pipeline, n, timeout=load_timeout(n))
    figures: dict[str, Any] = {
        "n": n,
        "all_emails_s": result.all_emails_s,
        "all_succeeded_s": result.all_succeeded_s,
        "emailed": result.emailed,
        "succeeded": result.succeeded,
        "lost": result.lost,
        "duplicated": result.duplicated,
        "failed": result.failed,
        "trigger_s": round(result.trigger_s, 2),
        "clicks_s": result.clicks_s,
        "read_lag_s": result.read_lag_s,
        "harness_cpu_s": round(result.harness_cpu_s - sampler.own_cpu_s, 2),
        "sampler_cpu_s": sampler.own_cpu_s,
        "approve_statuses": result.approve_statuses,
    }
    if localstack_pid is None and catcher_pid is None:
        figures["peak_rss_mb"] = None
        result.notes.append("no pid files under the sandbox home (docker mode?): memory and CPU not sampled")
    else:
        peak = sampler.peak or idle
        figures.update({
            "peak_rss_mb": peak.total_mb,
            "peak_rss_breakdown_mb": {"localstack": peak.localstack_main_mb,
                                      "lambda_and_other_children": peak.localstack_children_mb,
                                      "catcher": peak.catcher_mb, "processes": peak.processes},
            "peak_pss_mb": sampler.peak_pss_mb,
            "idle_rss_mb": idle.total_mb,
            "rss_mb_per_workflow": round(max(0.0, peak.total_mb - idle.total_mb) / n, 2),
            "cpu_s": sampler.cpu_s,
            "cpu_breakdown_s": sampler.cpu_breakdown_s(),
            "cpu_ms_per_workflow": round(sampler.cpu_s * 1000 / n),
            "rss_samples": sampler.samples,
        })
    figures["notes"] = result.notes
    point = {key: figures.get(key) for key in CURVE_KEYS}
    curve.append({**point, "emails_at_s": result.emails_at_s, "succeeded_at_s": result.succeeded_at_s})
    return {f"load_{n}_{key}": value for key, value in figures.items() if key != "n"}


CURVE_KEYS = ("n", "all_emails_s", "all_succeeded_s", "lost", "duplicated", "failed", "peak_rss_mb", "peak_pss_mb",
              "idle_rss_mb", "rss_mb_per_workflow", "cpu_ms_per_workflow", "harness_cpu_s")
# The figures issue 6 named without N are those of N=100 (of the largest N when 100 was not run).
UNKEYED = {"all_emails_s": "load_all_emails_s", "all_succeeded_s": "load_all_succeeded_s", "lost": "load_lost",
           "duplicated": "load_duplicated", "failed": "load_failed", "trigger_s": "load_trigger_s",
           "approve_statuses": "load_approve_statuses", "notes": "load_notes", "peak_rss_mb": "peak_rss_mb",
           "peak_rss_breakdown_mb": "peak_rss_breakdown_mb", "peak_pss_mb": "peak_pss_mb",
           "idle_rss_mb": "idle_rss_mb", "rss_samples": "rss_samples"}


def unkeyed_load_figures(result: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
    done = [n for n in sizes if f"load_{n}_lost" in result]
    if not done:
        return {}
    n = 100 if 100 in done else max(done)
    return {"load_n": n, **{plain: result[f"load_{n}_{key}"] for key, plain in UNKEYED.items()
                            if f"load_{n}_{key}" in result}}
