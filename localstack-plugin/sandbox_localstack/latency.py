"""Two LocalStack 4.14 behaviours that cost the approval loop most of its latency, corrected in-process.

- Step Functions parses every JSONPath again on every use, and jsonpath_ng builds a fresh parser per call:
  ~17 ms per path, ~10 paths for `Request user verification` alone. Parsed paths are immutable (`find` and
  `update` change the data, not the path), so parsing each distinct path once is safe.
- The SQS event source's first empty-poll sleep is `initial_interval=1` s (0.5-1.5 s with jitter) whatever
  LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC says, since ExponentialBackoff caps only the
  intervals after the first. A message sent within ~1.5 s of the previous one waited for it. Starting at the
  configured maximum when it is lower makes the setting mean what it says.

Neither changes what the services answer; `make bench` shows the effect (docs/benchmark.md).
"""

from __future__ import annotations

import functools
import time
from typing import Any

JSONPATH_CACHE_SIZE = 4096


def memoise_jsonpath_parsing() -> None:
    from localstack.services.stepfunctions.asl.component.common.path import result_path
    from localstack.services.stepfunctions.asl.utils import json_path

    modules: tuple[Any, ...] = (json_path, result_path)
    for module in modules:
        parse = module.parse
        if not hasattr(parse, "cache_info"):
            module.parse = functools.lru_cache(maxsize=JSONPATH_CACHE_SIZE)(parse)


def first_interval(initial: float, maximum: float) -> float:
    return min(initial, maximum)


def cap_first_backoff() -> None:
    from localstack.utils.backoff import ExponentialBackoff

    original = ExponentialBackoff.next_backoff
    if getattr(original, "__sandbox_capped__", False):
        return

    @functools.wraps(original)
    def next_backoff(self: Any) -> float:
        if self.retry_interval == 0 and self.initial_interval > self.max_interval:
            self.retry_interval = first_interval(self.initial_interval, self.max_interval)
            self.start_time = time.monotonic()
        return original(self)

    next_backoff.__sandbox_capped__ = True  # type: ignore[attr-defined]
    ExponentialBackoff.next_backoff = next_backoff  # type: ignore[method-assign]


def install() -> None:
    memoise_jsonpath_parsing()
    cap_first_backoff()
