"""What a click on an Approve/Reject link asks for, read from API Gateway's proxy event. Pure.

A decision must come from a person on the confirm page: a POST sent by a page of another origin (a hostile site
in the approver's browser, the sandboxed mail view) is refused, using what browsers add to every request (Fetch
Metadata `Sec-Fetch-Site`, `Origin`). Clients that send neither (curl, tests, the CLI) are not browsers acting for
someone else and keep working.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

from lambdas.approval import ACTIONS

# SendTaskSuccess accepts tokens of 1 to 2048 characters; AWS tokens are base64 (+ / =), LocalStack's are uuids.
MAX_TOKEN_LENGTH = 2048
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9+/=_-]+")
# A form carries one field; anything with more parts than this is not our form.
MAX_FORM_PARTS = 20
# Browsers say where a request comes from; only these may decide.
SAME_ORIGIN_FETCH_SITES = ("same-origin", "none")


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


@dataclass(frozen=True)
class Call:
    method: str
    action: str  # "approve" or "reject"
    token: str | None
    wants_json: bool


def header(event: dict, name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name and value:
            return str(value)
    return ""


def _body_bytes(event: dict) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError:
            raise HttpError(400, "BadBody", "The request body is not valid base64.") from None
    return body.encode("utf-8", "surrogatepass")


def _json_fields(body: bytes) -> dict[str, list[str]]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser goes
        raise HttpError(400, "BadBody", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise HttpError(400, "BadBody", "The request body must be a JSON object.")
    return {k: [v] for k, v in data.items() if isinstance(v, str)}


def _multipart_fields(body: bytes, content_type: str) -> dict[str, list[str]]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1", "replace")
                                                    + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise HttpError(400, "BadBody", "The multipart body has no parts (is its boundary right?).")
    fields: dict[str, list[str]] = {}
    for count, part in enumerate(message.iter_parts(), 1):
        if count > MAX_FORM_PARTS:
            raise HttpError(400, "BadBody", f"The form has more than {MAX_FORM_PARTS} fields.")
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes) and part.get_filename() is None:
            fields.setdefault(name, []).append(payload.decode("utf-8", "replace"))
    return fields


def body_fields(event: dict) -> dict[str, list[str]]:
    """The form (urlencoded or multipart) or JSON object fields of a POST body."""
    body = _body_bytes(event)
    if not body:
        return {}
    content_type = header(event, "content-type")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        return _json_fields(body)
    if kind == "multipart/form-data":
        return _multipart_fields(body, content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "BadBody", "The request body is not valid UTF-8.") from None
    try:
        return parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_PARTS)
    except ValueError:
        raise HttpError(400, "BadBody", f"The form has more than {MAX_FORM_PARTS} fields.") from None


def _query_tokens(event: dict) -> list[str]:
    multi = event.get("multiValueQueryStringParameters") or {}
    if multi.get("token"):
        return list(multi["token"])
    single = (event.get("queryStringParameters") or {}).get("token")
    return [single] if single is not None else []


def wants_json(event: dict) -> bool:
    accept = header(event, "accept")
    return "application/json" in accept and "text/html" not in accept


def own_origin(event: dict) -> str:
    """The origin the confirm page was served from: this request's own scheme and host."""
    scheme = header(event, "x-forwarded-proto").split(",", 1)[0].strip().lower() or "http"
    return f"{scheme}://{header(event, 'host').lower()}"


def check_same_origin(event: dict) -> None:
    """Refuse a browser POST sent by another site's page (cross-site, same-site on another port, or a sandboxed
    frame, whose origin is `null`)."""
    site = header(event, "sec-fetch-site").lower()
    origin = header(event, "origin").lower()
    if (site and site not in SAME_ORIGIN_FETCH_SITES) or (origin and origin != own_origin(event)):
        raise HttpError(
            403, "CrossSiteRequest",
            "A page of another site tried to take this decision, and it was refused. "
            "Open the link from the approval email and press the button on the page it opens.",
        )


def parse_call(event: dict) -> Call:
    method = str(event.get("httpMethod") or "").upper()
    path = str(event.get("resource") or event.get("path") or "")
    action = path.rstrip("/").rsplit("/", 1)[-1]
    if action not in ACTIONS:
        raise HttpError(404, "NotFound", "There is nothing here; use the Approve or Reject link from the email.")
    if method not in ("GET", "POST"):
        raise HttpError(405, "MethodNotAllowed", "Only GET (to review) and POST (to decide) are allowed.")
    tokens = _query_tokens(event)
    if method == "POST":
        check_same_origin(event)
        tokens += body_fields(event).get("token", [])
    distinct = set(tokens)
    if len(distinct) > 1:
        raise HttpError(400, "AmbiguousToken", "The request carries more than one different token.")
    return Call(method, action, distinct.pop() if distinct else None, wants_json(event))


def check_token(token: str | None) -> str:
    if token is None or not token.strip():
        raise HttpError(400, "MissingToken", "This link has no token. Open the full link from the approval email.")
    if len(token) > MAX_TOKEN_LENGTH:
        raise HttpError(
            400, "MalformedToken", f"This token is {len(token)} characters long; a real one has at most "
            f"{MAX_TOKEN_LENGTH}. The link is not from an approval email."
        )
    if not TOKEN_PATTERN.fullmatch(token):
        hint = " (a '+' may have been turned into a space: copy the whole link)" if " " in token else ""
        raise HttpError(400, "MalformedToken", f"This token contains characters no real token has{hint}.")
    return token
