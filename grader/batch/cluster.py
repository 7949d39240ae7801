"""Grading a batch on a Dask distributed cluster: ``grader grade PATH... --cluster ADDRESS``.

The client (the ``grader grade`` process) plans, resumes and writes exactly as a local
batch does (:func:`grader.batch.batch.grade_batch`, one code path): only *where* a submission is
graded changes. Each task ships the submission's **bytes**, its file name and the
assignment, never a path: workers share no file system with the client. On a Dask worker
the task writes the bytes into a private temporary folder and grades them the way a local
slot does (:func:`grader.batch.jobs.run_one`): a runner forked by a warm parent that the Dask
worker started on its first task and keeps for the next ones, one per worker thread. The
task returns the result as data (the :class:`SubmissionResult` as a dict and the small
result files' bytes); the client writes them under ``OUT/submissions/<name>/`` atomically as
they arrive, ``results.json`` last.

Student code never runs in the Dask worker process: it runs in the sandboxed worker that
the runner forks, below the warm parent, in their own sessions; a crash, a timeout or a
memory kill is a result row and the Dask worker goes on. A Dask worker that dies
mid-submission (machine lost, OOM killer) makes the scheduler run the task again on
another worker; each start is logged as a scheduler event under a topic of the task's own,
so the client knows how many there were (``attempts`` in ``result.full.json``). A task
that keeps killing workers ends as ``KilledWorker``: an ``error`` row.

Devices: ``--device gpu`` tasks ask for the resource ``GPU: 1``, so they run only on
workers started with ``--resources GPU=1``; CPU tasks ask for nothing. ``local:N`` starts
a :class:`distributed.LocalCluster` of N one-thread process workers on 127.0.0.1.

``distributed`` is imported only here, lazily: the core install works without it
(``pip install 'tf-grader[cluster]'`` adds it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.batch.device import DeviceChoice, count_gpus, split_cores
from grader.batch.jobs import Job, Outcome, error_result, run_one, submission_dir
from grader.batch.slot import WarmParent
from grader.config import Course, load_course
from grader.files import atomic_write, safe_name
from grader.model import GRADER_ERROR, SubmissionResult, grader_error_message
from grader.reports.results import FULL, RESULTS, gradescope, write_submission

CONNECT_SECONDS = 10.0  # reaching the scheduler; GRADER_CLUSTER_TIMEOUT overrides
WORKER_WAIT_SECONDS = 60.0  # for a first worker to join a scheduler that has none
FILE_LIMIT = 32 * 1024 * 1024  # a result file larger than this is not shipped back
LOCAL_SPLIT = "GRADER_CLUSTER_LOCAL_SPLIT"  # set by local:N: worker i takes the i-th share of the cores
TOPIC = "tf-grader-start"


class ClusterError(Exception):
    """The cluster cannot grade this batch (unreachable, no GPU worker, lost); one line for the user."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError("--cluster needs Dask distributed: pip install 'tf-grader[cluster]'") from exc
    return distributed


def connect(address: str, timeout: float | None = None) -> tuple[Any, Any]:
    """(client, the LocalCluster started for ``local:N`` or None)."""
    distributed = _distributed()
    if timeout is None:
        timeout = float(os.environ.get("GRADER_CLUSTER_TIMEOUT", CONNECT_SECONDS))
    if address.startswith("local:"):
        try:
            n = int(address.split(":", 1)[1])
            if n < 1:
                raise ValueError
        except ValueError:
            raise ClusterError(f"--cluster {address}: use local:N with N >= 1 workers") from None
        try:
            cluster = distributed.LocalCluster(
                n_workers=n, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                memory_limit=0, silence_logs=logging.ERROR, env={LOCAL_SPLIT: str(n)},
            )
        except Exception as exc:  # noqa: BLE001 - one line, with the usual cause
            raise ClusterError(f"could not start {address} ({type(exc).__name__}: {exc}); a script that calls "
                               "grade_batch(cluster='local:N') needs an `if __name__ == '__main__':` guard, "
                               "as its workers are started by importing it") from None
        try:
            return distributed.Client(cluster, timeout=timeout), cluster
        except BaseException:
            cluster.close()
            raise
    try:
        return distributed.Client(address, timeout=timeout), None
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a bad address...
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                           f"({type(exc).__name__}: {exc})".replace("\n", " ")) from None


def course_fingerprint(course: Course, assignment: str | None) -> str:
    """sha256 of autograder.toml and the suites in play: a worker with another course refuses."""
    digest = hashlib.sha256((course.root / "autograder.toml").read_bytes())
    specs = [course.assignments[assignment]] if assignment in course.assignments else list(course.assignments.values())
    for spec in sorted(specs, key=lambda s: s.name):
        suite = Path(spec.suite)
        digest.update(spec.name.encode() + b"\0" + (suite.read_bytes() if suite.is_file() else b""))
    return digest.hexdigest()


def _topic(key: str) -> str:
    return f"{TOPIC}-{key}"


class ClusterBackend:
    """The batch's side (:class:`grader.batch.jobs.Backend`): submits, receives, writes."""

    def __init__(self, address: str, course: Course, out: Path, assignment: str | None, device: DeviceChoice,
                 limits: dict, log: Callable[[str], None] = lambda s: None, timeout: float | None = None) -> None:
        self.address, self.course, self.out, self.assignment = address, course, out, assignment
        self.limits, self.log, self.timeout = limits, log, timeout
        self.requested = device.name
        self.device_name = "cpu" if device.name == "auto" else device.name
        self.client: Any = None
        self.cluster: Any = None

    # ------------------------------------------------------------------ lifetime
    def start(self, todo: list[Job]) -> None:
        if not todo:  # everything resumed: no need to reach the cluster
            return
        self.client, self.cluster = connect(self.address, self.timeout)
        try:
            self.device_name = self._check_workers()
        except BaseException:
            self.close()
            raise

    def _check_workers(self) -> str:
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except Exception:  # noqa: BLE001 - TimeoutError in most versions
            raise ClusterError(f"no Dask worker joined the scheduler at {self.address} within "
                               f"{WORKER_WAIT_SECONDS:g} s (start some with `dask worker {self.address}`)") from None
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        gpus = [addr for addr, info in workers.items() if float((info.get("resources") or {}).get("GPU", 0)) >= 1]
        device = ("gpu" if gpus else "cpu") if self.requested == "auto" else self.requested
        if device == "gpu" and not gpus:
            raise ClusterError(f"--device gpu: none of the {len(workers)} worker(s) of the cluster at {self.address} "
                               "declares a GPU; start GPU workers with `dask worker ADDRESS --resources GPU=1` "
                               "(docs/CLUSTER.md), or grade with --device cpu")
        return device

    def close(self) -> None:
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass
        if cluster is not None:
            try:
                cluster.close()
            except Exception:  # noqa: BLE001, S110
                pass

    # ------------------------------------------------------------------ grading
    def _window(self) -> int:
        """Tasks kept in flight: twice the cluster's threads, so no worker waits on the client."""
        try:
            return max(4, 2 * sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a guess is good enough
            return 8

    def grade(self, todo: list[Job]) -> Iterator[Outcome]:
        if not todo:
            return
        distributed = _distributed()
        common = {
            "config": str(self.course.root / "autograder.toml"),
            "fingerprint": course_fingerprint(self.course, self.assignment),
            "assignment": self.assignment, "device": self.device_name, "limits": self.limits,
        }
        resources = {"GPU": 1} if self.device_name == "gpu" else None
        pending = list(reversed(todo))
        running = distributed.as_completed(loop=self.client.loop)
        jobs: dict[str, tuple[Job, str]] = {}

        def submit_more() -> Iterator[Outcome]:
            window = self._window()
            while pending and running.count() < window:
                job = pending.pop()
                try:
                    data = job.path.read_bytes()
                except OSError as exc:
                    yield job, exc
                    continue
                key = f"grade-{job.name}-{uuid.uuid4().hex[:8]}"
                with warnings.catch_warnings():  # a notebook of many MB is a large "graph": expected here
                    warnings.filterwarnings("ignore", message="Sending large graph")
                    future = self.client.submit(grade_on_worker, data, job.path.name, job.name, common, key=key,
                                                pure=False, retries=1, resources=resources)
                jobs[future.key] = (job, key)
                running.add(future)

        yield from submit_more()
        while running.count() or pending:
            future = next(running)
            job, key = jobs.pop(future.key)
            try:
                yield job, self._receive(job, key, future)
            finally:
                future.release()
            yield from submit_more()

    def _attempts(self, key: str) -> int:
        try:
            return max(1, len(self.client.get_events(_topic(key))))
        except Exception:  # noqa: BLE001 - the count is informative only
            return 1

    def _receive(self, job: Job, key: str, future: Any) -> SubmissionResult | BaseException:
        from distributed import KilledWorker

        try:
            data = future.result()
        except KilledWorker as exc:
            attempts = self._attempts(key)
            last = exc.args[1] if len(exc.args) > 1 else "?"
            result = error_result(job, self.assignment, "error",
                                  f"a Dask worker died each time this submission was graded ({attempts} times, "
                                  f"the last on {getattr(last, 'address', last)}): the scheduler gave up on it",
                                  self.device_name, self.course)
            result.attempts = attempts
            write_submission(result, submission_dir(self.out, job.name))
            return result
        except CancelledError as exc:  # the scheduler went away: nothing to write, resume later
            raise ClusterError(f"lost the Dask scheduler at {self.address} ({exc}); the submissions not graded "
                               "yet are graded by the same command run again") from None
        except Exception as exc:  # noqa: BLE001 - the task failed on its retry too: a grader-error row
            result = error_result(job, self.assignment, GRADER_ERROR, grader_error_message(), self.device_name,
                                  self.course)
            result.grader_errors = [f"the grader failed on the cluster: {type(exc).__name__}: {exc}"]
            result.attempts = self._attempts(key)
            write_submission(result, submission_dir(self.out, job.name))
            return result
        attempts = self._attempts(key)
        result = SubmissionResult.from_dict(data["result"])
        result.submission, result.path, result.attempts = job.name, str(job.path), attempts
        if attempts > 1:
            result.problems.append(f"graded on attempt {attempts}: the Dask worker grading it before was lost")
        folder = submission_dir(self.out, job.name)
        for name, content in data["files"].items():
            if name in (FULL, RESULTS) or Path(name).name != name or name.startswith("."):
                continue
            atomic_write(folder / name, content)
        atomic_write(folder / FULL, json.dumps(result.to_dict(), indent=2, default=str))
        atomic_write(folder / RESULTS, json.dumps(gradescope(result), indent=2))  # last: marks it done
        self.log(f"{job.name}: graded on {data.get('worker', '?')}" + (f", attempt {attempts}" if attempts > 1 else ""))
        return result


# ---------------------------------------------------------------------- the Dask worker's side
class _Slots:
    """One warm parent per thread of this Dask worker, started on first use and kept."""

    def __init__(self, nthreads: int, preload: list[str], logs: Path) -> None:
        share = _local_share()
        self.cores = [share] * nthreads if share and nthreads == 1 else split_cores(nthreads)
        self.parents = [WarmParent(i, self.cores[i], preload, logs) for i in range(nthreads)]
        self.free: queue.Queue[int] = queue.Queue()
        for i in range(nthreads):
            self.free.put(i)


_SLOTS: dict[tuple[str, ...], _Slots] = {}
_SLOTS_LOCK = threading.Lock()
# the thread that starts every warm parent: its death signal follows this thread, which lives
# as long as the Dask worker process (a task's thread may be retired by Dask's pool)
_STARTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-warm-starter")


def _local_share() -> list[int] | None:
    """For ``local:N``: worker i's share of this machine's cores (named 0..N-1 by LocalCluster)."""
    try:
        from distributed import get_worker

        n, name = int(os.environ.get(LOCAL_SPLIT, "0")), get_worker().name
        return split_cores(n)[int(name) % n] if n > 0 else None
    except (ValueError, TypeError, ImportError):
        return None


def _slots(worker: Any, preload: list[str]) -> _Slots:
    with _SLOTS_LOCK:
        key = tuple(preload)
        if key not in _SLOTS:
            logs = Path(tempfile.mkdtemp(prefix="grader-cluster-logs-", dir=worker.local_directory))
            _SLOTS[key] = _Slots(max(1, int(getattr(worker.state, "nthreads", 1))), preload, logs)
        return _SLOTS[key]


def _gpu_index(device: str, slot: int) -> int | str | None:
    """The GPU of this slot as CUDA_VISIBLE_DEVICES must name it for the sandbox."""
    if device != "gpu":
        return None
    visible = [g.strip() for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    if visible:
        return None if visible == ["-1"] else visible[slot % len(visible)]
    gpus = count_gpus()
    return slot % gpus if gpus else None


def _course_here(common: dict[str, Any]) -> Course:
    """The course at the client's path, else at this worker's GRADER_CONFIG; it must be the same."""
    candidates = [common["config"], os.environ.get("GRADER_CONFIG", "")]
    for config in candidates:
        if config and Path(config).is_file():
            course = load_course(config)
            if course_fingerprint(course, common["assignment"]) != common["fingerprint"]:
                raise RuntimeError(f"the course at {config} on this worker differs from the client's "
                                   "(autograder.toml or a suite): give every worker the same course")
            return course
    raise RuntimeError(f"no course on this worker at {common['config']} (or GRADER_CONFIG): "
                       "every worker needs the course folder (docs/CLUSTER.md)")


def grade_on_worker(data: bytes, filename: str, name: str, common: dict[str, Any]) -> dict[str, Any]:
    """Runs in a Dask worker: grade one submission from its bytes; its result as data.

    Raises only when the worker cannot grade at all (no course, a warm parent that does not
    start): Dask then retries the task once, on any worker.
    """
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(_topic(worker.get_current_task()), {"worker": worker.address, "pid": os.getpid()})
    course = _course_here(common)
    slots = _slots(worker, list(course.preload))
    slot = slots.free.get()
    try:
        parent = slots.parents[slot]
        _STARTER.submit(parent.start).result()
        tmp = Path(tempfile.mkdtemp(prefix="grader-task-", dir=worker.local_directory))
        try:
            suffix = Path(filename).suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,16}", Path(filename).suffix) else ""
            path = tmp / "submission" / (safe_name(Path(filename).stem) + suffix)
            path.parent.mkdir()
            path.write_bytes(data)
            job = Job(path, name)
            result = run_one(job, course, tmp / "out", common["assignment"], common["device"],
                              _gpu_index(common["device"], slot), slot, slots.cores[slot], common["limits"],
                              [str(tmp), str(worker.local_directory)], parent)  # other tasks' folders too
            folder = submission_dir(tmp / "out", name)
            files = {f.name: f.read_bytes() for f in sorted(folder.iterdir())
                     if f.is_file() and not f.name.startswith(".") and f.stat().st_size <= FILE_LIMIT}
            return {"result": result.to_dict(), "files": files, "worker": worker.address}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        slots.free.put(slot)
