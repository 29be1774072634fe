"""LocalStack's start without moto's EC2 model and with one region table (startup_imports.py). Import effects
are checked in fresh interpreters: the test process itself may have imported anything already."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from localstack.services import stores
from localstack.utils.aws import aws_stack
from sandbox_localstack import startup_imports
from sandbox_localstack.patches import is_wrapped

STEP_FUNCTIONS = "import localstack.services.stepfunctions.asl.parse.asl_parser"


def fresh(code: str) -> dict:
    """Run `code` in a new interpreter; it ends by printing a JSON object."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_localstack_alone_loads_moto_ec2_for_step_functions():
    seen = fresh(f"import json, sys\n{STEP_FUNCTIONS}\nprint(json.dumps({{'ec2': 'moto.ec2' in sys.modules}}))")
    assert seen == {"ec2": True}


def test_step_functions_starts_without_moto_batch_model_which_still_loads_on_use():
    seen = fresh(f"""
import json, sys
from sandbox_localstack.startup_imports import lazy_moto_batch
lazy_moto_batch()
{STEP_FUNCTIONS}
from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service import (
    state_task_service_batch)
before = {{'ec2': 'moto.ec2' in sys.modules, 'model': 'moto.batch.models' in sys.modules}}
from moto.backends import get_backend
from moto.batch import batch_backends
from moto.batch.models import batch_backends as from_model
print(json.dumps({{**before, 'same': get_backend('batch') is batch_backends is from_model,
                   'job_status': state_task_service_batch.JobStatus.SUCCEEDED.name}}))
""")
    assert seen == {"ec2": False, "model": False, "same": True, "job_status": "SUCCEEDED"}


def test_nothing_to_do_once_moto_batch_was_imported():
    seen = fresh("""
import json
import moto.batch
from sandbox_localstack.startup_imports import lazy_moto_batch
print(json.dumps({'registered': lazy_moto_batch()}))
""")
    assert seen == {"registered": False}


@pytest.fixture
def shared_regions(monkeypatch):
    monkeypatch.setattr(aws_stack, "get_valid_regions_for_service", aws_stack.get_valid_regions_for_service)
    monkeypatch.setattr(stores, "get_valid_regions_for_service", stores.get_valid_regions_for_service)
    original = aws_stack.get_valid_regions_for_service.__wrapped__
    startup_imports.shared_region_lookup()
    return original


def test_regions_come_from_one_session_with_the_same_answers(shared_regions, monkeypatch):
    import boto3

    sessions: list[object] = []
    real = boto3.Session
    monkeypatch.setattr(boto3, "Session", lambda *a, **k: sessions.append(1) or real(*a, **k))
    for service in ("sqs", "lambda", "states", "apigateway"):
        assert stores.get_valid_regions_for_service(service) == shared_regions(service)
    assert stores.get_valid_regions_for_service is aws_stack.get_valid_regions_for_service
    # The patched lookup made one Session for four services; LocalStack's own made one per service (four).
    assert len(sessions) == 1 + 4


def test_installing_twice_wraps_once(shared_regions):
    patched = aws_stack.get_valid_regions_for_service
    startup_imports.shared_region_lookup()
    assert aws_stack.get_valid_regions_for_service is patched and is_wrapped(patched)
