"""Issue 14: the catcher answers the published Mailpit clients as Mailpit does.

The pinned npm ``mailpit-api`` client (tests/compat, installed here with ``npm ci`` when missing) runs every
method a mail-testing user touches against a real catcher (``tests/compat/mailpit_calls.mjs``); each answer is
then checked field by field (names, types, casing) against the shapes Mailpit's API v1 documents, written
out below. Features the catcher does not offer must fail as a clear 501 naming them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from mailcatcher_support import REPO_ROOT, unique

COMPAT = REPO_ROOT / "tests" / "compat"

# Mailpit API v1's documented shapes (its swagger definitions): key -> type, nested dicts, [item shape],
# ("map", value shape) for objects with free keys.
ADDRESS = {"Name": str, "Address": str}
ATTACHMENT = {"PartID": str, "FileName": str, "ContentType": str, "ContentID": str, "Size": int,
              "Checksums": {"MD5": str, "SHA1": str, "SHA256": str}}
SUMMARY = {"ID": str, "MessageID": str, "Read": bool, "From": ADDRESS, "To": [ADDRESS], "Cc": [ADDRESS],
           "Bcc": [ADDRESS], "ReplyTo": [ADDRESS], "Subject": str, "Created": str, "Username": str, "Tags": [str],
           "Size": int, "Attachments": int, "Snippet": str}
MESSAGES = {"total": int, "unread": int, "messages_count": int, "messages_unread": int, "start": int,
            "tags": [str], "messages": [SUMMARY]}
MESSAGE = {"ID": str, "MessageID": str, "From": ADDRESS, "To": [ADDRESS], "Cc": [ADDRESS], "Bcc": [ADDRESS],
           "ReplyTo": [ADDRESS], "ReturnPath": str, "Subject": str, "Date": str, "Tags": [str], "Username": str,
           "Text": str, "HTML": str, "Size": int, "Inline": [ATTACHMENT], "Attachments": [ATTACHMENT],
           "ListUnsubscribe": {"Header": str, "HeaderPost": str, "Links": [str], "Errors": str}}
INFO = {"Version": str, "LatestVersion": str, "Database": str, "DatabaseSize": int, "Messages": int, "Unread": int,
        "Tags": ("map", int),
        "RuntimeStats": {"Memory": int, "MessagesDeleted": int, "SMTPAccepted": int, "SMTPAcceptedSize": int,
                         "SMTPIgnored": int, "SMTPRejected": int, "Uptime": int}}
WEBUI = {"Label": str, "SpamAssassin": bool, "ChaosEnabled": bool, "DuplicatesIgnored": bool,
         "HideDeleteAllButton": bool,
         "MessageRelay": {"Enabled": bool, "SMTPServer": str, "ReturnPath": str, "AllowedRecipients": str,
                          "BlockedRecipients": str, "OverrideFrom": str, "PreserveMessageIDs": bool}}
LINK_CHECK = {"Errors": int, "Links": [{"URL": str, "StatusCode": int, "Status": str}]}
HEADERS = ("map", [str])


def conforms(value, shape, where: str = "$") -> list[str]:
    """Where ``value`` differs from ``shape`` (missing keys, wrong types); extra keys are allowed."""
    if isinstance(shape, tuple):
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        return [p for key, item in value.items() for p in conforms(item, shape[1], f"{where}.{key}")]
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        problems = [f"{where}.{key}: missing" for key in shape if key not in value]
        return problems + [p for key in shape if key in value for p in conforms(value[key], shape[key],
                                                                                   f"{where}.{key}")]
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in conforms(item, shape[0], f"{where}[{i}]")]
    if shape is int and isinstance(value, bool) or not isinstance(value, shape):
        return [f"{where}: expected {shape.__name__}, got {type(value).__name__} {value!r:.60}"]
    return []


@pytest.fixture(scope="module")
def node_client() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("Node.js and npm are needed for the Mailpit compatibility suite (apt-get install nodejs npm)")
    if not (COMPAT / "node_modules" / "mailpit-api").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=COMPAT, check=True, timeout=300)
    return Path(node)


def seed(catcher, marker: str) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"{marker} attachment"
    msg["From"] = "Alice <alice@example.com>"
    msg["To"] = "Bob <bob@example.com>"
    msg["List-Unsubscribe"] = "<mailto:unsubscribe@example.com>, <https://example.com/unsubscribe>"
    msg.set_content(f"See {catcher.url}/livez and {catcher.url}/no-such-page")
    msg.add_alternative(f'<p>html <img src="cid:logo"> <a href="{catcher.url}/livez">ok</a></p>', subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<logo>")
    msg.add_attachment(b"attached bytes", maintype="application", subtype="pdf", filename="report.pdf")
    with catcher.smtp() as client:
        client.send_message(msg, to_addrs=["bob@example.com", "hidden@example.com"])
    plain = EmailMessage()
    plain["Subject"] = f"{marker} plain"
    plain["From"] = "carol@example.com"
    plain["To"] = "dave@example.com"
    plain.set_content("plain body")
    catcher.send(plain)


@pytest.fixture(scope="module")
def answers(node_client, tmp_path_factory):
    from mailcatcher_support import Catcher

    catcher = Catcher(tmp_path_factory.mktemp("compat")).start()
    try:
        marker = unique("compat")
        seed(catcher, marker)
        run = subprocess.run([str(node_client), str(COMPAT / "mailpit_calls.mjs"), catcher.url, marker],
                             capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode == 0, run.stderr
        yield json.loads(run.stdout), marker
    finally:
        catcher.stop()


OK_CALLS = ["getInfo", "getConfiguration", "listMessages", "searchMessages", "searchPlain", "getMessageSummary",
            "getMessageSummaryLatest", "getMessageHeaders", "getMessageSource", "getMessageAttachment",
            "getInlinePart", "renderMessageHTML", "renderMessageText", "linkCheck", "linkCheckFollow",
            "setReadStatusUnreadByIDs", "searchUnread", "setReadStatusBySearch", "searchReadAfterSearch",
            "searchAfterWithTz", "setTags", "getTags", "searchByTag", "renameTag", "getTagsRenamed", "deleteTag",
            "getTagsAfterDelete", "sendMessage", "getSent", "waitForMessage", "deleteMessagesBySearch",
            "searchAfterDeleteBySearch", "deleteMessagesByIDs", "searchAfterDeleteByIDs", "setReadStatusAll",
            "infoAfter", "deleteAll", "listAfterDeleteAll"]


@pytest.mark.parametrize("name", OK_CALLS)
def test_every_client_method_succeeds(answers, name):
    found, _ = answers
    assert found[name]["ok"], found[name].get("error")


@pytest.mark.parametrize(("name", "what"), [("htmlCheck", "HTML check"), ("spamAssassinCheck", "SpamAssassin"),
                                            ("getChaosTriggers", "Chaos")])
def test_what_is_not_offered_is_a_clear_501(answers, name, what):
    found, _ = answers
    assert not found[name]["ok"] and "501" in found[name]["error"] and what in found[name]["error"]


@pytest.mark.parametrize(("name", "shape"), [
    ("getInfo", INFO), ("getConfiguration", WEBUI), ("listMessages", MESSAGES), ("searchMessages", MESSAGES),
    ("getMessageSummary", MESSAGE), ("getMessageHeaders", HEADERS), ("linkCheck", LINK_CHECK), ("getSent", MESSAGE),
])
def test_answers_have_mailpits_documented_shape(answers, name, shape):
    found, _ = answers
    assert conforms(found[name]["result"], shape) == []


def test_message_fields_as_mailpit_fills_them(answers):
    found, marker = answers
    message = found["getMessageSummary"]["result"]
    assert message["Subject"] == f"{marker} attachment"
    assert message["From"] == {"Name": "Alice", "Address": "alice@example.com"}
    assert message["Bcc"] == [{"Name": "", "Address": "hidden@example.com"}]  # envelope-only recipient
    assert message["ReturnPath"] == "alice@example.com"
    assert message["ListUnsubscribe"]["Links"] == ["mailto:unsubscribe@example.com", "https://example.com/unsubscribe"]
    [attachment] = message["Attachments"]
    assert attachment["Checksums"]["SHA256"] == hashlib.sha256(b"attached bytes").hexdigest()
    assert base64.b64decode(found["getMessageAttachment"]["result"]["base64"]) == b"attached bytes"
    assert base64.b64decode(found["getInlinePart"]["result"]["base64"]) == b"\x89PNG fake"
    headers = found["getMessageHeaders"]["result"]
    for name in ("Return-Path", "Received", "Subject", "Content-Type", "List-Unsubscribe"):
        assert name in headers, name
    assert list(headers) == sorted(headers)
    assert found["getMessageSource"]["result"].startswith("Return-Path: <alice@example.com>\r\nReceived: ")
    assert "html" in found["renderMessageHTML"]["result"] and "livez" in found["renderMessageText"]["result"]
    summary = found["searchMessages"]["result"]["messages"][0]
    assert summary["Attachments"] == 1 and summary["Username"] == ""


def test_read_status_tags_search_and_deletes_behave_as_mailpit(answers):
    found, marker = answers
    assert found["searchUnread"]["result"]["messages_count"] == 1
    assert found["searchReadAfterSearch"]["result"]["messages_count"] == 2
    assert found["searchAfterWithTz"]["result"]["messages_count"] == 2
    assert found["getTags"]["result"] == ["Compat One", "two"]
    assert found["searchByTag"]["result"]["messages_count"] == 2
    assert found["getTagsRenamed"]["result"] == ["Compat 1", "two"]
    assert found["getTagsAfterDelete"]["result"] == ["Compat 1"]
    sent = found["getSent"]["result"]
    assert sent["Subject"] == f"{marker} sent" and sent["Tags"] == ["sent-tag"]
    assert sent["Bcc"] == [{"Name": "", "Address": "hidden@example.com"}]
    assert sent["Attachments"][0]["FileName"] == "hello.txt" and sent["Text"] == "sent text\n"
    assert found["waitForMessage"]["result"]["ID"] == sent["ID"]
    assert found["searchAfterDeleteBySearch"]["result"]["messages_count"] == 0
    assert found["searchAfterDeleteByIDs"]["result"]["messages_count"] == 0
    assert found["infoAfter"]["result"]["Unread"] == 0
    assert found["listAfterDeleteAll"]["result"]["total"] == 0


def test_link_check_requests_loopback_links_only(answers):
    found, _ = answers
    links = {link["URL"].rsplit("/", 1)[-1]: link for link in found["linkCheck"]["result"]["Links"]}
    assert links["livez"]["StatusCode"] == 200
    assert links["no-such-page"]["StatusCode"] == 404
    assert found["linkCheck"]["result"]["Errors"] == 1
