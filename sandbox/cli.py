"""`sandbox`: start, stop and drive Callback Sandbox.

Every failure a user can cause or meet (a port in use, LocalStack not running, a bad payload) ends in one clear
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import sys
import webbrowser
from collections.abc import Callable, Sequence

from sandbox import commands, docker_mode, lifecycle
from sandbox.config import PRIVATE_UMASK, Settings
from sandbox.services import ServiceError, local_services, url_ready
from sandbox.terminal import say, table

MODES = lifecycle.MODES

# At exit, Python's cycle collector walks everything still alive while it tears the modules down: after `up`'s
# deploy (boto3's clients and service models) that took 0.3-0.7 s, spent after the last line was printed. Frozen
# objects are left out of that walk; the process is ending, so nothing is lost by not collecting them.
atexit.register(gc.freeze)


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


def _say(message: str) -> None:
    say(message)


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    mode = lifecycle.choose(args.mode, settings)
    if args.no_deploy and mode == "docker":
        raise UserError("--no-deploy (PIPELINE=none) works in local mode only: docker mode's bootstrap service "
                        "always deploys the demo (use MODE=local, or NAME_PREFIX to keep its names apart)")
    lifecycle.up(settings, mode, deploy=not args.no_deploy)
    _print_endpoints(settings, mode)
    return 0


def cmd_down(args: argparse.Namespace, settings: Settings) -> int:
    mode = lifecycle.running_mode(settings) if args.mode == "auto" else lifecycle.choose(args.mode, settings)
    stopped = lifecycle.down(settings, mode)
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
    return lifecycle.status(settings)


def cmd_logs(args: argparse.Namespace, settings: Settings) -> int:
    if lifecycle.running_mode(settings) == "docker":
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
    p = add("up", cmd_up, "start the services and deploy the pipeline: ports checked first, a second run changes "
            "nothing, what a crash or rebuild lost is said")
    p.add_argument("--mode", choices=MODES, default=mode_default, help="where services run (default: %(default)s)")
    p.add_argument("--no-deploy", action="store_true",
                   help="start the services only, without the demo pipeline (room for your own stack; "
                        "make up PIPELINE=none)")
    p = add("down", cmd_down, "stop everything `up` started, saying what that drops (safe to run twice)")
    p.add_argument("--mode", choices=MODES, default=mode_default, help="default: the mode that is running")
    add("status", cmd_status, "show what runs where, its health, and what LocalStack has deployed and running now; "
        "exit 3 when unhealthy")
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
    os.umask(PRIVATE_UMASK)  # everything the CLI writes under the sandbox home is its owner's alone
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

