"""The bench's table: each figure, its goal and what it depends on; the load's growth curve as a table of its own."""

from __future__ import annotations

from typing import Any

from bench import lambda_runtimes

# (key, comparison, goal): issue 6's, tightened by issue 17; goals to steer by, never assertions.
TARGETS = {
    "up_ready_s": ("<=", 5),
    "trigger_to_email_ms": ("<=", 200),
    "approve_to_succeeded_ms": ("<=", 500),
    "load_all_emails_s": ("<=", 5),  # N = 100
    "load_all_succeeded_s": ("<=", 15),
    "load_lost": ("<=", 0),
    "peak_rss_mb": ("<=", 2560),
    "load_1000_all_emails_s": ("<=", 60),
    "load_1000_all_succeeded_s": ("<=", 60),
    "load_1000_lost": ("<=", 0),
    "load_1000_peak_rss_mb": ("<=", 2048),
    "catcher_vs_maildev": (">=", 1.5),
    "console_list_ms": ("<=", 1000),
    **{key: ("<=", 1.5) for key in ("node_vs_python_hello_cold", "node_vs_python_hello_warm",
                                    "node_vs_python_sdk_cold", "node_vs_python_sdk_warm")},
    "search_p50_ms": ("<=", 50),
}

def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value < 100 else f"{value:,.0f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _verdict(key: str, value: Any) -> str:
    if key not in TARGETS or value is None:
        return ""
    comparison, goal = TARGETS[key]
    met = value <= goal if comparison == "<=" else value >= goal
    return f"{comparison} {goal:g}  {'ok' if met else 'MISSED'}"


def print_table(result: dict[str, Any]) -> None:
    s = result["settings"]
    sqs = f"SQS poll {s['sqs_poll_interval_s']:g} s / backoff {s['sqs_max_backoff_on_empty_poll_s']:g} s"
    lam = f"executor {s['lambda_executor']}, keep-alive {s['lambda_keepalive_ms']} ms"
    rows: list[tuple[str, str, str, str]] = []

    def row(key: str, label: str, unit: str = "", depends: str = "") -> None:
        if key in result:
            value = result[key]
            rows.append((label, f"{_fmt(value)} {unit}".strip(), _verdict(key, value), depends))

    row("up_ready_s", "up (down, then up until deployed and healthy)", "s", result.get("up_mode", ""))
    for stage, label in (("trigger_to_started_ms", "trigger → execution started"),
                         ("started_to_queued_ms", "started → task token on SQS"),
                         ("queued_to_email_ms", "on SQS → email caught"),
                         ("started_to_email_ms", "started → email caught"),
                         ("trigger_to_email_ms", "trigger → email caught"),
                         ("approve_post_ms", "approve POST answered"),
                         ("approve_to_succeeded_ms", "approve → SUCCEEDED")):
        if stage in result:
            rows.append((f"{label} (p50 / p95)", f"{result[stage]} / {result[stage + '_p95']} ms",
                         _verdict(stage, result[stage]), sqs if "email" in stage else lam))
    row("cold_trigger_to_email_ms", "cold: trigger → email caught", "ms", lam)
    row("cold_approve_to_succeeded_ms", "cold: approve → SUCCEEDED", "ms", lam)
    n = result.get("load_n")
    row("load_all_emails_s", f"load N={n}: all emails caught", "s", sqs)
    row("load_all_succeeded_s", f"load N={n}: all SUCCEEDED after the clicks", "s", lam)
    row("load_lost", f"load N={n}: lost")
    row("peak_rss_mb", f"load N={n}: peak RSS", "MB", "LocalStack group + catcher")
    row("peak_rss_breakdown_mb", "  of which (MB)")
    row("load_1000_all_emails_s", "load N=1000: all emails caught", "s", sqs)
    row("load_1000_all_succeeded_s", "load N=1000: all SUCCEEDED after the clicks", "s", lam)
    row("load_1000_lost", "load N=1000: lost")
    row("load_1000_peak_rss_mb", "load N=1000: peak RSS", "MB", "LocalStack group + catcher")
    row("catcher_msgs_per_s", "catcher ingest", "msg/s",
        f"{result.get('ingest_messages')} msgs / {result.get('ingest_connections')} connections")
    row("maildev_msgs_per_s", "MailDev ingest", "msg/s", result.get("maildev_setting", ""))
    row("catcher_vs_maildev", "catcher ÷ MailDev", "×")
    row("console_list_ms", "Workflows list, warm (p50)", "ms",
        f"{result.get('console_executions')} executions / {result.get('console_machines')} machines")
    row("console_list_cold_ms", "Workflows list, first read", "ms")
    row("console_search_ms", "Workflows search over inputs (p50)", "ms")
    row("console_streams_closed", "live updates after 10 pages closed")
    row("console_polls_while_closed", "polls while no page is open")
    for key, label, unit, depends in lambda_runtimes.table_rows(result):
        row(key, label, unit, depends)
    row("catcher_cpu_ms_per_msg", "catcher CPU per message", "ms", "server process, while ingesting")
    row("maildev_cpu_ms_per_msg", "MailDev CPU per message", "ms", "server process and its children")
    row("search_p50_ms", "catcher search p50", "ms", f"{result.get('search_messages')} messages, HTTP")
    row("search_p95_ms", "catcher search p95", "ms")
    headers = ("figure", "value", "target", "depends on")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print_curve(result.get("load_curve") or [])
    print(f"\nLocalStack {s['localstack_version']}, Python {s['python']}, {s['cpu_count']} CPUs, {s['machine']}")


CURVE_COLUMNS = (("n", "N"), ("all_emails_s", "all emails s"), ("all_succeeded_s", "all SUCCEEDED s"),
                 ("lost", "lost"), ("duplicated", "dup"), ("failed", "failed"), ("peak_rss_mb", "peak RSS MB"),
                 ("peak_pss_mb", "peak PSS MB"), ("rss_mb_per_workflow", "MB/workflow"),
                 ("cpu_ms_per_workflow", "CPU ms/workflow"), ("harness_cpu_s", "harness CPU s"))


def print_curve(curve: list[dict[str, Any]]) -> None:
    """The load at each size, one row per N."""
    if not curve:
        return
    rows = [[_fmt(point.get(key)) for key, _ in CURVE_COLUMNS] for point in curve]
    headers = [label for _, label in CURVE_COLUMNS]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("\nThe load at each size (memory: the whole sandbox; CPU: all its processes, per workflow)")
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
