"""Unit tests import the Lambda handlers as plain modules from lambdas/."""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"
if str(REPO / "lambdas") not in sys.path:
    sys.path.insert(0, str(REPO / "lambdas"))


@pytest.fixture
def event():
    def load(name: str) -> dict:
        return json.loads((EVENTS / f"{name}.json").read_text())

    return load
