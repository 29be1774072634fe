"""Werkzeug rules compile their URL builders on first use (lazy_url_builders.py): matching and building answer as
before; adding a route no longer compiles builders."""

from __future__ import annotations

import pytest
from sandbox_localstack import lazy_url_builders
from sandbox_localstack.patches import is_wrapped
from werkzeug.routing import Map, Rule
from werkzeug.routing.rules import Rule as RuleClass


@pytest.fixture
def lazy(monkeypatch):
    monkeypatch.setattr(RuleClass, "_compile_builder", RuleClass._compile_builder)
    original = RuleClass._compile_builder
    lazy_url_builders.install()
    return original


def routes() -> Map:
    return Map([
        Rule("/restapis/<api_id>/stages/<stage>", endpoint="stage", methods=["GET"]),
        Rule("/functions/<path:name>/invocations", endpoint="invoke", methods=["POST"]),
        Rule("/health", endpoint="health", defaults={"deep": "no"}),
        Rule("/items/<int:item>", endpoint="item"),
    ])


def answers(url_map: Map) -> list:
    adapter = url_map.bind("localhost")
    return [
        adapter.match("/restapis/abc/stages/dev", method="GET"),
        adapter.match("/functions/a/b/invocations", method="POST"),
        adapter.match("/health"),
        adapter.match("/items/42"),
        adapter.build("stage", {"api_id": "abc", "stage": "dev"}),
        adapter.build("stage", {"api_id": "a b", "stage": "dev", "extra": "1"}),  # unknown args: the query
        adapter.build("invoke", {"name": "a/b"}, method="POST"),
        adapter.build("health"),
        adapter.build("item", {"item": 7}),
        adapter.build("item", {"item": 7}, force_external=True),
    ]


def test_unpatched_werkzeug_compiles_builders_as_routes_are_added():
    calls = []
    original = RuleClass._compile_builder

    def counting(self, append_unknown=True):
        calls.append(append_unknown)
        return original(self, append_unknown)

    RuleClass._compile_builder = counting
    try:
        routes()
    finally:
        RuleClass._compile_builder = original
    assert len(calls) == 8  # two per rule


def test_matching_and_building_answer_as_before(lazy):
    patched = RuleClass._compile_builder
    RuleClass._compile_builder = lazy  # werkzeug's own, for the reference answers
    try:
        unpatched = answers(routes())
    finally:
        RuleClass._compile_builder = patched
    assert answers(routes()) == unpatched
    assert unpatched[5] == "/restapis/a%20b/stages/dev?extra=1"


def test_adding_and_matching_compile_no_builder_and_a_build_compiles_one_once(lazy, monkeypatch):
    compiled = []
    monkeypatch.setattr(RuleClass, "_get_func_code", staticmethod(
        lambda code, name, real=RuleClass._get_func_code: compiled.append(name) or real(code, name)))
    url_map = routes()
    url_map.bind("localhost").match("/items/42")
    assert compiled == []
    adapter = url_map.bind("localhost")
    assert adapter.build("item", {"item": 1}) == "/items/1"
    assert adapter.build("item", {"item": 2}) == "/items/2"
    assert len(compiled) == 1  # the builder without unknown arguments, kept for the second build


def test_installing_twice_wraps_once(lazy):
    patched = RuleClass._compile_builder
    lazy_url_builders.install()
    assert RuleClass._compile_builder is patched and is_wrapped(patched)
