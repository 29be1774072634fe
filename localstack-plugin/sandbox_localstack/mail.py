"""Pure parts of the mail relay: SMTP_HOST parsing, the retry schedule, and building the messages that SES would
send. No LocalStack imports, no I/O."""

from __future__ import annotations

import email.policy
import email.utils
import smtplib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

# What AWS uses for SNS email notifications: subject when Publish had none, and the sender.
SNS_DEFAULT_SUBJECT = "AWS Notification Message"
SNS_DEFAULT_DISPLAY_NAME = "AWS Notifications"
SNS_SENDER_ADDRESS = "no-reply@sns.amazonaws.com"
# SES message ids become Message-IDs in this domain, as on AWS.
SES_MESSAGE_ID_DOMAIN = "email.amazonses.com"

DEFAULT_RETRY_SECONDS = 300.0


@dataclass(frozen=True)
class OutgoingMail:
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes
    message_id: str


def parse_smtp_host(value: str | None) -> tuple[str, int] | None:
    """`host:port`, `host` (port 25) or `[ipv6]:port`; None when unset. Raises ValueError on a bad port."""
    value = (value or "").strip()
    if not value:
        return None
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or "25"
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, "25"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"SMTP_HOST must look like host:port, not {value!r}")
    return host, int(port)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for a message whose SMTP server is unreachable, bounded by a total window.

    With the defaults a message is tried at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 61.5, ... s (the pause doubles
    up to 30 s) until `window_s` (SMTP_RELAY_RETRY_SECONDS, default 300 s) after it was queued.
    """

    window_s: float = DEFAULT_RETRY_SECONDS
    first_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 30.0

    def delay(self, failed_attempts: int) -> float:
        """Pause after the given number of failed attempts (1 = after the first try)."""
        return min(self.max_delay_s, self.first_delay_s * self.factor ** max(0, failed_attempts - 1))

    def attempt_times(self) -> Iterator[float]:
        """Seconds after queueing at which the message is tried (the last one lies within the window)."""
        at, failed = 0.0, 0
        while at <= self.window_s:
            yield at
            failed += 1
            at += self.delay(failed)


def retry_policy_from_env(env: Mapping[str, str]) -> RetryPolicy:
    raw = env.get("SMTP_RELAY_RETRY_SECONDS", "").strip()
    if not raw:
        return RetryPolicy()
    try:
        window = float(raw)
    except ValueError:
        raise ValueError(f"SMTP_RELAY_RETRY_SECONDS must be a number of seconds, not {raw!r}") from None
    return RetryPolicy(window_s=max(0.0, window))


def is_permanent_failure(error: Exception) -> bool:
    """A 5xx answer will not change on retry; connection problems and 4xx answers might."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def sns_email_subject(subject: str | None) -> str:
    """The subject of an SNS email notification: the one given to Publish, else AWS's default."""
    return subject if subject and subject.strip() else SNS_DEFAULT_SUBJECT


def sns_email_sender(display_name: str | None) -> str:
    return email.utils.formataddr((display_name or SNS_DEFAULT_DISPLAY_NAME, SNS_SENDER_ADDRESS))


def template_values(data: Any) -> Any:
    """Template data as moto's renderer takes it: numbers and booleans as the text Handlebars (AWS) shows for
    them, since moto only concatenates strings."""
    if isinstance(data, dict):
        return {key: template_values(value) for key, value in data.items()}
    if isinstance(data, list):
        return [template_values(value) for value in data]
    if isinstance(data, bool):
        return "true" if data else "false"
    if data is None:
        return ""
    if isinstance(data, float) and data.is_integer():
        return str(int(data))  # JavaScript prints 7.0 as 7
    if isinstance(data, int | float):
        return str(data)
    return data


def ses_message_id_header(message_id: str) -> str:
    return f"<{message_id}@{SES_MESSAGE_ID_DOMAIN}>"


def compose_message(
    *,
    source: str,
    destination: Mapping[str, Sequence[str]],
    subject: str,
    text: str | None,
    html: str | None,
    message_id: str | None = None,
    reply_to: Sequence[str] = (),
) -> EmailMessage:
    """The MIME message SES sends for a simple email: text and/or HTML, the two as multipart/alternative.
    Bcc recipients get no header."""
    to = list(destination.get("ToAddresses") or [])
    cc = list(destination.get("CcAddresses") or [])
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = source
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if reply_to:
        message["Reply-To"] = ", ".join(reply_to)
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    if message_id:
        message["Message-ID"] = ses_message_id_header(message_id)
    if text is not None:
        message.set_content(text, subtype="plain", charset="utf-8")
        if html is not None:
            message.add_alternative(html, subtype="html", charset="utf-8")
    elif html is not None:
        message.set_content(html, subtype="html", charset="utf-8")
    else:
        message.set_content("", subtype="plain", charset="utf-8")
    return message


def destination_addresses(destination: Mapping[str, Sequence[str]]) -> list[str]:
    return [
        *(destination.get("ToAddresses") or []),
        *(destination.get("CcAddresses") or []),
        *(destination.get("BccAddresses") or []),
    ]


def build_ses_email(
    *,
    source: str,
    destination: Mapping[str, Sequence[str]],
    subject: str,
    text: str | None,
    html: str | None,
    message_id: str,
    reply_to: Sequence[str] = (),
    return_path: str | None = None,
) -> OutgoingMail:
    """The mail of an SES SendEmail (or rendered SendTemplatedEmail), with its envelope."""
    message = compose_message(
        source=source, destination=destination, subject=subject, text=text, html=html, message_id=message_id,
        reply_to=reply_to,
    )
    envelope_from = email.utils.parseaddr(return_path or source)[1] or source
    recipients = tuple(_addresses(destination_addresses(destination)))
    return OutgoingMail(envelope_from, recipients, message.as_bytes(), message_id)


def build_raw_email(raw: bytes, *, source: str | None, destinations: Sequence[str], message_id: str) -> OutgoingMail:
    """An SES SendRawEmail as sent: recipients from Destinations, else from To/Cc/Bcc; the Bcc header removed."""
    message = BytesParser(policy=email.policy.SMTP).parsebytes(raw)
    recipients = list(destinations) or [
        value for header in ("To", "Cc", "Bcc") for value in message.get_all(header, [])
    ]
    if "Bcc" in message:
        del message["Bcc"]
    if "Message-ID" not in message:
        message["Message-ID"] = ses_message_id_header(message_id)
    envelope_from = email.utils.parseaddr(source or str(message.get("From", "")))[1]
    return OutgoingMail(envelope_from, tuple(_addresses(recipients)), message.as_bytes(), message_id)


def _addresses(values: Sequence[str]) -> Iterator[str]:
    seen = set()
    for _name, address in email.utils.getaddresses([str(v) for v in values]):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            yield address
