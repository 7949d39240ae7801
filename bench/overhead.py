"""Where the time of grading one submission goes: the engine's own overhead, measured.

For each submission, ``--repeats`` times:

1. ``grader grade NOTEBOOK --jobs 1 --force`` is timed as a whole (one submission alone:
   the slot's warm parent starts and imports TensorFlow for it);
2. ``grader grade`` on a folder of ``--batch`` copies of the notebook: each further
   submission of a batch costs (batch - alone) / (copies - 1);
3. the same grading runs again in a fresh process *instrumented* (``--one``): this process
   plays the warm parent (preload) and the forked runner (worker template fork,
   ``grader.batch.runner.run``) and wraps, without changing them, the engine's steps: ``Sandbox.start`` (worker process, confinement), every ``Sandbox.request``
   (the ``load`` of the graded cells, which imports what the submission imports, TensorFlow
   included; each call's round trip, split into the student's own compute time that the
   worker reports and the rest: encoding, transfer, decoding), the first TensorFlow/Keras
   import of the trusted side, the rebuilding of returned models, the datasets' loading,
   the suite's own training/evaluation (``cnn_budget.train_and_evaluate``,
   ``callback_budget.measured_accuracy``), ``Sandbox.close``, ``pytest.main`` and the
   result files.

The engine's overhead is then: wall time - the student's compute - the suite's
training/evaluation, for one submission alone and for each further one in a batch. Interpreter and import costs are measured on their own
too (fresh processes: ``python -c pass``, ``import grader.cli``, ``import keras``).

Examples::

    python bench/overhead.py --exercises 04_convolution,01_keras_basics --repeats 3
    cd tests/course && python ../../bench/overhead.py --config autograder.toml --exercises demo \\
        --submission good --corpus submissions --plain --repeats 3
"""

from __future__ import annotations

import argparse
import builtins
import functools
import glob
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    COURSE,
    EXERCISES,
    GRADER,
    bench_env,
    find_submission,
    load,
    machine_line,
    median,
    prepare,
    run_measured,
    save_json,
    table,
)

ONCE_PER_SLOT = ["warm parent: process start + grader/pytest imports", "warm parent: preload (TF, Keras, numpy)"]
STEPS = [*ONCE_PER_SLOT, "worker template fork", "read + select code", "pytest (startup, collection, checks' own code)",
         "TF/Keras import (trusted)", "sandbox start (worker, confinement)",
         "load: graded cells + imports in worker (TF if imported)", "requests: transfer/encode (not student time)",
         "student compute (worker-reported)", "model rebuild (trusted)", "datasets loading (trusted)",
         "suite training/evaluation (trusted)", "sandbox close", "result files"]


# ----------------------------------------------------------------------------- instrumented run

def instrumented(path: str, exercise: str, config: str, extra_pytest_args: tuple[str, ...] = ()) -> dict:
    """Grade ``path`` in this process with every engine step timed (as the runner would).

    Times are *exclusive*: a step nested in another (TensorFlow's first import inside a
    model rebuild, a dataset loaded by a training helper) counts for itself only, and
    "pytest" is what is left of ``pytest.main`` once every step inside it is taken out.
    """
    import psutil

    started = psutil.Process().create_time()
    times: dict[str, float] = {k: 0.0 for k in STEPS}
    counts = {"requests": 0}
    times[ONCE_PER_SLOT[0]] = time.time() - started
    t0 = time.perf_counter()
    import pytest

    from grader import datasets
    from grader.batch import slot as warm
    from grader.config import load_course
    from grader.engine import prefork, sandbox, submission
    from grader.engine.grading import grade_file
    from grader.reports.results import write_submission
    times[ONCE_PER_SLOT[0]] += time.perf_counter() - t0
    course = load_course(config)
    t0 = time.perf_counter()
    warm.preload(list(course.preload))  # what the slot's warm parent does once
    times[ONCE_PER_SLOT[1]] = time.perf_counter() - t0

    stack: list[list] = []  # [step, start, time of nested steps]

    def enter(step: str) -> None:
        stack.append([step, time.perf_counter(), 0.0])

    def leave(split=None) -> None:
        step, start, nested = stack.pop()
        dt = time.perf_counter() - start
        if split is None:
            times[step] += dt - nested
        else:
            split(dt - nested)
        if stack:
            stack[-1][2] += dt

    def wrap(owner, attr, step):
        func = getattr(owner, attr)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            enter(step)
            try:
                return func(*args, **kwargs)
            finally:
                leave()
        setattr(owner, attr, wrapper)

    # --- the first import of TensorFlow/Keras on this (trusted) side
    original_import = builtins.__import__
    state = {"importing": False}

    def timed_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if (level == 0 and not state["importing"] and name.split(".")[0] in ("tensorflow", "keras")
                and "tensorflow" not in sys.modules and "keras" not in sys.modules):
            state["importing"] = True
            enter("TF/Keras import (trusted)")
            try:
                return original_import(name, globals, locals, fromlist, level)
            finally:
                leave()
                state["importing"] = False
        return original_import(name, globals, locals, fromlist, level)

    builtins.__import__ = timed_import

    wrap(sandbox.Sandbox, "start", "sandbox start (worker, confinement)")
    wrap(sandbox.Sandbox, "close", "sandbox close")
    request = sandbox.Sandbox.request

    def timed_request(self, req, timeout=None):
        load_op = req.get("op") == "load"
        enter("load: graded cells + imports in worker (TF if imported)" if load_op
              else "requests: transfer/encode (not student time)")
        reply = None
        try:
            reply = request(self, req, timeout)
            return reply
        finally:
            if load_op:
                leave()
            else:
                counts["requests"] += 1
                student = float(reply.get("seconds") or 0.0) if isinstance(reply, dict) else 0.0

                def split(dt: float) -> None:
                    times["student compute (worker-reported)"] += student
                    times["requests: transfer/encode (not student time)"] += dt - student
                leave(split)
    sandbox.Sandbox.request = timed_request

    rebuild = submission.ModelObservation.__dict__["model"].func

    def timed_rebuild(self):
        enter("model rebuild (trusted)")
        try:
            return rebuild(self)
        finally:
            leave()
    new_prop = functools.cached_property(timed_rebuild)
    new_prop.__set_name__(submission.ModelObservation, "model")
    submission.ModelObservation.model = new_prop

    for name in ("load_mnist", "load_fashion_mnist", "load_ascent"):
        if hasattr(datasets, name):
            wrap(datasets, name, "datasets loading (trusted)")

    # the suite's helper modules (imported by plain name from the suite's folder)
    spec = course.assignment(exercise)
    sys.path.insert(0, str(spec.suite.parent))
    train_steps = {"cnn_budget": ["train_and_evaluate"], "callback_budget": ["measured_accuracy"]}
    for module_name, funcs in train_steps.items():
        if (spec.suite.parent / f"{module_name}.py").is_file():
            module = __import__(module_name)
            for func in funcs:
                wrap(module, func, "suite training/evaluation (trusted)")

    if extra_pytest_args:  # to evaluate a proposed change of grade_file's pytest arguments
        original_main = pytest.main

        def main_with_args(args, plugins=None):
            return original_main(list(args) + list(extra_pytest_args), plugins=plugins)
        pytest.main = main_with_args
    wrap(pytest, "main", "pytest (startup, collection, checks' own code)")
    enter("worker template fork")  # what the forked runner does first
    prefork.fork_template()
    leave()
    enter("read + select code")
    result = grade_file(path, assignment=exercise, course=course, device="cpu", slot=30)
    leave()
    enter("result files")
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as scratch:
        write_submission(result, Path(scratch) / "result")
    leave()
    builtins.__import__ = original_import
    return {"times": {k: round(v, 3) for k, v in times.items()}, "total": round(time.time() - started, 3),
            "grade_file": round(result.execution_time, 3),
            "score": f"{result.score:g}/{result.max_score:g}", "status": result.status,
            "requests": counts["requests"], "tests": {n: t.seconds for n, t in result.tests.items()}}


# ----------------------------------------------------------------------------- driver

INSIDE_GRADE_FILE = ["read + select code", "pytest (startup, collection, checks' own code)", "TF/Keras import (trusted)",
                     "sandbox start (worker, confinement)", "load: graded cells + imports in worker (TF if imported)",
                     "requests: transfer/encode (not student time)", "model rebuild (trusted)",
                     "datasets loading (trusted)", "sandbox close"]


def _outside_grade_file(out: Path) -> list[float]:
    """For each submission of a batch but the first: time since the previous one's result
    minus its own ``grade_file`` time (fork, result files, the batch's bookkeeping)."""
    done = []
    for path in out.glob("submissions/*/results.json"):
        full = json.loads((path.parent / "result.full.json").read_text())
        done.append((path.stat().st_mtime, full["execution_time"]))
    done.sort()
    return [later - earlier - execution for (earlier, _), (later, execution) in zip(done, done[1:], strict=False)]


def micro(repeats: int) -> dict[str, float]:
    """Interpreter and import costs, each in a fresh process (median seconds)."""
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import grader.cli (the grader command)": [sys.executable, "-c", "import grader.cli"],
        "import grader.engine.grading + pytest (runner)": [sys.executable, "-c", "import grader.engine.grading, pytest"],
        "import keras (TensorFlow backend)": [sys.executable, "-c", "import keras"],
        "import numpy, scipy.signal, matplotlib.pyplot": [sys.executable, "-c",
                                                           "import numpy, scipy.signal, matplotlib.pyplot"],
    }
    out = {}
    for label, cmd in cases.items():
        walls = []
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run(cmd, env=bench_env(), capture_output=True, check=False)
            walls.append(time.perf_counter() - t)
        out[label] = round(median(walls), 2)
    return out


def _instrumented_run(notebook: Path, exercise: str, config: Path, extra: str = "") -> dict | None:
    cmd = [sys.executable, __file__, "--one", str(notebook), "--exercise", exercise, "--config", str(config)]
    if extra:
        cmd.append(f"--extra-pytest-args={extra}")
    proc = subprocess.run(cmd, env=bench_env(), capture_output=True, text=True, cwd=config.parent)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if not lines:
        print(proc.stderr[-3000:], file=sys.stderr)
        return None
    return json.loads(lines[-1])


def ab_test(args: argparse.Namespace, config: Path, work: Path) -> int:
    """Instrumented runs without and with ``--extra-pytest-args``, alternated."""
    rows = []
    report: dict = {"machine": machine_line(), "extra": args.extra_pytest_args, "submissions": {}}
    for exercise in [e for e in args.exercises.split(",") if e]:
        sub = prepare(find_submission(exercise, args.submission, config, args.corpus.resolve() if args.corpus else None,
                                      args.plain), work / "subs")
        runs: dict[str, list] = {"as is": [], "with": []}
        for _ in range(args.repeats):
            for label, extra in (("as is", ""), ("with", args.extra_pytest_args)):
                run = _instrumented_run(sub.notebook, exercise, config, extra)
                if run:
                    run["load"] = load()
                    runs[label].append(run)
        report["submissions"][f"{exercise}/{args.submission}"] = runs
        walls = {k: median([r["grade_file"] for r in v]) for k, v in runs.items()}
        pyt = {k: median([r["times"]["pytest (startup, collection, checks' own code)"] for r in v]) for k, v in runs.items()}
        rows.append([f"{exercise}/{args.submission}", f"{walls['as is']:.2f}", f"{walls['with']:.2f}",
                     f"{walls['as is'] - walls['with']:+.2f}", f"{pyt['as is']:.2f}", f"{pyt['with']:.2f}",
                     runs["as is"][0]["score"] if runs["as is"] else "-", runs["with"][0]["score"] if runs["with"] else "-"])
    print(f"grade_file with pytest arguments + {args.extra_pytest_args!r} (median of {args.repeats}, alternated)")
    print(table(rows, ["submission", "grade_file s as is", "with", "saved s", "pytest s as is", "with",
                       "score as is", "with"]))
    print(f"\nload now {load()}")
    save_json(args.json, report)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=COURSE)
    p.add_argument("--exercises", default=",".join(EXERCISES))
    p.add_argument("--submission", default="solution")
    p.add_argument("--corpus", type=Path)
    p.add_argument("--plain", action="store_true")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=4, help="copies graded in one batch for the per-submission cost (0: skip)")
    p.add_argument("--no-micro", action="store_true", help="skip the fresh-process import timings")
    p.add_argument("--json", type=Path)
    p.add_argument("--extra-pytest-args", default="",
                   help="instrumented runs only: append these to grade_file's pytest arguments "
                        "(e.g. '-p no:unraisableexception') to measure a proposed change")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--exercise", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    config = args.config.resolve()
    if args.one:
        print(json.dumps(instrumented(args.one, args.exercise, str(config), tuple(args.extra_pytest_args.split()))))
        return 0
    print(f"machine: {machine_line()}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    if args.extra_pytest_args:
        return ab_test(args, config, work)
    report: dict = {"machine": machine_line(), "submissions": {}}
    rows = []
    for exercise in [e for e in args.exercises.split(",") if e]:
        sub = prepare(find_submission(exercise, args.submission, config, args.corpus.resolve() if args.corpus else None,
                                      args.plain), work / "subs")
        cli_walls, runs = [], []
        for rep in range(args.repeats):
            out = work / "out" / exercise
            m = run_measured([GRADER, "grade", str(sub.notebook), "--out", str(out), "--jobs", "1", "--force",
                              "--assignment", exercise, "--quiet"], cwd=config.parent)
            cli_walls.append(m.wall)
            found = glob.glob(str(out / "submissions" / "*" / "result.full.json"))
            execution = json.loads(Path(found[0]).read_text())["execution_time"] if found else None
            proc = subprocess.run([sys.executable, __file__, "--one", str(sub.notebook), "--exercise", exercise,
                                   "--config", str(config)], env=bench_env(), capture_output=True, text=True,
                                  cwd=config.parent)
            lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
            if not lines:
                print(proc.stderr[-3000:], file=sys.stderr)
                continue
            run = json.loads(lines[-1])
            run["cli_wall"], run["execution_time"], run["load"] = round(m.wall, 2), execution, m.load_before
            runs.append(run)
            print(f"[{time.strftime('%H:%M:%S')}] {exercise}/{args.submission} #{rep + 1}: grader grade "
                  f"{m.wall:.1f} s, instrumented {run['total']:.1f} s, load {m.load_before}", file=sys.stderr, flush=True)
        if not runs:
            continue
        batch_walls, between = [], []
        if args.batch > 1:  # the same notebook N times in one batch: what each further submission costs
            folder = work / "batch" / exercise
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(args.batch):
                shutil.copy(sub.notebook, folder / f"{exercise}_{i}.ipynb")
            for rep in range(args.repeats):
                m = run_measured([GRADER, "grade", str(folder), "--out", str(work / "batch-out" / exercise), "--jobs", "1",
                                  "--force", "--assignment", exercise, "--quiet"], cwd=config.parent)
                batch_walls.append(m.wall)
                between += _outside_grade_file(work / "batch-out" / exercise)
                print(f"[{time.strftime('%H:%M:%S')}] {exercise}/{args.submission} batch of {args.batch} "
                      f"#{rep + 1}: {m.wall:.1f} s, load {m.load_before}", file=sys.stderr, flush=True)
        report["submissions"][f"{exercise}/{args.submission}"] = runs
        report.setdefault("batches", {})[f"{exercise}/{args.submission}"] = {
            "copies": args.batch, "walls": batch_walls, "outside_grade_file": [round(x, 3) for x in between]}
        cli = median(cli_walls)
        inner = median([r["total"] for r in runs])
        step = {k: median([r["times"][k] for r in runs]) for k in STEPS}
        student = step["student compute (worker-reported)"]
        training = step["suite training/evaluation (trusted)"]
        overhead = cli - student - training
        if batch_walls:
            marginal = (median(batch_walls) - cli) / (args.batch - 1)
            # measured within the batch: what a further submission costs outside its runner's
            # grade_file, plus the engine's steps inside grade_file (instrumented; they exclude
            # the training, whose time varies 6-12 s from run to run on this shared machine)
            in_batch = median(between) + sum(step[k] for k in INSIDE_GRADE_FILE)
            batch_cells = [f"{median(batch_walls):.1f}", f"{marginal:.1f}", f"{in_batch:.1f}",
                           "yes" if in_batch <= 5 else "NO"]
        else:
            batch_cells = ["-"] * 4
        rows.append([f"{exercise}/{args.submission}", f"{cli:.1f}", f"{student:.1f}", f"{training:.1f}",
                     f"{overhead:.1f}", *batch_cells, runs[0]["score"],
                     f"{median([float(r['load'].split(',')[0]) for r in runs]):.1f}"])
        print(f"\n{exercise}/{args.submission}: breakdown (median of {len(runs)}; instrumented process "
              f"{inner:.1f} s, grader grade {cli:.1f} s)")
        outside = median([r["cli_wall"] - r["execution_time"] for r in runs if r["execution_time"] is not None])
        brk = [["grader grade outside grade_file: CLI, warm parent start + imports, runner fork, result files "
                "(from the grader grade run)", f"{outside:.2f}"]]
        brk += [[k, f"{step[k]:.2f}"] for k in STEPS]
        print(table(brk, ["step", "seconds"]))
    print("\nengine overhead = wall - student compute - suite training/evaluation (target <= 5 s per submission);"
          "\nalone: one `grader grade` on the notebook; each further: (batch of N - alone) / (N - 1);"
          "\nin a batch: per further submission, time outside grade_file (from the batch's result files)"
          "\n+ the engine's steps inside grade_file (instrumented run; the training's 6-12 s noise excluded)")
    print(table(rows, ["submission", "alone s", "student s", "suite training s", "overhead alone s",
                       f"batch of {args.batch} s", "each further s", "overhead in batch s", "<= 5 s", "score", "load"]))
    if not args.no_micro:
        costs = micro(args.repeats)
        report["micro"] = costs
        print("\nfresh-process costs (median):")
        print(table([[k, f"{v:.2f}"] for k, v in costs.items()], ["command", "seconds"]))
    print(f"\nload now {load()}")
    report["rows"] = rows
    save_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
