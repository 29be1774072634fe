"""The in-process corrections of LocalStack's JSONPath re-parsing and first ESM backoff (on LocalStack's classes)."""

from __future__ import annotations

import pytest
from localstack.services.stepfunctions.asl.component.common.path import result_path
from localstack.services.stepfunctions.asl.utils import json_path
from localstack.utils.backoff import ExponentialBackoff
from sandbox_localstack import latency


@pytest.fixture
def patched():
    saved = (json_path.parse, result_path.parse, ExponentialBackoff.next_backoff)
    latency.install()
    try:
        yield
    finally:
        json_path.parse, result_path.parse, ExponentialBackoff.next_backoff = saved


def test_a_path_is_parsed_once_and_still_extracts_the_same_values(patched):
    data = {"detail": {"title": "Deploy v2", "items": [1, 2, 3]}}
    assert json_path.extract_json("$.detail.title", data) == "Deploy v2"
    hits_before = json_path.parse.cache_info().hits
    assert json_path.extract_json("$.detail.title", {"detail": {"title": "other"}}) == "other"
    assert json_path.extract_json("$.detail.items[1]", data) == 2
    assert json_path.parse.cache_info().hits == hits_before + 1


def test_installing_twice_wraps_once(patched):
    parse, backoff = json_path.parse, ExponentialBackoff.next_backoff
    latency.install()
    assert json_path.parse is parse and ExponentialBackoff.next_backoff is backoff


def test_the_first_empty_poll_sleep_respects_the_configured_maximum(patched):
    backoff = ExponentialBackoff(initial_interval=1, max_interval=0.2)
    sleeps = [backoff.next_backoff() for _ in range(5)]
    # 0.2 s with up to 50 % jitter: never LocalStack's unconditional 0.5-1.5 s first sleep.
    assert all(0.1 - 1e-9 <= sleep <= 0.3 + 1e-9 for sleep in sleeps), sleeps


def test_a_maximum_above_the_initial_interval_keeps_localstacks_sequence(patched):
    backoff = ExponentialBackoff(initial_interval=1, max_interval=10, randomization_factor=0)
    assert [backoff.next_backoff() for _ in range(3)] == [1, 1.5, 2.25]
