"""Issue 16: grading at the speed of the student's compute (the trusted cache, the warm check).

Parts (``--part``, comma-separated):

``batch``
    ``grader grade`` on a folder of ``--copies`` copies of 03's reference notebook,
    ``--jobs 1``, a fresh output folder (so an empty cache) each repeat; with the cache (the
    default) and ``--no-cache``, alternated. Per copy: the runner's own time
    (``execution_time`` of its result) and the interval between its ``results.json`` and
    the previous one (the first: from the command's start, the slot's start included).
``check``
    In one fresh Python process (a notebook kernel's stand-in), ``grader.check(target,
    notebook=REFERENCE)`` ``--checks`` times: each check's wall time and the warm
    process's pid (the same pid: reused). For comparison, the one-shot path grader.check
    took before (``python -m grader.student.check REQUEST``: a process that imports
    TensorFlow per check), timed the same way.
``limit``
    The floor: the student's own compute plus the trusted side's own work, in one process
    with TensorFlow imported, without isolation (no sandbox, no pytest, no processes): the
    graded functions called as the suite calls them, the model rebuilt from its config,
    the layer comparison, and the training (a miss) or the cache lookup (a hit). Our times
    from ``batch`` and ``check`` are then given as a ratio to it.
``class``
    A class of 500 at ``--jobs 2``, projected from measured batches of ``--class-size``
    (default 40) submissions of 03 with a fresh cache: all copies of the reference
    (``all-reference``), and the 03 corpus repeated to that size (``mix``: 12 wrong or
    alternative submissions and the reference, 9 architectures). The cache's hit rate is
    read from its ``events.log``. The projection is linear (500 / size x the measured wall
    time): an upper bound, since a larger class repeats architectures more often.
``corpus``
    Is a cached verdict the verdict a fresh training gives? The 03 corpus
    (tests/submissions/03_cnn/*.py and examples/submissions/*03_cnn*) graded three times:
    run 1 and run 2 into two output folders with their own empty caches (two independent
    trainings of every architecture), run 3 again into run 1's folder (``--force``: every
    training a cache hit). Compared: run 1's and run 2's stored measurements, key by key
    (accuracy and history, exactly), and run 3's (cached) verdicts and messages with run
    2's (fresh), check by check.

Examples::

    export GRADER_DATA_DIR=/work/shared/datasets GRADER_OFFLINE=1
    python bench/cache.py --part batch,check,limit --repeats 3 --json bench/results/cache.json
    python bench/cache.py --part corpus --jobs 2 --json bench/results/cache_corpus.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, bench_env, load, machine_line, median, save_json, table  # noqa: E402

REFERENCE = ROOT / "solutions" / "03_cnn" / "03_cnn.ipynb"
CONFIG = ROOT / "autograder.toml"


def _grade(subs: Path, out: Path, *extra: str, jobs: int = 1) -> tuple[float, subprocess.CompletedProcess]:
    cmd = [sys.executable, "-m", "grader.cli", "--config", str(CONFIG), "grade", str(subs), "--out", str(out),
           "--jobs", str(jobs), "--assignment", "03_cnn", "--device", "cpu", "--quiet", *extra]
    env = bench_env()
    env.pop("GRADER_CACHE_DIR", None)
    env.pop("GRADER_NO_CACHE", None)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=3600)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return wall, proc


# --------------------------------------------------------------------------- batch
def part_batch(args: argparse.Namespace, work: Path) -> dict:
    subs = work / "copies"
    subs.mkdir(exist_ok=True)
    names = [f"copy{i}" for i in range(1, args.copies + 1)]
    for name in names:
        shutil.copy(REFERENCE, subs / f"{name}.ipynb")
    runs: dict[str, list[dict]] = {"cache": [], "no-cache": []}
    for repeat in range(args.repeats):
        for mode in ("cache", "no-cache"):
            out = work / f"batch-{mode}-{repeat}"
            shutil.rmtree(out, ignore_errors=True)
            before = load()
            start = time.time()
            wall, _ = _grade(subs, out, *(["--no-cache"] if mode == "no-cache" else []))
            results = {n: json.loads((out / n / "result.full.json").read_text()) for n in names}
            done = sorted((out / n / "results.json").stat().st_mtime for n in names)
            intervals = [done[0] - start] + [b - a for a, b in zip(done, done[1:], strict=False)]
            order = sorted(names, key=lambda n: (out / n / "results.json").stat().st_mtime)
            runs[mode].append({
                "wall": wall, "load_before": before, "load_after": load(),
                "execution_time": [results[n]["execution_time"] for n in order],
                "interval": intervals,
                "scores": [results[n]["score"] for n in order],
                "verdicts_equal": len({json.dumps([(t["name"], t["status"], t["output"]) for t in results[n]["tests"]])
                                       for n in names}) == 1,
                "cache_events": _events(out / ".grader-cache"),
            })
            print(f"batch {mode} #{repeat + 1}: {wall:.1f} s, per copy "
                  f"{', '.join(f'{x:.1f}' for x in runs[mode][-1]['execution_time'])} s (load {before})", flush=True)
    return runs


# --------------------------------------------------------------------------- class
def part_class(args: argparse.Namespace, work: Path) -> dict:
    corpus_files = sorted((ROOT / "tests" / "submissions" / "03_cnn").glob("*.py")) + [REFERENCE]
    size = args.class_size
    mixes = {"all-reference": [REFERENCE] * size,
             "mix": [corpus_files[i % len(corpus_files)] for i in range(size)]}
    runs = {}
    for name, files in mixes.items():
        subs = work / f"class-{name}"
        subs.mkdir()
        for i, source in enumerate(files):
            shutil.copy(source, subs / f"s{i:03d}_{source.stem}{source.suffix}")
        out = work / f"class-{name}-out"
        before = load()
        wall, _ = _grade(subs, out, jobs=args.jobs)
        events = _events(out / ".grader-cache")
        hits, stores = events.count("hit"), events.count("store")
        results = [json.loads(p.read_text()) for p in sorted(out.glob("submissions/*/result.full.json"))]
        runs[name] = {
            "submissions": size, "jobs": args.jobs, "wall": wall, "load_before": before, "load_after": load(),
            "hits": hits, "stores": stores, "hit_rate": hits / (hits + stores) if hits + stores else None,
            "statuses": sorted({r["status"] for r in results}), "rows": len(results),
            "projected_500_min": wall * 500 / size / 60,
        }
        print(f"class {name}: {size} submissions in {wall:.1f} s, hits {hits}, trainings {stores}, "
              f"projected 500: {runs[name]['projected_500_min']:.1f} min (load {before})", flush=True)
    return runs


def _events(folder: Path) -> list[str]:
    log = folder / "events.log"
    return [json.loads(x)["event"] for x in log.read_text().splitlines()] if log.is_file() else []


# --------------------------------------------------------------------------- check
CHECK_SCRIPT = """\
import json, sys, time
import grader
from grader.student import check as notebook_check
path, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = []
for i in range(n):
    start = time.perf_counter()
    r = grader.check(target, assignment="03_cnn", notebook=path, show=False)
    rows.append({"seconds": time.perf_counter() - start, "pid": r.warm_pid, "score": r.score,
                 "verdicts": [(t.name, t.status, t.output) for t in r.result.tests.values()]})
print("ROWS " + json.dumps(rows))
"""


def part_check(args: argparse.Namespace, work: Path) -> dict:
    script = work / "checks.py"
    script.write_text(CHECK_SCRIPT, "utf-8")
    env = bench_env(GRADER_CONFIG=str(CONFIG))
    runs: dict[str, list] = {"warm": [], "one-shot": []}
    for repeat in range(args.repeats):
        before = load()
        proc = subprocess.run([sys.executable, str(script), str(REFERENCE), args.target, str(args.checks)],
                              capture_output=True, text=True, env=env, cwd=work, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-3000:])
        rows = json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("ROWS "))[5:])
        runs["warm"].append({"rows": rows, "load_before": before, "load_after": load()})
        seconds = ", ".join(f"{r['seconds']:.2f}" for r in rows)
        print(f"check warm #{repeat + 1}: {seconds} s, pids "
              f"{sorted({r['pid'] for r in rows})} (load {before})", flush=True)
        one = []
        for i in range(2):  # the path before issue 16: one process per check
            out = work / f"one-shot-{repeat}-{i}.json"
            request = {"path": str(REFERENCE), "assignment": "03_cnn", "config": str(CONFIG),
                       "targets": [args.target], "out": str(out)}
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader.student.check", json.dumps(request)], check=True,
                           capture_output=True, env=env, timeout=600)
            one.append(time.perf_counter() - start)
        runs["one-shot"].append({"seconds": one, "load": load()})
        print(f"check one-shot #{repeat + 1}: {', '.join(f'{x:.2f}' for x in one)} s", flush=True)
    return runs


# --------------------------------------------------------------------------- limit
LIMIT_SCRIPT = """\
import json, os, sys, time
import numpy as np
import tensorflow as tf, keras
sys.path.insert(0, sys.argv[2])
import cnn_budget
from grader.config import load_course
from grader.source.notebook import read_submission
from grader.source.extract import build_program
from grader.engine.cache import TrustedCache
from grader.checks import cached_training, compare_layers, data_digest
import test_03_cnn as suite

course = load_course(sys.argv[1])
spec = course.assignment("03_cnn")
profile = course.profile(spec, "cpu")
ns = {}
program = build_program(read_submission(sys.argv[3]), spec.graded)
for unit in program.as_data():
    exec(compile(unit["source"], "<graded>", "exec"), ns)
rng = np.random.default_rng(0)
out = {"student": [], "rebuild": [], "compare": [], "miss": [], "hit": []}
cache_dir = sys.argv[4]
for repeat in range(int(sys.argv[5])):
    t = time.perf_counter()  # the student's compute, as the public and hidden checks call it
    for count in (5, 5, 1, 7, 60, 4):
        ns["reshape_and_normalize"](suite.random_images(rng, count))
    model = ns["build_cnn"]()
    config, weights, cc = model.to_json(), model.get_weights(), model.get_compile_config()
    out["student"].append(time.perf_counter() - t)
    t = time.perf_counter()  # the trusted side: rebuild from config (as ModelObservation.model)
    rebuilt = keras.models.model_from_json(config)
    rebuilt.set_weights(weights)
    rebuilt.compile_from_config(json.loads(json.dumps(cc)))
    out["rebuild"].append(time.perf_counter() - t)
    t = time.perf_counter()
    compare_layers(rebuilt, suite.EXPECTED_LAYERS, input_shape=suite.INPUT_SHAPE, check_activations=False)
    compare_layers(rebuilt, suite.EXPECTED_LAYERS, check_structure=False)
    out["compare"].append(time.perf_counter() - t)
    samples, epochs, batch = int(profile["train_samples"]), int(profile["epochs"]), int(profile["batch_size"])
    for kind in ("miss", "hit"):  # a miss trains and stores into a new folder; the hit reads it
        t = time.perf_counter()
        data = cnn_budget.fashion_data(samples, course.seed)
        cache = TrustedCache(os.path.join(cache_dir, str(repeat)), profile, course.seed)
        cached_training(cache, "03_cnn.train_and_evaluate", rebuilt,
                        lambda: cnn_budget.train_and_evaluate(rebuilt, cc, samples=samples, epochs=epochs,
                                                              batch_size=batch, seed=course.seed, data=data),
                        code=[cnn_budget], decode=lambda v: cnn_budget.Outcome(**v), samples=samples,
                        epochs=epochs, batch_size=batch, seed=course.seed, data=data_digest(*data))
        out[kind].append(time.perf_counter() - t)
print("LIMIT " + json.dumps(out))
"""


def part_limit(args: argparse.Namespace, work: Path) -> dict:
    script = work / "limit.py"
    script.write_text(LIMIT_SCRIPT, "utf-8")
    cache_dir = work / "limit-cache"
    env = bench_env(OMP_NUM_THREADS=str(len(os.sched_getaffinity(0))))
    before = load()
    proc = subprocess.run([sys.executable, str(script), str(CONFIG), str(ROOT / "solutions" / "03_cnn"),
                           str(REFERENCE), str(cache_dir), str(args.repeats)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    data = json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("LIMIT "))[6:])
    data["load_before"], data["load_after"] = before, load()
    print("limit: " + ", ".join(f"{k} {median(v):.2f}" for k, v in data.items() if isinstance(v, list)), flush=True)
    return data


# --------------------------------------------------------------------------- corpus
def corpus_files() -> list[Path]:
    files = sorted((ROOT / "tests" / "submissions" / "03_cnn").glob("*.py"))
    return files + sorted((ROOT / "examples" / "submissions").glob("*03_cnn*"))


def part_corpus(args: argparse.Namespace, work: Path) -> dict:
    subs = work / "corpus"
    subs.mkdir(exist_ok=True)
    for f in corpus_files():
        shutil.copy(f, subs / f.name)
    runs = {}
    for label, out, extra in (("run1", work / "corpus-1", ()), ("run2", work / "corpus-2", ()),
                              ("run3", work / "corpus-1", ("--force",))):
        if label != "run3":
            shutil.rmtree(out, ignore_errors=True)
        before = load()
        wall, _ = _grade(subs, out, *extra, jobs=args.jobs)
        runs[label] = {"wall": wall, "load_before": before, "load_after": load(),
                       "results": {p.parent.name: json.loads(p.read_text()) for p in out.glob("submissions/*/result.full.json")},
                       "events": _events(out / ".grader-cache")}
        print(f"corpus {label}: {wall:.1f} s (load {before}); cache events {runs[label]['events']}", flush=True)
    entries = {}
    for label, out in (("run1", work / "corpus-1"), ("run2", work / "corpus-2")):
        entries[label] = {}
        for p in (out / ".grader-cache").glob("entries/*/*.json"):
            entry = json.loads(p.read_text())
            value = {k: v for k, v in entry["value"].items() if k != "seconds"}  # the training's wall time
            entries[label][entry["key"]] = value
    same_numbers = {k: entries["run1"][k] == entries["run2"].get(k) for k in entries["run1"]}
    accuracies = {k: [entries["run1"][k].get("accuracy"), (entries["run2"].get(k) or {}).get("accuracy")]
                  for k in entries["run1"]}
    rows = []
    for name, fresh in sorted(runs["run2"]["results"].items()):
        cached = runs["run3"]["results"][name]
        a = [(t["name"], t["status"], t["output"]) for t in fresh["tests"]]
        b = [(t["name"], t["status"], t["output"]) for t in cached["tests"]]
        rows.append({"submission": name, "score_fresh": fresh["score"], "score_cached": cached["score"],
                     "verdicts_equal": [x[:2] for x in a] == [x[:2] for x in b], "messages_equal": a == b,
                     "seconds_fresh": fresh["execution_time"], "seconds_cached": cached["execution_time"]})
    return {"runs": {k: {kk: vv for kk, vv in v.items() if kk != "results"} for k, v in runs.items()},
            "entries_run1": len(entries["run1"]), "entries_run2": len(entries["run2"]),
            "same_keys": sorted(entries["run1"]) == sorted(entries["run2"]),
            "same_numbers": same_numbers, "accuracies": accuracies, "rows": rows}


# --------------------------------------------------------------------------- report
def report(data: dict) -> None:
    print("\n" + data.get("machine", ""))
    batch = data.get("batch")
    if batch:
        rows = []
        for mode, runs in batch.items():
            n = len(runs[0]["execution_time"])
            for i in range(n):
                ex = [r["execution_time"][i] for r in runs]
                iv = [r["interval"][i] for r in runs]
                first = median([r["execution_time"][0] for r in runs])
                rows.append([mode, f"copy {i + 1}", f"{median(ex):.1f}", f"{min(ex):.1f}-{max(ex):.1f}",
                             f"{median(iv):.1f}", f"{median(ex) / first:.2f}",
                             "/".join(sorted({str(r['scores'][i]) for r in runs}))])
        print(table(rows, ["mode", "copy", "runner s (median)", "min-max", "interval s", "x copy 1", "score"]))
    check = data.get("check")
    if check:
        n = len(check["warm"][0]["rows"])
        rows = []
        for i in range(n):
            s = [r["rows"][i]["seconds"] for r in check["warm"]]
            rows.append([f"check {i + 1}", f"{median(s):.2f}", f"{min(s):.2f}-{max(s):.2f}",
                         f"{median(s) / median([r['rows'][0]['seconds'] for r in check['warm']]):.2f}"])
        s = [x for r in check["one-shot"] for x in r["seconds"]]
        rows.append(["one-shot (before)", f"{median(s):.2f}", f"{min(s):.2f}-{max(s):.2f}", ""])
        print(table(rows, ["grader.check", "s (median)", "min-max", "x check 1"]))
    limit = data.get("limit")
    if limit:
        print(table([[k, f"{median(v):.2f}"] for k, v in limit.items() if isinstance(v, list)], ["limit step", "s"]))
    corpus = data.get("corpus")
    if corpus:
        print(table([[r["submission"], r["score_fresh"], r["score_cached"], r["verdicts_equal"], r["messages_equal"],
                      r["seconds_fresh"], r["seconds_cached"]] for r in corpus["rows"]],
                    ["submission", "fresh", "cached", "verdicts =", "messages =", "s fresh", "s cached"]))
        print(f"stored measurements: run 1 {corpus['entries_run1']}, run 2 {corpus['entries_run2']}, same keys "
              f"{corpus.get('same_keys')}; identical accuracy and history (training time aside): "
              f"{sum(corpus['same_numbers'].values())}/{len(corpus['same_numbers'])}")
        for key, (a, b) in sorted(corpus.get("accuracies", {}).items()):
            print(f"  {key[:12]}  run 1 {a}  run 2 {b}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", default="batch,check,limit")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--checks", type=int, default=4)
    parser.add_argument("--target", default="build_cnn")
    parser.add_argument("--jobs", type=int, default=1, help="for --part corpus and class")
    parser.add_argument("--class-size", type=int, default=40, help="for --part class")
    parser.add_argument("--json", help="write the raw data here")
    parser.add_argument("--report", help="only print the tables of a --json file")
    args = parser.parse_args(argv)
    if args.report:
        report(json.loads(Path(args.report).read_text()))
        return 0
    data: dict = {"machine": machine_line(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    work = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    try:
        for part in args.part.split(","):
            data[part] = {"batch": part_batch, "check": part_check, "limit": part_limit,
                          "corpus": part_corpus, "class": part_class}[part](args, work)
            save_json(args.json, data)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    data["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    save_json(args.json, data)
    report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
