"""Fidelity of the CPU profile: same verdicts as the GPU profile's full budget, and repeatable.

Two parts (``--part profiles|repeat|all``):

``profiles``
    Every submission of the test corpora (tests/submissions/<exercise>/) is graded twice,
    each time in a fresh process: with the CPU profile (what ``grader grade`` does on this
    machine) and with the GPU profile (``grade_file(path, device="gpu")``: the GPU budget,
    e.g. 60,000 images x 5 epochs for 03_cnn, run on this CPU). The per-check verdicts
    (pass/fail of every test) must be equal. ``grader grade --device gpu`` refuses without
    a GPU, hence the direct call. Because the GPU budget is meant for a GPU, the worker's
    time limit is raised (``--gpu-timeout``, default 3600 s) for the GPU-profile run only:
    a timeout there would measure this machine, not the profile.
``repeat``
    The solution and one wrong submission per exercise are graded ``--repeat`` times (5)
    with the CPU profile, each in a fresh process: scores, verdicts and messages must be
    identical every time.

``forked``
    Every submission of the corpora graded the way a batch grades (``grader grade FOLDER
    --jobs 2``: runners forked from a warm parent, workers forked from the runner) and
    compared, check by check, with the ``profiles`` part's CPU results (``grade_file`` in a
    fresh process, fresh worker interpreter): the warm path must not change a verdict.

Results are appended to ``--json`` as they come (a killed run keeps what finished; re-running
skips what is there). Example::

    GRADER_DATA_DIR=/work/shared/datasets GRADER_OFFLINE=1 \\
        python bench/fidelity.py --part all --json bench/results/fidelity.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import EXERCISES, ROOT, bench_env, corpus, load, machine_line, master_notebook, table  # noqa: E402


def grade_one(path: str, exercise: str, device: str, timeout: float | None, slot: int) -> dict:
    """In this (fresh) process: grade one file, return per-test verdicts as plain data."""
    from grader.config import load_course
    from grader.engine.grading import grade_file

    limits = {"timeout": timeout} if timeout else None
    start = time.perf_counter()
    result = grade_file(path, assignment=exercise, course=load_course(ROOT / "autograder.toml"),
                        device=device, limits=limits, slot=slot)
    return as_data(result, round(time.perf_counter() - start, 1))


def as_data(result: Any, seconds: float) -> dict:
    """A SubmissionResult as the plain data this script keeps: status, score, per-test verdicts."""
    return {
        "status": result.status, "message": result.message, "score": result.score,
        "max_score": result.max_score, "seconds": seconds,
        "tests": {name: {"passed": t.status == "passed", "output": t.output, "seconds": t.seconds}
                  for name, t in result.tests.items()},
    }


def graded_in_subprocess(path: Path, exercise: str, device: str, timeout: float | None, slot: int) -> dict:
    cmd = [sys.executable, __file__, "--one", str(path), "--exercise", exercise, "--device", device,
           "--slot", str(slot)]
    if timeout:
        cmd += ["--timeout", str(timeout)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=bench_env(), cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "bench-error", "message": proc.stderr[-2000:], "score": 0, "max_score": 0,
                "seconds": 0, "tests": {}}
    return json.loads(lines[-1])


def verdicts(result: dict) -> dict[str, bool]:
    return {name: t["passed"] for name, t in result["tests"].items()}


def _load(path: Path | None) -> dict:
    if path and path.is_file():
        return json.loads(path.read_text("utf-8"))
    return {"profiles": {}, "repeat": {}}


def _save(path: Path | None, data: dict) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), "utf-8")
        tmp.replace(path)


def part_profiles(exercises: list[str], data: dict, out: Path | None, gpu_timeout: float, slot: int) -> None:
    for exercise in exercises:
        for path in corpus(exercise):
            key = f"{exercise}/{path.name}"
            done = data["profiles"].get(key, {})
            for device in ("cpu", "gpu"):
                if device in done and done[device]["status"] != "bench-error":
                    continue
                t0 = time.strftime("%H:%M:%S")
                print(f"[{t0}] {key} {device} (load {load()}) ...", file=sys.stderr, flush=True)
                done[device] = graded_in_subprocess(path, exercise, device,
                                                    gpu_timeout if device == "gpu" else None, slot)
                done[f"{device}_load"] = load()
                data["profiles"][key] = done
                _save(out, data)


def part_forked(exercises: list[str], data: dict, out: Path | None, jobs: int) -> None:
    import shutil
    import tempfile

    from grader.reports.results import load_full

    forked = data.setdefault("forked", {})
    for exercise in exercises:
        with tempfile.TemporaryDirectory(prefix="bench-forked-") as tmp:
            subs, results = Path(tmp) / "subs", Path(tmp) / "out"
            subs.mkdir()
            paths = corpus(exercise)
            for path in paths:
                shutil.copy(path, subs / path.name)
            print(f"[{time.strftime('%H:%M:%S')}] {exercise}: {len(paths)} submissions, grader grade --jobs {jobs} "
                  f"(load {load()})", file=sys.stderr, flush=True)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(subs), "--assignment", exercise,
                                   "--out", str(results), "--jobs", str(jobs), "--device", "cpu", "--quiet"],
                                  capture_output=True, text=True, env=bench_env(), cwd=ROOT)
            wall = time.perf_counter() - start
            for path in paths:
                result = load_full(results / path.stem)
                key = f"{exercise}/{path.name}"
                if result is None:
                    forked[key] = {"status": "bench-error", "message": proc.stderr[-2000:], "score": 0,
                                   "max_score": 0, "seconds": 0, "tests": {}}
                    continue
                forked[key] = dict(as_data(result, result.execution_time), started=result.sandbox.get("started", ""))
            data.setdefault("forked_batches", {})[exercise] = {"jobs": jobs, "wall": round(wall, 1), "load": load()}
            _save(out, data)


def compared(a_run: dict, b_run: dict) -> tuple[str, str, str]:
    """(checks with the same verdict / all, "yes"/"NO" for equal verdicts and status, differing checks)."""
    a, b = verdicts(a_run), verdicts(b_run)
    names = set(a) | set(b)
    differ = sorted(n for n in names if a.get(n) != b.get(n))
    same = not differ and a_run["status"] == b_run["status"]
    return f"{sum(a.get(n) == b.get(n) for n in names)}/{len(names)}", "yes" if same else "NO", ", ".join(differ) or "-"


def forked_table(data: dict) -> str:
    rows = []
    for key, warm in data.get("forked", {}).items():
        fresh = data["profiles"].get(key, {}).get("cpu")
        if not fresh:
            rows.append([key, "-", _score(warm), "no fresh run", "", "", warm.get("started", "")])
            continue
        rows.append([key, _score(fresh), _score(warm), *compared(fresh, warm), warm.get("started", "")])
    return table(rows, ["submission", "fresh (grade_file)", "batch (forked)", "same verdicts", "equal",
                        "differing checks", "worker"])


def profiles_table(data: dict) -> str:
    rows = []
    for key, done in data["profiles"].items():
        cpu, gpu = done.get("cpu"), done.get("gpu")
        if not cpu or not gpu:
            rows.append([key, _score(cpu), _score(gpu), "not finished", "", "", ""])
            continue
        rows.append([key, _score(cpu), _score(gpu), *compared(cpu, gpu), f"{cpu['seconds']:.0f} / {gpu['seconds']:.0f}"])
    return table(rows, ["submission", "cpu score", "gpu score", "same verdicts", "equal", "differing checks",
                        "seconds cpu / gpu"])


def _score(r: dict | None) -> str:
    if not r:
        return "-"
    return f"{r['score']:g}/{r['max_score']:g}" + ("" if r["status"] == "ok" else f" ({r['status']})")


# wrong submissions whose failure message carries a measured number (an accuracy after the
# grader's or the student's training): identical messages mean identical training runs
REPEAT_EXTRA = {"02_callback": ["wrong_no_normalization"], "03_cnn": ["wrong_sgd"]}


def repeat_subjects(exercise: str) -> list[Path]:
    wrong = [p for p in corpus(exercise) if p.stem.startswith("wrong")]
    extra = [p for p in wrong if p.stem in REPEAT_EXTRA.get(exercise, [])]
    return [master_notebook(exercise)] + wrong[:1] + [p for p in extra if p not in wrong[:1]]


def part_repeat(exercises: list[str], times: int, data: dict, out: Path | None, slot: int) -> None:
    for exercise in exercises:
        for path in repeat_subjects(exercise):
            key = f"{exercise}/{path.name}"
            runs = data["repeat"].setdefault(key, [])
            while len(runs) < times:
                print(f"[{time.strftime('%H:%M:%S')}] repeat {key} #{len(runs) + 1} (load {load()})",
                      file=sys.stderr, flush=True)
                runs.append(graded_in_subprocess(path, exercise, "cpu", None, slot))
                _save(out, data)


def repeat_table(data: dict) -> str:
    rows = []
    for key, runs in data["repeat"].items():
        scores = [r["score"] for r in runs]
        same_verdicts = all(verdicts(r) == verdicts(runs[0]) for r in runs)
        same_messages = all({n: t["output"] for n, t in r["tests"].items()} ==
                            {n: t["output"] for n, t in runs[0]["tests"].items()} for r in runs)
        rows.append([key, len(runs), ", ".join(f"{s:g}" for s in scores),
                     "yes" if len(set(scores)) == 1 and same_verdicts else "NO",
                     "yes" if same_messages else "no", ", ".join(f"{r['seconds']:.0f}" for r in runs)])
    return table(rows, ["submission", "runs", "scores", "identical scores+verdicts", "identical messages",
                        "seconds"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=["profiles", "repeat", "forked", "all", "report"], default="all")
    p.add_argument("--jobs", type=int, default=2, help="--part forked: the batch's --jobs")
    p.add_argument("--exercises", default=",".join(EXERCISES))
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--gpu-timeout", type=float, default=3600.0)
    p.add_argument("--json", type=Path, default=None, help="results file (appended, resumable)")
    p.add_argument("--slot", type=int, default=40, help="first worker uid slot to try")
    # internal: grade one file in this process and print its verdicts as JSON
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--exercise", help=argparse.SUPPRESS)
    p.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(grade_one(args.one, args.exercise, args.device, args.timeout, args.slot)))
        return 0
    exercises = [e for e in args.exercises.split(",") if e]
    data = _load(args.json)
    print(f"machine: {machine_line()}", file=sys.stderr)
    if args.part in ("profiles", "all"):
        part_profiles(exercises, data, args.json, args.gpu_timeout, args.slot)
    if args.part in ("repeat", "all"):
        part_repeat(exercises, args.repeat, data, args.json, args.slot)
    if args.part in ("forked", "all"):
        part_forked(exercises, data, args.json, args.jobs)
    if data.get("forked"):
        print("batch (warm parent, forked runner and worker) vs grade_file (fresh processes), CPU profile:")
        print(forked_table(data))
    if data["profiles"]:
        print("CPU profile vs GPU profile (full budget, run on this CPU), per-check verdicts:")
        print(profiles_table(data))
    if data["repeat"]:
        print(f"\nthe same submission graded {args.repeat} times (CPU profile, fresh process each):")
        print(repeat_table(data))
    print(f"\nload now: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
