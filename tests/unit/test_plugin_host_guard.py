"""The gateway's answers to names that are not the sandbox's (DNS rebinding, issue 11 finding 1) and to over-long
request lines (finding 9): the pure parts."""

import pytest
from sandbox_localstack.bound_server import too_long_response
from sandbox_localstack.host_guard import configured_hosts, host_allowed, host_name


@pytest.mark.parametrize("host", [
    "localhost:4566", "LOCALHOST", "127.0.0.1:4566", "[::1]:4566", "::1", "10.0.0.7:4566", "172.18.0.2",
    "abc123.execute-api.localhost:4566", "sqs.us-east-1.localhost:4566",
    "abc123.execute-api.localhost.localstack.cloud:4566", "localhost.localstack.cloud", "localhost.", "",
])
def test_names_of_this_machine_and_ip_addresses_are_answered(host):
    assert host_allowed(host)


@pytest.mark.parametrize("host", [
    "evil.example:4566", "evil.example", "localhost.evil.example", "evillocalhost", "127.0.0.1.nip.io",
    "abc.execute-api.us-east-1.amazonaws.com", "localstack:4566", "localhost.localstack.cloud.evil.example",
])
def test_any_other_name_is_refused(host):
    assert not host_allowed(host)


def test_allowed_names_come_from_the_setting_and_localstack_host():
    names = configured_hosts({"SANDBOX_ALLOWED_HOSTS": "localstack, .dev.example ,", "LOCALSTACK_HOST": "gw:4566"})
    assert host_allowed("localstack:4566", names)
    assert host_allowed("dev.example", names) and host_allowed("api.dev.example:443", names)
    assert host_allowed("gw:4566", names)
    assert not host_allowed("devexample", names) and not host_allowed("evil.example", names)


def test_host_names_lose_port_brackets_case_and_trailing_dot():
    assert [host_name(h) for h in ("A.Example:80", "[::1]:4566", "x.example.", "::1")] == [
        "a.example", "::1", "x.example", "::1"]


@pytest.mark.parametrize(("request_line", "status"), [(True, b"414"), (False, b"431")])
def test_an_over_long_line_gets_an_answer_with_a_message(request_line, status):
    response = too_long_response(request_line)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status)
    assert f"Content-Length: {len(body)}".encode() in head and b"message" in body
