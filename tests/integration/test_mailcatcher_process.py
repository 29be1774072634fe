"""The catcher as a process: CLI, environment variables, restart, retention, and load from concurrent clients."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from mailcatcher_support import REPO_ROOT, message, unique


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mailcatcher", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
    )


def test_help_documents_flags_and_environment():
    result = _cli("--help")
    assert result.returncode == 0
    for text in ["--smtp", "--http", "--db", "--max-size", "--max-messages", "MAILCATCHER_SMTP",
                 "MAILCATCHER_HTTP", "MAILCATCHER_DB", "127.0.0.1:1025", "127.0.0.1:8025", "26214400"]:
        assert text in result.stdout


def test_bad_arguments_are_reported_without_a_traceback():
    for args, env in [(["--smtp", "nonsense"], None), (["--max-size", "-5"], None),
                      ([], {"MAILCATCHER_MAX_MESSAGES": "lots"})]:
        result = _cli(*args, env=env)
        assert result.returncode == 2, result
        assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_port_in_use_is_a_clear_error(mailcatcher):
    result = _cli("--smtp", f"127.0.0.1:{mailcatcher.smtp_port}", "--http", "127.0.0.1:0", "--db", ":memory:")
    assert result.returncode == 1
    assert "cannot listen for SMTP" in result.stderr and "Traceback" not in result.stderr


def test_restart_keeps_messages(start_mailcatcher, tmp_path):
    db = tmp_path / "persist" / "mail.sqlite"
    first = start_mailcatcher(db=db)
    subjects = [unique("persist") for _ in range(3)]
    for subject in subjects:
        first.send(message(subject, "survives a restart"))
    assert first.stop() == 0  # SIGTERM is a clean shutdown

    second = start_mailcatcher(db=db)
    listed = [m["Subject"] for m in second.get("/api/v1/messages").json()["messages"]]
    assert listed == list(reversed(subjects))
    assert second.only(subjects[0])["Text"] == "survives a restart\n"
    # New IDs continue after the old ones.
    second.send(message("after restart"))
    assert int(second.get("/api/v1/message/latest").json()["ID"]) > max(
        int(m["ID"]) for m in second.search("persist")["messages"])


def test_retention_cap_prunes_the_oldest_configured_by_environment(start_mailcatcher):
    catcher = start_mailcatcher(env={"MAILCATCHER_MAX_MESSAGES": "3"})
    for i in range(5):
        catcher.send(message(f"retained {i}"))
    listing = catcher.get("/api/v1/messages").json()
    assert listing["total"] == 3
    assert [m["Subject"] for m in listing["messages"]] == ["retained 4", "retained 3", "retained 2"]


def test_500_messages_from_4_concurrent_clients_are_all_listed(start_mailcatcher):
    catcher = start_mailcatcher()
    tag = unique("load")
    per_client = 125
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            with catcher.smtp() as smtp:  # one connection per client, many messages on it
                for i in range(per_client):
                    smtp.send_message(message(f"{tag} c{number} m{i}", f"body {number}/{i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors

    found = catcher.search(tag, limit=1000)
    assert found["messages_count"] == 500
    expected = {f"{tag} c{n} m{i}" for n in range(4) for i in range(per_client)}
    assert {m["Subject"] for m in found["messages"]} == expected
    assert catcher.get("/api/v1/messages").json()["total"] == 500


def test_acknowledged_messages_survive_sigkill(start_mailcatcher, tmp_path):
    db = tmp_path / "killed" / "mail.sqlite"
    first = start_mailcatcher(db=db)
    subjects = [unique("ack") for _ in range(20)]
    with first.smtp() as client:
        for subject in subjects:
            client.send_message(message(subject))  # returns only after the server's 250
    first.process.kill()  # SIGKILL: no shutdown code runs
    first.process.wait(30)

    second = start_mailcatcher(db=db)
    assert {m["Subject"] for m in second.get("/api/v1/messages", params={"limit": 100}).json()["messages"]} == set(
        subjects)


def test_the_parser_process_ends_with_a_killed_catcher(start_mailcatcher):
    catcher = start_mailcatcher()
    with catcher.smtp() as client:
        client.send_message(message(unique("parsed")))  # the parser child is running once a message is stored
    pid = catcher.process.pid
    child_pids = []
    for thread in os.listdir(f"/proc/{pid}/task"):  # a child is listed under the thread that started it
        with open(f"/proc/{pid}/task/{thread}/children") as children:
            child_pids += [int(child) for child in children.read().split()]
    assert child_pids, "the catcher runs its parser in a child process"
    catcher.process.kill()  # SIGKILL: no shutdown code closes the pipe; the kernel does
    catcher.process.wait(30)
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") and "Z" not in _state(pid) for pid in child_pids):
        assert time.monotonic() < deadline, "the parser process outlived the catcher"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
