"""Issue 11 over real HTTP: the request guard (finding 1), request bodies (finding 5), long URLs and the
store's file modes (finding 9). Each test is named after the finding it covers."""

from __future__ import annotations

import http.client
import os
import stat
from urllib.parse import urlsplit

import pytest
from mailcatcher_support import message, unique


def raw_request(base: str, method: str, target: str, headers: dict[str, str],
                body: bytes = b"") -> tuple[int, str, dict]:
    """One request exactly as written (requests would fix the Host header)."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body or method in ("POST", "PUT", "DELETE"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        answer = response.read().decode("utf-8", "replace")
        return response.status, answer, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8025", "127.0.0.1.nip.io", "localhost.evil.example",
                                  "[::2]", "0.0.0.0", "xn--80ak6aa92e.com"])
def test_finding_1_dns_rebinding_hosts_are_refused_before_anything_is_read(mailcatcher, host):
    for target in ("/api/v1/messages", "/", "/api/v1/message/latest", "/api/events", "/livez"):
        headers = {"Host": host} if host else {}
        status, body, _ = raw_request(mailcatcher.url, "GET", target, headers)
        assert status == 403, (host, target, body)
        assert "not allowed" in body and "--allowed-hosts" in body
        assert "messages" not in body.lower() or "Blocked request" in body


def test_finding_1_a_request_without_host_is_refused(mailcatcher):
    status, body, _ = raw_request(mailcatcher.url, "GET", "/api/v1/messages", {})
    assert status == 400  # HTTP/1.1 requires Host; the HTTP server itself refuses it


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8025", "127.0.0.1", "[::1]:9", "app.localhost",
                                  "127.1.2.3"])
def test_finding_1_loopback_hosts_are_served(mailcatcher, host):
    status, body, headers = raw_request(mailcatcher.url, "GET", "/api/v1/messages?limit=1", {"Host": host})
    assert status == 200, body
    assert headers["x-frame-options"] == "SAMEORIGIN"


def test_finding_1_allowed_hosts_option_adds_names(start_mailcatcher):
    catcher = start_mailcatcher("--allowed-hosts", "sandbox.test,.corp.test")
    for host, status in [("sandbox.test", 200), ("a.corp.test", 200), ("corp.test", 200), ("evil.test", 403)]:
        assert raw_request(catcher.url, "GET", "/livez", {"Host": host})[0] == status, host


def test_finding_1_cross_site_writes_are_refused_and_plain_clients_still_work(mailcatcher):
    subject = unique("cross-site")
    mailcatcher.send(message(subject))
    message_id = mailcatcher.search(subject)["messages"][0]["ID"]
    host = urlsplit(mailcatcher.url).netloc
    body = f'{{"IDs": ["{message_id}"]}}'.encode()
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Origin": f"http://{host}.evil.example"}):
        for method in ("DELETE", "PUT", "POST"):
            status, text, _ = raw_request(mailcatcher.url, method, "/api/v1/messages", {"Host": host, **headers},
                                          body)
            assert status == 403 and "refused" in text, (method, headers, status, text)
    assert mailcatcher.search(subject)["messages_count"] == 1  # nothing was deleted
    # The catcher's own page (same origin) and clients without browser headers may write.
    same = {"Host": host, "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin",
            "Content-Type": "application/json"}
    assert raw_request(mailcatcher.url, "PUT", "/api/v1/messages", same, body)[0] == 200
    assert mailcatcher.request("DELETE", "/api/v1/messages", json={"IDs": [message_id]}).status_code == 200
    assert mailcatcher.search(subject)["messages_count"] == 0


def test_finding_1_pages_cannot_be_framed_by_other_origins(mailcatcher):
    for path in ("/", "/api/v1/messages", "/view/latest", "/static/style.css"):
        response = mailcatcher.get(path)
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN", path
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"], path


def test_finding_5_keys_match_case_insensitively_and_unknown_keys_change_nothing(mailcatcher):
    keep, drop = unique("keep5"), unique("drop5")
    mailcatcher.send(message(keep))
    mailcatcher.send(message(drop))
    drop_id = mailcatcher.search(drop)["messages"][0]["ID"]
    total = mailcatcher.get("/api/v1/messages").json()["total"]
    # The case: {"ids": [...]} deleted everything. Now it deletes just that message.
    assert mailcatcher.request("DELETE", "/api/v1/messages", json={"ids": [drop_id]}).status_code == 200
    assert mailcatcher.get("/api/v1/messages").json()["total"] == total - 1
    assert mailcatcher.search(keep)["messages_count"] == 1
    for body in ({"Ids ": ["1"]}, {"IDs": ["1"], "Force": True}, {"id": "1"}, {}, {"IDs": []},
                 {"IDs": ["1"], "ids": ["2"]}):
        response = mailcatcher.request("DELETE", "/api/v1/messages", json=body)
        assert response.status_code == 400, (body, response.text)
    assert mailcatcher.request("PUT", "/api/v1/messages", json={"ids": ["1"], "reed": True}).status_code == 400
    assert mailcatcher.get("/api/v1/messages").json()["total"] == total - 1


def test_finding_5_form_bodies_as_the_pypi_client_sends_them(mailcatcher):
    subject = unique("form5")
    mailcatcher.send(message(subject))
    message_id = mailcatcher.search(subject)["messages"][0]["ID"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert mailcatcher.request("PUT", "/api/v1/messages", data=f"ids={message_id}&Read=true",
                               headers=form).status_code == 200
    assert mailcatcher.search(f"{subject} is:read")["messages_count"] == 1
    assert mailcatcher.request("DELETE", "/api/v1/messages", data=f"ids={message_id}", headers=form).status_code == 200
    assert mailcatcher.search(subject)["messages_count"] == 0


@pytest.mark.parametrize("depth", [9, 1000, 100_000])
def test_finding_5_deeply_nested_json_is_a_400(mailcatcher, depth):
    body = b'{"IDs": ' + b"[" * depth + b"]" * depth + b"}"
    for method in ("DELETE", "PUT"):
        response = mailcatcher.request(method, "/api/v1/messages", data=body)
        assert response.status_code == 400 and "nested" in response.json()["Error"], response.text
    assert mailcatcher.get("/readyz").status_code == 200


@pytest.mark.parametrize("length", [17_000, 64 * 1024, 512 * 1024])
def test_finding_9_over_long_urls_get_414(mailcatcher, length):
    status, body, _ = raw_request(mailcatcher.url, "GET", "/api/v1/search?query=" + "a" * length,
                                  {"Host": "127.0.0.1"})
    assert status == 414 and "too long" in body


def test_finding_9_store_files_are_private(mailcatcher):
    mailcatcher.send(message(unique("modes")))
    assert stat.S_IMODE(os.stat(mailcatcher.db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(f"{mailcatcher.db}-wal").st_mode) == 0o600
