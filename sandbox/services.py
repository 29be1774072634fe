"""Local mode: LocalStack and the mail catcher as supervised host processes.

Each service is a process in its own session (so stopping it takes its Lambda processes with it), with a pid
file and a log under the sandbox home. The CLI and the test fixtures both use this module, so the tests start
the sandbox exactly the way `make up` does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox.config import AWS_SERVICES, PRIVATE_UMASK, Settings, ensure_private_dir


class ServiceError(RuntimeError):
    """A service could not be started or stopped; the message is meant for the user."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: list[str]
    env: Mapping[str, str]
    ready_url: str


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own exited child) still answers kill(0); it is not running.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def process_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def url_ready(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URL we built
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_url(url: str, what: str, timeout: float, hint: str = "") -> None:
    """Wait until `url` answers 2xx; ServiceError naming `what` (and a hint) when it does not in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if url_ready(url):
            return
        time.sleep(0.1)
    raise ServiceError(f"{what} was not healthy at {url} after {timeout:.0f} s{hint}")


class ManagedProcess:
    """One background service: pid file, log file, start, readiness wait, stop."""

    def __init__(self, spec: ServiceSpec, home: Path):
        self.spec = spec
        self.home = home
        self.pid_path = home / f"{spec.name}.pid"
        self.log_path = home / f"{spec.name}.log"

    def pid(self) -> int | None:
        """The pid of the running service, or None; a stale pid file (killed service, reused pid) is removed."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        marker = self.spec.argv[-1] if self.spec.argv else ""
        if process_alive(pid) and self._looks_like_ours(pid, marker):
            return pid
        self.pid_path.unlink(missing_ok=True)
        return None

    def _looks_like_ours(self, pid: int, marker: str) -> bool:
        cmdline = process_cmdline(pid)
        # Without /proc we cannot tell; trust the pid file rather than start a second copy.
        return not cmdline or marker in cmdline or self.spec.argv[0] in cmdline

    def start(self) -> int:
        existing = self.pid()
        if existing is not None:
            return existing
        ensure_private_dir(self.home)
        with _private_file(self.log_path, os.O_APPEND) as log:
            log.write(f"\n--- starting {self.spec.name} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            log.flush()
            process = subprocess.Popen(
                self.spec.argv,
                env=dict(self.spec.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
                umask=PRIVATE_UMASK,  # what the service writes (LocalStack's files, the mail store) is 0600
            )
        with _private_file(self.pid_path, os.O_TRUNC) as pid_file:
            pid_file.write(f"{process.pid}\n".encode())
        self._popen = process  # keeps the child reaped when we started it ourselves
        return process.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if url_ready(self.spec.ready_url):
                return
            popen = getattr(self, "_popen", None)
            if popen is not None and popen.poll() is not None:
                raise ServiceError(
                    f"{self.spec.name} exited with code {popen.returncode} while starting; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            if popen is None and self.pid() is None:
                raise ServiceError(f"{self.spec.name} is not running; see {self.log_path}")
            # `make up` deploys the moment LocalStack answers; a refused poll costs ~0.4 ms of CPU.
            time.sleep(0.02)
        raise ServiceError(
            f"{self.spec.name} was not ready at {self.spec.ready_url} after {timeout:.0f} s; see {self.log_path}"
        )

    def ready(self) -> bool:
        return url_ready(self.spec.ready_url)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the service and every process of its session. Returns False when nothing ran."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._group_alive(pid):
            self._reap()
            time.sleep(0.05)
        if self._group_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            for _ in range(100):
                self._reap()
                if not self._group_alive(pid):
                    break
                time.sleep(0.05)
        self._reap()
        self.pid_path.unlink(missing_ok=True)
        return True

    def _reap(self) -> None:
        popen = getattr(self, "_popen", None)
        if popen is not None:
            popen.poll()

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        return bool(process_group_members(pgid))

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _private_file(path: Path, mode_flag: int):
    """Open for writing, mode 0600 (also when an older version left the file readable to others)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | mode_flag, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def process_group_members(pgid: int) -> set[int]:
    """Pids of the live (non-zombie) processes in a process group, read from /proc."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.add(int(entry.name))
    return members


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    return {k: os.environ[k] for k in keep if k in os.environ}


# LocalStack and relay settings a user may tune; passed through when set, LocalStack's defaults otherwise.
LOCALSTACK_PASSTHROUGH = (
    "LAMBDA_KEEPALIVE_MS",
    "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT",
    "SMTP_RELAY_RETRY_SECONDS",
    "SANDBOX_LAMBDA_MAX_ENVIRONMENTS",
    "SANDBOX_NODE",
    "SNS_SES_SENDER_ADDRESS",
    "SANDBOX_SNS_EMAIL_CONFIRMATION",
    "SANDBOX_ALLOWED_HOSTS",
    "LS_LOG",
    "DEBUG",
)


EAGER_SERVICES = {"EAGER_SERVICE_LOADING": "1", "SERVICES": ",".join(AWS_SERVICES), "STRICT_SERVICE_LOADING": "0"}

# LocalStack's calls to itself (Step Functions -> Lambda and SQS, EventBridge -> Step Functions, the SQS event
# source's receives and deletes) go straight to its request handlers instead of over HTTP through its own server.
# Over HTTP, each was a full client and server round trip on the one core LocalStack has, and with a few hundred
# open at once (N = 1,000 concurrent workflows) the server closed some of them: Step Functions then failed the
# execution with error "Exception", which no Retry on Lambda.* errors matches (docs/benchmark.md).
IN_MEMORY_INTERNAL_CALLS = {"IN_MEMORY_CLIENT": "1"}


def localstack_env(settings: Settings) -> dict[str, str]:
    """LocalStack's settings for host mode, offline, isolated under the sandbox home."""
    return {
        **_base_env(),
        # This VM (and many CI runners) has /.dockerenv; without this LocalStack writes to /var/lib/localstack.
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(settings.home / "localstack"),
        # Analytics off; also keeps shutdown from hanging on the event publisher.
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DNS_ADDRESS": "0",
        "GATEWAY_LISTEN": f"{settings.bind_host}:{settings.localstack_port}",
        # LocalStack's own Twisted server ignores GATEWAY_LISTEN's IPv4 host and listens on 0.0.0.0.
        "GATEWAY_SERVER": "sandbox-twisted",
        "LOCALSTACK_HOST": f"localhost:{settings.localstack_port}",
        "LAMBDA_RUNTIME_EXECUTOR": settings.lambda_executor,
        "SMTP_HOST": settings.smtp_address,
        "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": settings.esm_poll_interval_s,
        "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": settings.esm_max_backoff_s,
        # SESv2 from the plugin (community LocalStack has none).
        "PROVIDER_OVERRIDE_SESV2": "sandbox",
        # Queue URLs as http://localhost:PORT/ACCOUNT/NAME: Python and Node SDKs cannot resolve sqs.*.localhost.
        "SQS_ENDPOINT_STRATEGY": "off",
        # The restart journal: what a crash or a restart loses, for `make up` and `make status` to tell.
        "SANDBOX_JOURNAL_DIR": str(settings.journal_dir),
        # The demo's services load as LocalStack starts (while the catcher starts and `up` loads the deployer),
        # not one by one on the deploy's first calls; any other service still loads on its first call.
        **EAGER_SERVICES,
        **IN_MEMORY_INTERNAL_CALLS,
        **{k: os.environ[k] for k in LOCALSTACK_PASSTHROUGH if k in os.environ},
    }


def localstack_spec(settings: Settings) -> ServiceSpec:
    return ServiceSpec(
        name="localstack",
        argv=[sys.executable, "-m", "localstack.runtime.main"],
        env=localstack_env(settings),
        ready_url=f"{settings.localstack_url}/_localstack/health",
    )


def webui_env(settings: Settings) -> dict[str, str]:
    """Where the Workflows page finds LocalStack and the deployment's outputs.json."""
    env = {
        "SANDBOX_HOME": str(settings.home),
        "LOCALSTACK_PORT": str(settings.localstack_port),
        "AWS_DEFAULT_REGION": settings.region,
    }
    for name in ("LOCALSTACK_ENDPOINT", "SANDBOX_PUBLIC_URL", "SANDBOX_WEBUI_POLL_SECONDS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def mailcatcher_spec(settings: Settings) -> ServiceSpec:
    """The sandbox's web UI: the mail catcher with the Workflows page mounted (`python -m sandbox.webui`)."""
    return ServiceSpec(
        name="mailcatcher",
        argv=[
            sys.executable, "-m", "sandbox.webui",
            "--smtp", f"{settings.bind_host}:{settings.smtp_port}",
            "--http", f"{settings.bind_host}:{settings.mail_http_port}",
            "--db", str(settings.home / "mail.sqlite"),
        ],
        env={**_base_env(), **webui_env(settings)},
        ready_url=f"{settings.mail_url}/readyz",
    )


def local_services(settings: Settings) -> list[ManagedProcess]:
    """The local-mode services in start order (the relay in LocalStack retries until the catcher answers)."""
    return [
        ManagedProcess(mailcatcher_spec(settings), settings.home),
        ManagedProcess(localstack_spec(settings), settings.home),
    ]
