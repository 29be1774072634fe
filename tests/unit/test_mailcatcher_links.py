"""Finding approve/reject links in a caught mail."""

from __future__ import annotations

import pytest

from mailcatcher.parse import classify_link, extract_links


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
