"""AWS::ApiGateway::RestApi, ::Resource, ::Method and ::Deployment: /approve and /reject (GET and POST) proxied
to the decision Lambda.

In LocalStack the API gets a fixed id (the `_custom_id_` tag), derived from its name and the account, so it is
the same after a restart: links in earlier emails still reach the decision Lambda, which explains what was lost.
"""

from __future__ import annotations

import hashlib

from botocore.exceptions import ClientError

from bootstrap.changes import ConfigError, is_managed, is_not_found, require_managed
from bootstrap.engine import Context, Handler, Result, new

API, ROUTE, METHOD, DEPLOYMENT = "rest api", "api route", "api method", "api deployment"
CUSTOM_ID_TAG = "_custom_id_"  # LocalStack only: never part of the CloudFormation template


def custom_id(account_id: str, region: str, name: str) -> str:
    """Ten lower-case letters and digits, like API Gateway's own ids."""
    return hashlib.sha256(f"{account_id}:{region}:{name}".encode()).hexdigest()[:10]


def api_url(endpoint_url: str, api_id: str, stage: str) -> str:
    """The path-style invoke URL, which needs no DNS for {api_id}.execute-api.… and so works offline."""
    return f"{endpoint_url.rstrip('/')}/_aws/execute-api/{api_id}/{stage}"


def _find(client, name: str) -> dict | None:
    for page in client.get_paginator("get_rest_apis").paginate():
        for item in page.get("items", []):
            if item["name"] == name:
                return item
    return None


def predict_api(ctx: Context, p: dict) -> Result:
    api_id = custom_id(ctx.account.account_id, ctx.account.region, p["Name"])
    return Result(api_id, {"RootResourceId": "(root)"})


def _root(client, api_id: str) -> str:
    return next(r["id"] for r in client.get_resources(restApiId=api_id, limit=500)["items"] if r["path"] == "/")


def ensure_api(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    client, name = ctx.clients.apigateway, p["Name"]
    found = None if ctx.empty else _find(client, name)
    if found is None:
        if not ctx.changes.apply("create", API, name):
            return new(predict_api(ctx, p))
        tags = {**ctx.tags, CUSTOM_ID_TAG: str(predict_api(ctx, p).ref)}
        found = client.create_rest_api(name=name, description=p["Description"], tags=tags,
                                       endpointConfiguration={"types": p["EndpointConfiguration"]["Types"]})
    else:
        require_managed(found.get("tags", {}), API, name)
    if found["id"] != predict_api(ctx, p).ref:
        # The links the verification function writes use the fixed id.
        raise ConfigError(f"the approval API {name} has id {found['id']}, not the fixed id "
                          f"{predict_api(ctx, p).ref} the sandbox gives it; run `make destroy` then `make deploy`")
    return Result(found["id"], {"RootResourceId": found.get("rootResourceId") or _root(client, found["id"])})


def delete_api(ctx: Context, p: dict) -> None:
    client = ctx.clients.apigateway
    found = _find(client, p["Name"])
    if found and is_managed(found.get("tags", {})) and ctx.changes.apply("delete", API, p["Name"]):
        client.delete_rest_api(restApiId=found["id"])  # with its routes, methods and deployments


def _owned_by_api(ctx: Context, p: dict) -> None:
    """Routes, methods and deployments go with their API."""


def ensure_route(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    client = ctx.clients.apigateway
    existing = [] if ctx.empty else client.get_resources(restApiId=p["RestApiId"], limit=500)["items"]
    for item in existing:
        if item.get("parentId") == p["ParentId"] and item.get("pathPart") == p["PathPart"]:
            return Result(item["id"])
    if not ctx.changes.apply("create", ROUTE, "/" + p["PathPart"]):
        return new(Result("(new)"))
    return Result(client.create_resource(restApiId=p["RestApiId"], parentId=p["ParentId"],
                                         pathPart=p["PathPart"])["id"])


def _method(client, where: dict) -> dict | None:
    try:
        return client.get_method(**where)
    except ClientError as error:
        if not is_not_found(error):
            raise
        return None


def ensure_method(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    """The method with its Lambda proxy integration; put again only where it differs."""
    client, label = ctx.clients.apigateway, f"{p['HttpMethod']} {p['ResourceId']}"
    where = {"restApiId": p["RestApiId"], "resourceId": p["ResourceId"], "httpMethod": p["HttpMethod"]}
    current = None if ctx.empty else _method(client, where)
    integration = p["Integration"]
    wanted = {"type": integration["Type"], "uri": integration["Uri"], "credentials": integration["Credentials"]}
    if current is None:
        if not ctx.changes.apply("create", METHOD, label):
            return new(Result(label))
        client.put_method(**where, authorizationType=p["AuthorizationType"])
    else:
        have = current.get("methodIntegration") or {}
        if all(have.get(k) == v for k, v in wanted.items()):
            return Result(label)
        if not ctx.changes.apply("update", METHOD, label, "integration"):
            return Result(label)
    client.put_integration(**where, integrationHttpMethod=integration["IntegrationHttpMethod"], **wanted)
    return Result(label)


def ensure_deployment(ctx: Context, p: dict, deps_changed: bool) -> Result:
    """Deploy the API to the stage when the stage is missing or a method changed."""
    client, stage = ctx.clients.apigateway, p["StageName"]
    stages = {} if ctx.empty else {s["stageName"]: s for s in client.get_stages(restApiId=p["RestApiId"])
                                   .get("item", [])}
    if stage in stages and not deps_changed:
        return Result(stages[stage].get("deploymentId"))
    if not ctx.changes.apply("create", DEPLOYMENT, stage):
        return new(Result("(new)"))
    return Result(client.create_deployment(restApiId=p["RestApiId"], stageName=stage,
                                           description=p["Description"])["id"])


API_HANDLER = Handler(API, "Name", predict_api, ensure_api, delete_api)
ROUTE_HANDLER = Handler(ROUTE, "PathPart", lambda ctx, p: Result("(new)"), ensure_route, _owned_by_api)
METHOD_HANDLER = Handler(METHOD, "HttpMethod", lambda ctx, p: Result("(new)"), ensure_method, _owned_by_api)
DEPLOYMENT_HANDLER = Handler(DEPLOYMENT, "StageName", lambda ctx, p: Result("(new)"), ensure_deployment,
                             _owned_by_api)
