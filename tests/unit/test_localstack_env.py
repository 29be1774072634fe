"""LocalStack's start settings are the same in both modes: local mode's environment (sandbox/services.py) and
docker-compose.yml's localstack service."""

from __future__ import annotations

from pathlib import Path

import yaml

from sandbox.config import AWS_SERVICES, Settings
from sandbox.services import EAGER_SERVICES, IN_MEMORY_INTERNAL_CALLS, localstack_env

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def test_the_demos_services_load_at_start_and_others_stay_enabled():
    # Strict loading (LocalStack's default) would disable every service SERVICES does not list.
    wanted = {"EAGER_SERVICE_LOADING": "1", "SERVICES": ",".join(AWS_SERVICES), "STRICT_SERVICE_LOADING": "0"}
    assert wanted == EAGER_SERVICES
    env = localstack_env(Settings())
    assert {key: env[key] for key in EAGER_SERVICES} == EAGER_SERVICES


def test_localstacks_calls_to_itself_skip_its_http_server():
    assert IN_MEMORY_INTERNAL_CALLS == {"IN_MEMORY_CLIENT": "1"}
    env = localstack_env(Settings())
    assert {key: env[key] for key in IN_MEMORY_INTERNAL_CALLS} == IN_MEMORY_INTERNAL_CALLS


def test_docker_mode_starts_localstack_the_same_way():
    environment = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["localstack"]["environment"]
    same = {**EAGER_SERVICES, **IN_MEMORY_INTERNAL_CALLS}
    assert {key: str(environment[key]) for key in same} == same


def test_every_plugin_patch_runs_before_localstack_loads_services():
    """A service loaded eagerly binds its provider's methods when it loads; a patch after that is never called."""
    from importlib.metadata import entry_points

    from localstack.services.plugins import eager_load_services

    starts = entry_points(group="localstack.hooks.on_infra_start")
    ours = [entry for entry in starts if entry.module == "sandbox_localstack.plugins"]
    priorities = {entry.name: entry.load().hook_priority for entry in ours}
    # The one exception is no patch: it sets up an account in IAM, which must be loaded (and patched) first.
    assert priorities.pop("sandbox_account_warm_up") < eager_load_services.hook_priority
    assert len(priorities) >= 10 and all(p > eager_load_services.hook_priority for p in priorities.values()), priorities
