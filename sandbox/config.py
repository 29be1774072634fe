"""Settings shared by the CLI, the service supervisor, the bootstrap and the tests.

Every value comes from an environment variable with a default, so that a user, CI and the test fixtures
can move ports and folders without editing code. The README lists the variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# LocalStack ignores credentials, but boto3 refuses to sign without some; these are its documented test keys.
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
# The AWS services the demo pipeline uses (the deployer makes a client for each; LocalStack loads them as it starts).
AWS_SERVICES = ("s3", "sqs", "sns", "iam", "logs", "lambda", "stepfunctions", "events", "apigateway", "sts")
# The sandbox home holds logs, mail with approval tokens and LocalStack's files: its owner's alone.
PRIVATE_UMASK = 0o077


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (mode 0700), or take group and other access away from one that exists and is ours."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        path.chmod(0o700)
    return path


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path(os.environ.get("SANDBOX_HOME", REPO_ROOT / ".sandbox")))
    bind_host: str = field(default_factory=lambda: os.environ.get("SANDBOX_BIND", "127.0.0.1"))
    localstack_port: int = field(default_factory=lambda: _env_int("LOCALSTACK_PORT", 4566))
    smtp_port: int = field(default_factory=lambda: _env_int("SMTP_PORT", 1025))
    mail_http_port: int = field(default_factory=lambda: _env_int("MAILCATCHER_PORT", 8025))
    region: str = field(default_factory=lambda: os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    # Tuned for latency: LocalStack's defaults (1 s interval, 10 s backoff) add up to seconds per email.
    esm_poll_interval_s: str = field(
        default_factory=lambda: os.environ.get("LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC", "0.1")
    )
    esm_max_backoff_s: str = field(
        default_factory=lambda: os.environ.get("LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC", "0.2")
    )
    lambda_executor: str = field(default_factory=lambda: os.environ.get("LAMBDA_RUNTIME_EXECUTOR", "local"))
    # The deployment this process drives (default: the demo's, $SANDBOX_HOME/outputs.json).
    outputs_file: Path | None = field(
        default_factory=lambda: Path(os.environ["SANDBOX_OUTPUTS"]) if os.environ.get("SANDBOX_OUTPUTS") else None)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def localstack_url(self) -> str:
        """Where this process reaches LocalStack (inside Docker: the service name)."""
        return os.environ.get("LOCALSTACK_ENDPOINT", "").rstrip("/") or f"http://localhost:{self.localstack_port}"

    @property
    def public_url(self) -> str:
        """Base URL a person's browser uses to reach LocalStack (links in mail); differs inside Docker."""
        return os.environ.get("SANDBOX_PUBLIC_URL", "").rstrip("/") or self.localstack_url

    @property
    def mail_url(self) -> str:
        return f"http://localhost:{self.mail_http_port}"

    @property
    def smtp_address(self) -> str:
        return f"127.0.0.1:{self.smtp_port}"

    @property
    def outputs_path(self) -> Path:
        return self.outputs_file or self.home / "outputs.json"

    @property
    def journal_dir(self) -> Path:
        """Where LocalStack's restart journal lives in local mode (the plugin's SANDBOX_JOURNAL_DIR)."""
        return self.home / "journal"


def aws_client_env(settings: Settings) -> dict[str, str]:
    """Environment that points any AWS SDK (boto3, the aws CLI) at the sandbox."""
    return {
        **TEST_CREDENTIALS,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_ENDPOINT_URL": settings.localstack_url,
    }
