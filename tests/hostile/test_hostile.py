"""Issue 4: hostile and broken submissions, graded in ONE batch together with normal ones.

The corpus is tests/hostile/submissions/ (see its README and docs/SECURITY.md); it targets
the engine test course's ``demo_model`` assignment (a function, a tiny Keras model, a
constant: 8 points). ``grader grade`` grades everything once, with two parallel jobs and a
short time limit, in a module-scoped fixture; then each submission's score, status and
messages are asserted on their own, and so is what must hold for the batch as a whole:

* one row per submission, whatever it did; results already written are intact;
* no process of the batch is alive afterwards (nor a daemon a submission started);
* nothing outside the output folder changed (course, corpus, a canary folder, the
  world-writable folders, the repository);
* what the probing submissions report (files they could read, the environment, network
  attempts, where their writes landed) contains nothing secret: they report through the
  return value of ``scale``, which the suite shows in the check's feedback.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from grader.engine.sandbox import UID_BASE
from grader.model import SubmissionResult
from grader.reports.protections import missing
from grader.reports.results import FULL, RESULTS, gradescope, load_full, write_submission
from tests.conftest import COURSE_DIR, ROOT

# graded as root (a uid per worker) and, by .ci/hostile-as-user, as a normal user (the
# grader's uid inside the worker's own user namespace): the few expectations that differ
# by mode say so, with docs/SECURITY.md's "What is enforced where"
pytestmark = pytest.mark.slow

CORPUS = ROOT / "tests" / "hostile" / "submissions"
ASSIGNMENT = "demo_model"
SERVER_SECRET = "secret-" + secrets.token_hex(12)
MAX = 8.0
JOBS = 2
# seconds a worker may live: importing TensorFlow alone takes several on a busy 2-core machine
TIMEOUT = 30
UID_SPAN = 4096  # worker uids are claimed in [UID_BASE, UID_BASE + UID_SPAN)
WORLD_WRITABLE = ("/run/lock", "/var/tmp", "/dev/shm")
# as root every worker has a uid of its own (UID_BASE...), so whatever it leaves behind is
# found by uid; a normal user's worker keeps the grader's uid inside its own user namespace
# (docs/SECURITY.md, "What is enforced where": own uid not enforced; locked mounts, no
# capabilities and seccomp instead), so there leftovers are found as the grader's own
# processes and files that appeared while the batch ran
AS_ROOT = os.geteuid() == 0


@dataclass(frozen=True)
class Expect:
    """What one submission must get: score, status, and regexes its messages must match."""

    score: float
    status: str  # regex (fullmatch) for result.status
    message: str = ""  # regex for result.message; "" means the message is empty
    checks: dict[str, str] = field(default_factory=dict)  # test name -> regex in its output
    problems: str = ""  # regex that one of result.problems must match
    load_error: str = ""  # regex that one of the load errors (type: message) must match


NOT_ARRAY = "values differ"
EXPECTED: dict[str, Expect] = {
    # ---- normal submissions, graded beside the hostile ones
    "good": Expect(8, "ok"),
    "partial": Expect(2, "ok", checks={"test_scale": r"Likely mistake: divide by the largest \*absolute\* value"}),
    "tf_warnings": Expect(8, "ok"),
    "huge_outputs": Expect(4, "ok"),  # 200 MB of outputs, written by the fixture
    "previous": Expect(1, "ok", message="graded by an earlier batch"),  # pre-written, skipped
    # ---- tampering
    "tamper_engine": Expect(1, "ok", checks={"test_scale": NOT_ARRAY, "test_predict_labels": NOT_ARRAY}),
    "tamper_in_call": Expect(0, "ok", checks={"test_scale": NOT_ARRAY, "test_rate": r"expected 0\.01, found 1\b",
                                              "test_make_model_layers": "did not return a Keras model"}),
    "tamper_builtins": Expect(0, "error", message=r"stopped with exit code 1 while being graded"),
    "tamper_tf": Expect(4, "ok", checks={"test_make_model_layers": r"the weight shapes: expected \[\(4, 5\)",
                                         "test_make_model_compiled": "not compiled",
                                         "test_make_model_outputs_probabilities": "do not fit its layers"}),
    "liars": Expect(0, "ok", checks={"test_scale": NOT_ARRAY,
                                     "test_predict_labels": r"cannot read \(.*MagicMock\)",
                                     "test_rate": r"cannot read \(.*Chameleon\)"}),
    "model_lambda": Expect(5, "ok", checks={"test_make_model_layers": r"\('Lambda', None\)",
                                            "test_make_model_outputs_probabilities": "Lambda layers .*can't be graded"}),
    "fake_gradescope": Expect(4, "ok"),
    "results_writer": Expect(1, "ok"),
    "forger": Expect(0, "error", message=r"broke the grading protocol \(a malformed answer\)"),
    "exit_at_import": Expect(4, "ok", load_error=r"^SystemExit"),
    "exit_in_call": Expect(1, "ok", checks={"test_scale": r"raised SystemExit.*Hint: don't call sys\.exit",
                                            "test_predict_labels": r"raised KeyboardInterrupt.*Hint",
                                            "test_make_model_layers": "raised SystemExit"}),
    # a check that stops the worker costs only its own checks: the others run on a fresh
    # start of the code (forked from the zygote), RATE included
    "os_exit": Expect(1, "error", message=r"exited \(code 0\) while being graded.*fresh start",
                      checks={"test_scale": r"This check was stopped there"}),
    "close_fds": Expect(4, "ok"),
    "close_pipes": Expect(1, "error", message=r"stopped with exit code \d+ while being graded|stopped answering"),
    "flood_fd": Expect(1, "error", message=r"printed more than the 8 MiB output limit"),
    "flood_print": Expect(4, "ok"),
    "ungraded_attacks": Expect(4, "ok"),
    # ---- reading what is hidden (judged further below from what they report)
    "read_secrets": Expect(1, "ok"),
    "walk_fs": Expect(1, "ok"),
    "read_env": Expect(1, "ok"),
    "read_temp": Expect(1, "ok"),
    # ---- resources
    "infinite_loop": Expect(1, "timeout", message=rf"ran longer than the {TIMEOUT} s time limit",
                            checks={"test_scale": r"ran longer than the \d+ s this check may take"}),
    "sleep_forever": Expect(3, "ok", message=r"Checks stopped before they ended: predict_labels",
                            checks={"test_predict_labels": r"ran longer than the \d+ s this check may take"}),
    "alloc_10gb": Expect(2, "memory", message="MemoryError", checks={"test_scale": r"raised MemoryError"}),
    "touch_memory": Expect(3, "memory", message=r"used more than the 2 GiB memory limit"),
    # stopped at the task limit, or (when a poll sees it first) at the memory limit: the
    # copies' summed RSS counts their shared pages once each; either way the message says
    "fork_bomb": Expect(1, "error|memory", message=r"started 256 processes/threads, the limit"
                                                   r"|used more than the 2 GiB memory limit \(\d+ processes together\)"),
    "detach": Expect(4, "ok"),
    "huge_file": Expect(1, "error", message=r"wrote more than the 64 MiB disk limit",
                        checks={"test_scale": "File too large"}),
    "recursion": Expect(1, "error", message=r"crashed \(killed by SIGSEGV\)",
                        checks={"test_scale": "raised RecursionError"}),
    # ---- network
    "network": Expect(1, "ok"),
    # ---- broken files
    "syntax_error": Expect(0, "ok", problems=r"`scale` could not be read: your file has a syntax error on line 6",
                           checks={"test_scale": r"`scale` could not be read: your file has a syntax error on line 6"}),
    "syntax_error_cell": Expect(2, "ok", problems=r"graded cell 'scale' has a syntax error on line 3",
                                checks={"test_scale": r"`scale` could not be read: cell 2 has a syntax error on line 3"}),
    "invalid_json": Expect(0, "error", message=r"is not a valid notebook \(JSON error at line"),
    "empty": Expect(0, "error", message=r"empty\.ipynb is empty"),
    "nbformat3": Expect(4, "ok", problems=r"nbformat 3 notebook; it was converted"),
    "untagged": Expect(4, "ok", problems=r"found by name .*scale, predict_labels, RATE"),
    "deleted_cells": Expect(0, "ok", problems=r"`scale` is not defined anywhere in your submission"),
    "renamed": Expect(0, "ok", checks={"test_scale": r"`scale` is not defined in your submission: did you rename it"}),
    "wrong_exercise": Expect(0, "error", message=r"this notebook was released for demo, this batch grades demo_model"),
}


# ---------------------------------------------------------------------------- the batch

@dataclass
class Batch:
    base: Path
    subs: Path
    out: Path
    marker: str
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    results: dict[str, SubmissionResult]
    raw: dict[str, dict]  # results.json as written
    grades: list[dict[str, str]]
    before: dict[str, dict[str, str]]
    after: dict[str, dict[str, str]]
    previous_bytes: dict[str, bytes]
    accepted: list[Any]
    datagrams: list[bytes]
    leftovers: list[str]
    daemons_seen: set[int]  # pids of the marker processes seen while the batch ran
    world_writable: list[str]
    started: float
    ended: float

    def report(self, name: str) -> Any:
        """What a probing submission's ``scale`` returned (shown in the check's feedback)."""
        for item in self.results[name].feedback:
            if item.get("test") == "test_scale" and item.get("kind") == "text":
                return ast.literal_eval(item["text"])
        raise AssertionError(f"{name}: no report in the feedback of test_scale: {self.results[name].tests['test_scale']}")


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            st = path.stat()
            out[str(path.relative_to(folder))] = f"{hashlib.sha256(path.read_bytes()).hexdigest()} {st.st_mtime_ns} {st.st_mode:o}"
    return out


def _snapshot(base: Path) -> dict[str, dict[str, str]]:
    return {"course": _digest(COURSE_DIR), "corpus": _digest(CORPUS), "canary": _digest(base / "canary"),
            "subs": _digest(base / "subs")}


def _huge_notebook(path: Path, megabytes: int = 200) -> None:
    """A notebook with honest code and ``megabytes`` MB of embedded PNG outputs."""
    cells = [
        {"cell_type": "code", "metadata": {"tags": ["graded"]}, "execution_count": 1, "outputs": [],
         "source": "# GRADED: scale\nimport numpy as np\ndef scale(x):\n    return x / np.max(np.abs(x))"},
        {"cell_type": "code", "metadata": {"tags": ["graded"]}, "execution_count": 2, "outputs": [],
         "source": "# GRADED: predict_labels\ndef predict_labels(probs):\n    return np.argmax(probs, axis=1)"},
        {"cell_type": "code", "metadata": {"tags": ["graded"]}, "execution_count": 3, "outputs": [],
         "source": "# GRADED: rate\nRATE = 0.01"},
    ]
    import base64

    blob = base64.b64encode(os.urandom(3 * 1024**2 // 4 * 1)).decode()  # 1 MiB of base64
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"nbformat": 4, "nbformat_minor": 5, "metadata": {"grader": {"assignment": "demo_model"}}, "cells": [')
        handle.write(",".join(json.dumps(c) for c in cells))
        handle.write(', {"cell_type": "code", "metadata": {}, "execution_count": 4, "source": "for i in range(200): show(i)",'
                     ' "outputs": [')
        for i in range(megabytes):
            if i:
                handle.write(",")
            handle.write('{"output_type": "display_data", "metadata": {}, "data": {"image/png": "')
            handle.write(blob)
            handle.write('", "text/plain": "<Figure>"}}')
        handle.write("]}]}")


def _previous_result(subs: Path) -> SubmissionResult:
    return SubmissionResult(
        submission="previous", path=str(subs / "previous.py"), assignment=ASSIGNMENT, status="ok",
        message="graded by an earlier batch", score=1.0, max_score=MAX,
    )


def _worker_uid(uid: int | None) -> bool:
    return uid is not None and UID_BASE <= uid < UID_BASE + UID_SPAN


def _leftovers(marker: str, base: Path, started: float) -> list[str]:
    """Processes of this batch that survive it: seen alive now and still 2 s later (a process
    caught in its exit, its command line already freed, is not a survivor)."""
    first = _alive_of_batch(marker, base, started)
    if not first:
        return []
    time.sleep(2)
    again = set(_alive_of_batch(marker, base, started))
    return [line for line in first if line in again]


def _alive_of_batch(marker: str, base: Path, started: float) -> list[str]:
    """Processes of this batch alive now: by marker, by path, or orphans with a worker uid."""
    found = []
    for proc in psutil.process_iter(["pid", "ppid", "cmdline", "uids", "create_time", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue  # dead already: an exit status waiting for init to collect it
            cmd = " ".join(proc.info["cmdline"] or [])
            uid = proc.info["uids"].real if proc.info["uids"] else None
            if proc.info["create_time"] < started - 1 or proc.pid == os.getpid():
                continue
            ours = marker in cmd or str(base) in cmd
            if not ours and not AS_ROOT and uid == os.getuid():
                ours = True  # the grader's uid: this test and what it started, nothing else
            elif not ours and _worker_uid(uid):
                # another session's worker has a live grading parent; ours would be orphaned
                parent = psutil.Process(proc.info["ppid"]) if proc.info["ppid"] > 1 else None
                parent_cmd = " ".join(parent.cmdline()) if parent is not None else ""
                ours = parent is None or parent.pid == os.getpid() or not re.search(r"grader|pytest", parent_cmd)
            if ours:
                found.append(f"pid {proc.pid} uid {uid} started {proc.info['create_time']}: {cmd[:200]}")
        except psutil.Error:
            pass
    return found


def _world_writable_files(started: float) -> list[str]:
    found = []
    for top in WORLD_WRITABLE:
        for folder, _dirs, files in os.walk(top):
            for name in files + _dirs:
                path = os.path.join(folder, name)
                if _left_by_worker(Path(path), started):
                    found.append(path)
    return found


def _left_by_worker(path: Path, started: float) -> bool:
    """Owned by a worker's uid (root), or by the grader's uid and changed since the batch
    started (a normal user: the worker has that uid; see AS_ROOT). No margin before
    ``started``: no worker runs before it, and .ci/hostile-as-user chowns its copy of the
    repository less than a second before a batch that starts at once (a test run of this
    module alone) would begin."""
    try:
        st = path.lstat()
    except OSError:
        return False
    if AS_ROOT:
        return _worker_uid(st.st_uid)
    return st.st_uid == os.getuid() and max(st.st_mtime, st.st_ctime) >= started


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    base = tmp_path_factory.mktemp("hostile")
    subs, out = base / "subs", base / "out"
    marker = f"HOSTILE-MARKER-{uuid.uuid4().hex[:12]}"
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    udp.setblocking(False)

    shutil.copytree(CORPUS, subs)
    for path in subs.glob("*.py"):
        text = path.read_text("utf-8")
        path.write_text(text.replace("__PORT__", str(port)).replace("__MARKER__", marker), "utf-8")
    _huge_notebook(subs / "huge_outputs.ipynb")
    canary = base / "canary"
    canary.mkdir()
    (canary / "results.json").write_text('{"score": 0}', "utf-8")
    (canary / "notes.txt").write_text("must stay as it is\n", "utf-8")
    write_submission(_previous_result(subs), out / "submissions" / "previous")
    previous_bytes = {p.name: p.read_bytes() for p in (out / "submissions" / "previous").iterdir()}
    before = _snapshot(base)

    # a credential of the grading server: no copy of it may reach a worker
    env = dict(os.environ, GRADER_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1", AWS_SECRET_ACCESS_KEY=SERVER_SECRET)
    started = time.time()
    daemons_seen: set[int] = set()
    running = threading.Event()
    running.set()

    def watch() -> None:  # proves detach.py's daemons did start (and so were killed)
        while running.is_set():
            for p in psutil.process_iter(["cmdline"]):
                if marker in " ".join(p.info["cmdline"] or []):
                    daemons_seen.add(p.pid)
            time.sleep(0.25)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", "grade", str(subs), "--assignment", ASSIGNMENT, "--out", str(out),
         "--jobs", str(JOBS), "--timeout", str(TIMEOUT)],
        cwd=COURSE_DIR, env=env, capture_output=True, text=True, timeout=900,
    )
    ended = time.time()
    running.clear()
    watcher.join()
    leftovers = _leftovers(marker, base, started)
    accepted = []
    try:
        while True:
            conn, addr = tcp.accept()
            accepted.append(addr)
            conn.close()
    except BlockingIOError:
        pass
    datagrams = []
    try:
        while True:
            datagrams.append(udp.recv(65536))
    except BlockingIOError:
        pass
    tcp.close()
    udp.close()

    results, raw = {}, {}
    # submission folders never start with a dot (the batch's own, like .grader-cache, do)
    for folder in sorted(p for p in (out / "submissions").iterdir() if p.is_dir() and not p.name.startswith(".")):
        results[folder.name] = load_full(folder)
        raw[folder.name] = json.loads((folder / RESULTS).read_text("utf-8"))
    grades = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text("utf-8"))))
    yield Batch(base, subs, out, marker, ended - started, proc.returncode, proc.stdout, proc.stderr, results, raw,
                grades, before, _snapshot(base), previous_bytes, accepted, datagrams, leftovers, daemons_seen,
                _world_writable_files(started), started, ended)
    for line in leftovers:  # never leave a daemon behind, even when the test failed
        try:
            psutil.Process(int(line.split()[1])).kill()
        except (psutil.Error, ValueError):
            pass


# ---------------------------------------------------------------------------- the batch as a whole

def test_the_corpus_and_the_expectations_match():
    names = {p.stem for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb")} | {"huge_outputs"}
    assert names == set(EXPECTED)


def test_the_batch_finishes_with_one_row_per_submission(batch):
    assert batch.returncode == 0, batch.stderr[-3000:]
    assert set(batch.results) == set(EXPECTED)
    assert all(r is not None for r in batch.results.values())
    assert sorted(row["submission"] for row in batch.grades) == sorted(EXPECTED)
    for name in EXPECTED:  # the printed table has a row for each as well
        assert re.search(rf"^{re.escape(name)}\s+{ASSIGNMENT}\s", batch.stdout, re.MULTILINE), name
    print(f"batch of {len(EXPECTED)} submissions graded in {batch.seconds:.1f} s")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_submission_gets_what_it_earned(batch, name):
    want = EXPECTED[name]
    result = batch.results[name]
    text = (f"{name}: {result.score:g}/{result.max_score:g} {result.status} {result.message!r}\n"
            + "\n".join(f"  {t.name}: {t.status} {t.output[:300]}" for t in result.tests.values())
            + f"\n  problems: {result.problems}\n  load errors: {result.load_errors}")
    assert result.score == want.score and re.fullmatch(want.status, result.status), text
    assert result.max_score == MAX, text
    if want.message:
        assert re.search(want.message, result.message), text
    else:
        assert result.message == "", text
    for test, pattern in want.checks.items():
        assert re.search(pattern, result.tests[test].output, re.DOTALL), text
    if want.problems:
        assert any(re.search(want.problems, p) for p in result.problems), text
    if want.load_error:
        assert any(re.search(want.load_error, f"{e['type']}: {e['message']}") for e in result.load_errors), text
    row = next(r for r in batch.grades if r["submission"] == name)
    assert (float(row["score"]), row["status"]) == (want.score, result.status)
    # what Gradescope reads is the engine's result, nothing a submission printed or wrote
    assert batch.raw[name]["score"] == want.score
    assert batch.raw[name]["extra_data"]["status"] == result.status


def test_results_on_disk_are_the_engines_own(batch):
    """results.json equals what the engine derives from result.full.json, in every folder."""
    for name, result in batch.results.items():
        assert batch.raw[name] == json.loads(json.dumps(gradescope(result))), name


def test_results_written_before_the_batch_are_intact(batch):
    folder = batch.out / "submissions" / "previous"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == batch.previous_bytes
    assert {RESULTS, FULL} <= set(batch.previous_bytes)


def test_no_process_of_the_batch_survives(batch):
    assert batch.daemons_seen, "detach.py's daemons were never seen running: the test proves nothing"
    assert batch.leftovers == []
    assert _leftovers(batch.marker, batch.base, batch.started) == []
    assert not [pid for pid in batch.daemons_seen if psutil.pid_exists(pid)
                and batch.marker in " ".join(psutil.Process(pid).cmdline())]


def test_nothing_outside_the_output_folder_changed(batch):
    assert batch.after == batch.before
    assert batch.world_writable == []
    assert not list(Path("/tmp").glob(f"pwned-{batch.marker}*"))  # the Lambda never ran here
    assert not Path("/tmp/ungraded-attack-ran").exists()
    # as root: nothing owned by a worker's uid; as a normal user (who owns this copy of the
    # repository, .ci/hostile-as-user), no file or link changed or appeared while the batch
    # ran (folders' times move when the trusted side's pytest writes the suite's __pycache__)
    owned = [str(p) for p in ROOT.rglob("*") if "__pycache__" not in p.parts
             and (AS_ROOT or not p.is_dir() or p.is_symlink()) and _left_by_worker(p, batch.started)]
    assert owned == []


# ---------------------------------------------------------------------------- what the probes saw

def _allowed() -> list[Path]:
    """What the worker is meant to see: the Python install and the grader package (the one
    the batch runs, which is not always the one this test imported: .ci/hostile-as-user runs
    this test in a copy of the repository, while the batch's interpreter finds the installed
    package)."""
    return [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, _batch_package()}]


def _batch_package() -> str:
    """The folder of the grader package that ``python -m grader.cli`` in COURSE_DIR imports."""
    if not _BATCH_PACKAGE:
        found = subprocess.run([sys.executable, "-c", "import grader, os; print(os.path.dirname(grader.__file__))"],
                               cwd=COURSE_DIR, capture_output=True, text=True, check=True).stdout.strip()
        _BATCH_PACKAGE.append(found)
    return _BATCH_PACKAGE[0]


_BATCH_PACKAGE: list[str] = []


def _secret(path: str, batch: Batch, listed: bool = False) -> bool:
    """Inside a folder the worker must not see (``listed``: a name in a folder's listing,
    where a hidden folder itself still shows up as an empty mount point)."""
    p = Path(path)
    for keep in _allowed():
        if p == keep or keep in p.parents or p in keep.parents:
            return False  # inside the install, or a folder on the way to it
    # ROOT: the repository this test runs from; the batch's package's folder: the checkout the
    # grader runs from, which is another one under .ci/hostile-as-user (its solutions, .git)
    roots = [ROOT, Path(_batch_package()).parent, Path.home(), batch.base, Path(tmp_root()).resolve()]
    if os.environ.get("GRADER_DATA_DIR"):
        roots.append(Path(os.environ["GRADER_DATA_DIR"]).resolve())
    return any((p == r and not listed) or r in p.parents for r in roots)


def tmp_root() -> str:
    import tempfile

    return tempfile.gettempdir()


def _scratch(report: dict) -> Path:
    return Path(report["cwd"])


def _not_scratch(path: str, report: dict) -> bool:
    p, scratch = Path(path), _scratch(report)
    return not (p == scratch or scratch in p.parents)


def test_suites_solutions_data_and_output_cannot_be_read(batch):
    report = batch.report("read_secrets")
    leaked = [f for f in report["files"] if _secret(f, batch) and _not_scratch(f, report)]
    for folder, names in report["folders"].items():
        leaked += [os.path.join(folder, n) for n in names
                   if _secret(os.path.join(folder, n), batch, listed=True) and _not_scratch(os.path.join(folder, n), report)]
    assert leaked == []
    assert len(report["folders"]) > 0  # it did look


def test_walking_the_file_system_finds_nothing_secret(batch):
    report = batch.report("walk_fs")
    leaked = [d for d in report["folders"] if _secret(d, batch) and _not_scratch(d, report)]
    assert leaked == []
    assert report["files_seen"] > 0 and report["readable_files"] > 0 and report["folders"]


def test_the_environment_leaks_nothing(batch):
    report = batch.report("read_env")
    env = report["environ"]
    assert not {k for k in env if k.startswith("GRADER_") and k not in ("GRADER_IN_WORKER", "GRADER_OFFLINE")}
    secrets = [str(ROOT), str(batch.base)] + ([os.environ["GRADER_DATA_DIR"]] if os.environ.get("GRADER_DATA_DIR") else [])
    assert not [v for v in env.values() if any(s in v for s in secrets)]
    assert env["HOME"] == report.get("cwd", env["HOME"]) or env["HOME"].startswith(tmp_root())
    assert not [s for s in secrets + [SERVER_SECRET] if s in report["own_proc_environ"]], report["own_proc_environ"]
    # in any dict of the worker's interpreter (forked from the warm parent), e.g. an environment copy
    assert not [hit for hit in report["secret_in_memory"] if SERVER_SECRET in hit], report["secret_in_memory"]
    for pid, variables in report["other_environs"].items():  # readable only for its own uid
        assert not [v for v in variables if v.startswith(("GRADER_DATA_DIR", "GRADER_CONFIG"))], pid


def test_temporary_files_of_the_engine_are_hidden(batch):
    report = batch.report("read_temp")
    scratch = _scratch(report)
    # besides its scratch folder, /tmp shows at most the skeleton leading to the Python
    # environment or the grader package when those live under /tmp (a clone in /tmp); the
    # scratch folder may lie deeper in /tmp (in the runner's own temporary folder): the
    # folders on the way to it are made inside the scratch tmpfs (confine._bind_tmp)
    kept = [Path(p) for p in (sys.prefix, _batch_package())]
    skeleton = {p.relative_to("/tmp").parts[0] for p in kept if p.is_relative_to("/tmp")}
    top = scratch.relative_to("/tmp").parts[0] if scratch.is_relative_to("/tmp") else scratch.name
    assert set(report["listing"]["/tmp"]) - skeleton == {top}
    for folder in ("/var/tmp", "/dev/shm", "/run/lock"):
        assert report["listing"][folder] in ([], "FileNotFoundError"), folder
    # the grader package is public source, re-exposed read-only (under /tmp when the clone is)
    assert [f for f in report["readable"] if not any(Path(f).resolve().is_relative_to(k) for k in _allowed())] == []


def test_writes_land_only_in_the_scratch_folder_which_is_then_removed(batch):
    report = batch.report("results_writer")
    assert report["tried"] > 20
    disk = batch.results["results_writer"].sandbox.get("disk")
    # the worker's /tmp is a folder of its scratch tmpfs (grader.worker.confine.mount_scratch),
    # the folders leading to a scratch folder under /tmp included (confine._bind_tmp)
    tmp_in_scratch = isinstance(disk, dict) and str(disk.get("tmp", "")).startswith("/tmp: a folder of the scratch")
    in_tmp = [w for w in report["written"] if _not_scratch(w, report) and Path(w).is_relative_to("/tmp")]
    outside = [w for w in report["written"] if _not_scratch(w, report) and not (tmp_in_scratch and w in in_tmp)]
    assert outside == []
    assert [w for w in in_tmp if os.path.isfile(w) and '"score": 100.0' in Path(w).read_text("utf-8", "replace")] == []
    assert not _scratch(report).exists()


def test_no_connection_leaves_the_worker(batch):
    report = batch.report("network")
    result = batch.results["network"]
    if "blocked" not in str(result.sandbox.get("network")):
        pytest.skip(f"network not isolated on this machine: {result.sandbox.get('network')}")
    assert report["interfaces"] in (["lo"], [])
    for target, outcome in report.items():
        if target.startswith(("tcp", "udp", "dns")):
            assert not outcome.startswith(("connected", "sent", "resolved")), (target, outcome)
    assert any(t.startswith("tcp 127.0.0.1:") for t in report)
    assert batch.accepted == [] and batch.datagrams == []


def test_every_worker_reports_its_confinement(batch):
    """result.sandbox says what was enforced: network, hidden folders, every protection; as
    root an own uid, as a normal user the grader's uid with the mounts locked (docs/SECURITY.md)."""
    must_hide = [str(ROOT), str(batch.subs.resolve()), str(batch.out.resolve()), *WORLD_WRITABLE]
    for name, result in batch.results.items():
        if not result.sandbox:  # unreadable files never start a worker; "previous" was not regraded;
            assert name in ("invalid_json", "empty", "previous", "wrong_exercise"), name  # nor another exercise's
            continue
        box = result.sandbox
        assert "blocked" in str(box["network"]), name
        assert isinstance(box["hidden"], list), (name, box["hidden"])
        covered = [p for p in must_hide if os.path.isdir(p) and not any(p == h or p.startswith(h + os.sep) for h in box["hidden"])]
        assert covered == [], (name, box["hidden"])
        if AS_ROOT:
            assert _worker_uid(box["uid"]), (name, box["uid"])
        else:  # a user namespace keeps the grader's uid; the locked mounts confine writes instead
            assert box["uid"] == f"unchanged ({os.getuid()})" and box["mounts_locked"] is True, (name, box)
        assert [p.name for p in missing(box)] == [], (name, box)
        assert box["rlimits"]["core"] == 0
    # every protection in force: no false alarm from the batch's one-time warning (issue 11.2)
    assert "the worker runs without" not in batch.stderr, batch.stderr[-2000:]


def test_the_batch_stays_quick(batch):
    assert batch.seconds < 420, f"the hostile batch took {batch.seconds:.0f} s"
