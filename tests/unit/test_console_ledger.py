"""The console's ledger: activity tokens and heartbeats shared by page and CLI through a 0600 file, bounded, and
kept in memory where the sandbox home is read-only (docker mode's web UI)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta

from sandbox.console.ledger import LIMIT, Ledger


def test_page_and_cli_share_what_they_learn_through_a_private_file(tmp_path):
    now = datetime.now(UTC)
    Ledger(tmp_path).took_activity("sandbox-console-1", "token-1", "arn:activity")
    Ledger(tmp_path).heartbeat_sent("token-1", now)
    other = Ledger(tmp_path)
    assert other.activity_token("sandbox-console-1") == "token-1"
    assert other.last_heartbeat("token-1") == now
    assert other.last_heartbeat("token-2") is None
    assert stat.S_IMODE(os.stat(tmp_path / "console.json").st_mode) == 0o600
    assert "token-1" not in (tmp_path / "console.json").read_text().split('"heartbeats"')[1]  # hashed there


def test_old_and_surplus_entries_go(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.heartbeat_sent("old", datetime.now(UTC) - timedelta(days=2))
    for index in range(LIMIT + 5):
        ledger.heartbeat_sent(f"t{index}", datetime.now(UTC))
    assert ledger.last_heartbeat("old") is None
    assert ledger.last_heartbeat("t0") is None and ledger.last_heartbeat(f"t{LIMIT + 4}") is not None


def test_a_read_only_home_keeps_the_ledger_in_memory(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    try:
        ledger = Ledger(home)
        if os.access(home, os.W_OK):  # root ignores the mode; make the file path unwritable instead
            ledger.path = home / "missing-dir" / "sub" / "console.json"
            (home / "missing-dir").write_text("a file, not a directory")
        ledger.took_activity("w", "tok", "arn")
        assert ledger.activity_token("w") == "tok"
        assert not ledger.path.exists()
    finally:
        home.chmod(0o700)
