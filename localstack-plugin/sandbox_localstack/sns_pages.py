"""The pages an SNS email's links open, on LocalStack's gateway: `/_sandbox/sns/confirmation.html` confirms a
subscription (ConfirmSubscription with the mail's token) and `/_sandbox/sns/unsubscribe.html` removes one
(Unsubscribe), each answering a small page like AWS's. Both go through LocalStack's own SNS API, so its checks
apply. Bad or unknown parameters get a 400 or 404 page; nothing is framed, cached or scripted."""

from __future__ import annotations

import logging
import re
from typing import Any

from rolo import Request, Response

from sandbox_localstack import sns_mail

LOG = logging.getLogger(__name__)

# Bounds on what a link may carry: an SNS ARN is at most a few hundred characters, LocalStack's token 64 hex.
_MAX_PARAM = 1024
_SUBSCRIPTION_ARN = re.compile(r"^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w.-]{1,256}:[\w-]{1,64}$")
_TOPIC_ARN = re.compile(r"^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w.-]{1,256}$")
_TOKEN = re.compile(r"^[0-9A-Za-z]{1,1024}$")

_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    from localstack.services.edge import ROUTER

    ROUTER.add(sns_mail.CONFIRMATION_PAGE, endpoint=confirm, methods=["GET"])
    ROUTER.add(sns_mail.UNSUBSCRIBE_PAGE, endpoint=unsubscribe, methods=["GET"])
    _registered = True


def _answer(status: int, title: str, *paragraphs: str, link: tuple[str, str] | None = None) -> Response:
    return Response(
        sns_mail.page(title, *paragraphs, link=link),
        status=status,
        mimetype="text/html",
        headers=sns_mail.PAGE_HEADERS,
    )


def _param(request: Request, name: str, pattern: re.Pattern[str]) -> str | None:
    value = request.args.get(name, "")
    return value if len(value) <= _MAX_PARAM and pattern.match(value) else None


def _sns_client(arn: str) -> Any:
    from localstack.aws.connect import connect_to
    from localstack.utils.aws.arns import parse_arn

    parts = parse_arn(arn)
    return connect_to(aws_access_key_id=parts["account"], region_name=parts["region"]).sns


def _error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def confirm(request: Request, **_: Any) -> Response:
    topic_arn = _param(request, "TopicArn", _TOPIC_ARN)
    token = _param(request, "Token", _TOKEN)
    if topic_arn is None or token is None:
        return _answer(400, "Invalid request", "This link needs a TopicArn and the Token from the mail.")
    from botocore.exceptions import ClientError

    try:
        subscription_arn = _sns_client(topic_arn).confirm_subscription(TopicArn=topic_arn, Token=token)[
            "SubscriptionArn"
        ]
    except ClientError as error:
        LOG.info("Subscription confirmation for %s refused: %s", topic_arn, _error_code(error))
        return _answer(404, "Invalid token", "No pending subscription to this topic has that token; "
                       "the subscription may have been removed.")
    endpoint = request.args.get("Endpoint", "")[:_MAX_PARAM]
    from sandbox_localstack.sns_email import links_base_url

    return _answer(
        200,
        "Subscription confirmed!",
        "You have successfully subscribed.",
        f"Your subscription's id is: {subscription_arn}",
        "If it was not your intention to subscribe, you can unsubscribe:",
        link=("Unsubscribe", sns_mail.unsubscribe_url(links_base_url(), subscription_arn, endpoint)),
    )


def unsubscribe(request: Request, **_: Any) -> Response:
    subscription_arn = _param(request, "SubscriptionArn", _SUBSCRIPTION_ARN)
    if subscription_arn is None:
        return _answer(400, "Invalid request", "This link needs the SubscriptionArn from the mail.")
    from botocore.exceptions import ClientError

    sns = _sns_client(subscription_arn)
    try:
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
        sns.unsubscribe(SubscriptionArn=subscription_arn)
    except ClientError as error:
        LOG.info("Unsubscribe of %s refused: %s", subscription_arn, _error_code(error))
        return _answer(404, "Subscription not found",
                       "There is no such subscription; it may have been removed already.")
    return _answer(
        200,
        "Subscription removed!",
        f"Your subscription to the topic below has been deactivated for address {attributes.get('Endpoint', '')}:",
        attributes.get("TopicArn", ""),
        "You will no longer receive notifications from this topic.",
    )
