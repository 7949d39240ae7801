"""Looking at the test's own processes only, without races.

Tests must pass while another `grader grade` runs on the same machine, so no check here
looks at the whole process table: they look at this test process's descendants (workers
included: they are forked below the runner, whatever uid they switch to), remembered by
(pid, start time) so that a pid reused by someone else is never mistaken for ours. Every
psutil call tolerates a process that exits between being listed and being asked.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Seen:
    pid: int
    name: str
    created: float


def descendants(root: int | None = None) -> list[Seen]:
    """Live (non-zombie) descendants of ``root`` (default: this process)."""
    try:
        children = psutil.Process(root).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for proc in children:
        try:
            with proc.oneshot():
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                found.append(Seen(proc.pid, proc.name(), proc.create_time()))
        except psutil.Error:  # exited meanwhile
            continue
    return found


def is_alive(seen: Seen) -> bool:
    """The very process we saw is still running (not a zombie, not a reused pid)."""
    try:
        proc = psutil.Process(seen.pid)
        with proc.oneshot():
            return proc.create_time() == seen.created and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def alive(seen: set[Seen] | list[Seen]) -> list[Seen]:
    return [s for s in seen if is_alive(s)]


def gone_within(seconds: float, seen: set[Seen] | list[Seen]) -> bool:
    """Every process in ``seen`` has ended within ``seconds`` (death signals take a moment)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(seen):
            return True
        time.sleep(0.05)
    return not alive(seen)


class Watcher:
    """Records this process's descendants every ``interval`` seconds while it runs."""

    def __init__(self, interval: float = 0.05, root: int | None = None) -> None:
        self.interval, self.root = interval, root
        self.seen: set[Seen] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.update(descendants(self.root))
            self._stop.wait(self.interval)

    def named(self, *names: str) -> set[Seen]:
        return {s for s in self.seen if s.name in names}

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
