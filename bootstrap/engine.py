"""Create, update or delete the declared resources (bootstrap/pipeline.py) in LocalStack with boto3.

Each CloudFormation type has a handler (one module per kind of resource) with `ensure` (get or create, change
only what differs), `predict` (the values a resource will have, from its properties alone: dry runs and destroy
use them) and `delete`. Resources start as soon as what they refer to exists, several at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from bootstrap.arns import Account
from bootstrap.changes import Changes
from bootstrap.pipeline import Resource
from bootstrap.symbols import references, resolve

# LocalStack answers calls concurrently; more workers than this only queue inside it on 2 cores.
WORKERS = 8


@dataclass
class Result:
    ref: object
    attributes: dict = field(default_factory=dict)
    new: bool = False  # does not exist (a dry run that would create it)


def new(result: Result) -> Result:
    """A dry run's answer for a resource it would create."""
    result.new = True
    return result


@dataclass
class Context:
    clients: Any  # bootstrap.Clients: one boto3 client per service, as attributes
    changes: Changes
    account: Account
    endpoint_url: str
    tags: dict[str, str]
    # LocalStack was started just now and holds nothing (`make up` in local mode keeps no state across starts):
    # every resource is created without looking for it first, which saves a read per resource.
    empty: bool = False


@dataclass(frozen=True)
class Handler:
    kind: str
    name_key: str
    predict: Callable[[Context, dict], Result]
    ensure: Callable[[Context, dict, bool], Result]  # (context, properties, something it refers to changed)
    delete: Callable[[Context, dict], None]


def _dependencies(resource: Resource, parameters: set[str]) -> set[str]:
    return references(resource.properties, parameters) | set(resource.depends_on)


def order(resources: list[Resource], parameters: set[str]) -> dict[str, set[str]]:
    """Each resource's dependencies; raises on an unknown reference or a cycle."""
    known = {r.logical_id for r in resources}
    graph = {r.logical_id: _dependencies(r, parameters) for r in resources}
    for logical, deps in graph.items():
        if deps - known:
            raise ValueError(f"{logical} refers to undeclared {sorted(deps - known)}")
    done: set[str] = set()
    while len(done) < len(graph):
        ready = {n for n, deps in graph.items() if n not in done and deps <= done}
        if not ready:
            raise ValueError(f"dependency cycle among {sorted(set(graph) - done)}")
        done |= ready
    return graph


def _lookup(values: dict[str, object], results: dict[str, Result]) -> Callable[[str], object]:
    def lookup(name: str) -> object:
        if name in values:
            return values[name]
        logical, _, attribute = name.partition(".")
        result = results[logical]
        return result.attributes[attribute] if attribute else result.ref
    return lookup


def deploy(resources: list[Resource], handlers: dict[str, Handler], values: dict[str, object],
           ctx: Context) -> dict[str, Result]:
    """Ensure every resource, each as soon as its dependencies are done; returns their values."""
    graph = order(resources, set(values))
    by_id = {r.logical_id: r for r in resources}
    results: dict[str, Result] = {}
    changed: set[str] = set()

    def one(logical: str) -> tuple[str, Result, bool]:
        resource, handler = by_id[logical], handlers[by_id[logical].type]
        properties = resolve(resource.properties, _lookup(values, results))
        assert isinstance(properties, dict)
        scoped = ctx.changes.scoped()
        local = replace(ctx, changes=scoped)
        if scoped.dry_run and any(results[d].new for d in graph[logical]):
            # What it refers to does not exist yet, so neither does it.
            scoped.apply("create", handler.kind, str(properties.get(handler.name_key, logical)))
            result = handler.predict(local, properties)
            result.new = True
        else:
            result = handler.ensure(local, properties, bool(graph[logical] & changed))
        return logical, result, bool(scoped.items)

    with ThreadPoolExecutor(WORKERS) as pool:
        running: dict[Future, str] = {}
        while len(results) < len(graph):
            started = set(running.values())
            for logical, deps in graph.items():
                if logical not in results and logical not in started and deps <= results.keys():
                    running[pool.submit(one, logical)] = logical
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                del running[future]
                logical, result, did_change = future.result()
                results[logical] = result
                if did_change:
                    changed.add(logical)
    return results


def destroy(resources: list[Resource], handlers: dict[str, Handler], values: dict[str, object],
            ctx: Context) -> None:
    """Delete every resource, dependants first; independent ones at the same time."""
    graph = order(resources, set(values))
    by_id = {r.logical_id: r for r in resources}
    predicted: dict[str, Result] = {}
    for logical in _topological(graph):
        resource = by_id[logical]
        properties = resolve(resource.properties, _lookup(values, predicted))
        assert isinstance(properties, dict)
        predicted[logical] = handlers[resource.type].predict(ctx, properties)
        predicted[logical].attributes["_properties"] = properties
    dependants = {n: {m for m, deps in graph.items() if n in deps} for n in graph}
    deleted: set[str] = set()
    with ThreadPoolExecutor(WORKERS) as pool:
        while len(deleted) < len(graph):
            wave = [n for n in graph if n not in deleted and dependants[n] <= deleted]
            list(pool.map(lambda n: handlers[by_id[n].type].delete(ctx, predicted[n].attributes["_properties"]),
                          wave))
            deleted |= set(wave)


def _topological(graph: dict[str, set[str]]) -> list[str]:
    out: list[str] = []
    while len(out) < len(graph):
        out += sorted(n for n, deps in graph.items() if n not in out and deps <= set(out))
    return out
