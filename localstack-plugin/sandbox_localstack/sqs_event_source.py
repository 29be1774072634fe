"""The SQS event source (Lambda event source mapping) as AWS runs it: long polls, several batches at once.

LocalStack 4.14 polls an SQS event source from one thread with short polls (`WaitTimeSeconds=0` unless the mapping
sets a batching window) and hands each batch to the function before it polls again. So a queue is drained one
batch at a time, however many environments the function could use (100 approval mails took ~11 s, 1,000 about two
minutes), and an idle mapping polls several times a second (about 7 % of a core here, with the CloudWatch metric
each empty receive publishes). AWS's pollers long-poll and start with five concurrent batches. Two named,
idempotent patches on LocalStack's classes:

- `long_poll`: a mapping without a batching window waits up to `LONG_POLL_SECONDS` for its first message, as AWS's
  pollers do. SQS answers as soon as one message is there, so a message waits for no poll interval, and an idle
  mapping costs one call per `LONG_POLL_SECONDS`. A mapping with a batching window keeps LocalStack's behaviour.
- `poll_concurrently`: a mapping on SQS runs `concurrency()` pollers, each taking a batch and invoking the
  function with it: `ScalingConfig.MaximumConcurrency` when set, else AWS's starting five, and never more than the
  `local` executor's environments per function (more pollers would only hold messages while waiting). The
  mapping's own thread is one of them; the others stop with it, and LocalStack's `close()` of the poller (after its
  loop, before the mapping is disabled or deleted in the store) waits for them, so no batch is still running then.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sandbox_localstack import environment_cap
from sandbox_localstack.patches import wrap_once

LOG = logging.getLogger(__name__)

LONG_POLL_SECONDS = 5
AWS_STARTING_CONCURRENCY = 5
_EXTRA = "_sandbox_extra_pollers"


def concurrency(esm_config: dict, environment_limit: int) -> int:
    """How many batches of one SQS mapping are polled and processed at once."""
    wanted = int((esm_config.get("ScalingConfig") or {}).get("MaximumConcurrency") or AWS_STARTING_CONCURRENCY)
    return max(1, min(wanted, environment_limit) if environment_limit > 0 else wanted)


def long_poll() -> None:
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    def make(original: Any) -> Any:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            if not self.maximum_batching_window:
                # WaitTimeSeconds for the receive; no batching (SQS returns with the first messages it has)
                self.maximum_batching_window = LONG_POLL_SECONDS

        return __init__

    wrap_once(SqsPoller, "__init__", make)


def _poll_until(poller: Any, stop: threading.Event, source: str) -> None:
    """One extra poller: LocalStack's loop without its state bookkeeping (the mapping's own thread does that)."""
    from localstack.services.lambda_.event_source_mapping.pollers.poller import EmptyPollResultsException

    failures = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            poller.poll_events()
            failures = 0
        except EmptyPollResultsException:
            # After a long poll, poll again at once; an empty answer that came back early gets a short pause.
            if time.monotonic() - started < 1:
                stop.wait(0.2)
        except Exception as error:  # noqa: BLE001 - as LocalStack's own loop: log, back off, keep polling
            failures += 1
            LOG.error("Error while polling messages for event source %s: %s", source, error)
            stop.wait(min(60.0, 2.0 ** failures))


def poll_concurrently() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    def make_loop(original: Any) -> Any:
        def poller_loop(self: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(self.poller, SqsPoller):
                cap = environment_cap.installed_limit()
                source = self.esm_config.get("EventSourceArn", "")
                extra = [threading.Thread(target=_poll_until, args=(self.poller, self._shutdown_event, source),
                                          name=f"sandbox-esm-poller-{self.uuid}-{index}", daemon=True)
                         for index in range(1, concurrency(self.esm_config, cap))]
                setattr(self.poller, _EXTRA, extra)
                for thread in extra:
                    thread.start()
            return original(self, *args, **kwargs)

        return poller_loop

    def make_close(original: Any) -> Any:
        def close(self: Any) -> None:
            for thread in getattr(self, _EXTRA, []):
                thread.join(LONG_POLL_SECONDS + 60)  # a long poll, then the batch it may have taken
            setattr(self, _EXTRA, [])
            original(self)

        return close

    wrap_once(EsmWorker, "poller_loop", make_loop)
    wrap_once(SqsPoller, "close", make_close)


def install() -> None:
    long_poll()
    poll_concurrently()
