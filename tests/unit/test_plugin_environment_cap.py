"""The per-function cap on execution environments (pure logic: threads and a stand-in get_environment)."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from sandbox_localstack.environment_cap import ENV_VAR, EnvironmentCap, default_limit, limit_from_env


class FakeAssignment:
    """Counts how many environments are held at once, per function."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    @contextlib.contextmanager
    def get_environment(self, version_manager_id: str, function_version: object, provisioning: object):
        with self.lock:
            self.held[version_manager_id] = self.held.get(version_manager_id, 0) + 1
            self.peak[version_manager_id] = max(self.peak.get(version_manager_id, 0), self.held[version_manager_id])
        try:
            yield f"env-for-{version_manager_id}"
        finally:
            with self.lock:
                self.held[version_manager_id] -= 1


def run_concurrently(cap: EnvironmentCap, fake: FakeAssignment, calls: list[str], hold_s: float = 0.01) -> list:
    capped = cap.wrap(FakeAssignment.get_environment)
    results: list = []
    start = threading.Barrier(len(calls))

    def call(function_id: str) -> None:
        start.wait()
        with capped(fake, function_id, None, None) as env:
            time.sleep(hold_s)
            results.append(env)

    threads = [threading.Thread(target=call, args=(f,)) for f in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_no_more_than_the_limit_hold_an_environment_per_function_and_every_call_completes():
    fake = FakeAssignment()
    results = run_concurrently(EnvironmentCap(3), fake, ["generate"] * 20 + ["decide"] * 20)
    assert len(results) == 40
    assert fake.peak == {"generate": 3, "decide": 3}


def test_zero_means_no_cap():
    fake = FakeAssignment()
    run_concurrently(EnvironmentCap(0), fake, ["f"] * 12, hold_s=0.05)
    assert fake.peak["f"] > 3


def test_a_failing_invocation_gives_its_slot_back():
    fake = FakeAssignment()
    cap = EnvironmentCap(1)
    capped = cap.wrap(FakeAssignment.get_environment)
    with pytest.raises(RuntimeError), capped(fake, "f", None, None):
        raise RuntimeError("handler blew up")
    with capped(fake, "f", None, None) as env:  # would block forever if the slot leaked
        assert env == "env-for-f"


def test_limit_from_the_environment():
    assert limit_from_env({}) == default_limit() >= 2
    assert limit_from_env({ENV_VAR: "7"}) == 7
    assert limit_from_env({ENV_VAR: "0"}) == 0
    with pytest.raises(ValueError, match="whole number"):
        limit_from_env({ENV_VAR: "many"})
    with pytest.raises(ValueError, match="0 or more"):
        limit_from_env({ENV_VAR: "-1"})


def test_installing_twice_keeps_one_cap():
    """LocalStack asks for the executor at every environment start; each ask must not add a fresh cap."""
    from localstack.services.lambda_.invocation.assignment import AssignmentService
    from sandbox_localstack import environment_cap

    original = AssignmentService.get_environment
    try:
        first = environment_cap.install(limit=2)
        patched = AssignmentService.get_environment
        assert environment_cap.install(limit=5) is first
        assert AssignmentService.get_environment is patched
        assert patched.__wrapped__ is original
    finally:
        AssignmentService.get_environment = original
        environment_cap._installed = None
