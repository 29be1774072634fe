"""API Gateway's payload limit, answered the way AWS answers it.

LocalStack parses form-encoded bodies with Werkzeug's form memory limit (2 MiB once SQS is loaded), and an
execute-api request over it ends in `500 Error in apigateway invocation: 413 ...` instead of reaching the
function. AWS API Gateway takes bodies up to 10 MiB and answers larger ones with `413 {"message":"Request Too
Long"}`. So: raise the form limit to API Gateway's, and refuse larger execute-api requests with AWS's 413 before
LocalStack reads them.
"""

from __future__ import annotations

import json
from typing import Any

from rolo import Response

API_GATEWAY_MAX_PAYLOAD = 10 * 1024 * 1024
# Form parsing counts the whole urlencoded body; leave room for the field names around a 10 MiB value.
FORM_MEMORY_LIMIT = API_GATEWAY_MAX_PAYLOAD + 64 * 1024


def is_execute_api(path: str, host: str) -> bool:
    return path.startswith("/_aws/execute-api/") or ".execute-api." in host


def too_long(content_length: int | None) -> bool:
    return content_length is not None and content_length > API_GATEWAY_MAX_PAYLOAD


class ApiGatewayPayloadLimit:
    """Request handler: 413 for execute-api requests whose declared body is over API Gateway's limit."""

    def __call__(self, chain: Any, context: Any, response: Response) -> None:
        request = context.request
        if not is_execute_api(request.path, request.host or "") or not too_long(request.content_length):
            return
        response.update_from(Response(json.dumps({"message": "Request Too Long"}), status=413,
                                      mimetype="application/json"))
        chain.stop()


def install() -> None:
    """Called once by the on_infra_start hook."""
    from localstack.aws import handlers
    from rolo import Request as RoloRequest
    from werkzeug.wrappers import Request as WerkzeugRequest

    for request_class in (WerkzeugRequest, RoloRequest):
        current = request_class.max_form_memory_size
        if current is not None and current < FORM_MEMORY_LIMIT:
            request_class.max_form_memory_size = FORM_MEMORY_LIMIT
    handlers.preprocess_request.append(ApiGatewayPayloadLimit())
