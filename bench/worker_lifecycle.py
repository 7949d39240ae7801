"""One worker's life, timed: goodbye and exit, kill, the uid check, a fresh start, a retire.

In a process with TensorFlow imported (as a slot's runner is), 8 sandboxes on a course's
limits, medians in milliseconds. Run as root (a worker uid each), from the repository root:

    python bench/worker_lifecycle.py
"""

from __future__ import annotations

import os
import statistics
import time

import tensorflow  # noqa: F401 - the runner's memory: every fork below copies it

import grader.worker.main  # noqa: F401 - imported by the slot before any fork
from grader.config import Limits
from grader.engine import prefork, sandbox
from grader.engine.sandbox import Isolation, Sandbox
from grader.worker import protocol

CELL = [{"filename": "<c>", "label": "c", "lines": None, "source": "x = 1"}]


def main(rounds: int = 8) -> None:
    seconds: dict[str, list[float]] = {"goodbye + exit": [], "kill": [], "uid check": [], "start": [], "retire": []}

    def timed(name: str, step) -> None:
        began = time.perf_counter()
        step()
        seconds[name].append(time.perf_counter() - began)

    for _ in range(rounds):
        prefork.fork_template()
        box = Sandbox(Limits(timeout=30, disk=64 * 2**20, inodes=20000), Isolation(isolate=True, slot=7))
        box.start()
        box.request({"op": "load", "units": CELL})

        def goodbye(box: Sandbox = box) -> None:
            os.write(box._req_w, box._frame({"op": "bye"}, protocol.BYE_ID))
            box.proc.wait(timeout=2)

        timed("goodbye + exit", goodbye)
        timed("kill", lambda box=box: box.kill(None))
        timed("uid check", lambda box=box: sandbox._wait_uid(box.uid, 15.0))
        box._retired = True
        box._earlier_output.append("")
        timed("start", box._spawn)
        timed("retire", box.retire_worker)
        box.close()
    for name, values in seconds.items():
        print(f"{name:15s} median {statistics.median(values) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
