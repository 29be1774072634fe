"""`make bench`: how fast the sandbox is, where the time goes, and the catcher beside MailDev.

Runs against the sandbox that `make up` started (ports and folders from the same environment variables), in this
order: restart it and time `up` (so the next run is truly cold), one cold approval, one warm-up, R sequential
approvals, N concurrent approvals at each load size (10, 100, 1,000) while sampling memory and CPU, cold and warm
invokes of Node.js functions beside Python's, then the SMTP ingest of our catcher and of MailDev, the catcher's
search latency with a large store and the Workflows list over many executions.
Prints a table and writes <SANDBOX_HOME>/bench.json and bench.png (the latency stages and the load's growth curve).
Every wait has a deadline: a phase that cannot reach its goal reports what it reached and the bench goes on.

Environment: BENCH_QUICK=1 (a harness smoke run: 3 runs, N=10, 200 messages), BENCH_RUNS, BENCH_N (load sizes,
comma-separated; default 10,100,1000), BENCH_INGEST_MESSAGES, BENCH_INGEST_CONNECTIONS, BENCH_SKIP_UP=1 (keep the
running sandbox, no up_ready_s), BENCH_LAMBDA_COLD (cold invokes per function), BENCH_CONSOLE_EXECUTIONS (the
console figure's executions, default 1000 over 5 machines), BENCH_SEARCH_MESSAGES (default 100,000; 10,000 quick),
BENCH_ONLY=latency,load,lambda,ingest,search,console (a subset of the phases, for profiling one of them; ingest and
search need no running sandbox).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import console, ingest, lambda_runtimes, search
from bench.latency import STAGES, latency
from bench.memory import pid_from_file
from bench.pipeline import Pipeline, Run, not_running_reason
from bench.plot import plot
from bench.report import print_table
from bench.scale import load_and_memory, unkeyed_load_figures
from bench.startup import effective_settings, restart_timed
from sandbox.config import Settings
from sandbox.services import url_ready

DEFAULT_LOAD_SIZES = (10, 100, 1000)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"bench: {name} must be a whole number, not {raw!r}") from None


def _load_sizes(quick: bool) -> list[int]:
    raw = os.environ.get("BENCH_N", "").strip()
    if not raw:
        return [DEFAULT_LOAD_SIZES[0]] if quick else list(DEFAULT_LOAD_SIZES)
    try:
        sizes = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"bench: BENCH_N must be whole numbers separated by commas, not {raw!r}") from None
    if not sizes or min(sizes) < 1:
        raise SystemExit(f"bench: BENCH_N must name load sizes of 1 or more, not {raw!r}")
    return sizes


def plan() -> dict[str, Any]:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    return {
        "quick": quick,
        "runs": _env_int("BENCH_RUNS", 3 if quick else 20),
        "load_sizes": _load_sizes(quick),
        "ingest_messages": _env_int("BENCH_INGEST_MESSAGES", 200 if quick else 2000),
        "ingest_connections": _env_int("BENCH_INGEST_CONNECTIONS", 4),
        "lambda_colds": _env_int("BENCH_LAMBDA_COLD", 2 if quick else 7),
        "search_messages": _env_int("BENCH_SEARCH_MESSAGES", 10_000 if quick else 100_000),
        "skip_up": os.environ.get("BENCH_SKIP_UP", "") not in ("", "0"),
        "only": {p.strip() for p in os.environ.get("BENCH_ONLY", "").split(",") if p.strip()},
        "console_executions": _env_int("BENCH_CONSOLE_EXECUTIONS", 100 if quick else 1000),
    }


def _load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main() -> int:
    settings = Settings()
    config = plan()
    # The ingest comparison starts its own catcher and MailDev; everything else needs the sandbox.
    reason = None if config["only"] and config["only"] <= {"ingest", "search"} else not_running_reason(settings)
    if reason:
        print(f"bench: the sandbox is not running ({reason}); start it with `make up`", file=sys.stderr)
        return 2
    began = time.monotonic()
    result: dict[str, Any] = {"quick": config["quick"], "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    errors: list[str] = []
    machine_load: list[dict[str, Any]] = []  # the 1/5/15-minute load averages around each phase
    result["machine_load"] = machine_load

    def say(message: str) -> None:
        print(message, flush=True)

    def phase(title: str, action: Callable[[], dict[str, Any]]) -> bool:
        say(f"{title} …  (load average {' '.join(map(str, _load_average()))})")
        started = time.monotonic()
        load_before = _load_average()
        try:
            result.update(action())
        except Exception as error:  # noqa: BLE001 - one phase failing must not cost the others their figures
            errors.append(f"{title}: {type(error).__name__}: {error}")
            say(f"  failed: {type(error).__name__}: {error}")
            return False
        finally:
            machine_load.append({"phase": title, "seconds": round(time.monotonic() - started, 1),
                                 "load_average_before": load_before, "load_average_after": _load_average()})
        say(f"  done in {time.monotonic() - started:.1f} s")
        return True

    if config["skip_up"] or config["only"]:
        say("Start-up not measured (BENCH_SKIP_UP or BENCH_ONLY): the first run is only as cold as the sandbox is.")
    elif not phase("Restarting the sandbox (down, then a timed up)", lambda: restart_timed(settings)):
        return _finish(result, errors, settings, began, [], config)

    def wanted(name: str) -> bool:
        return not config["only"] or name in config["only"]

    localstack_pid = pid_from_file(settings.home / "localstack.pid")
    result["settings"] = effective_settings(settings, localstack_pid)
    measured: list[Run] = []
    # After the restart: its deploy writes a new outputs.json. Not needed for the ingest comparison alone.
    pipeline = Pipeline(settings) if wanted("latency") or wanted("load") else None

    def do_latency() -> dict[str, Any]:
        assert pipeline is not None
        figures, runs = latency(pipeline, config["runs"], say)
        measured.extend(runs)
        return figures

    if wanted("latency"):
        phase(f"One cold approval, one warm-up, then {config['runs']} sequential approvals", do_latency)
    if wanted("load"):
        assert pipeline is not None
        curve: list[dict[str, Any]] = []
        result["load_curve"] = curve
        for n in config["load_sizes"]:
            phase(f"{n:,} concurrent workflows, memory and CPU sampled",
                  functools.partial(load_and_memory, pipeline, settings, n, curve))
    if wanted("lambda"):
        phase("Cold and warm invokes, Node.js beside Python",
              lambda: lambda_runtimes.compare(settings, config["lambda_colds"], 10, say))
    if wanted("ingest"):
        phase(f"Catcher vs MailDev ingest ({config['ingest_messages']} messages, "
              f"{config['ingest_connections']} connections)",
              lambda: ingest.compare(config["ingest_messages"], config["ingest_connections"]))
    if wanted("search"):
        phase(f"Catcher search with {config['search_messages']:,} stored messages",
              lambda: search.measure(config["search_messages"], say))
    if wanted("console"):  # last: it leaves its executions in LocalStack until the next restart
        phase(f"Workflows list over {config['console_executions']} executions on 5 machines",
              lambda: console.measure(settings, executions=config["console_executions"]))
    return _finish(result, errors, settings, began, measured, config)


def _finish(result: dict[str, Any], errors: list[str], settings: Settings, began: float, runs: list[Run],
            config: dict[str, Any]) -> int:
    result.setdefault("settings", effective_settings(settings, pid_from_file(settings.home / "localstack.pid")))
    result.update(unkeyed_load_figures(result, config["load_sizes"]))
    result["bench_seconds"] = round(time.monotonic() - began, 1)
    result["errors"] = errors
    if runs:
        result["samples_ms"] = {stage: [round(getattr(run, stage), 1) for run in runs] for stage in STAGES}
    if runs or result.get("load_curve"):
        result["plot"] = plot(runs, result.get("load_curve") or [], settings.home / "bench.png")
    settings.home.mkdir(parents=True, exist_ok=True)
    output = settings.home / "bench.json"
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_table(result)
    if "plot" in result:
        print(result["plot"])
    print(f"Results in {output} (bench took {result['bench_seconds']:.0f} s)")
    for error in errors:
        print(f"bench: error: {error}", file=sys.stderr)
    if not url_ready(f"{settings.localstack_url}/_localstack/health"):
        print("bench: note: LocalStack no longer answers", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

