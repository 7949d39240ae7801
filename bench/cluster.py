"""Throughput of ``grader grade --cluster`` against local slots, and the cluster's own overhead.

One batch of ``--copies`` copies of one submission (default: the demo course's
``good.py``, numpy only, so the engine's costs are not hidden behind TensorFlow), graded
by the ``grader`` command ``--repeats`` times each way:

* ``--jobs 1`` and ``--jobs 2``: local slots (warm parents of this process);
* ``--cluster local:1`` and ``--cluster local:2``: a LocalCluster of 1 or 2 one-thread
  process workers on 127.0.0.1, started by the command (its start is in the wall time).

Columns: the wall time of the command; *per submission*, the steady-state time between
two results (``(last - first) / (copies - 1)`` from the ``results.json`` mtimes, so the
start of slots, workers and TensorFlow is left out); *throughput*, submissions per minute
in steady state. The cluster's overhead per submission is its steady-state time minus the
same number of local slots' (1 worker against ``--jobs 1`` is the clean comparison: the
same single grading pipeline, plus shipping bytes, the scheduler and the client's writes).
With one slot, *around* is the median over consecutive results of (time between them -
the later one's ``execution_time``): what a submission costs besides its grading; the
cluster's overhead is its *around* minus ``--jobs 1``'s, which a loaded machine disturbs
least (both terms slow down together). Each number is the median of the repeats.

Examples::

    python bench/cluster.py --repeats 3
    python bench/cluster.py --config autograder.toml --assignment 01_keras_basics \\
        --submission examples/submissions/ben_01_keras_basics.py --copies 10 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import GRADER, ROOT, bench_env, machine_line  # noqa: E402

WAYS = (("--jobs 1", ["--jobs", "1"]), ("--jobs 2", ["--jobs", "2"]),
        ("--cluster local:1", ["--cluster", "local:1"]), ("--cluster local:2", ["--cluster", "local:2"]))


def run_once(config: Path, assignment: str, subs: Path, out: Path, extra: list[str]) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [GRADER, "--config", str(config), "grade", str(subs), "--assignment", assignment, "--out", str(out),
           "--device", "cpu", "--quiet", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=bench_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    done = sorted((p.stat().st_mtime, json.loads((p.parent / "result.full.json").read_text())["execution_time"])
                  for p in out.glob("submissions/*/results.json"))
    stamps = [stamp for stamp, _ in done]
    # one slot: the time between two results is the next submission's grading (its
    # execution_time) plus everything around it; the cluster's share is in the latter
    around = statistics.median(b[0] - a[0] - b[1] for a, b in zip(done, done[1:], strict=False)) if len(done) > 1 else float("nan")
    rows = len((out / "grades.csv").read_text().strip().splitlines()) - 1
    statuses = {json.loads(p.read_text())["extra_data"]["status"] for p in out.glob("submissions/*/results.json")}
    steady = (stamps[-1] - stamps[0]) / (len(stamps) - 1) if len(stamps) > 1 else float("nan")
    return {"wall": wall, "per_submission": steady, "around": around, "rows": rows, "statuses": sorted(statuses)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "tests" / "course" / "autograder.toml"))
    parser.add_argument("--assignment", default="demo")
    parser.add_argument("--submission", default=str(ROOT / "tests" / "course" / "submissions" / "good.py"))
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="append the measurements here")
    args = parser.parse_args()

    source = Path(args.submission)
    work = Path(tempfile.mkdtemp(prefix="grader-bench-cluster-"))
    try:
        subs = work / "subs"
        subs.mkdir()
        for i in range(args.copies):
            shutil.copy(source, subs / f"s{i:03d}{source.suffix}")
        print(f"# {args.copies} copies of {source.name} ({args.assignment}); {machine_line()}", flush=True)
        measured: dict[str, list[dict]] = {label: [] for label, _ in WAYS}
        for repeat in range(args.repeats):
            for label, extra in WAYS:  # interleaved: a change of load touches every way alike
                m = run_once(Path(args.config), args.assignment, subs, work / "out", extra)
                measured[label].append(m)
                print(f"repeat {repeat + 1} {label}: wall {m['wall']:.1f} s, {m['per_submission']:.3f} s/submission, "
                      f"{m['rows']} rows, statuses {m['statuses']}", flush=True)
        med = {label: {k: statistics.median(m[k] for m in ms) for k in ("wall", "per_submission", "around")}
               for label, ms in measured.items()}
        print(f"\n| way | wall (s) | s per submission, steady | submissions/min | rows |  (median of {args.repeats})")
        print("|---|---:|---:|---:|---:|")
        for label, ms in measured.items():
            per = med[label]["per_submission"]
            print(f"| `{label}` | {med[label]['wall']:.1f} | {per:.3f} | {60 / per:.0f} | {ms[0]['rows']} |")
        local, cluster = med["--jobs 1"], med["--cluster local:1"]
        print(f"around the grading, one slot: --jobs 1 {local['around']:.3f} s, --cluster local:1 "
              f"{cluster['around']:.3f} s: the cluster's overhead {cluster['around'] - local['around']:+.3f} s "
              "per submission (the steadiest measure on a loaded machine)")
        for n in (1, 2):
            local, cluster = med[f"--jobs {n}"], med[f"--cluster local:{n}"]
            print(f"cluster overhead, {n} worker(s) vs --jobs {n}: "
                  f"{cluster['per_submission'] - local['per_submission']:+.3f} s per submission (steady), "
                  f"{(cluster['wall'] - local['wall']) / args.copies:+.3f} s per submission (whole command, "
                  "the LocalCluster's start included)")
        if args.json:
            with open(args.json, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"copies": args.copies, "submission": str(source), "measured": measured,
                                         "machine": machine_line()}) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
