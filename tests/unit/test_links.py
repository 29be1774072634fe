"""The Approve/Reject link builder, with tokens shaped like AWS's (base64: + / =), not LocalStack's uuids."""

from urllib.parse import parse_qs, urlsplit

import pytest

from lambdas.approval import decision_links, execution_in_mail, execution_line

API_URL = "http://localhost:4566/_aws/execute-api/abc123/sandbox"
AWS_SHAPED_TOKENS = [
    "AQCEAAAAKgAAAAMAAAAAAAAAAe+8Zx1c/Hk7q2W9oYvS3v0sXn+4Qf8rL2t1aZm5N0xJkP7bQ==",
    "+/+/==",
    "a+b=c/d&e?f#g%h",
    "AAAA" * 250 + "+/=",
]


@pytest.mark.parametrize("token", AWS_SHAPED_TOKENS)
def test_links_carry_the_token_through_url_decoding_unchanged(token):
    links = decision_links(API_URL, token)
    for action, link in links.items():
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{API_URL}/{action}"
        # parse_qs turns a raw '+' into a space: only a fully percent-encoded token survives.
        assert parse_qs(parts.query, strict_parsing=True) == {"token": [token]}
        assert not set("+/=&?# ") & set(parts.query.split("=", 1)[1])


def test_links_ignore_a_trailing_slash_on_the_api_url():
    links = decision_links(API_URL + "/", "t")
    assert links == {"approve": f"{API_URL}/approve?token=t", "reject": f"{API_URL}/reject?token=t"}


def test_approve_and_reject_links_differ_only_in_the_action():
    links = decision_links(API_URL, AWS_SHAPED_TOKENS[0])
    assert links["approve"].replace("/approve?", "/reject?") == links["reject"]


@pytest.mark.parametrize("name", ["run-1", "Deploy_v2-2026-12-02T10.00.00", "a" * 80])
def test_the_mail_execution_line_reads_back_the_name_it_wrote(name):
    text = f"A request is waiting.\n\nTitle:       x\n{execution_line(name)}\nRequested:   now\n"
    assert execution_in_mail(text) == name


def test_an_execution_named_only_inside_another_line_is_not_read():
    assert execution_in_mail("Title: Execution: evil\nExecution:\n") is None
