"""bench.png: the latency stages of the sequential approvals, and the load's growth curve.

Three panels: per-stage latency (box plots over the sequential runs); for each load size, the share of emails
caught and of executions SUCCEEDED over time (emails from the trigger, SUCCEEDED from the clicks); and the load's
totals against N (all emails, all SUCCEEDED, peak RSS), on log scales so that 10, 100 and 1,000 read alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.latency import STAGES
from bench.pipeline import Run


def plot(runs: list[Run], curve: list[dict[str, Any]], path: Path) -> str:
    if not runs and not curve:
        return "nothing to plot"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (make install puts it in .venv): no bench.png"
    figure = plt.figure(figsize=(12, 8.5))
    grid = figure.add_gridspec(2, 2, height_ratios=(1, 1.1))
    stages = figure.add_subplot(grid[0, :])
    if runs:
        stages.boxplot([[getattr(run, stage) for run in runs] for stage in STAGES], vert=False, whis=(0, 100))
        stages.set_yticks(range(1, len(STAGES) + 1), [s.removesuffix("_ms").replace("_", " ") for s in STAGES])
        stages.invert_yaxis()  # stages top to bottom in pipeline order
        stages.set_xlabel("milliseconds")
        stages.set_title(f"Per-stage latency over {len(runs)} sequential approvals")
    else:
        stages.set_axis_off()
        stages.set_title("latency phase not run")
    over_time = figure.add_subplot(grid[1, 0])
    totals = figure.add_subplot(grid[1, 1])
    if curve:
        _completion(over_time, curve)
        _totals(totals, curve)
    else:
        over_time.set_axis_off()
        totals.set_axis_off()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return f"plot written to {path}"


def _completion(axes: Any, curve: list[dict[str, Any]]) -> None:
    """Cumulative share of emails caught (solid, from the trigger) and SUCCEEDED (dashed, from the clicks)."""
    for index, point in enumerate(curve):
        color = f"C{index}"
        n = point["n"]
        for key, style, what in (("emails_at_s", "-", "emails"), ("succeeded_at_s", "--", "SUCCEEDED")):
            times = sorted(point.get(key) or [])
            if times:
                axes.step([0.0, *times], [0.0, *((i + 1) / n for i in range(len(times)))], where="post",
                          linestyle=style, color=color, label=f"N={n} {what}")
    axes.set_xlabel("seconds (emails: after the trigger; SUCCEEDED: after the clicks)")
    axes.set_ylabel("share of the N workflows")
    axes.set_ylim(0, 1.02)
    axes.set_title("Load: emails caught and executions SUCCEEDED over time")
    axes.legend(fontsize="small")
    axes.grid(alpha=0.3)


def _totals(axes: Any, curve: list[dict[str, Any]]) -> None:
    ns = [point["n"] for point in curve]
    for key, marker, label in (("all_emails_s", "o", "all emails caught"),
                               ("all_succeeded_s", "s", "all SUCCEEDED after the clicks")):
        pairs = [(point["n"], point[key]) for point in curve if point.get(key) is not None]
        if pairs:
            axes.plot(*zip(*pairs, strict=True), marker=marker, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(ns, [f"{n:,}" for n in ns])
    axes.set_xlabel("concurrent workflows N")
    axes.set_ylabel("seconds")
    axes.set_title("Load: totals and peak memory against N")
    axes.grid(alpha=0.3, which="both")
    memory = axes.twinx()
    pairs = [(point["n"], point["peak_rss_mb"]) for point in curve if point.get("peak_rss_mb") is not None]
    if pairs:
        memory.plot(*zip(*pairs, strict=True), marker="^", color="C3", linestyle=":", label="peak RSS (MB)")
        memory.set_ylabel("peak RSS, MB")
        memory.set_ylim(bottom=0)
    lines, labels = axes.get_legend_handles_labels()
    more_lines, more_labels = memory.get_legend_handles_labels()
    axes.legend(lines + more_lines, labels + more_labels, fontsize="small", loc="lower right")
