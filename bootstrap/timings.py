"""`python -m bootstrap deploy --timings`: where a deploy's time goes, LocalStack's share against ours.

Every AWS call is timed from boto3's before-call to after-call event. LocalStack loads each service on its
first call, so a service's first call (after a LocalStack start) holds its load time.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Timings:
    started: float = field(default_factory=time.monotonic)
    cpu_started: float = field(default_factory=time.process_time)
    calls: list[tuple[str, str, float, float]] = field(default_factory=list)  # service, operation, start, seconds
    _open: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, client) -> None:
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._after)

    def _key(self, model) -> tuple:
        return (threading.get_ident(), model.service_model.service_name, model.name)

    def _before(self, model, **_) -> None:
        with self._lock:
            self._open[self._key(model)] = time.monotonic()

    def _after(self, model, **_) -> None:
        now = time.monotonic()
        with self._lock:
            start = self._open.pop(self._key(model), now)
            self.calls.append((model.service_model.service_name, model.name, start - self.started, now - start))

    def report(self) -> str:
        wall = time.monotonic() - self.started
        busy = _union([(s, s + d) for _, _, s, d in self.calls])
        first: dict[str, tuple[str, float]] = {}
        for service, operation, _start, seconds in sorted(self.calls, key=lambda c: c[2]):
            first.setdefault(service, (operation, seconds))
        per_service: dict[str, float] = defaultdict(float)
        for service, _, _, seconds in self.calls:
            per_service[service] += seconds
        lines = [
            f"deploy: {wall:.2f} s wall, {len(self.calls)} AWS calls; some call was waiting on LocalStack for "
            f"{busy:.2f} s of it; this process used {time.process_time() - self.cpu_started:.2f} s of CPU",
            "first call per service (holds LocalStack's load time after a start) and all calls' time:",
        ]
        for service, (operation, seconds) in sorted(first.items(), key=lambda item: -item[1][1]):
            lines.append(f"  {service:<15} first {operation} {seconds:.2f} s; all calls {per_service[service]:.2f} s")
        lines.append("slowest calls (start after the deploy began, seconds):")
        for service, operation, start, seconds in sorted(self.calls, key=lambda c: -c[3])[:8]:
            lines.append(f"  {service}.{operation} at {start:.2f}: {seconds:.2f} s")
        return "\n".join(lines)


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total
