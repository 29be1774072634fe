"""Queue URLs the sandbox hands out (SQS_ENDPOINT_STRATEGY=off) are `http://localhost:PORT/ACCOUNT/NAME`: the host
resolves from any SDK (LocalStack's default `sqs.us-east-1.localhost` does not from Python or Node), boto3 uses
the URL as it is, and SDKs that send to the QueueUrl itself (aws-sdk v2 for JavaScript does) reach the queue."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import requests
from mail_support import unique


def test_create_queue_and_get_queue_url_answer_a_path_style_localhost_url(localstack):
    sqs = localstack.client("sqs")
    name = unique("orders")

    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    assert url == f"http://localhost:{localstack.settings.localstack_port}/000000000000/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert socket.getaddrinfo(urlsplit(url).hostname, urlsplit(url).port)


def test_boto3_uses_the_queue_url_as_it_is(localstack):
    sqs = localstack.client("sqs")
    url = sqs.create_queue(QueueName=unique("as-is"))["QueueUrl"]

    sqs.send_message(QueueUrl=url, MessageBody="hello")

    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]
    assert message["Body"] == "hello"


def test_a_request_sent_to_the_queue_url_itself_reaches_the_queue(localstack):
    sqs = localstack.client("sqs")
    url = sqs.create_queue(QueueName=unique("by-url"))["QueueUrl"]

    # The query protocol, posted to the QueueUrl as aws-sdk v2 does (credentials are not checked offline).
    answer = requests.post(url, data={"Action": "SendMessage", "MessageBody": "posted to the url",
                                      "Version": "2012-11-05"}, timeout=10)

    assert answer.status_code == 200, answer.text
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]
    assert message["Body"] == "posted to the url"
