"""What the examples' end-to-end tests share: run the examples' own tools, confirm the approver's SNS subscription
when the sandbox asks for it, and follow a link from a caught mail in Chromium the way a person does it (open the
mail in the catcher, click its button), then wait for the execution to end."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
from browser_support import chromium

from sandbox import workflow
from sandbox.config import REPO_ROOT, TEST_CREDENTIALS, Settings

EXAMPLES = REPO_ROOT / "examples"
CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"


def tool_env(settings: Settings) -> dict[str, str]:
    """What a user exports to point npm tools (cdklocal, the AWS SDKs) at the sandbox. An IP, not localhost, so S3
    requests use path style (virtual hosts under localhost do not resolve)."""
    endpoint = f"http://127.0.0.1:{settings.localstack_port}"
    return {**os.environ, **TEST_CREDENTIALS, "AWS_REGION": settings.region, "AWS_DEFAULT_REGION": settings.region,
            "AWS_ENDPOINT_URL": endpoint, "AWS_ENDPOINT_URL_S3": endpoint}


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run a tool as a user would; a failure shows its output."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n" \
                                 f"{done.stderr[-4000:]}"
    return done.stdout


def npm_ci(directory: Path) -> None:
    """`npm ci`, unless node_modules already holds exactly what package-lock.json pins."""
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: the examples need Node.js and npm (see the README's Requirements)")
    installed = directory / "node_modules" / ".package-lock.json"
    lock = directory / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    run(["npm", "ci", "--no-audit", "--no-fund"], directory, dict(os.environ), timeout=900)


def mail_wait(settings: Settings, query: str, timeout: float = 60) -> dict:
    answer = requests.get(f"{settings.mail_url}/api/v1/wait", params={"query": query, "timeout": timeout},
                          timeout=timeout + 10)
    assert answer.status_code == 200, f"no mail matching {query!r} within {timeout:.0f} s ({answer.status_code})"
    return requests.get(f"{settings.mail_url}/api/v1/message/{answer.json()['ID']}", timeout=10).json()


def confirm_subscription_if_pending(settings: Settings, topic_arn: str, address: str) -> None:
    """With SANDBOX_SNS_EMAIL_CONFIRMATION=required the subscription waits, as on AWS, for its confirmation link."""
    sns = workflow.client(settings, "sns")
    pending = [s for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
               if s["Endpoint"] == address and s["SubscriptionArn"] == "PendingConfirmation"]
    if not pending:
        return
    message = mail_wait(settings, f'to:{address} subject:"{CONFIRMATION_SUBJECT}"')
    [confirm] = [url for url in re.findall(r"https?://\S+", message["Text"]) if "onfirm" in url]
    with chromium() as browser:
        browser.new_page().goto(confirm)
    deadline = time.monotonic() + 30
    while any(s["SubscriptionArn"] == "PendingConfirmation"
              for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
              if s["Endpoint"] == address):
        assert time.monotonic() < deadline, f"the subscription of {address} stayed pending after its confirmation"
        time.sleep(0.2)


def click_in_catcher(settings: Settings, message: dict, action: str, original_prefix: str) -> str:
    """Open the mail in the catcher's web UI in Chromium and click its Approve or Reject button, as a person does.

    The mail's link (`original_prefix`…) is an execute-api URL that does not open offline; the catcher routes it to
    the local gateway and says so. Returns the text of the page the click opened.
    """
    approval = requests.get(f"{settings.mail_url}/api/v1/message/{message['ID']}/approval", timeout=10).json()
    shown = approval.get(action.capitalize(), [])
    matching = [link for link in shown if link.get("OriginalURL", link["URL"]).startswith(original_prefix)]
    assert len(matching) == 1, f"the catcher shows no single {action} button for {original_prefix}…: {shown}"
    [link] = matching
    assert link.get("Routed") is True, f"the catcher did not route the link to the local gateway: {link}"
    assert link["OriginalURL"] in message["Text"]
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{settings.mail_url}/view/{message['ID']}")
        button = page.locator(f'a[href="{link["URL"]}"]').first  # the button comes before the mail's text
        with page.context.expect_page() as opened:
            button.click()
        result = opened.value
        result.wait_for_load_state()
        return result.locator("body").inner_text()


def wait_for_end(settings: Settings, execution_arn: str, timeout: float = 60) -> dict:
    sfn = workflow.client(settings, "stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{execution_arn} still RUNNING after {timeout:.0f} s"
        time.sleep(0.2)
