"""ASL fixtures: definitions users write (Choice, Parallel, Map, JSONata, activities), shared by the unit tests
of the graph and the waiting-task reader and by the browser tests, which deploy `order_review.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def load_asl(name: str, **values: Any) -> dict:
    """A fixture with its ``"${Key}"`` placeholders replaced by the JSON of ``values[Key]``; placeholders left
    unset become ``"placeholder-{Key}"`` strings."""
    text = (HERE / f"{name}.json").read_text()
    for key, value in values.items():
        text = text.replace(f'"${{{key}}}"', json.dumps(value))
    return json.loads(text.replace("${", "placeholder-{"))
