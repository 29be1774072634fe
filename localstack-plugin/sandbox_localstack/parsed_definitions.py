"""LocalStack 4.14's Step Functions parses a state machine's definition again and again.

`AmazonStateLanguageParser.parse` runs the ANTLR parser over the whole definition (~60 ms of CPU for the demo's
machine) and builds the program from the parse tree. LocalStack calls it for every execution it starts
(`ExecutionWorker._get_evaluation_entrypoint`: a tenth of LocalStack's CPU during 100 concurrent approvals, and
executions started together waited for each other's parses), and twice when a state machine is created: once to
validate the definition and once more for its usage metrics (`UsageMetricsStaticAnalyser`; 10-50 ms in `make up`'s
deploy, the first parse having filled ANTLR's caches). The parse tree is only read (by the static analysers, which
visit it) and so is the program (what an execution changes lives in its own Environment; Map and Parallel already
run one program in many threads at once), so `parse_each_definition_once` keeps what `parse` returned for the last
`CACHE_SIZE` distinct definitions: a state machine's definition is parsed when it is created, and neither its
metrics nor its executions parse it again. A changed definition is a different string, so it is parsed anew; an
invalid one raises each time, as before. Parsing holds a lock, so executions started together wait for one parse
instead of each making its own (parsing is pure CPU under the GIL: running several at once gains nothing).
TestState's parser is a subclass with its own `parse` and is left as it is.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from sandbox_localstack.patches import wrap_once

CACHE_SIZE = 64


def parse_each_definition_once() -> None:
    from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser

    def make(original: Any) -> Any:
        parsed = functools.lru_cache(maxsize=CACHE_SIZE)(original)
        lock = threading.Lock()

        # A plain function on the class: LocalStack calls it through the class (`AmazonStateLanguageParser.parse`).
        def parse(definition: Any) -> Any:
            if not isinstance(definition, str):
                return original(definition)
            with lock:
                return parsed(definition)

        return parse

    wrap_once(AmazonStateLanguageParser, "parse", make)


def install() -> None:
    parse_each_definition_once()
