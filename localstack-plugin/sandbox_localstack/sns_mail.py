"""Pure parts of SNS email subscriptions as AWS runs them: the confirmation mail, the unsubscribe footer of a
notification, the links in both (path style, through LocalStack's gateway, so they open offline) and the pages
those links answer. No LocalStack imports, no I/O.

AWS's links are `https://sns.{region}.amazonaws.com/confirmation.html?TopicArn=…&Token=…&Endpoint=…` and
`…/unsubscribe.html?SubscriptionArn=…&Endpoint=…`; here they are the same pages under `/_sandbox/sns/` on the
gateway, e.g. `http://localhost:4566/_sandbox/sns/confirmation.html?TopicArn=…`.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Mapping
from urllib.parse import urlencode

CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"
EMAIL_PROTOCOLS = ("email", "email-json")

PAGES_PREFIX = "/_sandbox/sns"
CONFIRMATION_PAGE = f"{PAGES_PREFIX}/confirmation.html"
UNSUBSCRIBE_PAGE = f"{PAGES_PREFIX}/unsubscribe.html"

CONFIRMATION_SETTING = "SANDBOX_SNS_EMAIL_CONFIRMATION"


class EmailConfirmation(enum.Enum):
    """When an email subscription starts receiving notifications."""

    # Confirmed as soon as it is created; the confirmation mail is still sent and its link still works.
    AUTO = "auto"
    # As on AWS: pending (and sent nothing but the confirmation mail) until its link is opened or
    # ConfirmSubscription is called with its token.
    REQUIRED = "required"


def confirmation_mode_from_env(env: Mapping[str, str]) -> EmailConfirmation:
    raw = env.get(CONFIRMATION_SETTING, "").strip().lower()
    if not raw:
        return EmailConfirmation.AUTO
    try:
        return EmailConfirmation(raw)
    except ValueError:
        choices = " or ".join(mode.value for mode in EmailConfirmation)
        raise ValueError(f"{CONFIRMATION_SETTING} must be {choices}, not {raw!r}") from None


def _link(base_url: str, page: str, params: dict[str, str]) -> str:
    # ARNs and addresses stay readable, as in AWS's links; everything else is percent-encoded.
    return f"{base_url.rstrip('/')}{page}?{urlencode(params, safe=':@')}"


def confirmation_url(base_url: str, topic_arn: str, token: str, endpoint: str) -> str:
    return _link(base_url, CONFIRMATION_PAGE, {"TopicArn": topic_arn, "Token": token, "Endpoint": endpoint})


def unsubscribe_url(base_url: str, subscription_arn: str, endpoint: str) -> str:
    return _link(base_url, UNSUBSCRIBE_PAGE, {"SubscriptionArn": subscription_arn, "Endpoint": endpoint})


def confirmation_text(topic_arn: str, url: str) -> str:
    return (
        f"You have chosen to subscribe to the topic: \n{topic_arn}\n\n"
        "To confirm this subscription, click or visit the link below "
        f"(If this was in error no action is necessary): \n{url}\n\n"
        "Please do not reply directly to this email. If you wish to remove yourself from receiving all future "
        "SNS subscription confirmation requests please send an email to sns-opt-out\n"
    )


def confirmation_html(topic_arn: str, url: str) -> str:
    return (
        "<!DOCTYPE html><html><body>"
        f"<p>You have chosen to subscribe to the topic: <br><b>{html.escape(topic_arn)}</b></p>"
        "<p>To confirm this subscription, click or visit the link below "
        "(If this was in error no action is necessary): <br>"
        f'<a href="{html.escape(url)}">Confirm subscription</a></p>'
        '<p><small>Please do not reply directly to this email. If you wish to remove yourself from receiving all '
        'future SNS subscription confirmation requests please send an email to '
        '<a href="mailto:sns-opt-out@amazon.com">sns-opt-out</a></small></p>'
        "</body></html>"
    )


def email_json_confirmation_message(topic_arn: str) -> str:
    """The `Message` of an email-json SubscriptionConfirmation, as AWS words it."""
    return (
        f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )


def notification_text(message: str, unsubscribe_link: str) -> str:
    """An `email` notification: the published message and AWS's unsubscribe footer."""
    return (
        f"{message}\n\n--\n"
        "If you wish to stop receiving notifications from this topic, please click or visit the link below "
        f"to unsubscribe:\n{unsubscribe_link}\n\n"
        "Please do not reply directly to this email. If you have any questions or comments regarding this email, "
        "please contact us at https://aws.amazon.com/support\n"
    )


def page(title: str, *paragraphs: str, link: tuple[str, str] | None = None) -> str:
    """The small HTML page a confirmation or unsubscribe link answers; every value is escaped."""
    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    if link is not None:
        label, href = link
        body += f'<p><a href="{html.escape(href)}">{html.escape(label)}</a></p>'
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


# Answer headers for those pages: nothing loads, nothing frames them, nothing is cached or leaks the token.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
