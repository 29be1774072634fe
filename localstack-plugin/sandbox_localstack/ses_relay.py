"""LocalStack side of the mail relay: a response handler that picks up successful SES sends.

SES `SendEmail`, `SendRawEmail` and `SendTemplatedEmail` (rendered with the stored template) are turned into MIME
messages and queued for SMTP_HOST. The handler only queues; it never fails or slows the AWS call. SNS email
(sns_email.py) and SESv2 (sesv2.py) send through SES inside LocalStack, so they pass the same handler.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from localstack.aws.api import RequestContext
from werkzeug import Response

from sandbox_localstack import mail
from sandbox_localstack.relay import MailRelay, SmtpTransport

LOG = logging.getLogger(__name__)

_relay: MailRelay | None = None


def install() -> None:
    """Called once by the on_infra_start hook."""
    global _relay
    try:
        target = mail.parse_smtp_host(os.environ.get("SMTP_HOST"))
        policy = mail.retry_policy_from_env(os.environ)
    except ValueError as error:
        LOG.error("Mail relay disabled: %s", error)
        return
    if target is None:
        LOG.info("Mail relay disabled: SMTP_HOST is not set")
        return
    if _relay is not None:
        return
    from localstack.aws import handlers

    transport = SmtpTransport(*target)
    _relay = MailRelay(transport, policy)
    _relay.start()
    handlers.run_custom_response_handlers.append(SesRelayHandler(_relay))
    LOG.info("Relaying SES and SNS email to SMTP %s (retrying for up to %.0f s)", transport, policy.window_s)


class SesRelayHandler:
    OPERATIONS = ("SendEmail", "SendRawEmail", "SendTemplatedEmail")

    def __init__(self, relay: MailRelay) -> None:
        self.relay = relay

    def __call__(self, chain: Any, context: Any, response: Response) -> None:
        # Typed loosely: rolo's handler protocol takes any context; LocalStack's gateway passes a RequestContext.
        try:
            if context.service is None or context.service.service_name != "ses" or context.operation is None:
                return
            if context.operation.name not in self.OPERATIONS or context.service_exception is not None:
                return
            if not 200 <= response.status_code < 300:
                return
            outgoing = self._outgoing(context)
        except Exception:
            LOG.exception("Could not prepare SES mail for the SMTP relay; the mail is not relayed")
            return
        if outgoing is not None:
            self.relay.enqueue(outgoing)

    @staticmethod
    def _outgoing(context: RequestContext) -> mail.OutgoingMail | None:
        request: dict[str, Any] = dict(context.service_request or {})
        message_id = (context.service_response or {}).get("MessageId")
        if not message_id or context.operation is None:
            return None
        operation = context.operation.name
        if operation == "SendRawEmail":
            data = request["RawMessage"]["Data"]
            return mail.build_raw_email(
                data if isinstance(data, bytes) else str(data).encode(),
                source=request.get("Source"),
                destinations=request.get("Destinations") or [],
                message_id=message_id,
            )
        if operation == "SendEmail":
            message = request["Message"]
            body = message.get("Body") or {}
            subject = (message.get("Subject") or {}).get("Data", "")
            text = (body.get("Text") or {}).get("Data")
            html = (body.get("Html") or {}).get("Data")
        else:
            subject, text, html = _render_template(context, request)
        return mail.build_ses_email(
            source=request["Source"],
            destination=request.get("Destination") or {},
            subject=subject,
            text=text,
            html=html,
            message_id=message_id,
            reply_to=request.get("ReplyToAddresses") or (),
            return_path=request.get("ReturnPath"),
        )


def _render_template(context: RequestContext, request: dict[str, Any]) -> tuple[str, str | None, str | None]:
    from localstack.services.ses.provider import get_ses_backend
    from moto.ses.template import parse_template

    template = get_ses_backend(context).templates[request["Template"]]
    data = mail.template_values(json.loads(request.get("TemplateData") or "{}"))

    def render(part: str | None) -> str | None:
        return None if part is None else parse_template(str(part), data)

    return (
        render(template.get("subject_part")) or "",
        render(template.get("text_part")),
        render(template.get("html_part")),
    )
