"""Shared helpers of the benchmark scripts (plain Python: argparse, subprocess, psutil).

* :func:`run_measured` runs one command in a fresh process and samples the resident memory
  of its whole process tree (the command, its children, a grading worker, a Jupyter
  kernel) every 0.1 s: the peak of that sum is the "peak RSS" column. It counts pages
  shared between processes (TensorFlow's libraries in a runner and its worker) once per
  process, so it overstates the physical memory a little; it is the number that decides
  how many submissions fit side by side.
* :func:`student_notebook` turns a ``.py`` of the test corpora into the notebook a student
  would hand in: the exercise's master notebook with each graded cell replaced by the
  submission's definitions of the names that cell defines.
* :func:`machine` and :func:`load` describe the machine and its load for each table.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
EXERCISES = ("01_keras_basics", "02_callback", "03_cnn", "04_convolution")
DEFAULT_DATA = "/work/shared/datasets"
GRADER = str(Path(sys.executable).with_name("grader"))
OTTER = str(Path(sys.executable).with_name("otter"))


def bench_env(**extra: str) -> dict[str, str]:
    """The environment every measured command gets: offline, shared datasets, quiet TF."""
    env = dict(os.environ)
    env.setdefault("GRADER_DATA_DIR", DEFAULT_DATA)
    env["GRADER_OFFLINE"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    # the Jupyter kernel of otter/nbclient runs "python": make it this interpreter
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


# --------------------------------------------------------------------------- machine, load


def load() -> str:
    """The 1/5/15-minute load averages, as `uptime` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        versions = {p: version(p) for p in ("tensorflow", "keras", "otter-grader", "nbclient", "pytest")}
    except Exception:  # noqa: BLE001 - informative only
        versions = {}
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model or platform.processor(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "versions": versions,
        "load": load(),
    }


def machine_line() -> str:
    m = machine()
    v = m["versions"]
    return (f"{m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
            f"TF {v.get('tensorflow', '?')}, Keras {v.get('keras', '?')}, otter {v.get('otter-grader', '?')}; "
            f"load {m['load']}")


# --------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    wall: float
    peak_rss: int  # bytes, sum over the process tree, sampled
    returncode: int
    stdout: str = ""
    stderr: str = ""
    load_before: str = ""
    load_after: str = ""


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until it ends."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            total = 0
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.Error:
                break
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


def run_measured(cmd: list[str], cwd: Path | str | None = None, env: dict | None = None,
                 timeout: float = 3600) -> Measured:
    """Run ``cmd`` in a fresh process (own session); wall time and peak tree RSS."""
    before = load()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or bench_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
    wall = time.perf_counter() - start
    sampler.stop()
    return Measured(wall, sampler.peak, proc.returncode, out.decode("utf-8", "replace"),
                    err.decode("utf-8", "replace"), before, load())


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mib(n: float) -> str:
    return f"{n / 1024**2:,.0f} MiB"


def table(rows: list[list[Any]], header: list[str]) -> str:
    """A Markdown table (readable in a terminal, pasteable into docs/BENCHMARKS.md)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=False)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + " |" for r in cells[1:]]
    return "\n".join(lines)


def save_json(path: Path | str | None, data: Any) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=1, default=_default), "utf-8")


def _default(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


# --------------------------------------------------------------------------- submissions


COURSE = ROOT / "autograder.toml"


def master_notebook(exercise: str, config: Path = COURSE) -> Path:
    from grader.config import load_course

    return load_course(config).assignment(exercise).notebook


def _graded(cell: Any) -> bool:
    first = cell.source.lstrip().split("\n", 1)[0] if cell.source else ""
    return cell.cell_type == "code" and ("graded" in cell.metadata.get("tags", []) or
                                         first.upper().startswith("# GRADED"))


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def student_notebook(source: Path, exercise: str, config: Path = COURSE, plain: bool = False) -> Any:
    """The notebook a student would submit, as an ``nbformat`` node.

    A ``.ipynb`` is read as it is. A ``.py`` is put into the master notebook: every graded
    cell keeps its ``# GRADED:`` line and gets the ``.py``'s definitions of the names it
    defines in the master (a name the ``.py`` lacks is left out); the ``.py``'s imports,
    helpers and other statements go first, into the first graded cell. Lesson and
    exploration cells stay, as in a real submission.
    """
    import nbformat

    if source.suffix == ".ipynb":
        nb = nbformat.read(source, as_version=4)
        nb.metadata.setdefault("grader", {})["assignment"] = exercise
        return nb
    text = source.read_text("utf-8")
    if plain:  # the .py as one graded cell, nothing else (tiny smoke-test inputs)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("# GRADED: all\n" + text, metadata={"tags": ["graded"]})]
        nb.metadata["grader"] = {"assignment": exercise}
        return nb
    tree = ast.parse(text)
    segments: dict[str, str] = {}
    for node in tree.body:
        for name in _defined_names(node):
            segments[name] = ast.get_source_segment(text, node, padded=False) or ""
    nb = nbformat.read(master_notebook(exercise, config), as_version=4)
    nb = copy.deepcopy(nb)
    claimed: set[str] = set()
    graded_cells = [c for c in nb.cells if _graded(c)]
    for cell in graded_cells:
        lines = cell.source.split("\n")
        marker = lines[0] if lines[0].lstrip().startswith("#") else "# GRADED"
        names = []
        try:
            for node in ast.parse(cell.source).body:
                names.extend(_defined_names(node))
        except SyntaxError:
            pass
        body = [segments[n] for n in dict.fromkeys(names) if n in segments]
        claimed.update(names)
        cell.source = "\n\n".join([marker] + body) if body else marker + "\npass"
    rest = []
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
            continue  # the module docstring
        names = _defined_names(node)
        if names and all(n in claimed for n in names):
            continue
        rest.append(ast.get_source_segment(text, node, padded=False) or "")
    if rest and graded_cells:
        first = graded_cells[0]
        marker, _, body = first.source.partition("\n")
        first.source = "\n".join([marker, *rest, "", body])
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.setdefault("grader", {})["assignment"] = exercise
    return nb


def without_checks(nb: Any) -> Any:
    """The notebook without its ``grader.check(...)`` cells (tag ``check``).

    Used for the otter and whole-notebook runs: there, those cells would start this
    course's own grader; an otter course has ``grader.check("q")`` cells of otter's
    instead, which in grading mode run the same tests that otter runs at the end anyway.
    """
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and (
        "check" in c.metadata.get("tags", []) or c.source.strip().startswith("grader.check")))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@dataclass
class Submission:
    """One benchmarked submission: its name, exercise and the notebook to grade."""

    exercise: str
    name: str
    source: Path
    config: Path = COURSE
    plain: bool = False
    notebook: Path | None = None  # written by prepare()
    otter_notebook: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.exercise}/{self.name}"


def prepare(sub: Submission, folder: Path) -> Submission:
    """Write the submission's notebook (for the grader) and its check-free copy (otter, nbclient)."""
    import nbformat

    nb = student_notebook(sub.source, sub.exercise, sub.config, sub.plain)
    target = folder / sub.exercise / sub.name
    target.mkdir(parents=True, exist_ok=True)
    # named after the assignment, like the notebook a student downloads and hands in
    sub.notebook = target / f"{sub.exercise}.ipynb"
    nbformat.write(nb, sub.notebook)
    otter_dir = target / "otter"
    otter_dir.mkdir(exist_ok=True)
    sub.otter_notebook = otter_dir / f"{sub.exercise}.ipynb"
    nbformat.write(without_checks(nb), sub.otter_notebook)
    return sub


def corpus(exercise: str, folder: Path | None = None) -> list[Path]:
    folder = folder or ROOT / "tests" / "submissions" / exercise
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb"))


def find_submission(exercise: str, name: str, config: Path = COURSE, corpus_dir: Path | None = None,
                    plain: bool = False) -> Submission:
    """``solution`` (the master notebook) or a file stem of the corpus (tests/submissions/<exercise>/)."""
    if name == "solution":
        return Submission(exercise, "solution", master_notebook(exercise, config), config, plain)
    for path in corpus(exercise, corpus_dir):
        if path.stem == name:
            return Submission(exercise, name, path, config, plain)
    raise SystemExit(f"no submission {name!r} for {exercise} in {corpus_dir or 'tests/submissions/' + exercise}")
