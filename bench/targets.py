"""The performance targets of the CPU profile (issue 5), measured.

``--part full``
    (1) a complete submission of all four exercises: ONE ``grader grade`` call on the four
    solution notebooks with ``--jobs 1``; target: <= 60 s wall in total.
``--part jobs``
    (3) a batch of 20 submissions of the fast exercises (10 of 04_convolution's corpus, 10
    of 01_keras_basics', copied with the assignment's name in the file name so the batch
    infers it) graded with ``--jobs 1`` and with ``--jobs 2``; target: ``--jobs 2`` has
    >= 1.6x the throughput of ``--jobs 1``. Both runs must give the same scores.
    ``--batch-exercises 02_callback,03_cnn --batch 8`` measures the training exercises.

(2), the engine's overhead per submission, is bench/overhead.py. Every wall time is the
median of ``--repeats`` runs (interleaved), each with the 1-minute load at its start.

Examples::

    python bench/targets.py --part full --repeats 3
    python bench/targets.py --part jobs --repeats 2 --batch 20
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    COURSE,
    EXERCISES,
    GRADER,
    corpus,
    load,
    machine_line,
    master_notebook,
    median,
    mib,
    run_measured,
    save_json,
    table,
)


def grades(out: Path) -> dict[str, tuple[str, str, str]]:
    path = out / "grades.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    key = next((k for k in (rows[0].keys() if rows else []) if k.lower() in ("submission", "name")), None)
    result = {}
    for row in rows:
        name = row.get(key or "submission", "")
        result[name] = (row.get("score", ""), row.get("max_score", row.get("max", "")), row.get("status", ""))
    return result


def execution_times(out: Path) -> dict[str, float]:
    import json

    times = {}
    for path in sorted(out.glob("submissions/*/result.full.json")):
        data = json.loads(path.read_text())
        times[path.parent.name] = float(data.get("execution_time", 0.0))
    return times


def part_full(repeats: int, work: Path, config: Path) -> dict:
    notebooks = [master_notebook(e, config) for e in EXERCISES]
    runs = []
    for rep in range(repeats):
        out = work / f"full-{rep}"
        cmd = [GRADER, "grade", *map(str, notebooks), "--out", str(out), "--jobs", "1", "--force", "--quiet",
               "--assignment", "each"]  # one notebook of each exercise
        m = run_measured(cmd, cwd=config.parent)
        runs.append({"wall": round(m.wall, 1), "peak_rss": m.peak_rss, "load": m.load_before,
                     "execution": execution_times(out), "grades": grades(out), "rc": m.returncode})
        print(f"[{time.strftime('%H:%M:%S')}] full #{rep + 1}: {m.wall:.1f} s, {mib(m.peak_rss)}, load {m.load_before}",
              file=sys.stderr, flush=True)
        if m.returncode:
            print(m.stderr[-2000:], file=sys.stderr)
    wall = median([r["wall"] for r in runs])
    rows = [[name, f"{median([r['execution'].get(name, float('nan')) for r in runs]):.1f}",
             "/".join(runs[0]["grades"].get(name, ("?", "?"))[:2])] for name in runs[0]["execution"]]
    rows.append(["total: one `grader grade --jobs 1` call", f"{wall:.1f} (runs: " + ", ".join(
        f"{r['wall']:.0f}" for r in runs) + ")", "target <= 60 s: " + ("met" if wall <= 60 else "MISSED")])
    print(f"\n(1) a complete submission of the four exercises, --jobs 1 (median of {repeats}; loads at start: "
          + "; ".join(r["load"].split(",")[0] for r in runs) + ")")
    print(table(rows, ["notebook", "seconds (runner's execution_time, median)", "score"]))
    return {"runs": runs, "wall": wall, "rows": rows}


def batch_folder(work: Path, size: int, exercises: list[str]) -> Path:
    """``size`` corpus files of ``exercises`` (as evenly as possible), named after their exercise."""
    folder = work / "batch"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    picked = []
    for k, exercise in enumerate(exercises):
        share = size // len(exercises) + (1 if k < size % len(exercises) else 0)
        picked += [(exercise, p) for p in corpus(exercise) if p.suffix == ".py"][:share]
    i = 0
    while len(picked) < size:  # not enough files: copies
        picked.append(picked[i])
        i += 1
    for n, (exercise, path) in enumerate(picked):
        shutil.copy(path, folder / f"{exercise}__{n:02d}_{path.stem}.py")
    return folder


def part_jobs(repeats: int, work: Path, size: int, config: Path, exercises: list[str]) -> dict:
    folder = batch_folder(work, size, exercises)
    runs: dict[int, list] = {1: [], 2: []}
    for rep in range(repeats):
        for jobs in (1, 2):
            out = work / f"jobs{jobs}-{rep}"
            cmd = [GRADER, "grade", str(folder), "--out", str(out), "--jobs", str(jobs), "--force", "--quiet",
                   "--assignment", "each"]  # the folder may mix exercises
            m = run_measured(cmd, cwd=config.parent)
            g = grades(out)
            runs[jobs].append({"wall": round(m.wall, 1), "peak_rss": m.peak_rss, "load": m.load_before,
                               "load_after": m.load_after, "grades": g, "rc": m.returncode})
            print(f"[{time.strftime('%H:%M:%S')}] --jobs {jobs} #{rep + 1}: {len(g)} graded in {m.wall:.1f} s, "
                  f"{mib(m.peak_rss)}, load {m.load_before}", file=sys.stderr, flush=True)
    rows = []
    walls = {j: median([r["wall"] for r in runs[j]]) for j in runs}
    for jobs in (1, 2):
        rows.append([f"--jobs {jobs}", f"{walls[jobs]:.1f}", ", ".join(f"{r['wall']:.0f}" for r in runs[jobs]),
                     f"{size / walls[jobs] * 60:.1f}", mib(median([r['peak_rss'] for r in runs[jobs]])),
                     "; ".join(r["load"].split(",")[0] for r in runs[jobs])])
    speedup = walls[1] / walls[2]
    same = all(r["grades"] == runs[1][0]["grades"] for j in runs for r in runs[j])
    print(f"\n(3) a batch of {size} submissions ({' and '.join(exercises)}), median of {repeats}")
    print(table(rows, ["batch", "wall s (median)", "runs", "submissions/min", "peak RSS", "load at start"]))
    print(f"throughput --jobs 2 / --jobs 1 = {speedup:.2f}x (target >= 1.6x: {'met' if speedup >= 1.6 else 'MISSED'}); "
          f"same scores in every run: {'yes' if same else 'NO'}")
    return {"runs": runs, "walls": walls, "speedup": speedup, "same_scores": same}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=["full", "jobs", "all"], default="all")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--batch-exercises", default="04_convolution,01_keras_basics",
                   help="whose corpus files make the batch (default: the two fast exercises)")
    p.add_argument("--config", type=Path, default=COURSE)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-targets-"))
    print(f"machine: {machine_line()}")
    report = {"machine": machine_line()}
    if args.part in ("full", "all"):
        report["full"] = part_full(args.repeats, work, args.config.resolve())
    if args.part in ("jobs", "all"):
        report["jobs"] = part_jobs(args.repeats, work, args.batch, args.config.resolve(),
                                   [e for e in args.batch_exercises.split(",") if e])
    print(f"\nload now {load()}")
    save_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
