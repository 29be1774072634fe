"""Issue 13 acceptance in a real browser (Debian chromium through Playwright): a user's own state machine beside
the demo, with a Choice, a Parallel and a `lambda:invoke.waitForTaskToken` task (tests/asl/order_review.json),
deployed into the running sandbox with a real Lambda that receives the task token.

Its graph renders (the Choice rule on its edge, the Parallel's branches inside it, the waiting task marked); one
waiting task is answered with success from the page (its output is the next state's input), another with failure
(the Parallel's Catch is taken), a third gets heartbeats past its HeartbeatSeconds and still waits. Executions are
started and re-run from the page; the overview lists waiting tasks of every machine and filters; the CLI answers
too; a hostile page cannot answer. Screenshots go to test-artifacts/ (the README's is docs/workflows-user.png).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator

import pytest
import requests
from asl import load_asl
from browser_support import needs_chromium
from page_server import PageServer, serving
from playwright.sync_api import expect
from workflows_support import EVIL, node, node_is, screenshot

from sandbox import workflow
from sandbox.config import REPO_ROOT, Settings

pytestmark = needs_chromium

MACHINE = "OrderReview"
FUNCTION = "order-review-callback"
ASK = "Ask reviewer"
# The Lambda the task token is handed to: it only logs it (a reviewer would keep it and answer later).
CALLBACK_SOURCE = "def handler(event, context):\n    print('review requested', event.get('order'))\n    return {}\n"


@pytest.fixture(scope="module")
def machine(sandbox: Settings) -> str:
    """The user's app: its Lambda and its state machine, created or updated in the running sandbox."""
    lam, sfn = workflow.client(sandbox, "lambda"), workflow.client(sandbox, "stepfunctions")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("handler.py", CALLBACK_SOURCE)
    try:
        function_arn = lam.create_function(
            FunctionName=FUNCTION, Runtime="python3.12", Handler="handler.handler",
            Code={"ZipFile": archive.getvalue()}, Role="arn:aws:iam::000000000000:role/order-review")["FunctionArn"]
    except lam.exceptions.ResourceConflictException:
        function_arn = lam.get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION)
    definition = json.dumps(load_asl("order_review", CallbackFunction=function_arn))
    role = "arn:aws:iam::000000000000:role/order-review-machine"
    arn = f"arn:aws:states:{sandbox.region}:000000000000:stateMachine:{MACHINE}"
    try:
        sfn.create_state_machine(name=MACHINE, definition=definition, roleArn=role)
    except sfn.exceptions.StateMachineAlreadyExists:
        sfn.update_state_machine(stateMachineArn=arn, definition=definition)
    return arn


def order(amount: int = 900, heartbeat: int = 600) -> dict:
    return {"id": f"order-{uuid.uuid4().hex[:8]}", "amount": amount, "heartbeatSeconds": heartbeat}


def start(sandbox: Settings, machine: str, name: str | None = None, **fields) -> str:
    name = name or f"e2e-{uuid.uuid4().hex[:10]}"
    workflow.client(sandbox, "stepfunctions").start_execution(
        stateMachineArn=machine, name=name, input=json.dumps(order(**fields)))
    return name


def execution_url(ui: str, name: str) -> str:
    return f"{ui}/workflows/machines/{MACHINE}/executions/{name}"


def task_card(page):
    return page.locator(f'#task-list .task[data-state="{ASK}"]')


def test_start_from_the_page_and_answer_with_success(sandbox: Settings, ui: str, machine: str, page) -> None:
    page.goto(f"{ui}/workflows")
    page.locator(f'#machines .machine[data-machine="{MACHINE}"] button.start').click()
    dialog = page.locator("#start-dialog")
    dialog.wait_for()
    # The input is checked as it is typed: broken JSON cannot be started.
    page.locator("#start-input").fill('{"amount": 900,')
    page.locator("#start-input-error:not([hidden])").wait_for()
    assert page.locator("#start-submit").is_disabled()
    page.locator("#start-input").fill(json.dumps(order(900)))
    page.locator("#start-submit").click()
    page.wait_for_url(f"**/workflows/machines/{MACHINE}/executions/*")
    name = page.url.rsplit("/", 1)[-1]

    node_is(page, ASK, "waiting")
    node_is(page, "Check amount", "visited")
    assert "container" in node(page, "Review").get_attribute("class").split()
    choice = page.locator('#graph g.edge.taken[data-from="Check amount"][data-to="Review"]')
    assert choice.locator("text.edge-label").evaluate("label => label.lastChild.textContent") == "$.amount > 100"
    assert node(page, "Reserve stock").get_attribute("data-status") == "visited"
    assert node(page, "Fulfil").get_attribute("data-status") == "not-visited"
    card = task_card(page)
    card.wait_for()
    assert card.locator(".task-token-path").inner_text() == "at Payload.token"
    assert card.locator(".task-token").inner_text() not in ("", "(not known yet)")
    assert "every 600 s" in card.locator(".task-heartbeat").inner_text()
    assert card.locator(".task-resource").inner_text() == "lambda:invoke.waitForTaskToken"
    screenshot(page, "user-waiting")

    output = card.locator(".success-output")
    output.fill('{"approved": true, "note": ')
    card.locator(".output-error:not([hidden])").wait_for()
    assert card.locator(".send-success").is_disabled()
    output.fill('{"approved": true, "note": "looks fine"}')
    card.locator(".send-success").click()
    page.locator("#status.succeeded").wait_for()
    node_is(page, "Done", "end-succeeded")
    node(page, "Fulfil").click()
    page.locator("#state-detail:not([hidden])").wait_for()
    assert '"note": "looks fine"' in page.locator("#state-input").inner_text()
    assert '"fulfilled": true' in page.locator("#state-output").inner_text()
    assert page.locator("#decide").is_hidden()
    screenshot(page, "user-succeeded")
    assert workflow.describe(sandbox, f"{machine.replace(':stateMachine:', ':execution:')}:{name}")["status"] \
        == "SUCCEEDED"


def test_a_failure_takes_the_catch_path(sandbox: Settings, ui: str, machine: str, page) -> None:
    name = start(sandbox, machine)
    page.goto(execution_url(ui, name))
    card = task_card(page)
    card.locator(".failure-error").fill("ReviewRejected")
    card.locator(".failure-cause").fill("over budget")
    card.locator(".send-failure").click()
    node_is(page, "Rejected", "end-failed")
    assert page.locator("#status").inner_text() == "FAILED"
    assert "OrderRejected" in page.locator("#error").inner_text()
    assert page.locator('#graph g.edge.taken[data-from="Review"][data-to="Rejected"]').count() == 1
    assert node(page, "Fulfil").get_attribute("data-status") == "not-visited"
    # Step Functions' own refusal, passed on plainly: the task no longer waits.
    again = requests.post(f"{ui}/workflows/api/machines/{MACHINE}/executions/{name}/answer",
                          json={"action": "success"}, timeout=30)
    assert again.status_code == 409 and again.json()["problem"] == "not_waiting"


def test_heartbeats_keep_a_task_alive_past_its_heartbeat_seconds(sandbox: Settings, ui: str, machine: str,
                                                                 page) -> None:
    heartbeat = 5
    name = f"e2e-heartbeat-{uuid.uuid4().hex[:8]}"
    page.goto(execution_url(ui, name))  # open first: the page shows the execution as soon as it exists
    start(sandbox, machine, name, heartbeat=heartbeat)
    card = task_card(page)
    card.wait_for()
    began = time.monotonic()
    while time.monotonic() - began < 3 * heartbeat:
        card.locator("button.heartbeat").click()
        card.locator(".task-result.ok", has_text="Heartbeat sent").wait_for()
        time.sleep(heartbeat / 3)
    assert page.locator("#status").inner_text() == "RUNNING"
    node_is(page, ASK, "waiting")
    assert "due" in card.locator(".task-heartbeat").inner_text()
    card.locator(".send-success").click()
    page.locator("#status.succeeded").wait_for()


def test_rerun_starts_a_new_execution_with_the_same_input(sandbox: Settings, ui: str, machine: str, page) -> None:
    name = start(sandbox, machine, amount=20)  # small: the Choice's default, no waiting
    page.goto(execution_url(ui, name))
    page.locator("#status.succeeded").wait_for()
    original = page.locator("#input").inner_text()
    page.locator("#rerun").click()
    page.wait_for_url(lambda url: name not in url and "/executions/" in url)
    page.locator("#status.succeeded").wait_for()
    assert page.locator("#input").inner_text() == original
    node_is(page, "Auto approve", "visited")


def test_the_overview_lists_waiting_tasks_filters_and_follows_cli_answers(sandbox: Settings, ui: str,
                                                                          machine: str, page) -> None:
    name = start(sandbox, machine)
    page.goto(f"{ui}/workflows?machine={MACHINE}&status=RUNNING")
    task = page.locator(f'#tasks tr[data-execution="{name}"]')
    task.wait_for()
    assert ASK in task.inner_text()
    row = page.locator(f'#executions tr[data-name="{name}"]')
    row.wait_for()
    assert page.locator("#executions tbody tr[data-machine]:not([data-machine='OrderReview'])").count() == 0
    order_id = json.loads(requests.get(f"{ui}/workflows/api/machines/{MACHINE}/executions/{name}",
                                       timeout=30).json()["input"])["id"]
    page.locator("#filter-q").fill(order_id)
    page.wait_for_url(f"**q={order_id}**")
    expect(page.locator("#executions tbody tr")).to_have_count(1)
    # The CLI answers the same task; the open page follows without a reload.
    answered = subprocess.run([sys.executable, "-m", "sandbox.cli", "answer", name, "--success", '{"by": "cli"}'],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert answered.returncode == 0, answered.stderr
    assert "Success sent" in answered.stdout
    task.wait_for(state="detached")
    row.wait_for(state="detached")  # no longer RUNNING: filtered out
    page.locator("#filter-status").select_option("SUCCEEDED")
    page.locator(f'#executions tr[data-name="{name}"][data-status="SUCCEEDED"]').wait_for()


# --- a hostile page in the same browser --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_site() -> Iterator[PageServer]:
    with serving() as site:
        yield site


def test_a_hostile_page_cannot_answer_a_task(sandbox: Settings, ui: str, machine: str, hostile_site,
                                            browser) -> None:
    name = start(sandbox, machine)
    target = f"{ui}/workflows/api/machines/{MACHINE}/executions/{name}/answer"
    hostile_site.page = f"""<!doctype html><body>
      <form id=f method=post action="{target}" enctype="text/plain">
        <input name='{{"action":"success","output":"{{}}","x":"' value='"}}'></form>
      <script>
        window.results = [];
        fetch("{target}", {{method: "POST", mode: "no-cors", body: '{{"action":"success"}}',
                            headers: {{"Content-Type": "text/plain"}}}}).then(() => results.push("no-cors sent"));
        fetch("{target}", {{method: "POST", body: '{{"action":"success"}}',
                            headers: {{"Content-Type": "application/json"}}}})
          .then(r => results.push("json " + r.status), e => results.push("json blocked"));
      </script></body>"""
    page = browser.new_page()
    page.goto(hostile_site.url(EVIL))
    page.wait_for_function("window.results.length === 2")  # the hostile page has no CSP: eval is fine
    # JSON cannot go cross-site without a CORS preflight this server never grants; text/plain gets through the
    # browser but not the server.
    assert sorted(page.evaluate("window.results")) == ["json blocked", "no-cors sent"]
    with page.expect_navigation():
        page.evaluate("document.getElementById('f').submit()")
    assert "refused" in page.locator("body").inner_text().lower()
    page.close()
    waiting = requests.get(f"{ui}/workflows/api/tasks", params={"machine": MACHINE}, timeout=30).json()["tasks"]
    assert name in [t["execution"] for t in waiting], "a cross-site request answered the task"
    workflow.client(sandbox, "stepfunctions").stop_execution(
        executionArn=f"{machine.replace(':stateMachine:', ':execution:')}:{name}")
