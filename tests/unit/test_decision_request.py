"""The decision endpoint's reading of a click: which browser requests may decide, and the bodies it reads
(issue 11: findings 2, 7 and 9 at the decision endpoint)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from lambdas import decide
from lambdas.decision_request import MAX_FORM_PARTS, HttpError, body_fields, check_same_origin, parse_call

NOW = datetime(2025, 1, 15, 9, 31, tzinfo=UTC)
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAe+8Zx1c/Hk7q2W9oYvS3v0sXn+4Qf8rL2t1aZm5N0xJkP7bQ=="


def post(headers: dict[str, str], body: str = "", content_type: str = "application/x-www-form-urlencoded") -> dict:
    return {"resource": "/approve", "path": "/approve", "httpMethod": "POST", "body": body, "isBase64Encoded": False,
            "headers": {"Host": "localhost:4566", "Content-Type": content_type, **headers}}


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://evil.example"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"},  # another local server's page
    {"Origin": "null"},  # a sandboxed frame, such as a mail view
    {"Origin": "http://evil.example:4566", "Sec-Fetch-Site": "same-origin"},  # a rebinding page on another Host
])
def test_finding_2_a_post_from_another_sites_page_is_refused(headers):
    event = post(headers)
    if "evil.example:4566" in headers.get("Origin", ""):
        event["headers"]["Host"] = "localhost:4566"
    with pytest.raises(HttpError) as refused:
        check_same_origin(event)
    assert refused.value.status == 403 and refused.value.code == "CrossSiteRequest"


@pytest.mark.parametrize("headers", [
    {},  # curl, tests, the CLI: no browser acting for someone else
    {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost:4566"},  # the confirm page's own button
    {"Sec-Fetch-Site": "none"},  # typed into the address bar
    {"Origin": "https://abc.execute-api.eu-west-1.amazonaws.com", "Host": "abc.execute-api.eu-west-1.amazonaws.com",
     "X-Forwarded-Proto": "https"},  # the same page on AWS
])
def test_the_confirm_pages_own_post_and_clients_without_browser_headers_may_decide(headers):
    check_same_origin(post(headers))


def test_finding_2_the_handler_refuses_a_cross_site_post_and_decides_nothing(decide_services):
    s3, sfn = decide_services
    before = dict(s3.objects)
    event = post({"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, f"token={TOKEN}")
    response = decide.handle(event, NOW)
    assert response["statusCode"] == 403
    assert "another site" in response["body"]
    assert sfn.calls == [] and s3.objects == before


def test_finding_2_no_answer_of_the_endpoint_can_be_framed(decide_services):
    for event in (post({}, f"token={TOKEN}"), post({"Origin": "http://evil.example"}, f"token={TOKEN}")):
        headers = decide.handle({**event, "httpMethod": "GET"}, NOW)["headers"]
        assert headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def multipart(fields: dict[str, str], boundary: str = "XyZ") -> tuple[str, str]:
    parts = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                    for k, v in fields.items())
    return parts + f"--{boundary}--\r\n", f"multipart/form-data; boundary={boundary}"


def test_finding_9_a_multipart_form_with_a_valid_token_is_read():
    body, content_type = multipart({"token": TOKEN, "note": "ok"})
    assert parse_call(post({}, body, content_type)).token == TOKEN
    event = post({}, base64.b64encode(body.encode()).decode(), content_type)
    event["isBase64Encoded"] = True
    assert parse_call(event).token == TOKEN


@pytest.mark.parametrize(("body", "content_type"), [
    ("[" * 100_000 + "]" * 100_000, "application/json"),  # finding 7: deeper than the JSON parser goes
    ("{\"token\": " * 50_000, "application/json"),
    ("&".join(f"f{i}=x" for i in range(MAX_FORM_PARTS + 5)), "application/x-www-form-urlencoded"),
    (multipart({f"f{i}": "x" for i in range(MAX_FORM_PARTS + 5)})[0], multipart({})[1]),
    ("no parts here", "multipart/form-data; boundary=nope"),
    ("token=\udcff", "application/x-www-form-urlencoded"),
])
def test_finding_7_bodies_the_endpoint_cannot_use_get_400_not_5xx(body, content_type):
    with pytest.raises(HttpError) as bad:
        body_fields(post({}, body, content_type))
    assert bad.value.status == 400


def test_finding_7_deep_json_at_the_handler_is_a_400_page(decide_services):
    event = post({"Accept": "application/json"}, "[" * 100_000, "application/json")
    response = decide.handle(event, NOW)
    assert response["statusCode"] == 400 and json.loads(response["body"])["error"] == "BadBody"
