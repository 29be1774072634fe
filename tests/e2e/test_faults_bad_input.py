"""Issue 7, bad input: every HTTP surface of the running sandbox answers hostile requests with a clear 4xx.

Surfaces: the Approve/Reject endpoint through API Gateway's path-style URL (`/_aws/execute-api/{id}/{stage}`),
the catcher's JSON API and its web UI (with the Workflows page it serves). Requests are written on a raw socket
where a client library would clean them up (path traversal, bytes that are not UTF-8). Each case must answer
4xx with a message (bare 400s from the HTTP servers themselves for requests that are not valid HTTP are the one
exception: there is nothing to attach a message to), never a 5xx or a stack trace; after all cases every service
is healthy and a real request still works. The number of cases tried is printed in the session summary.
"""

from __future__ import annotations

import http.client
import smtplib
import socket
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests

from sandbox import workflow
from sandbox.services import url_ready

MB = 1024 * 1024
CASES_PROPERTY = "fault_cases"  # summed and printed by tests/conftest.py


@dataclass
class Answer:
    status: int | None  # None: the server closed the connection without answering
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    target: bytes | str  # request target, sent byte for byte
    status: int | tuple[int, ...]
    phrase: str = ""  # words of the clear message the answer must carry ("" = any non-empty message)
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    protocol: bool = False  # rejected by the HTTP server before any handler: a bare 400 is enough


def send(base: str, case: Case, timeout: float = 60) -> Answer:
    """One request exactly as written, on its own connection."""
    url = urlsplit(base)
    target = case.target if isinstance(case.target, bytes) else case.target.encode("ascii")
    headers = dict(case.headers)
    if case.body or case.method in ("POST", "PUT", "PATCH", "DELETE"):
        headers.setdefault("Content-Length", str(len(case.body)))
    if isinstance(case.target, str):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        try:
            has_host = any(name.lower() == "host" for name in headers)
            connection.putrequest(case.method, case.target, skip_host=has_host, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders(case.body or None)
            response = connection.getresponse()
            return Answer(response.status, response.read().decode("utf-8", "replace"),
                          {k.lower(): v for k, v in response.getheaders()})
        except (ConnectionResetError, http.client.RemoteDisconnected):
            return Answer(None, "")
        finally:
            connection.close()
    # Not ASCII: no client library sends this, so write the request ourselves.
    head = b"%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n" % (
        case.method.encode(), target, url.hostname.encode(), url.port)
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(head + b"\r\n" + case.body)
        raw = b""
        try:
            while chunk := sock.recv(65536):
                raw += chunk
        except ConnectionResetError:
            pass
    if not raw:
        return Answer(None, "")
    status_line, _, rest = raw.partition(b"\r\n")
    return Answer(int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode("utf-8", "replace"))


def check(base: str, case: Case) -> Answer:
    answer = send(base, case)
    where = f"{case.label}: {case.method} {case.target[:120]!r}"
    allowed = case.status if isinstance(case.status, tuple) else (case.status,)
    assert answer.status in allowed, f"{where} -> {answer.status} {answer.body[:300]!r}"
    assert answer.status is not None and 400 <= answer.status < 500, where
    assert "Traceback" not in answer.body and "Internal Server Error" not in answer.body, where
    if case.method != "HEAD" and not case.protocol:
        assert answer.body.strip(), f"{where}: no message"
        assert case.phrase.lower() in answer.body.lower(), f"{where}: {case.phrase!r} not in {answer.body[:300]!r}"
    return answer


def decision_cases(api_path: str, real_token: str) -> list[Case]:
    """The Approve/Reject endpoint: tokens, paths, methods and bodies."""
    forged_real = real_token[:-4] + ("AAAA" if not real_token.endswith("AAAA") else "BBBB")
    aws_shaped = "AAAAKgAAAAIAAAAAAAAAA" + "+/" * 20 + "Zm9yZ2Vk=="
    token_cases = {
        "missing": ("", 400, "no token"),
        "empty": ("?token=", 400, "no token"),
        "blank": ("?token=%20%20%20", 400, "no token"),
        "2 KB + 1": ("?token=" + "A" * 2049, 400, "characters long"),
        "10 KB": ("?token=" + "A" * 10240, 400, "characters long"),
        "non-UTF-8 percent-encoded": ("?token=%FF%FE%FD", 400, "characters no real token has"),
        "NUL byte": ("?token=abc%00def", 400, "characters no real token has"),
        "CRLF header injection": ("?token=abc%0D%0ASet-Cookie:%20pwned=1", 400, "characters no real token has"),
        "markup": ("?token=" + quote("<script>alert(1)</script>", safe=""), 400, "characters no real token has"),
        "SQL metacharacters": ("?token=" + quote("' OR '1'='1' --", safe=""), 400, "characters no real token has"),
        "SQL statement": ("?token=" + quote("x'; DROP TABLE tasks; --", safe=""), 400, "characters no real"),
        "path traversal": ("?token=" + quote("../../../etc/passwd", safe=""), 400, "characters no real token has"),
        "two different tokens": ("?token=abc&token=def", 400, "more than one different token"),
        "forged uuid": (f"?token={uuid.uuid4()}", 404, "does not belong to any approval request"),
        "forged AWS-shaped": ("?token=" + quote(aws_shaped, safe=""), 404, "does not belong to any approval"),
        "real token, one part changed": ("?token=" + quote(forged_real, safe=""), 404, "does not belong"),
    }
    cases = []
    for action in ("approve", "reject"):
        for label, (query, status, phrase) in token_cases.items():
            for method in ("GET", "POST"):
                cases.append(Case(f"{action} {label}", method, f"{api_path}/{action}{query}", status, phrase))
        cases.append(Case(f"{action} forged, JSON", "POST", f"{api_path}/{action}?token={uuid.uuid4()}", 404,
                          '"error": "UnknownToken"', headers=(("Accept", "application/json"),)))
    # Bytes that are not UTF-8 written straight into the request line: the HTTP server refuses the request.
    cases.append(Case("raw non-UTF-8 token", "GET", f"{api_path}/approve?token=".encode() + b"\xff\xfe", 400,
                      protocol=True))
    cases.append(Case("raw non-UTF-8 path", "GET", f"{api_path}/appr".encode() + b"\xffove?token=a", 400,
                      protocol=True))
    # Paths: traversal, unknown resources, stages and APIs. API Gateway's own answers (403 "Missing
    # Authentication Token" for an unknown resource or method, 404 for an unknown API) are AWS's.
    api_root = api_path.rsplit("/", 2)[0]
    cases += [
        Case("traversal out of the stage", "GET", f"{api_path}/approve/../../../etc/passwd", 403, "message"),
        Case("encoded traversal", "GET", f"{api_path}/..%2f..%2f..%2fetc%2fpasswd?token=a", 403, "message"),
        Case("traversal above execute-api", "GET", f"{api_root}/../../etc/passwd", (403, 404), "message"),
        Case("NUL in the path", "GET", f"{api_path}/approve%00?token=a", 403, "message"),
        Case("unknown resource", "GET", f"{api_path}/approved?token=a", 403, "Missing Authentication Token"),
        Case("unknown resource, upper case", "POST", f"{api_path}/APPROVE?token=a", 403, "Missing Authentication"),
        Case("unknown stage", "GET", f"{api_path.rsplit('/', 1)[0]}/nostage/approve?token=a", 404, "message"),
        Case("unknown API id", "GET", f"{api_root}/nosuchapi/sandbox/approve?token=a", 404, "does not correspond"),
    ]
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
        cases.append(Case(f"method {method}", method, f"{api_path}/approve?token={uuid.uuid4()}", 403,
                          "Missing Authentication Token"))
    # Bodies: oversized, not UTF-8, wrong shapes, conflicting with the query.
    form = (("Content-Type", "application/x-www-form-urlencoded"),)
    as_json = (("Content-Type", "application/json"),)
    cases += [
        Case("1 MB token in the form", "POST", f"{api_path}/approve", 400, "characters long",
             body=b"token=" + b"A" * MB, headers=form),
        Case("9 MB token in the form (over LocalStack's own form limit)", "POST", f"{api_path}/approve", 400,
             "characters long", body=b"token=" + b"A" * (9 * MB), headers=form),
        Case("11 MB body (over API Gateway's 10 MB)", "POST", f"{api_path}/approve", 413, "Request Too Long",
             body=b"token=" + b"A" * (11 * MB), headers=form),
        # LocalStack hands a form body that is not UTF-8 to the function without its token: "no token".
        Case("form body not UTF-8", "POST", f"{api_path}/approve", 400, "",
             body=b"token=\xff\xfe", headers=form),
        Case("untyped body not UTF-8", "POST", f"{api_path}/approve", 400, "not valid UTF-8", body=b"token=\xff\xfe"),
        Case("binary body", "POST", f"{api_path}/reject", 400, "not valid UTF-8",
             body=bytes(range(256)), headers=(("Content-Type", "application/octet-stream"),)),
        Case("broken JSON", "POST", f"{api_path}/approve", 400, "not valid JSON", body=b'{"token": ',
             headers=as_json),
        Case("JSON array", "POST", f"{api_path}/approve", 400, "must be a JSON object", body=b"[1,2]",
             headers=as_json),
        Case("JSON token not a string", "POST", f"{api_path}/approve", 400, "no token",
             body=b'{"token": 12345}', headers=as_json),
        Case("body token differs from query", "POST", f"{api_path}/approve?token=abc", 400, "more than one",
             body=b"token=def", headers=form),
        # Issue 11 finding 7: JSON nested deeper than the parser goes.
        Case("finding 7: 100,000-deep JSON body", "POST", f"{api_path}/approve", 400, "not valid JSON",
             body=b"[" * 100_000, headers=as_json),
        Case("finding 9: multipart with too many parts", "POST", f"{api_path}/approve", 400, "more than",
             body=b"".join(b"--b\r\nContent-Disposition: form-data; name=f%d\r\n\r\nx\r\n" % i for i in range(50))
             + b"--b--\r\n", headers=(("Content-Type", "multipart/form-data; boundary=b"),)),
        # Issue 11 finding 9: a URL over the server's line limit gets an answer, not a dropped connection.
        Case("finding 9: 64 KB URL", "GET", f"{api_path}/approve?token=" + "A" * 65536, 414, "URI Too Long"),
    ]
    # Issue 11 finding 2: a browser POST from another site's page never decides, whatever token it carries.
    for label, headers in {
        "cross-site": (("Sec-Fetch-Site", "cross-site"), ("Origin", "http://evil.example")),
        "other local port": (("Sec-Fetch-Site", "same-site"), ("Origin", "http://localhost:3000")),
        "sandboxed frame": (("Origin", "null"),),
    }.items():
        cases.append(Case(f"finding 2: {label} POST with the real token", "POST",
                          f"{api_path}/approve?token={quote(real_token, safe='')}", 403, "another site",
                          headers=headers))
    # Issue 11 finding 1: a page whose name was re-pointed at 127.0.0.1 (DNS rebinding) reaches nothing.
    for path in (f"{api_path}/approve?token={quote(real_token, safe='')}", "/_localstack/health", "/"):
        cases.append(Case(f"finding 1: Host evil.example {path[:40]}", "GET", path, 403, "SANDBOX_ALLOWED_HOSTS",
                          headers=(("Host", "evil.example:4566"),)))
    return cases


def catcher_cases(machine: str) -> list[Case]:
    """The catcher's JSON API, its web UI and the Workflows page it serves, with `machine` the deployed state
    machine's name (NAME_PREFIX decides it)."""
    executions = f"/workflows/api/machines/{machine}/executions"
    missing_id = "999999999"
    cases = [
        # Path traversal, raw and encoded, into every static mount and id parameter.
        Case("static traversal", "GET", "/static/../../../../etc/passwd", 404, "Not Found"),
        Case("static encoded traversal", "GET", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 404, "Not Found"),
        Case("static encoded slash", "GET", "/static/..%2f..%2fapp.py", 404, "Not Found"),
        Case("workflows static traversal", "GET", "/workflows/static/..%2f..%2fworkflows.py", 404, "Not Found"),
        Case("view id traversal", "GET", "/view/..%2F..%2Fetc%2Fpasswd", 404, "Not Found"),
        Case("message id traversal", "GET", "/api/v1/message/..%2F..%2Fetc%2Fpasswd", 404, "not found"),
        Case("raw id traversal", "GET", "/api/v1/message/..%2f..%2f/raw", 404, ""),
        Case("part id traversal", "GET", "/api/v1/message/latest/part/..%2f..%2f", 404, ""),
        Case("execution name traversal", "GET", "/workflows/..%2F..%2Fetc%2Fpasswd", 404, ""),
        # Unknown ids.
        Case("unknown message", "GET", f"/api/v1/message/{missing_id}", 404, "message not found"),
        Case("unknown message raw", "GET", f"/api/v1/message/{missing_id}/raw", 404, "not found"),
        Case("unknown message headers", "GET", f"/api/v1/message/{missing_id}/headers", 404, "not found"),
        Case("unknown message approval", "GET", f"/api/v1/message/{missing_id}/approval", 404, "not found"),
        Case("unknown message, 5000 digits", "GET", "/api/v1/message/" + "9" * 5000, 404, "not found"),
        Case("unknown message, SQL", "GET", "/api/v1/message/1%3BDROP%20TABLE%20messages", 404, "not found"),
        Case("unknown view", "GET", f"/view/{missing_id}", 404, ""),
        Case("unknown view html", "GET", f"/view/{missing_id}/html", 404, "not found"),
        Case("unknown page", "GET", "/admin", 404, ""),
        Case("unknown execution", "GET", f"/workflows/no-such-execution-{uuid.uuid4().hex[:8]}", 404,
             "no execution"),
        Case("unknown execution JSON", "GET", f"{executions}/nope-{uuid.uuid4().hex[:8]}", 404,
             "no execution with this name"),
        Case("unknown state machine JSON", "GET", "/workflows/api/machines/NoSuchMachine/executions/x", 404,
             "no state machine"),
        Case("state machine name with a space", "GET", "/workflows/api/machines/a%20b/executions/x", 400,
             "not a valid state machine"),
        Case("execution name not ASCII", "GET", "/workflows/%FF%FE", 404, "no execution"),
        Case("execution name not ASCII, JSON", "GET", f"{executions}/%FF%FE", (404, 422), "execution"),
        Case("execution name with NUL", "GET", f"{executions}/a%00b", 400, "not a valid execution"),
        Case("execution name 5000 chars", "GET", f"{executions}/" + "A" * 5000, 400, "not a valid execution"),
        Case("events for a bad name", "GET", f"/workflows/api/events?machine={machine}&execution=a%01b", 400,
             "not a valid execution"),
        Case("overview with a bad limit", "GET", "/workflows/api/overview?limit=9e9", 400, "limit"),
        Case("overview with a bad status", "GET", "/workflows/api/overview?status=DONE", 400, "status"),
        # Actions (start, answer, re-run): same-origin JSON only; bad bodies are 4xx.
        Case("cross-site answer", "POST", f"{executions}/x/answer", 403, "refused", body=b'{"action":"success"}',
             headers=(("Content-Type", "application/json"), ("Origin", "http://evil.example"),
                      ("Sec-Fetch-Site", "cross-site"))),
        Case("form-encoded answer", "POST", f"{executions}/x/answer", 415, "JSON", body=b"action=success",
             headers=(("Content-Type", "application/x-www-form-urlencoded"),)),
        Case("answer with deep JSON", "POST", f"{executions}/x/answer", 400, "not valid JSON", body=b"[" * 50000,
             headers=(("Content-Type", "application/json"),)),
        Case("answer with a bad action", "POST", f"{executions}/x/answer", 400, "action", body=b'{"action":"x"}',
             headers=(("Content-Type", "application/json"),)),
        Case("start with input not JSON", "POST", executions, 400,
             "not valid JSON", body=b'{"input":"{nope"}', headers=(("Content-Type", "application/json"),)),
        Case("start with a name LocalStack cannot read", "POST", executions,
             400, "name", body=b'{"name":"a:b"}', headers=(("Content-Type", "application/json"),)),
        # Tokens on the Workflows page's lookup.
        Case("lookup without token", "GET", "/workflows/lookup", 400, "no valid task token"),
        Case("lookup with 10 KB token", "GET", "/workflows/lookup?token=" + "A" * 10240, 400, "no valid task"),
        Case("lookup with forged token", "GET", f"/workflows/lookup?token={uuid.uuid4()}", 404, "No recent"),
        Case("lookup non-UTF-8 token", "GET", "/workflows/lookup?token=%FF%FE", 404, "No recent"),
        # Bytes that are not UTF-8 in the request line.
        Case("raw non-UTF-8 in search", "GET", b"/api/v1/search?query=\xff\xfe", 400, protocol=True),
        Case("raw non-UTF-8 in path", "GET", b"/view/\xff", 400, protocol=True),
        # Search: syntax errors are 400s.
        Case("search without query", "GET", "/api/v1/search", 400, "Error"),
        Case("search unbalanced quote + SQL", "GET", "/api/v1/search?query=" + quote('"); DROP TABLE messages;--'),
             400, "unbalanced"),
        Case("search 2000 chars", "GET", "/api/v1/search?query=" + "x" * 2000, 400, "Error"),
        Case("wait with bad after", "GET", "/api/v1/wait?query=x&timeout=0.1&after=1%20OR%201%3D1", 400,
             "'after'"),
        Case("list with huge start", "GET", "/api/v1/messages?start=" + "9" * 40, 400, "'start'"),
        Case("list with float limit", "GET", "/api/v1/messages?limit=1e3", 400, "'limit'"),
        # Wrong methods.
        Case("POST to the list page", "POST", "/", 405, "Method Not Allowed"),
        Case("DELETE a view", "DELETE", "/view/1", 405, "Method Not Allowed"),
        Case("POST a message", "POST", "/api/v1/message/1", 405, "Method Not Allowed"),
        Case("PATCH messages", "PATCH", "/api/v1/messages", 405, "Method Not Allowed"),
        Case("POST search", "POST", "/api/v1/search?query=a", 405, "Method Not Allowed"),
        Case("PUT workflows", "PUT", "/workflows", 405, "Method Not Allowed"),
        Case("DELETE an execution", "DELETE", f"{executions}/x", 405, "Method Not Allowed"),
        # Bodies: oversized, not UTF-8, wrong shapes.
        Case("30 MB delete body", "DELETE", "/api/v1/messages", 413, "too large", body=b"x" * (30 * MB)),
        Case("30 MB read-status body", "PUT", "/api/v1/messages", 413, "too large", body=b"x" * (30 * MB)),
        Case("delete body not JSON", "DELETE", "/api/v1/messages", 400, "Error", body=b"not json"),
        Case("delete body not UTF-8", "DELETE", "/api/v1/messages", 400, "Error", body=b"\xff\xfe{}"),
        Case("delete IDs not a list", "DELETE", "/api/v1/messages", 400, "must be a list", body=b'{"IDs": "1"}'),
        Case("delete IDs huge number", "DELETE", "/api/v1/messages", 400, "Error", body=b'{"IDs": [1e400]}'),
        Case("read status not boolean", "PUT", "/api/v1/messages", 400, "Error", body=b'{"Read": "yes"}'),
    ]
    return cases


# SQL metacharacters in search are text to find, not syntax: they answer 200 and match only literally, so
# with a word no message contains in front they match nothing (as SQL they would match everything).
SQL_SEARCHES = ["zzq' OR '1'='1", "zzq%", "zzq_", "zzq*", "zzq\\", "zzq OR 1=1", "NEAR(zzq zzr)",
                "zzq' UNION SELECT * FROM messages --", "subject:zzq'; DELETE FROM messages; --", "from:zzq%@%",
                "to:zzq\" OR \"1\"=\"1"]


def test_every_http_surface_answers_hostile_input_with_a_clear_4xx(request_approval, mail, record_property):
    request = request_approval()
    settings = request.settings
    api_url = workflow.load_outputs(settings)["api_url"]
    api_path = urlsplit(api_url).path
    tried = 0

    failures: list[str] = []

    def attempt(base: str, case: Case) -> None:
        try:
            answer = check(base, case)
            assert "set-cookie" not in answer.headers, f"{case.label}: a header was injected"
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])

    for case in decision_cases(api_path, request.token):
        attempt(settings.localstack_url, case)
        tried += 1

    # A marker mail whose subject holds SQL metacharacters: searching for them finds exactly it.
    marker = f"faults-sql-{uuid.uuid4().hex[:8]}"
    sql_subject = f"{marker} ' OR 1=1; DROP TABLE messages; --"
    with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=30) as smtp:
        smtp.sendmail("a@example.com", ["b@example.com"],
                      f"Subject: {sql_subject}\r\nFrom: a@example.com\r\nTo: b@example.com\r\n\r\nbody\r\n".encode())
    assert mail.wait(marker, timeout=30) is not None
    total_before = requests.get(f"{settings.mail_url}/api/v1/messages", params={"limit": 1}, timeout=30).json()
    for case in catcher_cases(workflow.load_outputs(settings)["state_machine_name"]):
        attempt(settings.mail_url, case)
        tried += 1
    for text in SQL_SEARCHES:
        for path in ("/api/v1/search", "/"):
            param = "query" if path.startswith("/api") else "q"
            answer = requests.get(f"{settings.mail_url}{path}", params={param: text}, timeout=30)
            tried += 1
            if answer.status_code != 200:
                failures.append(f"search {text!r} on {path} -> {answer.status_code} {answer.text[:200]!r}")
            elif path.startswith("/api") and answer.json()["messages_count"] != 0:
                failures.append(f"search {text!r} matched {answer.json()['messages_count']} messages")
    # IDs with SQL in a delete are not IDs: nothing is deleted.
    deleted = requests.delete(f"{settings.mail_url}/api/v1/messages",
                              json={"IDs": ["1) OR (1=1", "' OR 1=1 --", "*"]}, timeout=30)
    tried += 1
    after_delete = requests.get(f"{settings.mail_url}/api/v1/messages", params={"limit": 1}, timeout=30).json()
    if deleted.status_code >= 500 or after_delete["total"] < total_before["total"]:
        failures.append(f"delete with SQL IDs -> {deleted.status_code}, {after_delete['total']} messages left")
    found = requests.get(f"{settings.mail_url}/api/v1/search",
                         params={"query": f'subject:"{marker} \' OR 1=1; DROP TABLE messages; --"'}, timeout=30)
    assert found.status_code == 200 and found.json()["messages_count"] == 1, found.text[:300]
    tried += 1

    assert not failures, f"{len(failures)} of {tried} cases failed:\n" + "\n".join(failures)

    # Everything is still healthy, the store kept its mail, and the real request still works.
    assert url_ready(f"{settings.localstack_url}/_localstack/health")
    assert url_ready(f"{settings.mail_url}/readyz")
    total_after = requests.get(f"{settings.mail_url}/api/v1/messages", params={"limit": 1}, timeout=30).json()
    assert total_after["total"] >= total_before["total"]
    assert request.status()["status"] == "RUNNING"
    page = requests.get(request.links()["approve"], timeout=30)
    assert page.status_code == 200 and "waiting" in page.text
    assert requests.post(request.links()["reject"], timeout=30).status_code == 200

    record_property(CASES_PROPERTY, tried)
    print(f"\n{tried} hostile HTTP cases tried against the decision endpoint, the catcher API and UI")


# --- the catcher's rows for issue 11 (its owner keeps them here, apart from the decision endpoint's) -----------


def catcher_issue_11_cases(mail_url: str) -> list[Case]:
    """The catcher and the Workflows page it serves: other hosts (DNS rebinding), cross-site writes, request
    bodies, over-long URLs. Each answers 4xx with a message and changes nothing."""
    own = urlsplit(mail_url).netloc
    json_body = (("Content-Type", "application/json"),)
    cases = []
    for path in ("/", "/api/v1/messages", "/api/v1/message/latest", "/api/events", "/view/1", "/workflows",
                 "/workflows/api/executions", "/livez"):
        for host in ("evil.example", f"evil.example:{urlsplit(mail_url).port}", "127.0.0.1.nip.io"):
            cases.append(Case(f"finding 1: Host {host}", "GET", path, 403, "not allowed", headers=(("Host", host),)))
    for label, headers in [("Sec-Fetch-Site cross-site", (("Sec-Fetch-Site", "cross-site"),)),
                           ("Sec-Fetch-Site same-site", (("Sec-Fetch-Site", "same-site"),)),
                           ("foreign Origin", (("Origin", "http://evil.example"),)),
                           ("null Origin", (("Origin", "null"),))]:
        for method in ("DELETE", "PUT"):
            cases.append(Case(f"finding 1: {label} {method}", method, "/api/v1/messages", 403, "refused",
                              body=b'{"IDs": ["1"]}', headers=(("Host", own), *headers)))
        cases.append(Case(f"finding 1: {label} send", "POST", "/api/v1/send", 403, "refused",
                          body=b"{}", headers=(("Host", own), *headers)))
    cases += [
        Case("finding 5: lower-case key with unknown key", "DELETE", "/api/v1/messages", 400, "unknown field",
             body=b'{"ids": ["1"], "all": true}', headers=json_body),
        Case("finding 5: empty object deletes nothing", "DELETE", "/api/v1/messages", 400, "send no body",
             body=b"{}", headers=json_body),
        Case("finding 5: empty IDs deletes nothing", "DELETE", "/api/v1/messages", 400, "send no body",
             body=b'{"IDs": []}', headers=json_body),
        Case("finding 5: key given twice", "DELETE", "/api/v1/messages", 400, "more than once",
             body=b'{"IDs": ["1"], "ids": ["2"]}', headers=json_body),
        Case("finding 7: 100,000-deep JSON", "DELETE", "/api/v1/messages", 400, "nested",
             body=b"[" * 100_000 + b"]" * 100_000, headers=json_body),
        Case("finding 7: 100,000-deep JSON in a read-status body", "PUT", "/api/v1/messages", 400, "nested",
             body=b'{"IDs":' + b"[" * 100_000 + b"]" * 100_000 + b"}", headers=json_body),
        Case("finding 9: 20 KB URL", "GET", "/api/v1/search?query=" + "a" * 20_000, 414, "too long"),
        Case("finding 9: 200 KB URL", "GET", "/?q=" + "a" * 200_000, 414, "too long"),
        Case("multipart body", "PUT", "/api/v1/messages", 415, "not multipart",
             body=b"--x\r\n\r\n--x--", headers=(("Content-Type", "multipart/form-data; boundary=x"),)),
        Case("send without recipients", "POST", "/api/v1/send", 400, "recipient",
             body=b'{"From": {"Email": "a@example.com"}}', headers=json_body),
        Case("unknown tag rename", "PUT", "/api/v1/tags/no-such-tag", 404, "no message has the tag",
             body=b'{"Name": "x"}', headers=json_body),
        Case("bad search date", "GET", "/api/v1/search?query=before:soon", 400, "not a date"),
        Case("bad time zone", "GET", "/api/v1/search?query=after:2025-01-01&tz=Mars/Base", 400, "time zone"),
    ]
    return cases


def test_the_catcher_refuses_other_hosts_cross_site_writes_and_bad_bodies(sandbox, record_property):
    settings = sandbox
    before = requests.get(f"{settings.mail_url}/api/v1/messages", params={"limit": 1}, timeout=30).json()["total"]
    failures: list[str] = []
    cases = catcher_issue_11_cases(settings.mail_url)
    for case in cases:
        try:
            check(settings.mail_url, case)
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
    after = requests.get(f"{settings.mail_url}/api/v1/messages", params={"limit": 1}, timeout=30).json()["total"]
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)
    assert after >= before  # nothing was deleted
    assert url_ready(f"{settings.mail_url}/readyz")
    record_property(CASES_PROPERTY, len(cases))
    print(f"\n{len(cases)} hostile HTTP cases tried against the catcher's guard and bodies")
