"""Search, the long-poll wait call and the server-sent event stream, against the real catcher."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from mailcatcher_support import message, unique


def test_search_by_field_free_text_phrase_and_negation(mailcatcher):
    tag = unique("search")
    mailcatcher.send(message(f"Leave request {tag}", "Please approve my leave next week.",
                             sender="Alice Kim <alice@corp.example>", to="boss@corp.example"))
    mailcatcher.send(message(f"Expense report {tag}", "Receipts attached, leave them in the drawer.",
                             sender="bob@corp.example", to="finance@corp.example"))

    def subjects(query: str) -> set[str]:
        return {m["Subject"].split(" ", 2)[0] + " " + m["Subject"].split(" ", 2)[1]
                for m in mailcatcher.search(f"{query} {tag}")["messages"]}

    assert subjects("from:alice") == {"Leave request"}
    assert subjects('from:"Alice Kim"') == {"Leave request"}
    assert subjects("to:finance@corp.example") == {"Expense report"}
    assert subjects("subject:expense") == {"Expense report"}
    assert subjects("SUBJECT:EXPENSE") == {"Expense report"}  # case-insensitive
    assert subjects("leave") == {"Leave request", "Expense report"}  # free text: subject and body
    assert subjects('"approve my leave"') == {"Leave request"}
    assert subjects('"leave my approve"') == set()
    assert subjects("-from:alice") == {"Expense report"}
    assert subjects("drawer from:bob") == {"Expense report"}
    assert subjects("drawer from:alice") == set()


def test_sql_metacharacters_in_search_are_plain_text(mailcatcher):
    tag = unique("sqlmeta")
    mailcatcher.send(message(f"Discount 100% off_now {tag}", "it's \"quoted\" -- and; semi"))
    assert mailcatcher.search(f"100% {tag}")["messages_count"] == 1
    assert mailcatcher.search(f"off_now {tag}")["messages_count"] == 1
    # LIKE wildcards in the query must not act as wildcards.
    assert mailcatcher.search(f"Disc%off {tag}")["messages_count"] == 0
    assert mailcatcher.search(f"100_ {tag}")["messages_count"] == 0
    for hostile in ["'; DROP TABLE messages; --", "\\", "' OR '1'='1", "%", "_", "a' OR 1=1 --", "]]", "\\%"]:
        response = mailcatcher.get("/api/v1/search", params={"query": hostile})
        assert response.status_code == 200, (hostile, response.text)
    assert mailcatcher.search(tag)["messages_count"] == 1  # table still there


def test_wait_returns_a_message_that_arrives_while_waiting(mailcatcher):
    subject = unique("arrives-later")
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            mailcatcher.get, "/api/v1/wait", params={"query": f'subject:"{subject}"', "timeout": 60}, timeout=90
        )
        # No matching message exists yet, so the wait cannot have answered.
        assert not pending.done()
        mailcatcher.send(message(subject, "here it is"))
        response = pending.result()
    assert response.status_code == 200, response.text
    assert response.json()["Subject"] == subject
    assert response.json()["Text"] == "here it is\n"


def test_wait_returns_an_already_stored_message_at_once(mailcatcher):
    subject = unique("already-here")
    mailcatcher.send(message(subject))
    response = mailcatcher.get("/api/v1/wait", params={"query": subject, "timeout": 30})
    assert response.status_code == 200
    assert response.json()["Subject"] == subject


def test_wait_times_out_with_408(mailcatcher):
    response = mailcatcher.get("/api/v1/wait", params={"query": unique("never-sent"), "timeout": 0.3})
    assert response.status_code == 408
    assert "no matching message" in response.json()["Error"]


def test_wait_after_skips_older_messages(mailcatcher):
    tag = unique("after")
    mailcatcher.send(message(f"first {tag}"))
    first_id = mailcatcher.search(tag)["messages"][0]["ID"]

    early = mailcatcher.get("/api/v1/wait", params={"query": tag, "after": first_id, "timeout": 0.3})
    assert early.status_code == 408  # the only match is not newer than `after`

    mailcatcher.send(message(f"unrelated {unique('noise')}"))
    mailcatcher.send(message(f"second {tag}"))
    response = mailcatcher.get("/api/v1/wait", params={"query": tag, "after": first_id, "timeout": 30})
    assert response.status_code == 200
    assert response.json()["Subject"] == f"second {tag}"
    assert int(response.json()["ID"]) > int(first_id)


def test_wait_without_query_returns_the_next_message(mailcatcher):
    mailcatcher.send(message(unique("before")))
    latest = mailcatcher.get("/api/v1/message/latest").json()["ID"]
    subject = unique("any")
    mailcatcher.send(message(subject))
    response = mailcatcher.get("/api/v1/wait", params={"after": latest, "timeout": 30})
    assert response.status_code == 200
    assert response.json()["Subject"] == subject


def _events(catcher, ready: threading.Event, found: list, stop_when):
    with requests.get(f"{catcher.url}/api/events", stream=True, timeout=60) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        for line in response.iter_lines(decode_unicode=True):
            if line == ": connected":
                ready.set()  # the stream is subscribed before this line is sent
            elif line and line.startswith("data: "):
                event = json.loads(line[len("data: "):])
                found.append(event)
                if stop_when(event):
                    return


def test_server_sent_events_announce_new_and_deleted_mail(mailcatcher):
    subject = unique("sse")
    ready = threading.Event()
    found: list[dict] = []
    listener = threading.Thread(
        target=_events, args=(mailcatcher, ready, found, lambda e: e["Type"] == "delete"), daemon=True
    )
    listener.start()
    assert ready.wait(30)
    mailcatcher.send(message(subject))
    message_id = mailcatcher.search(subject)["messages"][0]["ID"]
    mailcatcher.request("DELETE", "/api/v1/messages", json={"IDs": [message_id]})
    listener.join(60)
    assert not listener.is_alive()
    new = [e for e in found if e["Type"] == "new" and e["Data"]["Subject"] == subject]
    assert len(new) == 1 and new[0]["Data"]["ID"] == message_id
    assert {"Type": "delete", "Data": {"IDs": [message_id]}} in found


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hang_up(catcher, requests_: list[bytes]) -> None:
    """Open one connection per request, send it, and close each without reading an answer."""
    url = urlsplit(catcher.url)
    sockets = []
    for request in requests_:
        sock = socket.create_connection((url.hostname, url.port), timeout=30)
        sock.sendall(request)
        sockets.append(sock)
    time.sleep(1)  # all of them are waiting now
    for sock in sockets:
        sock.close()


def test_finding_8_waiters_and_streams_are_released_when_their_clients_go(start_mailcatcher):
    catcher = start_mailcatcher()
    host = urlsplit(catcher.url).netloc
    waits = [f"GET /api/v1/wait?query=nothing-{i % 5}&timeout=600 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
             for i in range(500)]
    streams = [f"GET /api/events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for _ in range(50)]
    _hang_up(catcher, waits + streams)
    time.sleep(1)
    # With the callers gone, new mail costs what it costs without them: the 500 waits were 5 queries, and none
    # of them is evaluated any more. (Before: every message re-ran the query once per waiter, for minutes.)
    before = _cpu_seconds(catcher.process.pid)
    with catcher.smtp() as client:
        for i in range(100):
            client.sendmail("a@example.com", ["b@example.com"], f"Subject: after-{i}\r\n\r\nbody\r\n".encode())
    assert catcher.search("subject:after-99")["messages_count"] == 1
    time.sleep(1)
    spent = _cpu_seconds(catcher.process.pid) - before
    assert spent < 5, f"{spent:.1f} s of CPU for 100 messages after 550 clients hung up"
    # Shutdown is not held up by them either (uvicorn's grace period is 3 s).
    started = time.monotonic()
    assert catcher.stop() == 0
    assert time.monotonic() - started < 10


def test_finding_8_a_waiter_that_stays_still_gets_its_message(start_mailcatcher):
    catcher = start_mailcatcher()
    host = urlsplit(catcher.url).netloc
    _hang_up(catcher, [f"GET /api/v1/wait?query=wanted&timeout=600 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()] * 20)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(catcher.get, "/api/v1/wait", params={"query": "subject:wanted", "timeout": 30})
        time.sleep(0.5)
        catcher.send(message("wanted"))
        assert waiting.result().json()["Subject"] == "wanted"
