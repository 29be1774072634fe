"""The API Gateway payload limit's pure parts: which requests it covers, and where the limit is."""

from sandbox_localstack.apigw_limits import API_GATEWAY_MAX_PAYLOAD, FORM_MEMORY_LIMIT, is_execute_api, too_long


def test_execute_api_requests_are_recognised_path_style_and_by_host():
    assert is_execute_api("/_aws/execute-api/abc123/sandbox/approve", "localhost:4566")
    assert is_execute_api("/sandbox/approve", "abc123.execute-api.localhost.localstack.cloud:4566")
    assert not is_execute_api("/", "localhost:4566")  # query-protocol AWS calls (SQS, SNS) keep their own limits
    assert not is_execute_api("/_localstack/health", "localhost")


def test_limit_is_api_gateways_10_mib_and_form_parsing_allows_it():
    assert API_GATEWAY_MAX_PAYLOAD == 10 * 1024 * 1024
    assert not too_long(None) and not too_long(API_GATEWAY_MAX_PAYLOAD)
    assert too_long(API_GATEWAY_MAX_PAYLOAD + 1)
    assert FORM_MEMORY_LIMIT > API_GATEWAY_MAX_PAYLOAD
