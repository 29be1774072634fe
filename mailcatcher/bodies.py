"""Request bodies as Mailpit reads them: JSON objects whose keys match case-insensitively (Go's decoder does
that), or HTML-form bodies (``ids=1&ids=2&read=true``: what the PyPI ``mailpit-api-client`` sends).

Stricter than Mailpit where lenience loses mail: a key the endpoint does not know is a 400 (so ``{"Ids": ...}``
with a typo never widens into "all messages"), and so is a value of the wrong type. Bodies are read with a size
cap, and JSON nested deeper than any body here needs is refused before it is parsed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from .errors import ApiError

MAX_BODY = 1 << 20
MAX_DEPTH = 8


@dataclass(frozen=True)
class Field:
    name: str  # Mailpit's spelling
    kind: type  # list (of strings), bool, str, dict (of strings) or object (any JSON, checked by the caller)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, or 413 as soon as it passes ``limit`` (the rest is never read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body too large (at most {limit} bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body too large (at most {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def _depth(text: str) -> int:
    """How deeply brackets nest (strings skipped), so a bomb like [[[[...]]]] is refused without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _from_form(body: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, max_num_fields=10000)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "request body is not a valid form") from None
    found: dict[str, Any] = {}
    for key, value in pairs:
        key = key.removesuffix("[]")
        found.setdefault(key, []).append(value)
    return found


def _from_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not valid JSON (not UTF-8)") from None
    if _depth(text) > MAX_DEPTH:
        raise ApiError(400, f"request body is nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None


def _coerce(value: Any, spec: Field, from_form: bool) -> Any:
    if spec.kind is object:  # checked by the endpoint itself (e.g. /api/v1/send's nested objects)
        return value
    if from_form and spec.kind is not list:
        if len(value) != 1:
            raise ApiError(400, f"'{spec.name}' must be given once")
        value = value[0]
        if spec.kind is bool:
            lowered = value.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ApiError(400, f"'{spec.name}' must be true or false")
            return lowered in ("true", "1")
    if spec.kind is list:
        if not isinstance(value, list) or not all(isinstance(i, str | int) and not isinstance(i, bool) for i in value):
            raise ApiError(400, f"'{spec.name}' must be a list of strings")
        return [str(i) for i in value]
    if spec.kind is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ApiError(400, f"'{spec.name}' must be an object of strings")
        return value
    if not isinstance(value, spec.kind) or (spec.kind is not bool and isinstance(value, bool)):
        raise ApiError(400, f"'{spec.name}' must be {'true or false' if spec.kind is bool else 'a string'}")
    return value


async def fields(request: Request, *specs: Field, limit: int = MAX_BODY) -> dict[str, Any] | None:
    """The body's fields under Mailpit's names; None for an absent or empty body."""
    body = await read_body(request, limit)
    if not body.strip():
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        raise ApiError(415, "send JSON (or application/x-www-form-urlencoded), not multipart/form-data")
    from_form = content_type == "application/x-www-form-urlencoded"
    payload = _from_form(body) if from_form else _from_json(body)
    if not isinstance(payload, dict):
        raise ApiError(400, "request body must be a JSON object")
    known = {spec.name.lower(): spec for spec in specs}
    found: dict[str, Any] = {}
    for key, value in payload.items():
        spec = known.get(str(key).lower())
        if spec is None:
            names = ", ".join(spec.name for spec in specs)
            raise ApiError(400, f"unknown field {str(key)[:40]!r} (this endpoint reads {names})")
        if spec.name in found:
            raise ApiError(400, f"'{spec.name}' is given more than once")
        if value is None:
            continue
        found[spec.name] = _coerce(value, spec, from_form)
    return found
