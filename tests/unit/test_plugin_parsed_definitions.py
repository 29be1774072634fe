"""Step Functions parses each state machine definition once (parsed_definitions.py), on LocalStack's classes: its
creation's validation and usage metrics and every execution share one parse."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from localstack.services.stepfunctions.asl.parse import asl_parser
from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException
from localstack.services.stepfunctions.asl.static_analyser.static_analyser import StaticAnalyser
from localstack.services.stepfunctions.asl.static_analyser.usage_metrics_static_analyser import (
    UsageMetricsStaticAnalyser,
)
from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker
from sandbox_localstack import parsed_definitions
from sandbox_localstack.patches import is_wrapped

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def worker(definition: str) -> SimpleNamespace:
    return SimpleNamespace(_evaluation_details=SimpleNamespace(
        state_machine_details=SimpleNamespace(definition=definition)))


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """The definitions LocalStack's parser really parsed (each parse reads its definition into one InputStream)."""
    seen: list[str] = []
    real = asl_parser.InputStream
    monkeypatch.setattr(asl_parser, "InputStream", lambda definition: seen.append(definition) or real(definition))
    return seen


@pytest.fixture
def patched():
    saved = AmazonStateLanguageParser.__dict__["parse"]
    parsed_definitions.install()
    try:
        yield
    finally:
        AmazonStateLanguageParser.parse = saved


def create_then_execute(definition: str) -> object:
    """What LocalStack does with a definition: validate it and count its usage metrics (CreateStateMachine), then
    start executions of it."""
    StaticAnalyser().analyse(definition)
    UsageMetricsStaticAnalyser.process(definition)
    ExecutionWorker._get_evaluation_entrypoint(worker(definition))
    return ExecutionWorker._get_evaluation_entrypoint(worker(definition))


def test_localstack_alone_parses_the_definition_on_creation_twice_and_for_every_execution(parses):
    program = create_then_execute(DEFINITION)
    assert parses == [DEFINITION] * 4
    assert ExecutionWorker._get_evaluation_entrypoint(worker(DEFINITION)) is not program


def test_each_definition_is_parsed_once(patched, parses):
    program = create_then_execute(DEFINITION)
    assert parses == [DEFINITION]
    assert ExecutionWorker._get_evaluation_entrypoint(worker(DEFINITION)) is program
    assert program.start_at.start_at_name == "Done"
    changed = json.dumps({"StartAt": "Other", "States": {"Other": {"Type": "Pass", "End": True}}})
    assert ExecutionWorker._get_evaluation_entrypoint(worker(changed)) is not program
    assert ExecutionWorker._get_evaluation_entrypoint(worker(changed)).start_at.start_at_name == "Other"
    assert parses == [DEFINITION, changed]


def test_an_invalid_definition_is_refused_every_time(patched, parses):
    for _ in range(2):
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse('{"StartAt": "Nowhere", "States": {"Nowhere": {"Type": 1}}}')
    assert len(parses) == 2


def test_installing_twice_wraps_once(patched):
    parse = AmazonStateLanguageParser.parse
    parsed_definitions.install()
    assert AmazonStateLanguageParser.parse is parse and is_wrapped(parse)


def test_executions_started_together_wait_for_one_parse(patched, parses):
    definition = json.dumps({"StartAt": "Together", "States": {"Together": {"Type": "Pass", "End": True}}})
    start = threading.Barrier(8)

    def execution() -> object:
        start.wait()
        return ExecutionWorker._get_evaluation_entrypoint(worker(definition))

    with ThreadPoolExecutor(8) as pool:
        programs = list(pool.map(lambda _: execution(), range(8)))
    assert parses == [definition] and all(program is programs[0] for program in programs)
