"""Grade the same submissions three ways and print a table: time, memory, verdicts.

Methods (each run is one command in a fresh process; see common.run_measured):

``grader``  (a) ``grader grade NOTEBOOK --jobs 1 --force`` (CPU profile): graded cells only,
            in a sandboxed worker; the suite in a fresh trusted process.
``otter``   (b) ``otter run -a autograder.zip NOTEBOOK`` with the otter autograder built at
            bench time from bench/otter/<exercise>/ (``otter generate``): the whole notebook
            executed in a Jupyter kernel, then the OK-format tests.
``nbexec``  (c) the whole notebook executed with nbclient (as nbgrader and otter do), then
            the same OK-format tests in the same kernel (bench/nbexec.py).

The otter and nbexec runs get the notebook without its ``grader.check(...)`` cells (see
common.without_checks); the grader gets the notebook as the student hands it in.

Columns: median wall seconds per submission over ``--repeats`` runs (min-max), median
peak RSS of the process tree, the ratio of the median to the grader's, the score, and
whether the verdicts agree with the grader's: the otter question of a check has the
check's name and points, so each of the grader's checks is compared with its otter twin
(passed / failed); "agree" is the number of checks with the same verdict out of the
number compared, "yes" when all agree. The load column is the median 1-minute load
average at the start of the runs (the machine is shared).

Examples::

    python bench/compare.py --repeats 3 --json bench/results/compare.json
    python bench/compare.py --exercises 04_convolution --submissions solution,wrong_flipped_kernel
    cd tests/course && python ../../bench/compare.py --config autograder.toml --exercises demo \\
        --submissions good --corpus submissions --plain --repeats 1
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    COURSE,
    EXERCISES,
    GRADER,
    OTTER,
    Submission,
    find_submission,
    load,
    machine_line,
    median,
    mib,
    prepare,
    run_measured,
    save_json,
    table,
)
from otter_build import build_autograder  # noqa: E402

METHODS = ("grader", "otter", "nbexec")
DEFAULT_SUBMISSIONS = {
    "01_keras_basics": ["solution", "wrong_percentage", "wrong_same_padding"],
    "02_callback": ["solution", "wrong_acc_key"],
    "03_cnn": ["solution", "wrong_no_second_pooling"],
    "04_convolution": ["solution", "wrong_flipped_kernel", "wrong_pool_ceil"],
}
HEADER = ["submission", "method", "wall s (median)", "min-max", "peak RSS", "x grader", "score", "agree",
          "load"]


def run_grader(sub: Submission, work: Path) -> tuple[dict, dict]:
    out = work / "grader-out"
    cmd = [GRADER, "grade", str(sub.notebook), "--out", str(out), "--jobs", "1", "--force",
           "--assignment", sub.exercise, "--quiet"]
    m = run_measured(cmd, cwd=sub.config.parent)
    found = glob.glob(str(out / "submissions" / "*" / "result.full.json"))
    verdicts, score = {}, None
    if found:
        data = json.loads(Path(found[0]).read_text())
        verdicts = {t["name"]: t["status"] == "passed" for t in data["tests"]}
        score = (data["score"], data["max_score"], data["status"])
    return _row(m, verdicts, score)


def run_otter(sub: Submission, work: Path, zip_path: Path) -> tuple[dict, dict]:
    out = work / "otter-out"
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    results.unlink(missing_ok=True)
    cmd = [OTTER, "run", "-a", str(zip_path), "-o", str(out), "--no-logo", str(sub.otter_notebook)]
    m = run_measured(cmd, cwd=out)
    verdicts, score = {}, None
    if results.is_file():
        data = json.loads(results.read_text())
        tests = [t for t in data.get("tests", []) if "max_score" in t]
        verdicts = {t["name"]: float(t["score"]) >= float(t["max_score"]) for t in tests}
        score = (sum(float(t["score"]) for t in tests), sum(float(t["max_score"]) for t in tests),
                 "ok" if tests else "failed")
    return _row(m, verdicts, score)


def run_nbexec(sub: Submission, work: Path) -> tuple[dict, dict]:
    out = work / "nbexec.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).with_name("nbexec.py")), str(sub.otter_notebook),
           "--exercise", sub.exercise, "--json", str(out)]
    m = run_measured(cmd, cwd=work)
    verdicts, score = {}, None
    if out.is_file():
        data = json.loads(out.read_text())
        verdicts = {name: v["passed"] for name, v in data["tests"].items()}
        score = (data["score"], data["max_score"], "ok" if verdicts else "failed")
    return _row(m, verdicts, score)


def _row(m, verdicts: dict, score) -> tuple[dict, dict]:
    run = {"wall": round(m.wall, 2), "peak_rss": m.peak_rss, "returncode": m.returncode,
           "load": m.load_before, "score": score}
    if m.returncode != 0 or not verdicts:
        run["stderr"] = m.stderr[-3000:]
    return run, verdicts


def agreement(reference: dict[str, bool], other: dict[str, bool]) -> tuple[int, int, list[str]]:
    names = sorted(set(reference) & set(other))
    differ = [n for n in names if reference[n] != other[n]] + sorted(set(reference) ^ set(other))
    return len(names) - len([n for n in names if reference[n] != other[n]]), len(set(reference) | set(other)), differ


def summarize(results: dict) -> list[list[str]]:
    rows = []
    for label, per_method in results.items():
        ref = per_method.get("grader")
        ref_wall = median([r["wall"] for r in ref["runs"]]) if ref else None
        for method in METHODS:
            entry = per_method.get(method)
            if not entry:
                continue
            walls = [r["wall"] for r in entry["runs"]]
            wall = median(walls)
            rss = median([r["peak_rss"] for r in entry["runs"]])
            score = entry["runs"][0]["score"]
            score_text = "failed" if not score else f"{score[0]:g}/{score[1]:g}" + ("" if score[2] == "ok" else f" ({score[2]})")
            stable = all(v == entry["verdicts"][0] for v in entry["verdicts"])
            if method == "grader":
                agree = "reference" + ("" if stable else " (varies between runs!)")
            elif ref:
                same, total, differ = agreement(ref["verdicts"][0], entry["verdicts"][0])
                agree = f"{same}/{total} " + ("yes" if not differ else "NO: " + ", ".join(differ))
                agree += "" if stable else " (varies between runs!)"
            else:
                agree = "-"
            loads = [float(r["load"].split(",")[0]) for r in entry["runs"]]
            rows.append([label, method, f"{wall:.1f}", f"{min(walls):.1f}-{max(walls):.1f}", mib(rss),
                         f"{wall / ref_wall:.2f}" if ref_wall else "-", score_text, agree, f"{median(loads):.1f}"])
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=COURSE, help="the course's autograder.toml")
    p.add_argument("--exercises", default=",".join(EXERCISES))
    p.add_argument("--submissions", help="comma-separated: 'solution' and/or corpus file stems "
                   "(default: a correct and one or two wrong ones per exercise)")
    p.add_argument("--corpus", type=Path, help="folder of the corpus (default tests/submissions/<exercise>)")
    p.add_argument("--plain", action="store_true", help="a .py becomes a one-cell notebook instead of "
                   "being put into the master notebook")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=Path, help="save every run here")
    p.add_argument("--workdir", type=Path, help="keep the prepared notebooks and outputs here")
    args = p.parse_args(argv)
    config = args.config.resolve()
    corpus_dir = args.corpus.resolve() if args.corpus else None
    methods = [m for m in args.methods.split(",") if m]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    subs: list[Submission] = []
    for exercise in [e for e in args.exercises.split(",") if e]:
        names = args.submissions.split(",") if args.submissions else DEFAULT_SUBMISSIONS.get(exercise, ["solution"])
        for name in names:
            subs.append(prepare(find_submission(exercise, name, config, corpus_dir, args.plain), work / "subs"))
    zips = {}
    if "otter" in methods:
        for exercise in dict.fromkeys(s.exercise for s in subs):
            zips[exercise] = build_autograder(exercise, work / "otter-zips")
    print(f"machine: {machine_line()}", file=sys.stderr)
    results: dict[str, dict] = {}
    for rep in range(args.repeats):
        for sub in subs:
            for method in methods:  # interleaved: load drifts hit every method alike
                box = work / "runs" / sub.exercise / sub.name / method
                box.mkdir(parents=True, exist_ok=True)
                t0 = time.strftime("%H:%M:%S")
                if method == "grader":
                    run, verdicts = run_grader(sub, box)
                elif method == "otter":
                    run, verdicts = run_otter(sub, box, zips[sub.exercise])
                else:
                    run, verdicts = run_nbexec(sub, box)
                entry = results.setdefault(sub.label, {}).setdefault(method, {"runs": [], "verdicts": []})
                entry["runs"].append(run)
                entry["verdicts"].append(verdicts)
                print(f"[{t0}] run {rep + 1}/{args.repeats} {sub.label} {method}: {run['wall']:.1f} s, "
                      f"{mib(run['peak_rss'])}, score {run['score']}, load {run['load']}", file=sys.stderr, flush=True)
                if "stderr" in run:
                    print(run["stderr"][-1500:], file=sys.stderr)
                save_json(args.json, {"machine": machine_line(), "results": results})
    print(f"machine: {machine_line()}")
    print(table(summarize(results), HEADER))
    print(f"\n{args.repeats} run(s) per cell; load now {load()}")
    save_json(args.json, {"machine": machine_line(), "results": results, "table": table(summarize(results), HEADER)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
