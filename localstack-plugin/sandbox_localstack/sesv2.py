"""A SESv2 provider for LocalStack 4.14, whose community edition answers every SESv2 call with "not included in
your current license plan". Provider name `sandbox` (PROVIDER_OVERRIDE_SESV2=sandbox selects it).

Each call is carried out by LocalStack's own SES (v1) through its internal client, so identities and templates
are shared with SES v1 as they are on AWS, sent mail shows in `GET /_aws/ses`, and the SMTP relay delivers it
like any SES mail. Content SES v1 has no field for (custom headers, attachments) is sent as a raw message.
Operations not listed here get LocalStack's "not yet emulated" answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from localstack.aws.api import CommonServiceException, RequestContext, handler

from sandbox_localstack import mail, sesv2_content

# SES v1 error codes and the SESv2 errors (code, HTTP status) AWS answers for them.
_V2_ERRORS = {
    "MessageRejected": ("MessageRejected", 400),
    "TemplateDoesNotExist": ("NotFoundException", 404),
    "AlreadyExists": ("AlreadyExistsException", 400),
    "MailFromDomainNotVerifiedException": ("MailFromDomainNotVerifiedException", 400),
}
_BULK_STATUS = {
    "MessageRejected": "MESSAGE_REJECTED",
    "NotFoundException": "TEMPLATE_NOT_FOUND",
    "BadRequestException": "INVALID_PARAMETER",
}
_MAX_PAGE = 1000


def _error(code: str, message: str, status: int = 400) -> CommonServiceException:
    return CommonServiceException(code, message, status_code=status, sender_fault=True)


def _bad_request(message: str) -> CommonServiceException:
    return _error("BadRequestException", message)


def _not_found(message: str) -> CommonServiceException:
    return _error("NotFoundException", message, 404)


def _from_v1(error: ClientError) -> CommonServiceException:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "") or code
    v2_code, status = _V2_ERRORS.get(code, ("BadRequestException", 400))
    return _error(v2_code, message, status)


def _v1_call(call: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except ClientError as error:
        raise _from_v1(error) from None


def _page(items: list[Any], next_token: str | None, page_size: int | None) -> tuple[list[Any], str | None]:
    if next_token is not None and not next_token.isdigit():
        raise _bad_request("Invalid NextToken")
    if page_size is not None and not 1 <= page_size <= _MAX_PAGE:
        raise _bad_request(f"PageSize must be between 1 and {_MAX_PAGE}")
    start, size = int(next_token or 0), page_size or _MAX_PAGE
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


class SesV2Provider:
    service = "sesv2"

    @staticmethod
    def _ses(context: RequestContext) -> Any:
        from localstack.aws.connect import connect_to

        return connect_to(aws_access_key_id=context.account_id, region_name=context.region).ses

    # --- sending ---------------------------------------------------------------------------------------------

    @handler("SendEmail", expand=False)
    def send_email(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ses = self._ses(context)
        content = request.get("Content") or {}
        source = request.get("FromEmailAddress")
        destination = request.get("Destination") or {}
        reply_to = request.get("ReplyToAddresses") or []
        return_path = request.get("FeedbackForwardingEmailAddress")
        if raw := content.get("Raw"):
            kwargs: dict[str, Any] = {"RawMessage": {"Data": raw.get("Data") or b""}}
            if source:
                kwargs["Source"] = source
            if recipients := mail.destination_addresses(destination):
                kwargs["Destinations"] = recipients
            return {"MessageId": _v1_call(ses.send_raw_email, **kwargs)["MessageId"]}
        if not source:
            raise _bad_request("FromEmailAddress is required")
        try:
            if simple := content.get("Simple"):
                subject, text, html = sesv2_content.simple_parts(simple)
                message_id = self._send_content(ses, source, destination, reply_to, return_path, subject, text,
                                                html, simple.get("Headers") or [], simple.get("Attachments") or [])
            elif template := content.get("Template"):
                message_id = self._send_template(ses, source, destination, reply_to, return_path, template,
                                                 template.get("TemplateData"), [])
            else:
                raise _bad_request("Content needs Simple, Raw or Template")
        except ValueError as error:
            raise _bad_request(str(error)) from None
        return {"MessageId": message_id}

    @handler("SendBulkEmail", expand=False)
    def send_bulk_email(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ses = self._ses(context)
        source = request.get("FromEmailAddress")
        template = (request.get("DefaultContent") or {}).get("Template")
        entries = request.get("BulkEmailEntries") or []
        if not source or not template or not entries:
            raise _bad_request("FromEmailAddress, DefaultContent.Template and BulkEmailEntries are required")
        results = []
        for entry in entries:
            replacement = ((entry.get("ReplacementEmailContent") or {}).get("ReplacementTemplate") or {})
            try:
                data = sesv2_content.merged_template_data(
                    template.get("TemplateData"), replacement.get("ReplacementTemplateData")
                )
                message_id = self._send_template(
                    ses, source, entry.get("Destination") or {}, request.get("ReplyToAddresses") or [],
                    request.get("FeedbackForwardingEmailAddress"), template, data,
                    entry.get("ReplacementHeaders") or [],
                )
            except (CommonServiceException, ValueError) as error:
                code = error.code if isinstance(error, CommonServiceException) else "BadRequestException"
                results.append({"Status": _BULK_STATUS.get(code, "FAILED"), "Error": str(error)})
            else:
                results.append({"Status": "SUCCESS", "MessageId": message_id})
        return {"BulkEmailEntryResults": results}

    def _send_template(self, ses: Any, source: str, destination: dict, reply_to: list, return_path: str | None,
                       template: dict, data: str | None, extra_headers: list) -> str:
        name = sesv2_content.template_name(template)
        data = data or "{}"
        sesv2_content.template_data(data)  # refuse bad JSON before anything is sent
        headers = [*(template.get("Headers") or []), *extra_headers]
        attachments = template.get("Attachments") or []
        if name is not None and not sesv2_content.needs_mime(headers, attachments):
            kwargs = self._envelope(source, reply_to, return_path)
            return str(_v1_call(ses.send_templated_email, Destination=destination, Template=name,
                                TemplateData=data, **kwargs)["MessageId"])
        if name is not None:
            stored = _v1_call(ses.get_template, TemplateName=name)["Template"]
            content = sesv2_content.v2_template_content(stored)
        else:
            content = template["TemplateContent"]
        subject, text, html = (self._render(part, data) for part in sesv2_content.template_content_parts(content))
        return self._send_content(ses, source, destination, reply_to, return_path, subject or "", text, html,
                                  headers, attachments)

    @staticmethod
    def _render(part: str | None, data: str) -> str | None:
        from moto.ses.template import parse_template

        if part is None:
            return None
        try:
            return str(parse_template(str(part), mail.template_values(sesv2_content.template_data(data))))
        except Exception as error:  # noqa: BLE001 - moto's rendering errors: a variable without a value, bad syntax
            raise _bad_request(f"Template rendering failed: {error}") from None

    def _send_content(self, ses: Any, source: str, destination: dict, reply_to: list, return_path: str | None,
                      subject: str, text: str | None, html: str | None, headers: list, attachments: list) -> str:
        if sesv2_content.needs_mime(headers, attachments):
            data = sesv2_content.mime_message(source=source, destination=destination, subject=subject, text=text,
                                              html=html, reply_to=reply_to, headers=headers,
                                              attachments=attachments)
            return str(_v1_call(ses.send_raw_email, Source=source, RawMessage={"Data": data},
                                Destinations=mail.destination_addresses(destination))["MessageId"])
        body: dict[str, Any] = {}
        if text is not None:
            body["Text"] = {"Data": text}
        if html is not None:
            body["Html"] = {"Data": html}
        return str(_v1_call(ses.send_email, Destination=destination,
                            Message={"Subject": {"Data": subject}, "Body": body or {"Text": {"Data": ""}}},
                            **self._envelope(source, reply_to, return_path))["MessageId"])

    @staticmethod
    def _envelope(source: str, reply_to: list, return_path: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Source": source}
        if reply_to:
            kwargs["ReplyToAddresses"] = reply_to
        if return_path:
            kwargs["ReturnPath"] = return_path
        return kwargs

    # --- identities ------------------------------------------------------------------------------------------

    def _identities(self, ses: Any) -> list[str]:
        return list(_v1_call(ses.list_identities)["Identities"])

    @handler("CreateEmailIdentity", expand=False)
    def create_email_identity(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ses, identity = self._ses(context), str(request.get("EmailIdentity") or "")
        if not identity:
            raise _bad_request("EmailIdentity is required")
        if identity in self._identities(ses):
            raise _error("AlreadyExistsException", f"Email identity {identity} already exist.")
        kind = sesv2_content.identity_type(identity)
        if kind == "EMAIL_ADDRESS":
            _v1_call(ses.verify_email_identity, EmailAddress=identity)
        else:
            _v1_call(ses.verify_domain_identity, Domain=identity)
        # LocalStack verifies identities at once (AWS mails a verification link to an address first).
        return {"IdentityType": kind, "VerifiedForSendingStatus": True, "DkimAttributes": _DKIM}

    @handler("GetEmailIdentity", expand=False)
    def get_email_identity(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        identity = str(request.get("EmailIdentity") or "")
        if identity not in self._identities(self._ses(context)):
            raise _not_found(f"Email identity {identity} does not exist.")
        return {
            "IdentityType": sesv2_content.identity_type(identity),
            "FeedbackForwardingStatus": True,
            "VerifiedForSendingStatus": True,
            "VerificationStatus": "SUCCESS",
            "DkimAttributes": _DKIM,
            "MailFromAttributes": {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"},
            "Policies": {},
            "Tags": [],
        }

    @handler("ListEmailIdentities", expand=False)
    def list_email_identities(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        page, next_token = _page(sorted(self._identities(self._ses(context))), request.get("NextToken"),
                                 request.get("PageSize"))
        identities = [
            {"IdentityType": sesv2_content.identity_type(name), "IdentityName": name, "SendingEnabled": True,
             "VerificationStatus": "SUCCESS"}
            for name in page
        ]
        return {"EmailIdentities": identities, **({"NextToken": next_token} if next_token else {})}

    @handler("DeleteEmailIdentity", expand=False)
    def delete_email_identity(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ses, identity = self._ses(context), str(request.get("EmailIdentity") or "")
        if identity not in self._identities(ses):
            raise _not_found(f"Email identity {identity} does not exist.")
        _v1_call(ses.delete_identity, Identity=identity)
        return {}

    # --- templates -------------------------------------------------------------------------------------------

    @handler("CreateEmailTemplate", expand=False)
    def create_email_template(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, content = request.get("TemplateName"), request.get("TemplateContent")
        if not name or not content:
            raise _bad_request("TemplateName and TemplateContent are required")
        _v1_call(self._ses(context).create_template, Template=sesv2_content.v1_template(name, content))
        return {}

    @handler("UpdateEmailTemplate", expand=False)
    def update_email_template(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, content = request.get("TemplateName"), request.get("TemplateContent")
        if not name or not content:
            raise _bad_request("TemplateName and TemplateContent are required")
        _v1_call(self._ses(context).update_template, Template=sesv2_content.v1_template(name, content))
        return {}

    @handler("GetEmailTemplate", expand=False)
    def get_email_template(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("TemplateName")
        stored = _v1_call(self._ses(context).get_template, TemplateName=name)["Template"]
        return {"TemplateName": name, "TemplateContent": sesv2_content.v2_template_content(stored)}

    @handler("DeleteEmailTemplate", expand=False)
    def delete_email_template(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ses, name = self._ses(context), request.get("TemplateName")
        _v1_call(ses.get_template, TemplateName=name)  # SES v1 deletes unknown names silently; SESv2 answers 404
        _v1_call(ses.delete_template, TemplateName=name)
        return {}

    @handler("ListEmailTemplates", expand=False)
    def list_email_templates(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        stored = _v1_call(self._ses(context).list_templates)["TemplatesMetadata"]
        page, next_token = _page(stored, request.get("NextToken"), request.get("PageSize"))
        templates = [{"TemplateName": t["Name"], "CreatedTimestamp": t.get("CreatedTimestamp")} for t in page]
        return {"TemplatesMetadata": templates, **({"NextToken": next_token} if next_token else {})}

    # --- account ---------------------------------------------------------------------------------------------

    @handler("GetAccount", expand=False)
    def get_account(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {
            "SendQuota": {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 0.0},
            "SendingEnabled": True,
            "ProductionAccessEnabled": True,
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
        }


# What AWS shows for an identity without DKIM set up.
_DKIM = {"SigningEnabled": False, "Status": "NOT_STARTED", "SigningAttributesOrigin": "AWS_SES", "Tokens": []}
