"""Issue 12, links that open offline: execute-api URLs routed to the local gateway's path-style URL."""

from __future__ import annotations

import pytest

from mailcatcher.gateway import route

GW = "http://localhost:4566"


@pytest.mark.parametrize(
    ("url", "routed"),
    [
        # CDK's api.url + "/verification…" (the double slash is kept: the gateway sees what the API would)
        ("https://k2x9q1.execute-api.localhost:4566/dev//verification?action=approve&taskToken=a%2Bb%2F%3D",
         f"{GW}/_aws/execute-api/k2x9q1/dev//verification?action=approve&taskToken=a%2Bb%2F%3D"),
        ("https://abc.execute-api.localhost.localstack.cloud:4566/prod/approve?t=1#x",
         f"{GW}/_aws/execute-api/abc/prod/approve?t=1#x"),
        ("https://abc.execute-api.us-east-1.localhost.localstack.cloud/prod/a", f"{GW}/_aws/execute-api/abc/prod/a"),
        ("https://abc123.execute-api.us-east-1.amazonaws.com/states/execution?action=approve&ex=RejectTest",
         f"{GW}/_aws/execute-api/abc123/states/execution?action=approve&ex=RejectTest"),
        ("HTTPS://ABC.Execute-Api.eu-west-2.AmazonAWS.com/v1", f"{GW}/_aws/execute-api/abc/v1"),
        ("https://abc.execute-api.cn-north-1.amazonaws.com.cn/s/p", f"{GW}/_aws/execute-api/abc/s/p"),
        ("http://abc.execute-api.localhost:4566/", f"{GW}/_aws/execute-api/abc/"),
    ],
)
def test_execute_api_urls_are_routed_to_the_path_style_url(url, routed):
    assert route(url, GW) == routed
    assert route(url, GW + "/") == routed


@pytest.mark.parametrize("url", [
    "http://localhost:4566/_aws/execute-api/abc/sandbox/approve",  # already path style
    "https://execute-api.us-east-1.amazonaws.com/x",  # no API id
    "https://abc.execute-api.us-east-1.amazonaws.com.evil.example/x",
    "https://abc.execute-api.localhost.evil.example/x",
    "https://user:pw@abc.execute-api.localhost:4566/x",
    "https://s3.amazonaws.com/bucket/key",
    "ftp://abc.execute-api.localhost/x",
    "not a url",
])
def test_other_urls_are_left_alone(url):
    assert route(url, GW) is None


def test_no_gateway_routes_nothing():
    assert route("https://abc.execute-api.localhost:4566/dev/x", "") is None
