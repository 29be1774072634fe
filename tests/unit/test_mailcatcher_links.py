"""Finding approve/reject links in a caught mail, and which of them become buttons (issue 11, findings 3 and 4)."""

from __future__ import annotations

import pytest

from mailcatcher.approval import approval_view, is_trusted
from mailcatcher.links import classify_link, extract_links


def test_links_from_html_and_text_deduplicated_with_labels():
    html = (
        '<a href="https://h.test/decide?token=T&amp;action=approve">Approve</a>'
        '<a href="https://h.test/decide?token=T&amp;action=reject"><img alt="Reject"></a>'
        '<a href="mailto:x@y.z">mail</a><a href="javascript:alert(1)">Approve now</a><a>no href</a>'
    )
    text = "Approve: https://h.test/decide?token=T&action=approve.\nDocs (https://docs.test/page)"
    links = extract_links(text, html)
    assert [(link.url, link.text, link.action) for link in links] == [
        ("https://h.test/decide?token=T&action=approve", "Approve", "approve"),
        ("https://h.test/decide?token=T&action=reject", "Reject", "reject"),
        ("https://docs.test/page", "", None),
    ]
    assert links[0].to_api()["Query"] == {"token": "T", "action": "approve"}


@pytest.mark.parametrize(
    ("url", "text", "action"),
    [
        ("https://x.test/a", "승인", "approve"),
        ("https://x.test/a", "반려", "reject"),
        ("https://x.test/a", "거절하기", "reject"),
        ("https://x.test/approve?t=1", "", "approve"),
        ("https://x.test/decision?decision=REJECT", "", "reject"),
        ("https://x.test/a", "Disapprove", "reject"),
        ("https://x.test/a", "View approval request", None),
        ("https://approve.example/a", "", None),  # the host name says nothing
        ("https://x.test/approve", "Reject", "reject"),  # the label wins over the path
    ],
)
def test_classify_link(url, text, action):
    assert classify_link(url, text) == action


def test_broken_html_keeps_links_found_so_far():
    links = extract_links("", '<a href="https://x.test/approve">Approve</a><a href="https://x.test/r">Rej')
    assert [link.action for link in links] == ["approve", None]


# AWS's human-approval tutorial sends text mails like these: the execution name says "RejectTest" in both.
TUTORIAL_APPROVE = "https://abc123.execute-api.us-east-1.amazonaws.com/states/execution?action=approve&ex=RejectTest&sm=sm"
TUTORIAL_REJECT = "https://abc123.execute-api.us-east-1.amazonaws.com/states/execution?action=reject&ex=RejectTest&sm=sm"


@pytest.mark.parametrize(
    ("url", "text", "action"),
    [
        (TUTORIAL_APPROVE, "", "approve"),
        (TUTORIAL_REJECT, "", "reject"),
        ("https://x.test/approve?note=please+reject+later", "", "approve"),  # the query's prose is not an action
        ("https://x.test/go?action=Approved", "", "approve"),
        ("https://x.test/rejected-items/approve", "", "approve"),  # only the last path segment
        ("https://x.test/decide?ex=RejectTest", "", None),  # a word inside another word is not a word
        ("https://x.test/a", "Approve or reject", None),  # names both: says nothing...
        ("https://x.test/reject", "Approve or reject", "reject"),  # ...so the path decides
        ("https://reject.example/approve", "", "approve"),  # never the host
        ("https://x.test/preapproved", "", None),
    ],
)
def test_finding_3_links_are_classified_by_whole_words_of_text_action_and_last_segment(url, text, action):
    assert classify_link(url, text) == action


def test_finding_3_the_tutorial_text_mail_gives_one_approve_and_one_reject_button():
    text = f"Approve: {TUTORIAL_APPROVE}\nReject: {TUTORIAL_REJECT}\n"
    links = [{"URL": link.url, "Text": link.text} for link in extract_links(text, "")]
    view = approval_view("1", "Required approval", links)
    assert [link["URL"] for link in view["Approve"]] == [TUTORIAL_APPROVE]
    assert [link["URL"] for link in view["Reject"]] == [TUTORIAL_REJECT]


API = "http://localhost:4566/_aws/execute-api/abc123/sandbox"
SANDBOX_TEXT = (
    "Title:       Deploy http://evil.example/approve?token=phish\n"
    f"Approve:\n{API}/approve?token=T1\n\nReject:\n{API}/reject?token=T1\n"
)


def _links(text: str, html: str = "") -> list[dict[str, str]]:
    return [{"URL": link.url, "Text": link.text} for link in extract_links(text, html)]


def test_finding_4_in_the_sandboxs_own_mail_only_its_decision_links_are_buttons():
    view = approval_view("1", "Approval needed", _links(SANDBOX_TEXT), trusted=[API])
    assert [link["URL"] for link in view["Approve"]] == [f"{API}/approve?token=T1"]
    assert [link["URL"] for link in view["Reject"]] == [f"{API}/reject?token=T1"]
    evil = next(link for link in view["Links"] if "evil" in link["URL"])
    assert evil["Action"] is None and evil["Trusted"] is False
    # Without the hook (the catcher alone), the same mail's evil link would be a button: the hook is what guards.
    assert any("evil" in link["URL"] for link in approval_view("1", "x", _links(SANDBOX_TEXT))["Approve"])


def test_finding_4_a_pasted_decision_link_of_another_request_leaves_no_button():
    text = f"Title: see {API}/approve?token=OTHER\n" + SANDBOX_TEXT
    view = approval_view("1", "Approval needed", _links(text), trusted=lambda: [API + "/"])
    assert view["Approve"] == [] and [link["URL"] for link in view["Reject"]] == [f"{API}/reject?token=T1"]
    assert "2 different approve links" in view["Notes"][0]


def test_finding_4_mail_without_trusted_links_is_classified_as_usual():
    view = approval_view("1", "x", _links("Approve: https://app.test/approve?t=1\n"), trusted=[API])
    assert [link["URL"] for link in view["Approve"]] == ["https://app.test/approve?t=1"]


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        (f"{API}/approve?token=x", True),
        (f"{API}/reject", True),
        ("HTTP://LOCALHOST:4566/_aws/execute-api/abc123/sandbox/approve", True),
        ("http://localhost:4566/_aws/execute-api/abc123/sandboxevil/approve", False),
        ("http://localhost:4566@evil.example/_aws/execute-api/abc123/sandbox/approve", False),
        ("http://localhost:4567/_aws/execute-api/abc123/sandbox/approve", False),
        ("https://localhost:4566/_aws/execute-api/abc123/sandbox/approve", False),
        ("http://evil.example/?u=http://localhost:4566/_aws/execute-api/abc123/sandbox/approve", False),
    ],
)
def test_finding_4_trusted_means_same_origin_and_below_the_prefix(url, trusted):
    assert is_trusted(url, [API]) is trusted
