"""`sandbox`: start, stop and drive Callback Sandbox.

Every failure a user can cause or meet (a port in use, LocalStack not running, a bad payload) ends in one clear
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path

from sandbox import commands, docker_mode
from sandbox.config import Settings
from sandbox.services import ServiceError, local_services, url_ready
from sandbox.terminal import say, table

MODES = ("local", "docker", "auto")


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


def _say(message: str) -> None:
    say(message)


def _step(label: str) -> Callable[[], None]:
    started = time.monotonic()
    print(f"  {label} …", end="", flush=True)

    def done() -> None:
        print(f" ok ({time.monotonic() - started:.1f} s)", flush=True)

    return done


def resolve_mode(requested: str, settings: Settings) -> str:
    """auto: the mode already running, else docker when an engine answers, else local."""
    if requested not in MODES:
        raise UserError(f"MODE must be one of {', '.join(MODES)}, not {requested!r}")
    if requested != "auto":
        return requested
    recorded = _recorded_mode(settings)
    if recorded:
        return recorded
    return "docker" if docker_mode.engine_available() else "local"


def _mode_file(settings: Settings) -> Path:
    return settings.home / "mode"


def _recorded_mode(settings: Settings) -> str | None:
    try:
        mode = _mode_file(settings).read_text().strip()
    except OSError:
        return None
    return mode if mode in ("local", "docker") else None


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    mode = resolve_mode(args.mode, settings)
    if args.no_deploy and mode == "docker":
        raise UserError("--no-deploy (PIPELINE=none) works in local mode only: docker mode's bootstrap service "
                        "always deploys the demo (use MODE=local, or NAME_PREFIX to keep its names apart)")
    recorded = _recorded_mode(settings)
    if recorded and recorded != mode and _anything_running(recorded, settings):
        raise UserError(f"the sandbox is running in {recorded} mode; run `make down` first")
    settings.home.mkdir(parents=True, exist_ok=True)
    _mode_file(settings).write_text(mode + "\n")
    started = time.monotonic()
    _say(f"Starting Callback Sandbox ({mode} mode)")
    if mode == "docker":
        docker_mode.up(settings, progress=_step)
    else:
        for service in local_services(settings):
            already = service.pid()
            done = _step(f"{service.spec.name} (already running, pid {already})" if already else service.spec.name)
            service.start()
            service.wait_ready(timeout=90)
            done()
        if not args.no_deploy:
            done = _step("deploying the pipeline")
            from bootstrap import deploy

            deploy(settings)
            done()
    _say(f"Ready in {time.monotonic() - started:.1f} s")
    _print_endpoints(settings, mode)
    return 0


def _anything_running(mode: str, settings: Settings) -> bool:
    if mode == "docker":
        return docker_mode.running(settings)
    return any(service.pid() is not None for service in local_services(settings))


def cmd_down(args: argparse.Namespace, settings: Settings) -> int:
    mode = _recorded_mode(settings) if args.mode == "auto" else resolve_mode(args.mode, settings)
    stopped = False
    if mode == "docker":
        stopped = docker_mode.down(settings)
    else:
        # Stop in reverse start order so LocalStack's relay does not spend its retries on a vanished catcher.
        for service in reversed(local_services(settings)):
            done = _step(f"stopping {service.spec.name}")
            if service.stop():
                stopped = True
                done()
            else:
                print(" not running", flush=True)
    _mode_file(settings).unlink(missing_ok=True)
    _say("Stopped." if stopped else "Nothing was running.")
    for line in RESTART_NOTE:
        _say(line)
    return 0


# Community LocalStack has no persistence: say exactly what a restart loses and what it keeps.
RESTART_NOTE = (
    "Note: community LocalStack keeps no state across restarts. Lost on `make down`:",
    "  - executions and their waiting approvals: Approve/Reject links in earlier emails stop working",
    "  - SQS messages, the decision records in S3, Lambda logs in CloudWatch",
    "  - mail LocalStack had not yet relayed to the catcher",
    "Kept: the caught mail (the catcher's SQLite store). `make up` deploys the pipeline again.",
)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    mode = _recorded_mode(settings)
    if mode == "docker":
        return docker_mode.status(settings)
    rows = []
    healthy = True
    for service in local_services(settings):
        pid = service.pid()
        ready = service.ready() if pid else False
        healthy &= ready
        state = "ready" if ready else ("starting or unhealthy" if pid else "stopped")
        rows.append((service.spec.name, state, str(pid or "-"), service.spec.ready_url, str(service.log_path)))
    _table(("service", "state", "pid", "health URL", "log"), rows)
    if settings.outputs_path.exists():
        outputs = json.loads(settings.outputs_path.read_text())
        _say(f"pipeline: deployed (outputs in {settings.outputs_path})")
        _say(f"  state machine: {outputs.get('state_machine_arn', '?')}")
        _say(f"  approval API:  {outputs.get('api_url', '?')}")
    else:
        _say("pipeline: not deployed")
    return 0 if healthy else 3


def cmd_logs(args: argparse.Namespace, settings: Settings) -> int:
    if _recorded_mode(settings) == "docker":
        return docker_mode.logs(settings, follow=args.follow)
    services = [s for s in local_services(settings) if args.service in (None, s.spec.name)]
    if not services:
        raise UserError(f"unknown service {args.service!r}; choose localstack or mailcatcher")
    for service in services:
        _say(f"==> {service.log_path} <==")
        _say(service.log_tail(args.lines))
    return 0


def cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    import bootstrap

    if args.target == "aws":
        from bootstrap import aws

        return aws.deploy(settings, dry_run=args.dry_run, say=_say)
    if args.dry_run:
        changes = bootstrap.plan(settings)
        for change in changes:
            _say(str(change))
        _say(f"{len(changes)} change(s) would be made." if changes else "Up to date: deploy would change nothing.")
        return 0
    _require_localstack(settings)
    outputs = bootstrap.deploy(settings)
    _say(f"Deployed. Outputs written to {settings.outputs_path}")
    _say(json.dumps(outputs, indent=2))
    return 0


def cmd_destroy(args: argparse.Namespace, settings: Settings) -> int:
    import bootstrap

    if args.target == "aws":
        from bootstrap import aws

        return aws.destroy(settings, dry_run=args.dry_run, say=_say)
    _require_localstack(settings)
    removed = bootstrap.destroy(settings, dry_run=args.dry_run, report=None if args.dry_run else
                                lambda change: _say(str(change)))
    if args.dry_run:
        _say("\n".join(f"would {c}" for c in removed) if removed else "Nothing to destroy.")
    else:
        _say("Pipeline removed." if removed else "Nothing to destroy.")
    return 0


def cmd_open(args: argparse.Namespace, settings: Settings) -> int:
    mail, workflows = f"{settings.mail_url}/", f"{settings.mail_url}/workflows"
    _say(f"Mail:      {mail}")
    _say(f"Workflows: {workflows}")
    if args.browser:
        webbrowser.open(workflows)
    return 0


def _require_localstack(settings: Settings) -> None:
    if not url_ready(f"{settings.localstack_url}/_localstack/health"):
        raise UserError(f"LocalStack does not answer at {settings.localstack_url}; run `make up` first")


def _print_endpoints(settings: Settings, mode: str) -> None:
    _table(
        ("what", "where"),
        [
            ("LocalStack (AWS APIs)", settings.localstack_url),
            ("Mail catcher UI + API", f"{settings.mail_url}/"),
            ("Workflows page", f"{settings.mail_url}/workflows"),
            ("SMTP", f"{settings.bind_host}:{settings.smtp_port}"),
            ("Outputs", str(settings.outputs_path)),
            ("Logs", "make logs" if mode == "docker" else str(settings.home / "*.log")),
        ],
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table(headers, rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sandbox",
        description="Callback Sandbox: the Step Functions wait-for-callback approval pattern, offline.",
        epilog="Ports and folders come from environment variables (LOCALSTACK_PORT, SMTP_PORT, MAILCATCHER_PORT, "
        "SANDBOX_HOME, SANDBOX_BIND); see the README.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace, Settings], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    mode_default = os.environ.get("MODE", "auto")
    p = add("up", cmd_up, "start the services and deploy the pipeline (idempotent)")
    p.add_argument("--mode", choices=MODES, default=mode_default, help="where services run (default: %(default)s)")
    p.add_argument("--no-deploy", action="store_true",
                   help="start the services only, without the demo pipeline (room for your own stack; "
                        "make up PIPELINE=none)")
    p = add("down", cmd_down, "stop everything `up` started (safe to run twice)")
    p.add_argument("--mode", choices=MODES, default=mode_default, help="default: the mode that is running")
    add("status", cmd_status, "show what runs where; exit 3 when a service is unhealthy")
    p = add("logs", cmd_logs, "show the end of the service logs")
    p.add_argument("service", nargs="?", help="localstack or mailcatcher (default: both)")
    p.add_argument("-n", "--lines", type=int, default=40, help="lines per log (default: %(default)s)")
    p.add_argument("-f", "--follow", action="store_true", help="docker mode: follow the logs")
    targets = ("localstack", "aws")
    p = add("deploy", cmd_deploy, "create or update the pipeline: in LocalStack (idempotent), or on AWS as a "
            "CloudFormation stack (--target aws; credentials and region from AWS_PROFILE, AWS_REGION, ...)")
    p.add_argument("--target", choices=targets, default="localstack", help="default: %(default)s")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would change (on AWS: the change set), create nothing")
    p = add("destroy", cmd_destroy, "remove everything the pipeline made (in LocalStack, or --target aws)")
    p.add_argument("--target", choices=targets, default="localstack", help="default: %(default)s")
    p.add_argument("--dry-run", action="store_true", help="print what would be removed, remove nothing")
    commands.register(add)
    p = add("open", cmd_open, "print the web UI URLs (mail and workflows)")
    p.add_argument("--browser", action="store_true", help="also open the Workflows page in the default browser")
    return parser


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message is written for the user; imported lazily to keep `sandbox --help` fast."""
    from bootstrap.config import ConfigError
    from sandbox.workflow import WorkflowError

    return (UserError, ServiceError, ConfigError, WorkflowError, *commands.user_errors())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    try:
        return args.handler(args, settings)
    except _user_errors() as error:
        print(f"sandbox: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sandbox: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - last line of defence: one line, not a traceback
        name = type(error).__name__
        hint = _hint_for(error)
        print(f"sandbox: error: {name}: {error}{hint}", file=sys.stderr)
        if os.environ.get("SANDBOX_DEBUG"):
            raise
        return 1


def _hint_for(error: Exception) -> str:
    text = str(error)
    if "Could not connect" in text or "Connection refused" in text:
        return " (is the sandbox running? `make up`)"
    return " (set SANDBOX_DEBUG=1 for details)"


if __name__ == "__main__":
    sys.exit(main())

