"""Resident memory of the whole sandbox, read from /proc while the load runs.

"The sandbox" is LocalStack and the catcher and every process they started (the Lambda processes are LocalStack's
children).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of a live process, None for a gone or zombie one."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2])


def _cpu_ticks(pid: int) -> int:
    """User + system CPU time the process has used so far, in clock ticks (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages (the Python binary, libraries) divided among their users."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.extend(int(child) for child in (task / "children").read_text().split())
    except (OSError, ValueError):
        pass
    return found


def members(root: int) -> list[int]:
    """`root` and all its live descendants (through /proc/PID/task/TID/children: no walk over every process of
    the machine, which on a busy host cost the sampler a fifth of a core)."""
    if _stat(root) is None:
        return []
    chosen = {root}
    frontier = [root]
    while frontier:
        for child in _children(frontier.pop()):
            if child not in chosen and _stat(child) is not None:
                chosen.add(child)
                frontier.append(child)
    return sorted(chosen)


@dataclass
class Sample:
    total_mb: float
    localstack_main_mb: float
    localstack_children_mb: float
    catcher_mb: float
    processes: int


def pss_mb(pids: list[int]) -> float:
    return round(sum(_pss_bytes(pid) for pid in pids) / (1024 * 1024), 1)


def all_members(localstack_pid: int | None, catcher_pid: int | None) -> list[int]:
    return [pid for root in (localstack_pid, catcher_pid) if root for pid in members(root)]


def sample(localstack_pid: int | None, catcher_pid: int | None, pids: list[int] | None = None) -> Sample:
    """RSS of the sandbox's processes: `pids` when the caller has just listed them (see `all_members`)."""
    if pids is None:
        pids = all_members(localstack_pid, catcher_pid)
    catcher_pids = set(members(catcher_pid)) if catcher_pid and pids else set()
    main = children = catcher = 0
    for pid in pids:
        rss = _rss_bytes(pid)
        if pid == localstack_pid:
            main += rss
        elif pid in catcher_pids:
            catcher += rss
        else:
            children += rss
    mb = 1024 * 1024
    return Sample(round((main + children + catcher) / mb, 1), round(main / mb, 1), round(children / mb, 1),
                  round(catcher / mb, 1), len(pids))


@dataclass
class Sampler:
    """Samples in a background thread until stopped; keeps the sample with the highest total RSS, and the
    highest PSS, and the CPU time the processes used while it ran (each process's last reading minus its first;
    one that started meanwhile counts from zero).

    The processes are listed anew every fifth round and PSS is read every tenth and at the end: listing walks
    every thread of LocalStack (200 idle, one more per running execution) and smaps_rollup walks each process's
    whole address space (~45 ms for the sandbox idle). Done three times a round, that took a third of a core from
    the sandbox it measures at N = 1,000. RSS and CPU are read every round from the last list (a Lambda process
    lives for minutes once started)."""

    localstack_pid: int | None
    catcher_pid: int | None
    interval: float = 0.2
    peak: Sample | None = None
    peak_pss_mb: float = 0.0
    samples: int = 0
    list_every: int = 5
    pss_every: int = 10
    own_cpu_s: float = 0.0  # the sampling thread's own CPU time
    _first_ticks: dict[int, int] = field(default_factory=dict)
    _last_ticks: dict[int, int] = field(default_factory=dict)
    _pids: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def cpu_s(self) -> float:
        return round(sum(self._used_ticks().values()) / TICKS, 2)

    def cpu_breakdown_s(self) -> dict[str, float]:
        """CPU seconds of LocalStack itself, of its children (the Lambda processes) and of the catcher."""
        parts = {"localstack": 0, "lambda_and_other_children": 0, "catcher": 0}
        catcher = set(members(self.catcher_pid)) if self.catcher_pid else set()
        for pid, ticks in self._used_ticks().items():
            if pid == self.localstack_pid:
                parts["localstack"] += ticks
            elif pid == self.catcher_pid or pid in catcher:
                parts["catcher"] += ticks
            else:
                parts["lambda_and_other_children"] += ticks
        return {key: round(ticks / TICKS, 2) for key, ticks in parts.items()}

    def _used_ticks(self) -> dict[int, int]:
        return {pid: last - self._first_ticks.get(pid, 0) for pid, last in self._last_ticks.items()}

    def _count_cpu(self, first: bool) -> None:
        for pid in self._pids:
            ticks = _cpu_ticks(pid)
            if first:
                self._first_ticks[pid] = ticks
            if ticks:
                self._last_ticks[pid] = max(ticks, self._last_ticks.get(pid, 0))

    def _read_pss(self) -> None:
        self.peak_pss_mb = max(self.peak_pss_mb, pss_mb(self._pids))

    def _loop(self) -> None:
        try:
            self._sample_until_stopped()
        finally:
            self.own_cpu_s = round(time.thread_time(), 2)

    def _sample_until_stopped(self) -> None:
        while not self._stop.is_set():
            if self.samples % self.list_every == 0:
                self._pids = all_members(self.localstack_pid, self.catcher_pid)
            if self.samples % self.pss_every == 0:
                self._read_pss()
            current = sample(self.localstack_pid, self.catcher_pid, self._pids)
            self._count_cpu(first=False)
            self.samples += 1
            if self.peak is None or current.total_mb > self.peak.total_mb:
                self.peak = current
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._pids = all_members(self.localstack_pid, self.catcher_pid)
        self._count_cpu(first=True)
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._pids = all_members(self.localstack_pid, self.catcher_pid)
        self._count_cpu(first=False)
        self._read_pss()


def pid_from_file(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _stat(pid) else None
