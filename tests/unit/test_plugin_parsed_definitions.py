"""Step Functions parses each state machine definition once (parsed_definitions.py), on LocalStack's classes."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker
from sandbox_localstack import parsed_definitions
from sandbox_localstack.patches import is_wrapped

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def worker(definition: str) -> SimpleNamespace:
    return SimpleNamespace(_evaluation_details=SimpleNamespace(
        state_machine_details=SimpleNamespace(definition=definition)))


@pytest.fixture
def patched():
    saved = ExecutionWorker._get_evaluation_entrypoint
    parsed_definitions.install()
    try:
        yield
    finally:
        ExecutionWorker._get_evaluation_entrypoint = saved


def test_localstack_alone_parses_the_definition_for_every_execution():
    entry = ExecutionWorker._get_evaluation_entrypoint
    assert entry(worker(DEFINITION)) is not entry(worker(DEFINITION))


def test_each_definition_is_parsed_once(patched):
    entry = ExecutionWorker._get_evaluation_entrypoint
    program = entry(worker(DEFINITION))
    assert entry(worker(DEFINITION)) is program
    assert program.start_at.start_at_name == "Done"
    changed = json.dumps({"StartAt": "Other", "States": {"Other": {"Type": "Pass", "End": True}}})
    assert entry(worker(changed)) is not program
    assert entry(worker(changed)).start_at.start_at_name == "Other"


def test_installing_twice_wraps_once(patched):
    entry = ExecutionWorker._get_evaluation_entrypoint
    parsed_definitions.install()
    assert ExecutionWorker._get_evaluation_entrypoint is entry and is_wrapped(entry)


def test_executions_started_together_wait_for_one_parse(patched, monkeypatch):
    from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser

    parses: list[str] = []
    real = AmazonStateLanguageParser.parse
    monkeypatch.setattr(AmazonStateLanguageParser, "parse",
                        staticmethod(lambda definition: parses.append(definition) or real(definition)))
    definition = json.dumps({"StartAt": "Together", "States": {"Together": {"Type": "Pass", "End": True}}})
    start = threading.Barrier(8)

    def execution() -> object:
        start.wait()
        return ExecutionWorker._get_evaluation_entrypoint(worker(definition))

    with ThreadPoolExecutor(8) as pool:
        programs = list(pool.map(lambda _: execution(), range(8)))
    assert parses == [definition] and all(program is programs[0] for program in programs)
