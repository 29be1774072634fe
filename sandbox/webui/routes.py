"""The Workflows pages' routes: HTML pages, the JSON API, server-sent events, and the actions that change state
(start, re-run, answer, take an activity task), which take same-origin JSON only (``guard``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from lambdas.approval import verification_message
from mailcatcher.web import SECURITY_HEADERS, UI_CSP
from sandbox.config import Settings
from sandbox.console import answer, listing
from sandbox.console.ledger import Ledger
from sandbox.console.reader import Machine, Reader, Unavailable

from . import views
from .guard import json_body
from .live import DEFAULT_POLL_SECONDS, Poller, event_stream
from .views import PREFIX, execution_url

HERE = Path(__file__).parent
MACHINE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")  # what LocalStack can read back (AWS allows more)
# An execution name as it may be listed: LocalStack lists names it cannot read back, shown as unreadable.
LISTED_NAME = re.compile(r"^[^\x00-\x1f\x7f-\x9f/]{1,80}$")
NEW_NAME = MACHINE_NAME

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(HERE / "templates")),
        jinja2.PackageLoader("mailcatcher", "templates"),  # base.html: the catcher's header and nav
    ]),
    autoescape=True,
))


def _page(request: Request, template: str, context: dict, status: int = 200) -> Response:
    response = templates.TemplateResponse(
        request, template, {"nav_links": request.app.state.nav_links, "prefix": PREFIX, **context},
        status_code=status)
    response.headers.update({"Content-Security-Policy": UI_CSP, **SECURITY_HEADERS})
    return response


def _problem(problem: Unavailable) -> JSONResponse:
    return JSONResponse(problem.payload(), status_code=problem.status)


class WorkflowsUI:
    """The Workflows pages over one Reader, one Ledger and one Poller."""

    def __init__(self, settings: Settings, poll_interval: float = DEFAULT_POLL_SECONDS) -> None:
        self.reader = Reader(settings)
        self.ledger = Ledger(settings.home)
        self.poller = Poller(poll_interval)

    # --- reading ------------------------------------------------------------------------------------------------

    def _machine(self, name: str) -> Machine:
        if not MACHINE_NAME.match(name):
            raise Unavailable(400, "bad_name", "That is not a valid state machine name.")
        with self.reader.aws():
            return self.reader.machine(name)

    def _overview(self, params: Any) -> Callable[[], dict]:
        machine = params.get("machine") or None
        if machine and not MACHINE_NAME.match(machine):
            raise Unavailable(400, "bad_name", "That is not a valid state machine name.")
        status, query = params.get("status") or None, str(params.get("q") or "")[:200]
        try:
            limit = int(params.get("limit") or listing.DEFAULT_LIMIT)
        except ValueError:
            raise Unavailable(400, "bad_limit", "limit must be a number") from None
        return lambda: views.overview(self.reader, self.ledger, machine, status, query, limit)

    def _execution(self, request: Request, machine: str, name: str) -> Callable[[], dict]:
        if not LISTED_NAME.match(name):
            raise Unavailable(400, "bad_name", "That is not a valid execution name.")
        store = getattr(request.app.state, "store", None)

        def read() -> dict:
            found = self._machine(machine)
            try:
                return views.execution(self.reader, self.ledger, store, found, name)
            except Unavailable as problem:
                lost = views.lost_execution(self.reader, store, name) if problem.code == "execution_not_found" \
                    and found.demo else None
                raise lost or problem from None
        return read

    @staticmethod
    async def _snapshot(read: Callable[[], dict]) -> tuple[int, dict]:
        try:
            return 200, await run_in_threadpool(read)
        except Unavailable as problem:
            return problem.status, problem.payload()

    # --- pages --------------------------------------------------------------------------------------------------

    async def list_page(self, request: Request) -> Response:
        status, data = await self._snapshot(lambda: {"machines": len(self.reader.machines())})
        return _page(request, "workflows.html", {"problem": data if status != 200 else None}, status)

    async def execution_page(self, request: Request) -> Response:
        machine, name = request.path_params["machine"], request.path_params["name"]
        try:
            read = self._execution(request, machine, name)
        except Unavailable as problem:
            return _page(request, "problem.html", {"message": problem.message}, problem.status)
        status, data = await self._snapshot(read)
        return _page(request, "execution.html", {
            "name": name, "machine": machine, "problem": data if status != 200 else None,
            "mail_url": data.get("mailUrl") or f"/?q={quote(name)}"}, status)

    async def by_name(self, request: Request) -> Response:
        """``/workflows/NAME`` (the links in earlier emails): the execution of that name, the demo's first."""
        name = request.path_params["name"]
        if not LISTED_NAME.match(name):
            return _page(request, "problem.html", {"message": "That is not a valid execution name."}, 400)
        store = getattr(request.app.state, "store", None)

        def find() -> dict:
            try:
                machine, _ = self.reader.find(name)
            except Unavailable as problem:
                lost = views.lost_execution(self.reader, store, name) if problem.code == "execution_not_found" \
                    else None
                raise lost or problem from None
            return {"url": execution_url(machine.name, name)}

        status, data = await self._snapshot(find)
        if status != 200:
            return _page(request, "problem.html", {"message": data["message"]}, status)
        return RedirectResponse(data["url"], status_code=303)

    async def lookup(self, request: Request) -> Response:
        """From an email's token to its execution (emails without an Execution: line link here)."""
        token = request.query_params.get("token", "")
        if not token or len(token) > 2048:
            return _page(request, "problem.html", {"message": "This link has no valid task token."}, 400)

        def find() -> dict:
            for machine in self.reader.machines():
                if not machine.demo:
                    continue
                for summary in self.reader.summaries(machine)[: listing.DEFAULT_LIMIT]:
                    for event in self.reader.history(summary["executionArn"]):
                        details = event.get("taskScheduledEventDetails") or {}
                        message = verification_message(details.get("parameters"))
                        if message and message["taskToken"] == token:
                            return {"url": execution_url(machine.name, summary["name"])}
            raise Unavailable(404, "not_found", "No recent execution waits on this task token.")

        status, data = await self._snapshot(find)
        if status != 200:
            return _page(request, "problem.html", {"message": data["message"]}, status)
        return RedirectResponse(data["url"], status_code=303)

    # --- JSON ---------------------------------------------------------------------------------------------------

    async def api_overview(self, request: Request) -> Response:
        try:
            read = self._overview(request.query_params)
        except Unavailable as problem:
            return _problem(problem)
        status, data = await self._snapshot(read)
        return JSONResponse(data, status_code=status)

    async def api_tasks(self, request: Request) -> Response:
        machine = request.query_params.get("machine") or None
        status, data = await self._snapshot(lambda: listing.tasks(self.reader, machine, self.ledger))
        return JSONResponse(data, status_code=status)

    async def api_execution(self, request: Request) -> Response:
        try:
            read = self._execution(request, request.path_params["machine"], request.path_params["name"])
        except Unavailable as problem:
            return _problem(problem)
        status, data = await self._snapshot(read)
        return JSONResponse(data, status_code=status)

    async def api_events(self, request: Request) -> Response:
        """Server-sent events: ``update`` with the same JSON as the API (or its problem) whenever it changes."""
        params = request.query_params
        try:
            if params.get("execution"):
                machine, name = params.get("machine", ""), params["execution"]
                key, read = f"execution:{machine}:{name}", self._execution(request, machine, name)
            else:
                read = self._overview(params)
                key = "overview:" + json.dumps([params.get(k) for k in ("machine", "status", "q", "limit")])
        except Unavailable as problem:
            return _problem(problem)

        def compute() -> str:
            try:
                return json.dumps(read(), separators=(",", ":"), default=str)
            except Unavailable as problem:
                return json.dumps(problem.payload(), separators=(",", ":"))

        return event_stream(request, self.poller, key, compute)

    async def api_live(self, request: Request) -> Response:
        return JSONResponse(self.poller.stats())

    # --- actions ------------------------------------------------------------------------------------------------

    async def _act(self, request: Request, act: Callable[[dict], dict]) -> Response:
        try:
            body = await json_body(request)
            return JSONResponse(await run_in_threadpool(act, body))
        except Unavailable as problem:
            return _problem(problem)

    async def start(self, request: Request) -> Response:
        def act(body: dict) -> dict:
            machine = self._machine(request.path_params["machine"])
            text = body.get("input")
            source = text if isinstance(text, str) else json.dumps(text if text is not None else {})
            try:
                json.loads(source)
            except ValueError as error:
                raise Unavailable(400, "bad_input", f"The input is not valid JSON: {error}") from None
            name = body.get("name") or None
            if name is not None and not (isinstance(name, str) and NEW_NAME.match(name)):
                raise Unavailable(400, "bad_name", "An execution name here is 1-80 letters, digits, '-', '_' or "
                                                   "'.' (LocalStack cannot read other names back).")
            return self._start(machine, source, name)
        return await self._act(request, act)

    def _start(self, machine: Machine, source: str, name: str | None) -> dict:
        with self.reader.aws():
            started = self.reader.sfn.start_execution(stateMachineArn=machine.arn, input=source,
                                                      **({"name": name} if name else {}))
        started_name = started["executionArn"].rsplit(":", 1)[-1]
        return {"name": started_name, "url": execution_url(machine.name, started_name)}

    async def rerun(self, request: Request) -> Response:
        def act(body: dict) -> dict:
            machine = self._machine(request.path_params["machine"])
            described = self.reader.describe(machine.execution_arn(request.path_params["name"]))
            if described is None:
                raise Unavailable(422, "unreadable", "LocalStack cannot read this execution's input back.")
            return self._start(machine, described.get("input") or "{}", None)
        return await self._act(request, act)

    async def answer(self, request: Request) -> Response:
        def act(body: dict) -> dict:
            machine = self._machine(request.path_params["machine"])
            arn = machine.execution_arn(request.path_params["name"])
            if machine.demo and body.get("action") in ("success", "failure"):
                raise Unavailable(409, "use_decision_api", "The demo's requests are approved or rejected through "
                                                           "its decision page (Approve… / Reject…), as the email's "
                                                           "links do, so each is decided exactly once.")
            output = body.get("output")
            return answer.answer(self.reader, self.ledger, machine, arn, str(body.get("action", "")),
                                 task_id=_task_id(body), error=body.get("error"), cause=body.get("cause"),
                                 output=output if isinstance(output, str) or output is None else json.dumps(output))
        return await self._act(request, act)

    async def take(self, request: Request) -> Response:
        def act(body: dict) -> dict:
            machine = self._machine(request.path_params["machine"])
            arn = machine.execution_arn(request.path_params["name"])
            return answer.take_activity(self.reader, self.ledger, arn, _task_id(body))
        return await self._act(request, act)

    def routes(self) -> list[BaseRoute]:
        one = PREFIX + "/api/machines/{machine}/executions/{name}"
        return [
            Route(PREFIX, self.list_page, methods=["GET"]),
            Route(PREFIX + "/", lambda request: RedirectResponse(PREFIX), methods=["GET"]),
            Route(PREFIX + "/api/overview", self.api_overview, methods=["GET"]),
            Route(PREFIX + "/api/tasks", self.api_tasks, methods=["GET"]),
            Route(PREFIX + "/api/events", self.api_events, methods=["GET"]),
            Route(PREFIX + "/api/live", self.api_live, methods=["GET"]),
            Route(PREFIX + "/api/machines/{machine}/executions", self.start, methods=["POST"]),
            Route(one, self.api_execution, methods=["GET"]),
            Route(one + "/rerun", self.rerun, methods=["POST"]),
            Route(one + "/answer", self.answer, methods=["POST"]),
            Route(one + "/take", self.take, methods=["POST"]),
            Route(PREFIX + "/lookup", self.lookup, methods=["GET"]),
            Mount(PREFIX + "/static", app=StaticFiles(directory=str(HERE / "static")), name="workflows-static"),
            Route(PREFIX + "/machines/{machine}/executions/{name}", self.execution_page, methods=["GET"]),
            Route(PREFIX + "/{name}", self.by_name, methods=["GET"]),
        ]


def _task_id(body: dict) -> int | None:
    value = body.get("task")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Unavailable(400, "bad_task", "task must be the task's id (a number)") from None
