"""Handlers' own logic, driven by the JSON event fixtures in tests/events (AWS services replaced by fakes)."""

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fakes import FakeS3, FakeSNS, FakeSQS

from lambdas import approval, decide, generate_task, process_request, send_verification

NOW = datetime(2025, 1, 15, 9, 31, 0, tzinfo=UTC)
API_URL = "http://localhost:4566/_aws/execute-api/abc123defg/sandbox"


# --- generate task ----------------------------------------------------------------------------------------------

def test_generate_task_from_a_manual_request_keeps_the_request_and_its_timeout(event):
    task = generate_task.build_task(event("eventbridge_manual_request"), 3600, NOW, "req-1")
    assert task["requestId"] == "req-1"
    assert task["createdAt"] == "2025-01-15T09:31:00+00:00"
    assert task["source"] == "event"
    assert task["request"]["title"] == "Deploy billing-service v2.4 to production"
    assert task["request"]["amount"] == 1200
    assert task["approvalTimeoutSeconds"] == 120


def test_generate_task_from_the_schedule_has_a_title_and_the_default_timeout(event):
    task = generate_task.build_task(event("eventbridge_scheduled"), 900, NOW, "req-2")
    assert task["source"] == "schedule"
    assert task["request"]["title"] == "Scheduled approval request"
    assert task["approvalTimeoutSeconds"] == 900


def test_generate_task_accepts_a_direct_start_execution_input():
    task = generate_task.build_task({"title": "  two   words "}, 60, NOW, "r")
    assert task["source"] == "direct" and task["request"]["title"] == "two words"


@pytest.mark.parametrize("bad", [0, -5, "soon", 1.5, True, 10**9, None])
def test_generate_task_refuses_a_bad_timeout_with_a_clear_message(bad):
    with pytest.raises(ValueError, match="approvalTimeoutSeconds must be a whole number"):
        generate_task.build_task({"title": "x", "approvalTimeoutSeconds": bad}, 60, NOW, "r")


def test_generate_task_accepts_a_numeric_string_timeout():
    assert generate_task.build_task({"approvalTimeoutSeconds": "30"}, 60, NOW, "r")["approvalTimeoutSeconds"] == 30


# --- process request --------------------------------------------------------------------------------------------

def test_process_request_returns_the_decision_with_its_result(event):
    result = process_request.process(event("process_request_input"), NOW)
    assert result["decision"] == "approved"
    assert result["requestId"] == "7f9c2ba4-e88f-4a0e-8f3a-1d2c3b4a5e6f"
    assert result["title"] == "Deploy billing-service v2.4 to production"
    assert result["processedAt"] == "2025-01-15T09:31:00+00:00"


# --- send verification ------------------------------------------------------------------------------------------

@pytest.fixture
def mail(monkeypatch):
    s3, sns, sqs = FakeS3(), FakeSNS(), FakeSQS()
    monkeypatch.setattr(send_verification, "s3_client", lambda: s3)
    monkeypatch.setattr(send_verification, "sns_client", lambda: sns)
    monkeypatch.setattr(send_verification, "sqs_client", lambda: sqs)
    monkeypatch.setenv("RECORDS_BUCKET", "bucket")
    monkeypatch.setenv("TOPIC_ARN", "arn:aws:sns:us-east-1:000000000000:approval-notifications")
    monkeypatch.setenv("API_URL", API_URL)
    return s3, sns


def test_verification_emails_once_and_reports_the_poison_message(event, mail):
    s3, sns = mail
    result = send_verification.handler(event("sqs_verification_message"), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]}
    (message,) = sns.published
    assert "Deploy billing-service v2.4 to production" in message["Subject"]
    body = message["Message"]
    assert "7f9c2ba4-e88f-4a0e-8f3a-1d2c3b4a5e6f" in body
    assert "5d1c7a8e-3f0b-4b8e-9d62-1f3a2b4c5d6e" in body  # execution name
    token = json.loads(event("sqs_verification_message")["Records"][0]["body"])["taskToken"]
    approve = next(line for line in body.splitlines() if "/approve?token=" in line)
    assert parse_qs(urlsplit(approve).query) == {"token": [token]}
    record = json.loads(s3.objects[approval.task_key(token)])
    assert record["emailSentAt"] and record["executionArn"].endswith(":5d1c7a8e-3f0b-4b8e-9d62-1f3a2b4c5d6e")


def test_a_redelivered_message_sends_no_second_email(event, mail):
    _, sns = mail
    good = {"Records": event("sqs_verification_message")["Records"][:1]}
    assert send_verification.handler(good, None) == {"batchItemFailures": []}
    assert send_verification.handler(good, None) == {"batchItemFailures": []}
    assert len(sns.published) == 1


def test_a_failed_publish_is_raised_and_leaves_no_record_so_a_retry_sends(event, mail, monkeypatch):
    s3, _ = mail
    good = {"Records": event("sqs_verification_message")["Records"][:1]}
    broken = FakeSNS(fail=RuntimeError("SNS is down"))
    monkeypatch.setattr(send_verification, "sns_client", lambda: broken)
    with pytest.raises(RuntimeError, match="SNS is down"):
        send_verification.handler(good, None)
    assert s3.objects == {}
    working = FakeSNS()
    monkeypatch.setattr(send_verification, "sns_client", lambda: working)
    assert send_verification.handler(good, None) == {"batchItemFailures": []}
    assert len(working.published) == 1


class Context:
    """The one thing of a Lambda context the handler reads: how much of its time is left."""

    def __init__(self, remaining_ms: int):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _claim_of_another_delivery(s3, task, now):
    s3.put_object(Bucket="bucket", Key=approval.task_key(task["taskToken"]),
                  Body=json.dumps(send_verification.task_record(task, now, claim_seconds=5)).encode())


def test_a_claim_whose_invocation_ended_is_taken_over_and_the_email_sent(event, mail):
    """The delivery that claimed the task was killed at its timeout before publishing: the next one sends."""
    s3, sns = mail
    good = event("sqs_verification_message")["Records"][0]
    task = json.loads(good["body"])
    _claim_of_another_delivery(s3, task, datetime.now(UTC) - timedelta(seconds=6))
    assert send_verification.handler({"Records": [good]}, Context(5000)) == {"batchItemFailures": []}
    assert len(sns.published) == 1
    record = json.loads(s3.objects[approval.task_key(task["taskToken"])])
    assert record["emailSentAt"]


def test_a_claim_still_within_its_invocation_is_left_alone(event, mail):
    s3, sns = mail
    good = event("sqs_verification_message")["Records"][0]
    task = json.loads(good["body"])
    _claim_of_another_delivery(s3, task, datetime.now(UTC) - timedelta(seconds=4))
    with pytest.raises(RuntimeError, match="being emailed by another delivery"):
        send_verification.handler({"Records": [good]}, Context(5000))
    assert sns.published == []


def test_a_takeover_that_loses_the_race_sends_nothing(event, mail, monkeypatch):
    """Two redeliveries find the same abandoned claim; the record changed before this one's conditional write."""
    s3, sns = mail
    good = event("sqs_verification_message")["Records"][0]
    task = json.loads(good["body"])
    _claim_of_another_delivery(s3, task, datetime.now(UTC) - timedelta(seconds=6))
    key = approval.task_key(task["taskToken"])
    read = s3.get_object

    def read_then_lose(Bucket, Key):
        found = read(Bucket=Bucket, Key=Key)
        s3.objects[key] = s3.objects[key] + b" "  # the other redelivery's takeover lands first
        return found

    monkeypatch.setattr(s3, "get_object", read_then_lose)
    with pytest.raises(RuntimeError, match="being emailed by another delivery"):
        send_verification.handler({"Records": [good]}, Context(5000))
    assert sns.published == []


def test_records_left_when_time_runs_short_are_reported_not_started_and_released(event, mail):
    s3, sns = mail
    sqs = send_verification.sqs_client()
    records = event("sqs_verification_message")["Records"]
    assert len(records) >= 2
    answer = send_verification.handler({"Records": records}, Context(send_verification.START_MARGIN_MS - 1))
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
    assert sns.published == [] and s3.objects == {}
    # Visible again at once, not after the queue's visibility timeout; still reported, so nothing is deleted.
    assert sqs.calls == [{
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/approval-requests",
        "Entries": [{"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": 0}
                    for i, r in enumerate(records)],
    }]


def test_only_the_records_not_started_are_released(event, mail):
    _, sns = mail
    sqs = send_verification.sqs_client()
    records = event("sqs_verification_message")["Records"]
    left = iter([5000, send_verification.START_MARGIN_MS - 1])
    answer = send_verification.send_batch(records, lambda: next(left), bucket="bucket", topic_arn="arn:topic",
                                          api_url=API_URL)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    assert len(sns.published) == 1
    (call,) = sqs.calls
    assert [e["ReceiptHandle"] for e in call["Entries"]] == [records[1]["receiptHandle"]]


def test_a_record_unstarted_again_on_a_later_delivery_waits_for_its_visibility_timeout(event, mail):
    """Released once already: the function is saturated, and each receive counts towards maxReceiveCount."""
    sqs = send_verification.sqs_client()
    first, second = event("sqs_verification_message")["Records"]
    again = {**second, "attributes": {**second["attributes"], "ApproximateReceiveCount": "2"}}
    answer = send_verification.handler({"Records": [first, again]}, Context(send_verification.START_MARGIN_MS - 1))
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in (first, again)]}
    (call,) = sqs.calls
    assert [e["ReceiptHandle"] for e in call["Entries"]] == [first["receiptHandle"]]
    sqs.calls.clear()
    send_verification.handler({"Records": [again]}, Context(send_verification.START_MARGIN_MS - 1))
    assert sqs.calls == []


def test_a_failed_release_still_reports_the_records(event, mail, monkeypatch):
    """The release is a shortcut: when SQS refuses it the messages come back after their visibility timeout."""
    broken = FakeSQS(error=RuntimeError("SQS is down"))
    monkeypatch.setattr(send_verification, "sqs_client", lambda: broken)
    records = event("sqs_verification_message")["Records"]
    answer = send_verification.handler({"Records": records}, Context(send_verification.START_MARGIN_MS - 1))
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
    assert len(broken.calls) == 1


def test_subject_is_short_single_line_and_names_the_title():
    subject = send_verification.email_subject("Line one\nline two " + "x" * 200)
    assert len(subject) <= 100 and "\n" not in subject and subject.startswith("Approval needed: Line one line two")


# --- decide -----------------------------------------------------------------------------------------------------

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAe+8Zx1c/Hk7q2W9oYvS3v0sXn+4Qf8rL2t1aZm5N0xJkP7bQ=="


def test_get_shows_a_confirm_page_and_changes_nothing(event, decide_services):
    s3, sfn = decide_services
    before = dict(s3.objects)
    response = decide.handle(event("apigw_get_approve"), NOW)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    page = response["body"]
    assert "Deploy billing-service v2.4 to production" in page and "waiting" in page
    assert "<form method=post action='approve'>" in page
    assert f"value='{TOKEN}'" in page
    assert sfn.calls == [] and s3.objects == before


def test_post_form_rejects_with_the_rejection_error(event, decide_services):
    _, sfn = decide_services
    response = decide.handle(event("apigw_post_reject_form"), NOW)
    assert response["statusCode"] == 200, response["body"]
    ((kind, kwargs),) = sfn.calls
    assert kind == "failure" and kwargs["error"] == "ApprovalRejected" and kwargs["taskToken"] == TOKEN


def test_post_json_approves_once_and_a_second_click_gets_409_naming_the_winner(event, decide_services):
    _, sfn = decide_services
    first = decide.handle(event("apigw_post_approve_json"), NOW)
    assert first["statusCode"] == 200 and first["headers"]["Content-Type"] == "application/json"
    assert json.loads(first["body"])["decision"] == "approved"
    ((kind, kwargs),) = sfn.calls
    assert kind == "success" and json.loads(kwargs["output"])["decision"] == "approved"
    second = decide.handle(event("apigw_post_reject_form"), NOW)
    assert second["statusCode"] == 409
    assert "already approved at 2025-01-15T09:31:00+00:00" in second["body"]
    assert len(sfn.calls) == 1


def test_a_finished_execution_without_decision_answers_410(event, decide_services):
    _, sfn = decide_services
    sfn.status = "FAILED"
    assert decide.handle(event("apigw_get_approve"), NOW)["statusCode"] == 410
    assert decide.handle(event("apigw_post_reject_form"), NOW)["statusCode"] == 410
    assert sfn.calls == []


def test_a_click_that_loses_the_race_to_a_decision_that_already_finished_the_workflow_gets_409(event, decide_services):
    """Between this click's look at the records and at the execution, another click decided and the workflow ended."""
    s3, sfn = decide_services
    other_click = {"decision": "approved", "decidedAt": "2025-01-15T09:30:59+00:00", "status": "pending"}

    def describe_after_the_other_click(executionArn):
        s3.put_object(Bucket="bucket", Key=approval.decision_key(TOKEN),
                      Body=json.dumps(other_click).encode())
        return {"executionArn": executionArn, "status": "SUCCEEDED"}

    sfn.describe_execution = describe_after_the_other_click
    response = decide.handle(event("apigw_post_reject_form"), NOW)
    assert response["statusCode"] == 409, response["body"]
    assert "already approved at 2025-01-15T09:30:59+00:00" in response["body"]
    assert sfn.calls == []


def test_step_functions_saying_timed_out_answers_410_and_later_clicks_too(event, decide_services):
    _, sfn = decide_services
    sfn.send_error = "TaskTimedOut"
    assert decide.handle(event("apigw_post_reject_form"), NOW)["statusCode"] == 410
    sfn.send_error = None
    assert decide.handle(event("apigw_post_approve_json"), NOW)["statusCode"] == 410


def test_an_unavailable_step_functions_leaves_the_decision_open(event, decide_services):
    _, sfn = decide_services
    sfn.send_error = "ServiceUnavailable"
    assert decide.handle(event("apigw_post_reject_form"), NOW)["statusCode"] == 503
    sfn.send_error = None
    assert decide.handle(event("apigw_post_reject_form"), NOW)["statusCode"] == 200


def _with_token(base: dict, token):
    call = json.loads(json.dumps(base))
    call["queryStringParameters"] = None if token is None else {"token": token}
    call["multiValueQueryStringParameters"] = None if token is None else {"token": [token]}
    return call


@pytest.mark.parametrize(
    ("token", "status", "phrase"),
    [
        (None, 400, "no token"),
        ("", 400, "no token"),
        ("A" * 10240, 400, "10240 characters"),
        ("AQCE AAAA", 400, "turned into a space"),
        ("<script>alert(1)</script>", 400, "characters no real token has"),
        ("../../etc/passwd", 400, "characters no real token has"),
        ("forgedButWellFormed+/==", 404, "does not belong to any approval request"),
    ],
)
def test_bad_tokens_get_a_clear_4xx_page(event, decide_services, token, status, phrase):
    response = decide.handle(_with_token(event("apigw_get_approve"), token), NOW)
    assert response["statusCode"] == status
    assert phrase in response["body"]
    assert "Traceback" not in response["body"] and "<script>" not in response["body"]


def test_bad_input_in_json_gets_json_errors(event, decide_services):
    call = _with_token(event("apigw_post_approve_json"), None)
    call["body"], call["isBase64Encoded"] = "{not json", False
    response = decide.handle(call, NOW)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == "BadBody"


def test_wrong_method_and_unknown_path(event, decide_services):
    call = event("apigw_get_approve")
    assert decide.handle({**call, "httpMethod": "DELETE"}, NOW)["statusCode"] == 405
    assert decide.handle({**call, "resource": "/admin", "path": "/admin"}, NOW)["statusCode"] == 404


def test_two_different_tokens_are_refused(event, decide_services):
    call = event("apigw_post_reject_form")
    call["queryStringParameters"] = {"token": "other"}
    call["multiValueQueryStringParameters"] = {"token": ["other"]}
    assert decide.handle(call, NOW)["statusCode"] == 400


def test_a_link_opened_before_its_email_was_sent_is_found_in_the_execution_history(event, decide_services, monkeypatch):
    s3, sfn = decide_services
    s3.objects.clear()  # no record yet: send_verification has not run
    body = json.loads(event("sqs_verification_message")["Records"][0]["body"])
    sfn.histories[body["executionArn"]] = [{"type": "TaskScheduled", "taskScheduledEventDetails": {
        "resource": "sendMessage.waitForTaskToken", "parameters": json.dumps({"MessageBody": body})}}]
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:000000000000:stateMachine:WaitForCallback")
    page = decide.handle(event("apigw_get_approve"), NOW)
    assert page["statusCode"] == 200 and "Deploy billing-service v2.4 to production" in page["body"]
    assert s3.objects == {}, "the email's once-only record belongs to send_verification"
    forged = _with_token(event("apigw_get_approve"), TOKEN[:-4] + "AAA=")
    assert decide.handle(forged, NOW)["statusCode"] == 404


@pytest.mark.parametrize(("written", "shown"), [
    ("Deploy http://evil.example/approve?token=phish", "Deploy http[:]//evil[.]example/approve?token=phish"),
    ("see HTTPS://Evil.Example:8443/x", "see HTTPS[:]//Evil[.]Example:8443/x"),
    ("www.evil.example/reject now", "www[.]evil[.]example/reject now"),
    ("javascript://alert(1)", "javascript[:]//alert(1)"),
    ("plain words, 3.5 percent", "plain words, 3.5 percent"),
])
def test_finding_4_urls_in_request_text_are_made_inert(written, shown):
    assert send_verification.inert(written) == shown


def test_finding_4_a_request_cannot_add_a_link_to_its_email(event, mail):
    _, sns = mail
    task = json.loads(event("sqs_verification_message")["Records"][0]["body"])
    task["request"] = {"title": "Deploy http://evil.example/approve?token=phish",
                       "ticket": "https://evil.example/reject?token=x", "note": "www.evil.example"}
    send_verification.send_once(task, bucket="bucket", topic_arn="arn:topic", api_url=API_URL, now=NOW)
    (published,) = sns.published
    text = published["Subject"] + "\n" + published["Message"]
    links = re.findall(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+", text)
    assert links and all(link.startswith(API_URL + "/") for link in links), links


def test_an_unknown_token_in_a_restarted_sandbox_explains_the_restart(event, decide_services, monkeypatch):
    """Issue 15 item 8: the decision API keeps its address across restarts, so an old email's link comes here."""
    forged = _with_token(event("apigw_get_approve"), TOKEN[:-4] + "AAA=")
    monkeypatch.delenv("SANDBOX_STARTED_AT", raising=False)
    plain = decide.handle(forged, NOW)
    assert plain["statusCode"] == 404 and "restart" not in plain["body"]
    monkeypatch.setenv("SANDBOX_STARTED_AT", "2025-01-15T09:00:00+00:00")
    page = decide.handle(forged, NOW)
    assert page["statusCode"] == 404
    assert "restarted at 2025-01-15 09:00:00 UTC" in page["body"] and "lost in the restart" in page["body"]
    forged["headers"]["Accept"] = "application/json"
    assert json.loads(decide.handle(forged, NOW)["body"])["sandboxStartedAt"] == "2025-01-15T09:00:00+00:00"
