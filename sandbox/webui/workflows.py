"""The Workflows page: executions of the deployed state machine, each drawn as a graph with its history, and
Approve/Reject for the one that waits. Mounted next to the mail catcher (``python -m sandbox.webui``).

Data comes from LocalStack (ListExecutions, DescribeExecution, GetExecutionHistory, and the definition the
execution runs from DescribeStateMachineForExecution). Live updates: while a page is open its event stream
subscribes to a poller for what it shows (the list, or one execution); the poller asks LocalStack every
``poll_interval`` seconds and pushes the new state only when it changed, and stops with its last subscriber.

Decisions are never made here: the buttons open the decision endpoint's confirm page, the same URLs the email
carries (built by the same function), so there is one code path for deciding.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import jinja2
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from lambdas.approval import decision_links, execution_in_mail, verification_message, waiting_token
from mailcatcher.store import QueryError, Store, parse_query
from mailcatcher.web import SECURITY_HEADERS, UI_CSP
from sandbox import workflow
from sandbox.config import TEST_CREDENTIALS, Settings

from .graph import DefinitionError, progress_from_history, render_svg
from .timeline import timeline

log = logging.getLogger("sandbox.webui")

HERE = Path(__file__).parent
PREFIX = "/workflows"
LIST_LIMIT = 50
DEFAULT_POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
# An execution name as Step Functions allows it (1-80 characters, no whitespace, control characters or
# wildcard/URL specials).
NAME = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f<>{}\[\]?*\"#%\\^|~`$&,;:/]{1,80}$")
EXECUTION_END_EVENTS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(HERE / "templates")),
        jinja2.PackageLoader("mailcatcher", "templates"),  # base.html: the catcher's header and nav
    ]),
    autoescape=True,
))


class Unavailable(Exception):
    """The page cannot show what was asked; ``message`` tells the person why and what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def payload(self) -> dict[str, Any]:
        # "problem", not "error": an execution's own "error" (e.g. ApprovalRejected) is data, not a failure here.
        return {"problem": self.code, "message": self.message}


def _execution_fields(described: dict[str, Any]) -> dict[str, Any]:
    """What the list and the execution view both show of a DescribeExecution answer."""
    return {
        "status": described["status"],
        "decision": workflow.decision_of(described),
        "title": str(workflow.request_of(described.get("input")).get("title", "")),
        "started": _iso(described["startDate"]),
        "stopped": _iso(described.get("stopDate")),
        "error": described.get("error"),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value else None


def _pretty_json(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


@dataclass
class Backend:
    """What the page shows, read from LocalStack. Blocking (boto3): call from a worker thread."""

    settings: Settings
    _sfn: Any = None
    _described: dict[tuple[str, str], dict] = field(default_factory=dict)  # (arn, status) -> DescribeExecution
    _definitions: dict[str, dict] = field(default_factory=dict)  # execution arn -> its definition

    @property
    def sfn(self):
        if self._sfn is None:
            self._sfn = boto3.client(
                "stepfunctions",
                endpoint_url=self.settings.localstack_url,
                region_name=self.settings.region,
                aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                # Fail fast when LocalStack is down: the page says so instead of hanging through retries.
                config=Config(connect_timeout=2, read_timeout=15, retries={"max_attempts": 1}),
            )
        return self._sfn

    @contextlib.contextmanager
    def _aws(self):
        """Turn the ways LocalStack can be unreachable into a message for the person looking at the page."""
        try:
            yield
        except EndpointConnectionError:
            raise Unavailable(503, "localstack_unavailable",
                              f"LocalStack is not running at {self.settings.localstack_url}. "
                              "Start the sandbox with `make up`; this page updates once it answers.") from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("StateMachineDoesNotExist", "ResourceNotFound"):
                raise self._not_deployed("the state machine in outputs.json does not exist in LocalStack "
                                         "(LocalStack keeps no state across restarts)") from None
            # InvalidArn: LocalStack refuses some names AWS allows (non-ASCII); no such execution can exist.
            if code in ("ExecutionDoesNotExist", "InvalidArn"):
                raise Unavailable(404, "execution_not_found", "There is no execution with this name.") from None
            raise Unavailable(502, "localstack_error", f"LocalStack answered with an error: {code or error}") \
                from None
        except BotoCoreError as error:
            raise Unavailable(503, "localstack_unavailable",
                              f"LocalStack at {self.settings.localstack_url} did not answer ({error}).") from None

    def _not_deployed(self, why: str) -> Unavailable:
        return Unavailable(503, "not_deployed", f"The approval pipeline is not deployed: {why}. "
                                                "Run `make deploy` (or `make up`); this page updates afterwards.")

    def outputs(self) -> dict:
        try:
            outputs = workflow.load_outputs(self.settings)
        except workflow.WorkflowError as error:
            raise self._not_deployed(str(error).split(";")[0]) from None
        if not outputs.get("state_machine_arn"):
            raise self._not_deployed("outputs.json has no state_machine_arn")
        return outputs

    def _describe(self, arn: str, status: str) -> dict:
        # What the list shows of an execution (decision, title, stop) changes only with its status, which
        # ListExecutions reports; so each execution is described once per status, not on every poll.
        key = (arn, status)
        if key not in self._described:
            with self._aws():
                self._described[key] = self.sfn.describe_execution(executionArn=arn)
        return self._described[key]

    def executions(self, limit: int = LIST_LIMIT) -> dict[str, Any]:
        """The newest executions with status, decision, title, start and stop."""
        outputs = self.outputs()
        machine = outputs["state_machine_arn"]
        with self._aws():
            summaries = self.sfn.list_executions(stateMachineArn=machine, maxResults=limit)["executions"]
        summaries.sort(key=lambda s: s["startDate"], reverse=True)
        rows = []
        for summary in summaries[:limit]:
            # Finished executions never change, so their description is read once.
            described = self._describe(summary["executionArn"], summary["status"])
            rows.append({"name": summary["name"], **_execution_fields(described)})
        listed = {summary["executionArn"] for summary in summaries}
        self._described = {key: value for key, value in self._described.items() if key[0] in listed}
        return {"stateMachine": machine.rsplit(":", 1)[-1], "stateMachineArn": machine, "executions": rows}

    def _definition(self, arn: str) -> dict:
        if arn not in self._definitions:
            with self._aws():
                try:
                    answer = self.sfn.describe_state_machine_for_execution(executionArn=arn)
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                        raise
                    # Not every emulator has this call; the machine's current definition is the next best.
                    answer = self.sfn.describe_state_machine(stateMachineArn=self.outputs()["state_machine_arn"])
            self._definitions[arn] = json.loads(answer["definition"])
        return self._definitions[arn]

    def _consistent_state(self, arn: str) -> tuple[dict, list[dict]]:
        """DescribeExecution and the history, agreeing on whether the execution ended (two calls can straddle
        the end; a page showing RUNNING beside an ended graph would be wrong until the next change)."""
        for _ in range(5):
            with self._aws():
                events = []
                for page in self.sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
                    events.extend(page["events"])
                described = self.sfn.describe_execution(executionArn=arn)
            ended = any(event.get("type") in EXECUTION_END_EVENTS for event in events)
            if ended == (described["status"] != "RUNNING"):
                break
            time.sleep(0.05)
        return described, events

    def execution(self, name: str) -> dict[str, Any]:
        """One execution: status, the graph coloured by its progress, the timeline, input/output, and for a
        waiting one the decision links (the email's) and the task token's execution state."""
        if not NAME.match(name):
            raise Unavailable(400, "bad_name", "That is not a valid execution name.")
        outputs = self.outputs()
        arn = outputs["state_machine_arn"].replace(":stateMachine:", ":execution:", 1) + ":" + name
        described, events = self._consistent_state(arn)
        definition = self._definition(arn)
        progress = progress_from_history(events, definition)
        try:
            svg = render_svg(definition, progress)
        except DefinitionError as error:
            svg = ""
            log.warning("cannot draw the definition of %s: %s", name, error)
        waiting_in = [state for state, status in progress.states.items() if status == "waiting"]
        token = waiting_token(events) if described["status"] == "RUNNING" else None
        links = decision_links(outputs["api_url"], token) if token and outputs.get("api_url") else None
        return {
            "name": name,
            "arn": arn,
            **_execution_fields(described),
            "cause": described.get("cause"),
            "waitingIn": waiting_in[0] if waiting_in else None,
            "states": progress.states,
            "graph": svg,
            "timeline": timeline(events),
            "input": _pretty_json(described.get("input")),
            "output": _pretty_json(described.get("output")),
            "approveUrl": links["approve"] if links else None,
            "rejectUrl": links["reject"] if links else None,
        }

    def execution_for_token(self, token: str, scan: int = LIST_LIMIT) -> str | None:
        """The name of the recent execution whose callback task has this token (for links from an email)."""
        outputs = self.outputs()
        with self._aws():
            summaries = self.sfn.list_executions(stateMachineArn=outputs["state_machine_arn"],
                                                 maxResults=scan)["executions"]
            for summary in sorted(summaries, key=lambda s: s["startDate"], reverse=True):
                for page in self.sfn.get_paginator("get_execution_history").paginate(
                        executionArn=summary["executionArn"]):
                    for event in page["events"]:
                        details = event.get("taskScheduledEventDetails") or {}
                        message = verification_message(details.get("parameters"))
                        if message and message["taskToken"] == token:
                            return summary["name"]
        return None


# --- live updates ------------------------------------------------------------------------------------------------


class Watch:
    """One thing being watched (the list, or one execution) by one or more open pages."""

    def __init__(self, compute: Callable[[], str]) -> None:
        self.compute = compute
        self.queues: set[asyncio.Queue[str]] = set()
        self.latest: str | None = None
        self.task: asyncio.Task | None = None


class Poller:
    """Polls LocalStack for what open pages show, one poll per watched thing however many pages show it."""

    def __init__(self, interval: float = DEFAULT_POLL_SECONDS) -> None:
        self.interval = interval
        self._watches: dict[str, Watch] = {}

    @contextlib.asynccontextmanager
    async def subscribe(self, key: str, compute: Callable[[], str]) -> AsyncIterator[asyncio.Queue[str]]:
        watch = self._watches.get(key)
        if watch is None:
            watch = self._watches[key] = Watch(compute)
            watch.task = asyncio.create_task(self._run(watch), name=f"poll {key}")
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=4)
        if watch.latest is not None:
            queue.put_nowait(watch.latest)
        watch.queues.add(queue)
        try:
            yield queue
        finally:
            watch.queues.discard(queue)
            if not watch.queues and self._watches.get(key) is watch:
                del self._watches[key]
                if watch.task:
                    watch.task.cancel()

    @staticmethod
    def _publish(watch: Watch, payload: str) -> None:
        for queue in list(watch.queues):
            if queue.full():  # a slow page only needs the newest state
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(payload)

    async def _run(self, watch: Watch) -> None:
        while True:
            try:
                payload = await run_in_threadpool(watch.compute)
            except Exception:  # keep polling; the page keeps its last state
                log.exception("polling for the Workflows page failed")
                payload = json.dumps({"problem": "internal_error", "message": "Reading the workflow failed; "
                                      "see the sandbox log."})
            if payload != watch.latest:
                watch.latest = payload
                self._publish(watch, payload)
            await asyncio.sleep(self.interval)

    def close(self) -> None:
        for watch in self._watches.values():
            if watch.task:
                watch.task.cancel()
        self._watches.clear()


# --- routes ------------------------------------------------------------------------------------------------------


def _page(request: Request, template: str, context: dict, status: int = 200) -> Response:
    response = templates.TemplateResponse(
        request, template, {"nav_links": request.app.state.nav_links, "prefix": PREFIX, **context},
        status_code=status,
    )
    response.headers.update({"Content-Security-Policy": UI_CSP, **SECURITY_HEADERS})
    return response


def _caught_mail(store: Store | None, name: str) -> str | None:
    """The id of the caught approval email of an execution (its text names the execution), if any."""
    if store is None:
        return None
    try:
        _, found = store.search(parse_query(f'"{name}"'), limit=1)
    except QueryError:
        return None
    return str(found[0]["ID"]) if found else None


def _with_mail(data: dict[str, Any], store: Store | None) -> dict[str, Any]:
    """Add the link to the execution's email, and hold the decision links back until that email exists: the
    decision endpoint learns a token when the email is sent, so a click before that would be refused."""
    message_id = _caught_mail(store, data["name"])
    data["mailUrl"] = f"/view/{message_id}" if message_id else f"/?q={quote(data['name'])}"
    data["emailCaught"] = message_id is not None
    data["awaitingEmail"] = bool(data.get("approveUrl")) and store is not None and message_id is None
    if data["awaitingEmail"]:
        data["approveUrl"] = data["rejectUrl"] = None
    return data


class WorkflowsUI:
    """The Workflows page's routes, over one Backend and one Poller."""

    def __init__(self, settings: Settings, poll_interval: float = DEFAULT_POLL_SECONDS) -> None:
        self.backend = Backend(settings)
        self.poller = Poller(poll_interval)

    def _snapshot(self, read: Callable[[], dict]) -> tuple[int, dict]:
        try:
            return 200, read()
        except Unavailable as problem:
            return problem.status, problem.payload()

    # pages
    def list_page(self, request: Request) -> Response:
        status, data = self._snapshot(self.backend.executions)
        return _page(request, "workflows.html", {"problem": data if status != 200 else None}, status)

    def _execution(self, request: Request, name: str) -> Callable[[], dict]:
        store = getattr(request.app.state, "store", None)
        return lambda: _with_mail(self.backend.execution(name), store)

    def execution_page(self, request: Request) -> Response:
        name = request.path_params["name"]
        status, data = self._snapshot(self._execution(request, name))
        return _page(request, "execution.html", {
            "name": name,
            "problem": data if status != 200 else None,
            "mail_url": data.get("mailUrl") or f"/?q={quote(name)}",
        }, status)

    def lookup(self, request: Request) -> Response:
        """From an email's token to its execution view."""
        token = request.query_params.get("token", "")
        if not token or len(token) > 2048:
            return _page(request, "problem.html", {"message": "This link has no valid task token."}, 400)
        try:
            name = self.backend.execution_for_token(token)
        except Unavailable as problem:
            return _page(request, "problem.html", {"message": problem.message}, problem.status)
        if name is None:
            return _page(request, "problem.html", {"message": "No recent execution waits on this task token."},
                         404)
        return RedirectResponse(f"{PREFIX}/{quote(name)}", status_code=303)

    # JSON
    def api_executions(self, request: Request) -> Response:
        status, data = self._snapshot(self.backend.executions)
        return JSONResponse(data, status_code=status)

    def api_execution(self, request: Request) -> Response:
        status, data = self._snapshot(self._execution(request, request.path_params["name"]))
        return JSONResponse(data, status_code=status)

    async def api_events(self, request: Request) -> Response:
        """Server-sent events: ``update`` with the same JSON as the API (or its error) whenever it changes."""
        name = request.query_params.get("execution")
        if name is not None and not NAME.match(name):
            return JSONResponse({"problem": "bad_name", "message": "That is not a valid execution name."}, 400)
        if name:
            key, read = f"execution:{name}", self._execution(request, name)
        else:
            key, read = "list", self.backend.executions

        def compute() -> str:
            return json.dumps(self._snapshot(read)[1], separators=(",", ":"))

        hub = getattr(request.app.state, "hub", None)

        async def stream() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"
            # The catcher's hub ends its streams at shutdown; listening to it ends this one at the same time.
            closing = hub.listen() if hub is not None else contextlib.nullcontext(None)
            with closing as hub_queue, contextlib.ExitStack() as cleanup:
                shutdown = asyncio.ensure_future(_closed(hub_queue)) if hub_queue is not None else None
                if shutdown is not None:
                    cleanup.callback(shutdown.cancel)  # also when the client goes away mid-wait
                async with self.poller.subscribe(key, compute) as queue:
                    while True:
                        update = asyncio.ensure_future(queue.get())
                        try:
                            waits = {update} if shutdown is None else {update, shutdown}
                            await asyncio.wait(waits, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                        finally:
                            arrived = update.done()
                            if not arrived:
                                update.cancel()
                        if shutdown is not None and shutdown.done():
                            return
                        if not arrived:
                            yield ": keepalive\n\n"
                            continue
                        yield f"event: update\ndata: {update.result()}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX, self.list_page, methods=["GET"]),
            Route(PREFIX + "/", lambda request: RedirectResponse(PREFIX), methods=["GET"]),
            Route(PREFIX + "/api/executions", self.api_executions, methods=["GET"]),
            Route(PREFIX + "/api/executions/{name}", self.api_execution, methods=["GET"]),
            Route(PREFIX + "/api/events", self.api_events, methods=["GET"]),
            Route(PREFIX + "/lookup", self.lookup, methods=["GET"]),
            Mount(PREFIX + "/static", app=StaticFiles(directory=str(HERE / "static")), name="workflows-static"),
            Route(PREFIX + "/{name}", self.execution_page, methods=["GET"]),
        ]


async def _closed(hub_queue: asyncio.Queue) -> None:
    """Wait until the catcher's hub says it is closing (it sends None); mail events are ignored."""
    while await hub_queue.get() is not None:
        pass
    return None


def execution_link(detail: Mapping[str, Any]) -> list[dict[str, str]]:
    """``message_links`` hook: a caught approval email links to its execution view."""
    name = execution_in_mail(detail.get("Text") or "")
    if name and NAME.match(name):
        return [{"Label": "View execution", "URL": f"{PREFIX}/{quote(name)}"}]
    for link in detail.get("Links") or []:
        token = (link.get("Query") or {}).get("token")
        if link.get("Action") in ("approve", "reject") and token:
            token = token[0] if isinstance(token, list) else token
            return [{"Label": "View execution", "URL": f"{PREFIX}/lookup?token={quote(str(token), safe='')}"}]
    return []


def decision_prefixes(settings: Settings) -> list[str]:
    """The deployed decision API's URL (read per view: the pipeline is deployed after the UI starts)."""
    try:
        api_url = workflow.load_outputs(settings).get("api_url")
    except workflow.WorkflowError:
        return []
    return [api_url.rstrip("/") + "/"] if isinstance(api_url, str) and api_url else []


def app_options(settings: Settings, poll_interval: float = DEFAULT_POLL_SECONDS) -> dict[str, Any]:
    """``create_app`` arguments that mount the Workflows page in the catcher; approval buttons only for the
    deployed decision API's links, and execute-api links routed to the sandbox's LocalStack."""
    ui = WorkflowsUI(settings, poll_interval)

    @contextlib.asynccontextmanager
    async def lifespan(app) -> AsyncIterator[None]:
        try:
            yield
        finally:
            ui.poller.close()

    return {
        "routes": ui.routes(),
        "nav_links": [("Workflows", PREFIX)],
        "message_links": execution_link,
        "lifespan": lifespan,
        "brand": "Callback Sandbox",
        "trusted_decision_links": lambda: decision_prefixes(settings),
        "aws_gateway": settings.public_url,
    }
