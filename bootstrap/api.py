"""The REST API with /approve and /reject (GET and POST) proxied to the decision Lambda."""

from __future__ import annotations

from botocore.exceptions import ClientError

from bootstrap.changes import Changes, is_not_found

ROUTES = ("approve", "reject")
METHODS = ("GET", "POST")


def find_rest_api(client, name: str) -> str | None:
    for page in client.get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            if api["name"] == name:
                return api["id"]
    return None


def ensure_rest_api(client, name: str, changes: Changes) -> str | None:
    """Get or create the API; returns its id (None in a dry run when it does not exist yet)."""
    api_id = find_rest_api(client, name)
    if api_id is None and changes.apply("create", "rest api", name):
        api_id = client.create_rest_api(
            name=name, description="Approve/Reject links of Callback Sandbox",
            endpointConfiguration={"types": ["REGIONAL"]},
        )["id"]
    return api_id


def api_url(endpoint_url: str, api_id: str, stage: str) -> str:
    """The path-style invoke URL, which needs no DNS for {api_id}.execute-api.… and so works offline."""
    return f"{endpoint_url.rstrip('/')}/_aws/execute-api/{api_id}/{stage}"


def ensure_routes(client, api_id: str, integration_uri: str, role_arn: str, changes: Changes) -> bool:
    """Resources, methods and Lambda proxy integrations; returns whether anything changed."""
    changed = False
    resources = {r["path"]: r for r in client.get_resources(restApiId=api_id, limit=500)["items"]}
    root_id = resources["/"]["id"]
    for route in ROUTES:
        path = f"/{route}"
        resource = resources.get(path)
        if resource is None:
            changed = True
            if not changes.apply("create", "api route", path):
                continue
            resource = client.create_resource(restApiId=api_id, parentId=root_id, pathPart=route)
        for method in METHODS:
            changed |= _ensure_method(client, api_id, resource["id"], f"{method} {path}", method, integration_uri,
                                      role_arn, changes)
    return changed


def _ensure_method(client, api_id, resource_id, label, method, integration_uri, role_arn, changes) -> bool:
    try:
        client.get_method(restApiId=api_id, resourceId=resource_id, httpMethod=method)
        has_method = True
    except ClientError as error:
        if not is_not_found(error):
            raise
        has_method = False
    if not has_method:
        if not changes.apply("create", "api method", label):
            return True
        client.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=method, authorizationType="NONE")
    integration = None
    if has_method:
        try:
            integration = client.get_integration(restApiId=api_id, resourceId=resource_id, httpMethod=method)
        except ClientError as error:
            if not is_not_found(error):
                raise
    wanted = {"type": "AWS_PROXY", "uri": integration_uri, "credentials": role_arn}
    if integration and all(integration.get(k) == v for k, v in wanted.items()):
        return not has_method
    if has_method and not changes.apply("update" if integration else "create", "api integration", label):
        return True
    client.put_integration(
        restApiId=api_id, resourceId=resource_id, httpMethod=method, integrationHttpMethod="POST", **wanted
    )
    return True


def ensure_stage(client, api_id: str, stage: str, routes_changed: bool, changes: Changes) -> None:
    """Deploy the API to the stage when the stage is missing or the routes changed."""
    stages = {s["stageName"] for s in client.get_stages(restApiId=api_id).get("item", [])}
    if stage in stages and not routes_changed:
        return
    if changes.apply("create", "api deployment", stage):
        client.create_deployment(restApiId=api_id, stageName=stage, description="Callback Sandbox bootstrap")


def delete_rest_api(client, name: str, changes: Changes) -> None:
    api_id = find_rest_api(client, name)
    if api_id and changes.apply("delete", "rest api", name):
        client.delete_rest_api(restApiId=api_id)
