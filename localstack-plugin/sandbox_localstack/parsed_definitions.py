"""LocalStack 4.14's Step Functions parses the state machine's definition again for every execution it starts.

`ExecutionWorker._get_evaluation_entrypoint` runs the ANTLR parser over the whole definition each time: ~60 ms of
CPU for the demo's machine, a tenth of LocalStack's CPU during 100 concurrent approvals, and executions started
together wait for each other's parses (`ExecutionStarted` spread over 9 s for 100 of them). The parsed program is
a tree of declarations that evaluation only reads (what an execution changes lives in its own Environment; Map and
Parallel already run one tree in many threads at once), so `parse_each_definition_once` keeps the programs of the
last `CACHE_SIZE` distinct definitions. A changed definition is a different string, so it is parsed anew. Parsing
holds a lock, so executions started together wait for one parse instead of each making its own (parsing is pure
CPU under the GIL: running several at once gains nothing).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from sandbox_localstack.patches import wrap_once

CACHE_SIZE = 64


def parse_each_definition_once() -> None:
    from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser
    from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker

    @functools.lru_cache(maxsize=CACHE_SIZE)
    def parsed(definition: str) -> Any:
        return AmazonStateLanguageParser.parse(definition)[0]

    lock = threading.Lock()

    def program_of(definition: str) -> Any:
        with lock:
            return parsed(definition)

    def make(original: Any) -> Any:
        def _get_evaluation_entrypoint(self: Any) -> Any:
            definition = self._evaluation_details.state_machine_details.definition
            if not isinstance(definition, str):
                return original(self)
            return program_of(definition)

        return _get_evaluation_entrypoint

    wrap_once(ExecutionWorker, "_get_evaluation_entrypoint", make)


def install() -> None:
    parse_each_definition_once()
