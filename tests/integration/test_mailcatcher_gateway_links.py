"""Issue 12, links that open offline, against real LocalStack: the execute-api link a user's stack puts in
mail (CDK's host style, which Python cannot resolve) is taken routed from the catcher's API and opened."""

from __future__ import annotations

import pytest
import requests
from mailcatcher_support import message, unique


@pytest.fixture(scope="module")
def mock_api(localstack):
    """A REST API with a GET /verification that answers from a MOCK integration, deployed as stage dev."""
    api = localstack.client("apigateway")
    api_id = api.create_rest_api(name=unique("links-offline"))["id"]
    root = next(r["id"] for r in api.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = api.create_resource(restApiId=api_id, parentId=root, pathPart="verification")["id"]
    api.put_method(restApiId=api_id, resourceId=resource, httpMethod="GET", authorizationType="NONE")
    api.put_integration(restApiId=api_id, resourceId=resource, httpMethod="GET", type="MOCK",
                        requestTemplates={"application/json": '{"statusCode": 200}'})
    api.put_method_response(restApiId=api_id, resourceId=resource, httpMethod="GET", statusCode="200")
    api.put_integration_response(restApiId=api_id, resourceId=resource, httpMethod="GET", statusCode="200",
                                 responseTemplates={"application/json": '{"opened": "offline"}'})
    api.create_deployment(restApiId=api_id, stageName="dev")
    try:
        yield api_id
    finally:
        api.delete_rest_api(restApiId=api_id)


def test_issue_12_a_python_test_opens_the_routed_cdk_link(localstack, mock_api, start_mailcatcher):
    port = localstack.settings.localstack_port
    catcher = start_mailcatcher("--aws-gateway", f"http://localhost:{port}")
    cdk_link = f"https://{mock_api}.execute-api.localhost:{port}/dev/verification?action=approve&token=a%2Bb%3D"
    subject = unique("offline-link")
    catcher.send(message(subject, f"Please approve:\n{cdk_link}\n"))
    message_id = catcher.search(subject)["messages"][0]["ID"]

    [link] = catcher.get(f"/api/v1/message/{message_id}/approval").json()["Approve"]
    assert link["OriginalURL"] == cdk_link and link["Routed"] is True
    assert link["URL"] == (f"http://localhost:{port}/_aws/execute-api/{mock_api}/dev/verification"
                           "?action=approve&token=a%2Bb%3D")
    with pytest.raises(requests.ConnectionError):  # as written, the link is a dead end offline
        requests.get(cdk_link, timeout=10)
    opened = requests.get(link["URL"], timeout=30)
    assert opened.status_code == 200 and opened.json() == {"opened": "offline"}
