"""The pages (or JSON) the decision endpoint answers with. Pure.

Every answer forbids framing (a hostile page must not overlay the confirm button), caching and referrers (the
token is in the URL), and HTML answers run no script.
"""

from __future__ import annotations

import html
import json

from lambdas.decision_request import Call, HttpError

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1f2328}"
    "table{border-collapse:collapse}td,th{text-align:left;padding:.25rem .75rem .25rem 0;vertical-align:top}"
    "button{font-size:1rem;padding:.5rem 1.25rem;border-radius:.375rem;border:1px solid #888;cursor:pointer}"
    ".approve{background:#1a7f37;color:#fff}.reject{background:#cf222e;color:#fff}.state{font-weight:600}"
)


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def request_table(task: dict, state: str) -> str:
    request = task.get("request") or {}
    rows = [
        ("Title", request.get("title", "Untitled request")),
        ("Request id", task.get("requestId", "")),
        ("Execution", task.get("executionName", "")),
        ("Requested", task.get("createdAt") or ""),
        ("Decide by", task.get("expiresAt") or "no deadline"),
    ]
    rows += [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
             for k, v in sorted(request.items()) if k not in ("title", "approvalTimeoutSeconds")]
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<p>State: <span class=state id=state>{html.escape(state)}</span></p><table>{cells}</table>"


def confirm_page(call: Call, token: str, task: dict, state: str, decision: dict | None) -> str:
    verb = call.action.capitalize()
    body = request_table(task, state)
    if state == "waiting":
        body += (
            f"<p>Press the button to {call.action} this request. Nothing has been decided yet.</p>"
            f"<form method=post action='{call.action}'>"
            f"<input type=hidden name=token value='{html.escape(token, quote=True)}'>"
            f"<button type=submit class={call.action}>{verb}</button></form>"
        )
    elif decision:
        body += f"<p>This request was {html.escape(decision['decision'])} at {html.escape(decision['decidedAt'])}.</p>"
    return page(f"{verb} request?" if state == "waiting" else "Approval request", body)


def respond(status: int, as_json: bool, payload: dict, title: str, body_html: str) -> dict:
    headers = {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        # The token is in the URL: keep it out of Referer headers sent to any other origin. Not no-referrer: under
        # it a browser sends `Origin: null` with the confirm form's own POST, which the cross-site check refuses.
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    if as_json:
        headers["Content-Type"] = "application/json"
        body = json.dumps(payload, ensure_ascii=False)
    else:
        headers["Content-Type"] = "text/html; charset=utf-8"
        headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
        body = page(title, body_html) if not body_html.startswith("<!doctype") else body_html
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def error_response(error: HttpError, as_json: bool) -> dict:
    payload = {"error": error.code, "message": error.message, **error.extra}
    titles = {400: "This link is not valid", 403: "Refused", 404: "Unknown approval link", 409: "Already decided",
              410: "This approval request has ended", 405: "Method not allowed", 503: "Please try again"}
    return respond(error.status, as_json, payload, titles.get(error.status, "Cannot do that"),
                   f"<p>{html.escape(error.message)}</p>")


def summary(task: dict) -> dict:
    return {"requestId": task.get("requestId"), "execution": task.get("executionName"),
            "title": (task.get("request") or {}).get("title"), "request": task.get("request") or {}}
