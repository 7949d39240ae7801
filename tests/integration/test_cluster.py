"""Batches on a Dask distributed cluster (grader/cluster.py), on 127.0.0.1 only.

What a local batch promises holds on a cluster: the same verdicts, one row per submission
whatever happens (a poison submission is a row and costs no Dask worker; a Dask worker
killed mid-submission costs a retry, counted in ``attempts``), resuming, GPU work only on
workers that declare a GPU, and a clear error for a scheduler that cannot be reached.
Every process started here ends here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

distributed = pytest.importorskip("distributed")

from grader.batch.batch import grade_batch  # noqa: E402
from grader.batch.cluster import ClusterError  # noqa: E402
from grader.batch.device import DeviceChoice  # noqa: E402
from tests.conftest import COURSE_DIR  # noqa: E402

CPU = DeviceChoice("cpu", 0)
GPU = DeviceChoice("gpu", 0)  # the GPU *profile*; on a CPU machine the suites run on the CPU
NAMES = ("grader-warm", "grader-runner", "grader-worker")

SLOW = """\
import time
import numpy as np

def add(a, b):
    time.sleep({seconds})
    return a + b

def mean(x, axis=None):
    return np.mean(x, axis=axis)

ANSWER = 42
"""

POISON = {
    "exiter.py": "import os\ndef add(a, b):\n    os._exit(3)\nANSWER = 42\n",
    "segfault.py": "import ctypes\ndef add(a, b):\n    return ctypes.string_at(0)\nANSWER = 42\n",
    "hog.py": "def add(a, b):\n    x = bytearray(8 * 1024**3)\n    return a + b\nANSWER = 42\n",
    # its own process group and parent: in the sandbox that is the worker's, never the Dask worker
    "killer.py": "import os, signal\ndef add(a, b):\n    os.killpg(0, signal.SIGKILL)\nANSWER = 42\n",
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ours() -> dict[tuple[int, float], str]:
    """The grading processes below this test process: {(pid, start time): name}."""
    found = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.name() in NAMES and proc.status() != psutil.STATUS_ZOMBIE:
                found[(proc.pid, proc.create_time())] = proc.name()
        except psutil.Error:
            continue
    return found


def all_gone(seen: dict[tuple[int, float], str], seconds: float = 10) -> list[str]:
    """Those of ``seen`` still running after ``seconds`` (death signals take a moment)."""
    deadline = time.monotonic() + seconds
    while True:
        left = []
        for (pid, created), name in seen.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{name} {pid}")
            except psutil.Error:
                continue
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster():
    """Two one-thread process workers on 127.0.0.1, shared by the tests of this module."""
    local = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                     dashboard_address=None, memory_limit=0)
    client = distributed.Client(local)
    seen: dict[tuple[int, float], str] = {}
    try:
        yield local.scheduler_address, client, seen
    finally:
        seen.update(ours())
        client.close()
        local.close()
        left = all_gone(seen)
        assert not left, f"outlived the cluster: {left}"


def worker_pids(client) -> dict[str, int]:
    return client.run(os.getpid)


def test_same_verdicts_as_a_local_batch(course, demo_copy, tmp_path, cluster):
    address, client, seen = cluster
    (demo_copy / "loop.py").unlink()  # the time limit is test_engine's; here it would cost 30 s
    local = grade_batch([demo_copy], course, tmp_path / "local", "demo", CPU, jobs=1)
    lines: list[str] = []
    remote = grade_batch([demo_copy], course, tmp_path / "remote", "demo", CPU, cluster=address,
                         log=lines.append, progress=lambda d, t: seen.update(ours()))
    assert [r.submission for r in remote] == [r.submission for r in local]
    for a, b in zip(local, remote, strict=True):
        assert (a.status, a.score, a.max_score) == (b.status, b.score, b.max_score), a.submission
        assert {k: t.status for k, t in a.tests.items()} == {k: t.status for k, t in b.tests.items()}
        assert b.path == str(demo_copy / f"{b.submission}{Path(b.path).suffix}")  # the client's path, not the worker's
        assert b.attempts == 1 and b.sandbox.get("started") == "forked from the warm runner"
    for name in ("results.json", "result.full.json", "junit.xml", "summary.txt", "feedback.html", "manual_answers.md"):
        assert (tmp_path / "remote" / "submissions" / "good" / name).is_file(), name
    assert (tmp_path / "remote" / "grades.csv").read_text() == (tmp_path / "local" / "grades.csv").read_text()
    assert (tmp_path / "remote" / "manual" / "points.csv").is_file()
    assert any(line.startswith("good: graded on tcp://127.0.0.1:") for line in lines), lines


def test_poison_is_a_row_and_costs_no_dask_worker(course, tmp_path, cluster):
    address, client, seen = cluster
    subs = tmp_path / "subs"
    for name, text in POISON.items():
        write(subs / name, text)
    write(subs / "good.py", (COURSE_DIR / "submissions" / "good.py").read_text())
    before = worker_pids(client)
    results = {r.submission: r for r in grade_batch([subs], course, tmp_path / "out", "demo", CPU, cluster=address,
                                                    progress=lambda d, t: seen.update(ours()))}
    assert results["exiter"].status == "error" and "exit code 3" in results["exiter"].message
    # the crash costs add's checks only: ANSWER's check runs on a fresh start of the code
    assert results["segfault"].status == "error" and results["segfault"].tests["test_answer"].status == "passed"
    assert results["segfault"].score == results["segfault"].tests["test_answer"].max_score
    assert results["hog"].status == "memory"
    assert results["killer"].tests["test_answer"].status == "passed"
    assert results["good"].status == "ok" and results["good"].score == 7
    assert all(r.attempts == 1 and "KilledWorker" not in r.message for r in results.values())
    assert worker_pids(client) == before  # the same Dask worker processes: none was lost


def test_a_worker_killed_mid_submission_is_retried_elsewhere(course, tmp_path, cluster):
    address, client, seen = cluster
    subs = tmp_path / "subs"
    write(subs / "a_slow.py", SLOW.format(seconds=4))
    for i in range(3):
        write(subs / f"b_quick{i}.py", SLOW.format(seconds=0))
    killed: list[int] = []

    def kill_the_slow_ones_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if any(str(k).startswith("grade-a_slow-") for k in keys)]
            if busy:
                time.sleep(1.5)  # its runner and sandbox are at work
                seen.update(ours())
                pid = client.run(os.getpid, workers=busy)[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_slow_ones_worker)
    killer.start()
    results = {r.submission: r for r in grade_batch([subs], course, tmp_path / "out", "demo", CPU, cluster=address,
                                                    progress=lambda d, t: seen.update(ours()))}
    killer.join()
    assert killed, "the slow submission was never seen running"
    assert sorted(results) == ["a_slow", "b_quick0", "b_quick1", "b_quick2"]
    assert all(r.status == "ok" and r.score == 7 for r in results.values()), {k: r.message for k, r in results.items()}
    assert results["a_slow"].attempts > 1
    assert any("attempt" in p for p in results["a_slow"].problems)
    assert '"attempts": ' in (tmp_path / "out" / "submissions" / "a_slow" / "result.full.json").read_text()
    assert len((tmp_path / "out" / "grades.csv").read_text().strip().splitlines()) == 1 + 4
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed one: the next tests have two


def test_resume_after_an_interrupted_client_grades_only_what_is_missing(course, tmp_path, cluster):
    address, client, seen = cluster
    subs = tmp_path / "subs"
    for i in range(5):
        write(subs / f"s{i}.py", SLOW.format(seconds=0.2))
    out = tmp_path / "out"

    def interrupt(done: int, _total: int) -> None:
        seen.update(ours())
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade_batch([subs], course, out, "demo", CPU, cluster=address, progress=interrupt)
    first = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("submissions/*/results.json")}
    assert len(first) == 2
    lines: list[str] = []
    results = grade_batch([subs], course, out, "demo", CPU, cluster=address, log=lines.append)
    assert [r.submission for r in results] == [f"s{i}" for i in range(5)]
    assert all(r.status == "ok" and r.score == 7 for r in results)
    assert {name: (out / "submissions" / name / "results.json").stat().st_mtime_ns for name in first} == first
    assert sum("already graded, skipped" in line for line in lines) == 2
    assert sum(": graded on tcp://" in line for line in lines) == 3
    assert len((out / "grades.csv").read_text().strip().splitlines()) == 1 + 5
    again = grade_batch([subs], course, out, "demo", CPU, cluster="tcp://127.0.0.1:1")  # all done: no connection
    assert len(again) == 5


def test_a_submission_that_keeps_killing_workers_is_an_error_row(course, tmp_path):
    """The scheduler gives up (KilledWorker) after its allowed failures: a row, with its attempts."""
    from types import SimpleNamespace

    from grader.batch.cluster import ClusterBackend
    from grader.batch.jobs import Job
    from grader.reports.results import load_full

    class Client:
        def get_events(self, topic: str) -> list:
            assert topic.endswith("grade-x-1")
            return [(0.0, {"worker": "w"})] * 3  # three starts, three lost workers

    class Future:
        def result(self):
            raise distributed.KilledWorker("grade-x-1", SimpleNamespace(address="tcp://127.0.0.1:9"), 3)

    backend = ClusterBackend("tcp://127.0.0.1:9", course, tmp_path / "out", "demo", CPU, {})
    backend.client = Client()
    result = backend._receive(Job(tmp_path / "x.py", "x"), "grade-x-1", Future())
    assert result.status == "error" and result.attempts == 3
    assert "3 times" in result.message and "tcp://127.0.0.1:9" in result.message
    assert load_full(tmp_path / "out" / "submissions" / "x").attempts == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=dict(os.environ, **(env or {})))


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            time.sleep(0.2)
        except subprocess.TimeoutExpired:
            continue
    # the nanny's worker process may outlive a SIGTERMed nanny briefly: the group kill above takes it


def _group_left(pgid: int) -> list[int]:
    left = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.info["pid"]) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                left.append(proc.info["pid"])
        except (ProcessLookupError, PermissionError):
            continue
    return left


@pytest.mark.slow
def test_gpu_work_lands_only_on_workers_that_declare_a_gpu(course, tmp_path, cluster):
    address, client, seen = cluster
    subs = tmp_path / "subs"
    for i in range(3):  # passes only under the GPU profile (size 30)
        write(subs / f"g{i}.py", "import numpy as np\ndef mean(x, axis=None):\n    assert len(x) == 30\n    return np.mean(x)\n")
    start = time.monotonic()
    with pytest.raises(ClusterError, match="declares a GPU"):
        grade_batch([subs], course, tmp_path / "none", "demo", GPU, cluster=address)
    assert time.monotonic() - start < 10
    # a fake GPU worker: it declares the resource; CUDA_VISIBLE_DEVICES="" keeps TensorFlow on the CPU
    gpu = _dask("distributed.cli.dask_worker", address, "--nthreads", "1", "--resources", "GPU=1", "--name", "fake-gpu",
                "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0", env={"CUDA_VISIBLE_DEVICES": ""})
    try:
        client.wait_for_workers(3, timeout=60)
        info = client.scheduler_info(n_workers=-1)["workers"]
        [gpu_address] = [a for a, w in info.items() if (w.get("resources") or {}).get("GPU")]
        lines: list[str] = []
        results = grade_batch([subs], course, tmp_path / "out", "demo", GPU, cluster=address, log=lines.append)
        assert all(r.device == "gpu" and r.tests["test_mean"].status == "passed" for r in results), results
        where = [line.split(" graded on ")[1] for line in lines if " graded on " in line]
        assert where == [gpu_address] * 3, where
        # CPU work asks for no resource: it may run anywhere, and auto picks the GPU profile here
        auto = grade_batch([subs], course, tmp_path / "auto", "demo", DeviceChoice("auto", 0), cluster=address)
        assert {r.device for r in auto} == {"gpu"}
    finally:
        _stop(gpu)
    assert not _group_left(gpu.pid)


def test_a_scheduler_that_cannot_be_reached_is_one_clear_line(course, demo_copy, tmp_path, monkeypatch):
    port = _free_port()  # nothing listens there
    monkeypatch.setenv("GRADER_CLUSTER_TIMEOUT", "2")
    start = time.monotonic()
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 2 s"):
        grade_batch([demo_copy / "good.py"], course, tmp_path / "out", "demo", CPU, cluster=f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - start < 10
    env = dict(os.environ, GRADER_CONFIG=str(COURSE_DIR / "autograder.toml"), GRADER_CLUSTER_TIMEOUT="2")
    cli = subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(demo_copy / "good.py"), "--assignment", "demo",
                          "--out", str(tmp_path / "out"), "--cluster", f"tcp://127.0.0.1:{port}"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2
    [line] = cli.stderr.strip().splitlines()
    assert line.startswith(f"grader: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 2 s ("), line
    assert not (tmp_path / "out" / "submissions" / "good").exists()


@pytest.mark.slow
def test_the_cli_on_real_dask_scheduler_and_worker_processes(tmp_path, demo_copy):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _dask("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    worker = None
    try:
        worker = _dask("distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "2",
                       "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0")
        (demo_copy / "loop.py").unlink()
        env = dict(os.environ, GRADER_CONFIG=str(COURSE_DIR / "autograder.toml"), GRADER_CLUSTER_TIMEOUT="30")
        out = tmp_path / "out"
        cli = subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(demo_copy), "--assignment", "demo",
                              "--out", str(out), "--cluster", address, "--device", "cpu"],
                             env=env, capture_output=True, text=True, timeout=180)
        assert cli.returncode == 0, cli.stderr[-3000:]
        subs = sorted(p.stem for p in demo_copy.iterdir())
        rows = (out / "grades.csv").read_text().strip().splitlines()
        assert sorted(row.split(",")[0] for row in rows[1:]) == subs
        assert "good,demo,ok,7," in (out / "grades.csv").read_text()
        assert f"on the Dask cluster {address}" in cli.stderr
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                _stop(proc)
    assert not _group_left(scheduler.pid) and not (worker and _group_left(worker.pid))
