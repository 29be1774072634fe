"""LocalStack side of SNS email subscriptions as AWS runs them.

LocalStack 4.14 sends an `email`/`email-json` subscription no confirmation, leaves it `PendingConfirmation`
forever yet delivers to it, sends every notification with the subject "SNS-Subscriber-Endpoint" from
admin@localstack.com, and puts no unsubscribe link in an `email` notification. Here:

- Subscribe sends AWS's "AWS Notification - Subscription Confirmation" mail (`email`: text and HTML with a
  "Confirm subscription" link; `email-json`: the JSON SubscriptionConfirmation with its Token and SubscribeURL).
  A subscription still pending when Subscribe is called again gets the mail again, as on AWS.
- SANDBOX_SNS_EMAIL_CONFIRMATION=auto (default) confirms the subscription at once; `required` keeps it pending,
  delivering nothing to it, until the link is opened or ConfirmSubscription is called with the token.
- Notifications carry the Publish Subject (or AWS's "AWS Notification Message"), the sender AWS uses (the topic's
  DisplayName as the name) and, for `email`, AWS's footer with a link that really unsubscribes.
- The links are pages on LocalStack's gateway (`/_sandbox/sns/…`), path style, so they open offline.
- ListSubscriptionsByTopic shows a pending subscription's ARN as "PendingConfirmation", as AWS does.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sandbox_localstack import mail, sns_mail
from sandbox_localstack.patches import wrap_once
from sandbox_localstack.sns_mail import EmailConfirmation

LOG = logging.getLogger(__name__)


def install() -> None:
    """Called once by the on_infra_start hook; installing twice changes nothing."""
    try:
        mode = sns_mail.confirmation_mode_from_env(os.environ)
    except ValueError as error:
        LOG.error("%s; using %s", error, EmailConfirmation.AUTO.value)
        mode = EmailConfirmation.AUTO
    _patch_email_publisher()
    _patch_subscribe(mode)
    _patch_listing_by_topic()
    if mode is EmailConfirmation.REQUIRED:
        _patch_delivery_to_pending_subscriptions()
    from sandbox_localstack import sns_pages

    sns_pages.register()


def links_base_url() -> str:
    """Where a browser on the host reaches LocalStack's gateway (LOCALSTACK_HOST)."""
    from localstack.config import external_service_url

    return str(external_service_url()).rstrip("/")


def _patch_email_publisher() -> None:
    from localstack.services.sns.publisher import EmailJsonTopicPublisher

    wrap_once(EmailJsonTopicPublisher, "_publish", lambda _original: _publish_email)


def _publish_email(self: Any, context: Any, subscriber: dict) -> None:
    """Deliver one SNS email (notification or confirmation) through SES inside LocalStack, as LocalStack does,
    in AWS's shape. `self` is LocalStack's email or email-json publisher."""
    from localstack import config
    from localstack.aws.connect import connect_to
    from localstack.services.sns.models import SnsMessageType
    from localstack.utils.aws.arns import parse_arn

    endpoint = subscriber.get("Endpoint")
    if not endpoint:
        return
    message = context.message
    protocol = subscriber["Protocol"]
    html = None
    if message.type == SnsMessageType.SubscriptionConfirmation:
        subject = sns_mail.CONFIRMATION_SUBJECT
        if protocol == "email":
            link = sns_mail.confirmation_url(links_base_url(), subscriber["TopicArn"], message.token, endpoint)
            text = sns_mail.confirmation_text(subscriber["TopicArn"], link)
            html = sns_mail.confirmation_html(subscriber["TopicArn"], link)
        else:
            text = self.prepare_message(message, subscriber, topic_attributes=context.topic_attributes)
    elif message.type == SnsMessageType.UnsubscribeConfirmation:
        return  # AWS mails no unsubscribe confirmation to email endpoints
    else:
        subject = mail.sns_email_subject(message.subject)
        text = self.prepare_message(message, subscriber, topic_attributes=context.topic_attributes)
        if protocol == "email":
            link = sns_mail.unsubscribe_url(links_base_url(), subscriber["SubscriptionArn"], endpoint)
            text = sns_mail.notification_text(text, link)

    topic = parse_arn(subscriber["TopicArn"])
    ses = connect_to(aws_access_key_id=topic["account"], region_name=topic["region"]).ses
    sender = config.SNS_SES_SENDER_ADDRESS or mail.sns_email_sender(
        (context.topic_attributes or {}).get("DisplayName")
    )
    body: dict[str, Any] = {"Text": {"Data": text}}
    if html is not None:
        body["Html"] = {"Data": html}
    _SENDER.send(ses, (topic["account"], topic["region"]), config.SNS_SES_SENDER_ADDRESS or mail.SNS_SENDER_ADDRESS,
                 Source=sender, Destination={"ToAddresses": [endpoint]},
                 Message={"Subject": {"Data": subject}, "Body": body})


class VerifiedSender:
    """Sends through LocalStack's SES, which accepts mail only from verified senders (the recipient needs no
    verification). The sender is verified once per account and region, not before every email: each call is a
    trip through LocalStack's gateway, and at 100 concurrent approvals that verification was half of the SNS
    email path's calls. Should the identity be deleted since (DeleteIdentity), SES rejects the send: the sender
    is verified again and the send repeated once."""

    def __init__(self) -> None:
        self._verified: set[tuple[str, str, str]] = set()

    def send(self, ses: Any, account_region: tuple[str, str], sender_address: str, **email: Any) -> None:
        key = (*account_region, sender_address)
        if key not in self._verified:
            ses.verify_email_address(EmailAddress=sender_address)
            self._verified.add(key)
        try:
            ses.send_email(**email)
        except Exception as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") != "MessageRejected":
                raise
            ses.verify_email_address(EmailAddress=sender_address)
            ses.send_email(**email)


_SENDER = VerifiedSender()


def _patch_subscribe(mode: EmailConfirmation) -> None:
    from localstack.services.sns.provider import SnsProvider

    def make(original):
        def subscribe(self, context, topic_arn, protocol, endpoint=None, attributes=None,
                      return_subscription_arn=None, **kwargs):
            response = original(self, context, topic_arn, protocol, endpoint, attributes,
                                return_subscription_arn, **kwargs)
            if protocol not in sns_mail.EMAIL_PROTOCOLS:
                return response
            pending = _on_email_subscribe(self, context, response["SubscriptionArn"], mode)
            # AWS answers "pending confirmation" until the subscription is confirmed, unless the caller asked
            # for the ARN. LocalStack's own CloudFormation resource keeps the answer as the subscription's id,
            # so internal calls get the ARN.
            if pending and not return_subscription_arn and not context.is_internal_call:
                response["SubscriptionArn"] = "pending confirmation"
            return response

        return subscribe

    wrap_once(SnsProvider, "subscribe", make)


def _on_email_subscribe(provider: Any, context: Any, subscription_arn: str, mode: EmailConfirmation) -> bool:
    """Mail the confirmation for a subscription still pending; confirm it in auto mode. Returns whether it is
    left pending."""
    from localstack.services.sns.models import SnsMessage, SnsMessageType
    from localstack.services.sns.publisher import SnsPublishContext
    from localstack.utils.aws.arns import parse_arn

    arn = parse_arn(subscription_arn)
    store = provider.get_store(arn["account"], arn["region"])
    subscription = store.subscriptions.get(subscription_arn)
    if subscription is None or subscription.get("PendingConfirmation") != "true":
        return False
    token = next((t for t, s in store.subscription_tokens.items() if s == subscription_arn), None)
    if token is None:
        LOG.warning("No confirmation token for %s; no confirmation mail sent", subscription_arn)
        return True
    topic_arn = subscription["TopicArn"]
    confirmation = SnsMessage(
        type=SnsMessageType.SubscriptionConfirmation,
        token=token,
        message=sns_mail.email_json_confirmation_message(topic_arn),
    )
    topic = store.topics.get(topic_arn) or {}
    publish_context = SnsPublishContext(
        message=confirmation,
        store=store,
        request_headers=dict(context.request.headers),
        topic_attributes=topic.get("attributes") or {},
    )
    provider._publisher.publish_to_topic_subscriber(publish_context, topic_arn, subscription_arn)
    if mode is EmailConfirmation.AUTO:
        subscription["PendingConfirmation"] = "false"
        subscription["ConfirmationWasAuthenticated"] = "false"
        return False
    return True


def _patch_listing_by_topic() -> None:
    """AWS lists a pending subscription with the ARN "PendingConfirmation" in ListSubscriptionsByTopic too;
    LocalStack does so only in ListSubscriptions."""
    from localstack.services.sns.provider import SnsProvider

    def make(original):
        def list_subscriptions_by_topic(self, context, topic_arn, next_token=None, **kwargs):
            response = original(self, context, topic_arn, next_token, **kwargs)
            # The listed items are LocalStack's stored subscriptions: answer copies, never change them.
            response["Subscriptions"] = [
                {**item, "SubscriptionArn": "PendingConfirmation"} if item.get("PendingConfirmation") == "true"
                else item
                for item in response.get("Subscriptions", [])
            ]
            return response

        return list_subscriptions_by_topic

    wrap_once(SnsProvider, "list_subscriptions_by_topic", make)


def _patch_delivery_to_pending_subscriptions() -> None:
    """AWS delivers nothing to a pending subscription; LocalStack delivers to pending email subscriptions."""
    from localstack.services.sns.publisher import PublishDispatcher

    def make(original):
        def should_publish(self, subscription_filter_policy, message_ctx, subscriber):
            if subscriber.get("Protocol") in sns_mail.EMAIL_PROTOCOLS and (
                subscriber.get("PendingConfirmation") != "false"
            ):
                return False
            return original(self, subscription_filter_policy, message_ctx, subscriber)

        return should_publish

    wrap_once(PublishDispatcher, "_should_publish", make)
