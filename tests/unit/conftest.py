"""Fixtures for the unit tests: JSON event fixtures from tests/events/."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"


@pytest.fixture
def event():
    def load(name: str) -> dict:
        return json.loads((EVENTS / f"{name}.json").read_text())

    return load
