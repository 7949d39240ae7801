"""The ``grader`` command: grade, check, validate, release (and the instructor's tools)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from grader.config import ConfigError, Course, load_course


def _limits(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k) for k in ("timeout", "memory", "processes") if getattr(args, k, None) is not None}


def _add_limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, help="seconds a submission's code may run (default: autograder.toml)")
    p.add_argument("--memory", help="memory limit, e.g. 3GiB (default: autograder.toml)")
    p.add_argument("--processes", type=int, help="processes/threads limit (default: autograder.toml)")


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '<'}{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*(str(x) for x in row)) for row in rows]
    return "\n".join(lines)


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 0


def cmd_grade(args: argparse.Namespace, course: Course) -> int:
    from grader.batch.batch import grade_batch
    from grader.batch.cluster import ClusterError
    from grader.batch.device import DeviceChoice, choose

    # on a cluster the workers' GPUs count, not this machine's: resolved by grader.batch.cluster
    device = DeviceChoice(args.device, 0) if args.cluster else choose(args.device)
    out = Path(args.out)
    start = time.perf_counter()
    terminal = sys.stderr.isatty() and not args.quiet  # a terminal: a bar; piped: a line each
    bars: list = []  # the tqdm bar once started; never truth-test a tqdm (its __bool__ may raise)
    started = False

    def progress(done: int, total: int) -> None:
        nonlocal started
        if args.quiet:
            return
        if not started:  # first call: the work is planned, say what comes before anything slow
            print(f"grader: {total - done} submission(s) to grade"
                  + (f", {done} already graded in {out}" if done else "")
                  + (f"; on the Dask cluster {args.cluster} (" if args.cluster else
                     f"; starting {min(args.jobs, max(1, total - done))} slot(s) (")
                  + "TensorFlow loads first, "
                  "a few seconds before the first result)", file=sys.stderr, flush=True)
            started = True
            if not terminal:
                return
            from tqdm import tqdm

            # a pseudo-terminal without a window size reports 0 x 0: tqdm would then draw nothing
            size = shutil.get_terminal_size() if _columns(sys.stderr) == 0 else None
            bars.append(tqdm(unit="submission", desc="grading", file=sys.stderr, total=total, initial=done,
                             ncols=size and size.columns, nrows=size and size.lines))
        for bar in bars:
            bar.n = done
            bar.refresh()

    log = (lambda s: None) if (terminal or args.quiet) else (lambda s: print(s, file=sys.stderr, flush=True))
    _use_cache(args, lambda: _cache().batch_dir(course, out))
    try:
        results = grade_batch(
            [Path(p) for p in args.paths], course, out, args.assignment, device, jobs=args.jobs,
            force=args.force, limits=_limits(args), progress=progress, log=log, cluster=args.cluster,
        )
    except ClusterError as exc:  # unreachable, no GPU worker, scheduler lost: one line
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    finally:
        for bar in bars:
            bar.close()
    rows = [[r.submission, r.assignment or "?", r.status, f"{r.score:g}/{r.max_score:g}",
             f"{r.pending_points:g}" if r.pending_points else "", f"{r.execution_time:.1f}"] for r in results]
    print(table(rows, ["submission", "assignment", "status", "score", "pending", "seconds"]))
    devices = ", ".join(sorted({r.device for r in results})) or device.name
    print(f"\n{len(results)} submission(s) on {devices} in {time.perf_counter() - start:.1f} s; "
          f"results in {out}/submissions/<submission>/results.json, gradebook {out / 'grades.csv'}")
    failed = [r.submission for r in results if r.status == "grader-error"]
    if failed:  # the grader's fault, not the students': say so, and exit non-zero
        print(f"grader: {len(failed)} submission(s) with a grader error (the grader or its suite failed, not the "
              f"student): {', '.join(failed)}; details in {out}/submissions/<submission>/result.full.json; "
              "run the same command again to regrade them", file=sys.stderr)
        return 3
    return 0


def _cache():  # noqa: ANN202
    from grader.engine import cache

    return cache


def _use_cache(args: argparse.Namespace, folder) -> None:  # noqa: ANN001
    """The trusted side's cache (grader.engine.cache) for this command's grading processes: they
    inherit GRADER_CACHE_DIR / GRADER_NO_CACHE (the warm parents keep GRADER_* variables)."""
    if getattr(args, "no_cache", False):
        os.environ["GRADER_NO_CACHE"] = "1"
    elif not os.environ.get("GRADER_CACHE_DIR"):
        os.environ["GRADER_CACHE_DIR"] = str(folder())


def cmd_cache(args: argparse.Namespace, course: Course) -> int:
    from grader.engine import cache

    folder = Path(args.dir) if args.dir else cache.batch_dir(course, args.out) if args.out or course.cache_dir \
        else cache.user_dir()
    if args.action == "clear":
        removed = cache.clear(folder)
        print(f"grader: removed {removed} cached measurement(s) from {folder}")
    else:
        data = cache.info(folder)
        print(f"{data['folder']}: {data['entries']} measurement(s), {data['bytes']:,} bytes; "
              f"{data['hits']} hit(s), {data['stores']} store(s) logged")
    return 0


def cmd_check(args: argparse.Namespace, course: Course) -> int:
    from grader.engine.grading import grade_file

    _use_cache(args, lambda: _cache().user_dir())
    result = grade_file(args.notebook, assignment=args.assignment, course=course, device="cpu",
                        public_only=True, targets=tuple(args.target or ()), limits=_limits(args))
    from grader.engine.marks import hidden_check_count
    from grader.reports.results import summary

    hidden = hidden_check_count(course, course.assignment(result.assignment)) if result.assignment else None
    print(summary(result, hidden=False, public_only=True, hidden_checks=hidden), end="")
    return 0 if result.status == "ok" and result.score == result.max_score else 1


def cmd_validate(args: argparse.Namespace, course: Course) -> int:
    from grader.course.release import build_release
    from grader.engine.grading import grade_file

    names = args.names or sorted(course.assignments)
    release = build_release(course, names)
    rows, ok = [], True
    for name in names:
        spec = course.assignment(name)
        student = course.assignments_dir / name / spec.student_notebook_name
        stale = student in release.stale()
        t0 = time.perf_counter()
        master = grade_file(spec.notebook, assignment=name, course=course, device=args.device)
        t1 = time.perf_counter()
        if stale:  # grade what release would write, not an old file
            tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"grader-validate-{os.getpid()}" / spec.student_notebook_name
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(release.files[student], "utf-8")
            blank = grade_file(tmp, assignment=name, course=course, device=args.device)
        else:
            blank = grade_file(student, assignment=name, course=course, device=args.device)
        t2 = time.perf_counter()
        good = master.status == "ok" and master.max_score > 0 and master.score == master.max_score and blank.score == 0
        ok &= good
        rows.append([name, f"{master.score:g}/{master.max_score:g}", f"{t1 - t0:.1f}",
                     f"{blank.score:g}/{blank.max_score:g}", f"{t2 - t1:.1f}", "ok" if good else "FAIL"])
        if not good and not args.quiet:
            from grader.reports.results import summary

            print(summary(master), file=sys.stderr)
            if blank.score:
                print(summary(blank), file=sys.stderr)
    print(table(rows, ["assignment", "solution", "seconds", "blank stub", "seconds", "verdict"]))
    return 0 if ok else 1


def cmd_release(args: argparse.Namespace, course: Course) -> int:
    from grader.course.release import build_release

    release = build_release(course, args.names or None)
    if args.check:
        stale = release.stale()
        for path in stale:
            print(f"stale: {path.relative_to(course.root)} (run `grader release`)", file=sys.stderr)
        print("assignments/ is up to date" if not stale else f"{len(stale)} file(s) out of date")
        return 1 if stale else 0
    for path in release.write():
        print(f"wrote {path.relative_to(course.root)}")
    return 0


def cmd_submit(args: argparse.Namespace, course: Course) -> int:
    from grader.course.submit import submit

    report = submit(args.notebook, course, out=args.out, assignment=args.assignment, run_checks=not args.no_checks)
    return 0 if report.ok else 1


def cmd_bundle(args: argparse.Namespace, course: Course) -> int:
    from grader.course.bundle import BundleError, build_gradescope

    name = args.gradescope
    out = Path(args.out or f"{name}-gradescope.zip")
    try:
        info = build_gradescope(course, name, out)
    except BundleError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    files = info["files"]
    suite = sorted(f for f in files if f.startswith("course/"))
    print(f"wrote {out} ({out.stat().st_size:,} bytes) for Gradescope, assignment {name}:")
    print("  setup.sh, run_autograder, gradescope_run.py")
    print(f"  {', '.join(suite)}")
    print(f"  grader_src/ ({sum(f.startswith('grader_src/') for f in files)} files: the grader package source)")
    datasets = ", ".join(info["datasets_prefetched_by_setup"]) or "none"
    print(f"  datasets: not included; setup.sh prefetches: {datasets}")
    print("Upload it as the autograder of a Gradescope programming assignment (Ubuntu base image).")
    return 0


def cmd_gradebook(args: argparse.Namespace, course: Course) -> int:
    from grader.batch.batch import load_batch
    from grader.files import atomic_write
    from grader.reports.gradebook import csv_text
    from grader.reports.review import (
        POINTS_CSV,
        REVIEW_DIR,
        ManualPointsError,
        merged_gradebook,
        read_points,
    )

    out = Path(args.out)
    if not out.is_dir():
        raise FileNotFoundError(f"no such grading folder: {out}")
    results = load_batch(out)  # OUT/submissions/<name>/ (and the previous, flat layout's OUT/<name>/)
    if not results:
        print(f"grader: no graded submission in {out} (run `grader grade ... --out {out}` first)", file=sys.stderr)
        return 2
    manual = Path(args.manual) if args.manual else out / REVIEW_DIR / POINTS_CSV
    points: dict = {}
    if manual.is_file():
        try:
            points = read_points(manual, results)
        except ManualPointsError as exc:
            print(f"grader: grades.csv unchanged; fix {exc}", file=sys.stderr)
            return 1
    elif args.manual:
        raise FileNotFoundError(f"no such points file: {manual}")
    header, rows = merged_gradebook(results, points)
    atomic_write(out / "grades.csv", csv_text(header, rows))
    shown = ["submission", "assignment", "status", "score", "max_score"]
    shown += [h for h in header if h.startswith("manual:")] + ["pending_manual", "total", "max_total"]
    idx = [header.index(h) for h in shown]
    table_rows = [[row[i] for i in idx] for row in rows]
    if args.markdown:
        def cell(x: str) -> str:
            return x.replace("|", "\\|").replace("\n", " ")

        print("| " + " | ".join(shown) + " |")
        print("|" + "---|" * len(shown))
        for row in table_rows:
            print("| " + " | ".join(cell(x) for x in row) + " |")
    else:
        print(table(table_rows, shown))
    given = len(points)
    asked = sum(len(r.manual) for r in results)
    print(f"\n{len(results)} submission(s); manual points {given} of {asked} given"
          + (f" (from {manual})" if manual.is_file() else "") + f"; wrote {out / 'grades.csv'}")
    return 0


def cmd_mutants(args: argparse.Namespace, course: Course) -> int:
    import json

    from grader.batch.device import choose
    from grader.course.mutants import format_report, measure

    work = Path(args.out) if args.out else None
    _use_cache(args, lambda: _cache().batch_dir(course, work / "grading") if work else course.cache_dir or _cache().user_dir())
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    report = measure(course, args.name, most=args.max, seed=args.seed, jobs=args.jobs, work=work,
                     device=choose(args.device), limits=_limits(args), equiv_timeout=args.equiv_timeout, log=log,
                     resume=args.resume)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=1) + "\n", "utf-8")
    return 1 if args.fail_under is not None and report.score < args.fail_under else 0


def cmd_import_otter(args: argparse.Namespace, course: Course | None) -> int:
    from grader.config import find_config
    from grader.course.otter_import import ImportOtterError, append_entry, convert

    if args.course_dir:
        course_dir = Path(args.course_dir)
    elif args.config:
        course_dir = Path(args.config).resolve().parent
    else:
        found = find_config()
        course_dir = found.parent if found else Path.cwd()
    try:
        conv = convert(args.master, course_dir, name=args.name, force=args.force)
        print(f"wrote {conv.notebook}\nwrote {conv.suite} ({conv.tests} test(s), {conv.hidden} hidden)")
        for q in conv.questions:
            kind = "manual" if q.manual else f"graded names {', '.join(q.graded) or 'none'}"
            print(f"  {q.name}: {q.points:g} point(s), {kind}")
        for warning in conv.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if args.append:
            path = append_entry(course_dir, conv)
            print(f"appended [assignments.{conv.name}] to {path}")
        else:
            print(f"\nAdd to {course_dir / 'autograder.toml'} (or rerun with --append):\n")
            print(conv.entry)
    except ImportOtterError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    print(f"next: grader validate {conv.name} (the solution must score 100%), then grader release {conv.name}")
    return 0


def cmd_doctor(args: argparse.Namespace, course: Course | None) -> int:
    """Start one worker the way a batch would, on this machine as this user, and print
    what its confinement enforced (the same report every result carries)."""
    import getpass

    from grader.config import Limits, find_config
    from grader.engine.sandbox import Isolation, Sandbox, WorkerLost
    from grader.reports.protections import missing, protections

    found = find_config()
    hide = [str(found.parent)] if found else []
    who = "root" if os.geteuid() == 0 else f"the normal user {getpass.getuser()}"
    print(f"grader doctor: one worker started as a batch would, by {who}")
    box = Sandbox(Limits(), Isolation(hide=hide))
    try:
        box.start()
        report = dict(box.report)
    except WorkerLost as exc:
        print(f"grader: the worker could not start: {exc}", file=sys.stderr)
        return 2
    finally:
        box.close()
    rows = [[p.name, "enforced" if p.enforced else "NOT enforced", p.detail[:90]] for p in protections(report)]
    print(table(rows, ["protection", "", "what the worker reported"]))
    gaps = missing(report)
    if gaps:
        print(f"\n{len(gaps)} protection(s) not in force here; docs/SECURITY.md says what each stops and "
              "how to get it (root in a container or VM enforces all of them).")
    else:
        print("\nevery protection is in force for a batch run like this one.")
    return 1 if gaps and args.strict else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade TensorFlow/Keras notebooks safely.")
    parser.add_argument("--config", help="path to autograder.toml (default: found from the working folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("grade", help="grade submissions (files or folders) with all checks")
    p.add_argument("paths", nargs="+")
    p.add_argument("--assignment", help="the batch's assignment (default: the one every file names, by notebook "
                                        "metadata or file name); 'each': every file graded against the assignment "
                                        "it names itself, only for a folder you made (the README's example)")
    p.add_argument("--out", default="grading-out", help="output folder (default: grading-out)")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    p.add_argument("--force", action="store_true", help="regrade submissions already graded in --out")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="grade on a Dask cluster: tcp://HOST:8786, or local:N for N local workers (docs/CLUSTER.md)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--no-cache", action="store_true",
                   help="measure afresh: neither read nor write the trusted side's cache (grader.engine.cache)")
    _add_limits(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("check", help="run the public checks on your notebook")
    p.add_argument("notebook")
    p.add_argument("--assignment")
    p.add_argument("--target", action="append", help="only the checks of this graded name (repeatable)")
    p.add_argument("--no-cache", action="store_true", help="measure afresh (no cached trusted-side training)")
    _add_limits(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("doctor", help="start one worker and print which protections this machine enforces")
    p.add_argument("--strict", action="store_true", help="exit 1 when any protection is not in force")
    p.set_defaults(func=cmd_doctor, needs_course=False)

    p = sub.add_parser("cache", help="the trusted side's cached measurements: clear or show them")
    p.add_argument("action", choices=["clear", "info"])
    p.add_argument("--out", help="the batch's output folder: its cache (default: [course] cache_dir, else "
                                 "grader.check's own cache)")
    p.add_argument("--dir", help="a cache folder given directly")
    p.set_defaults(func=cmd_cache)

    p = sub.add_parser("validate", help="solution gets full marks, blank student notebook gets zero")
    p.add_argument("names", nargs="*")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("release", help="write student notebooks and public tests to assignments/")
    p.add_argument("names", nargs="*")
    p.add_argument("--check", action="store_true", help="exit 1 if assignments/ is out of date")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("submit", help="check your notebook and package it (with a sha256 manifest) for upload")
    p.add_argument("notebook")
    p.add_argument("--out", default=".", help="folder for <assignment>-submission.zip (default: here)")
    p.add_argument("--assignment", help="assignment name (default: from notebook metadata or file name)")
    p.add_argument("--no-checks", action="store_true", help="skip running the public checks")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("bundle", help="write the Gradescope autograder zip of an assignment")
    p.add_argument("--gradescope", required=True, metavar="ASSIGNMENT", help="the assignment to bundle")
    p.add_argument("--out", help="zip to write (default: <assignment>-gradescope.zip)")
    p.set_defaults(func=cmd_bundle)

    p = sub.add_parser("gradebook", help="merge manual points (points.csv) into OUT/grades.csv: per-question columns, total")
    p.add_argument("out", help="the folder `grader grade --out` wrote")
    p.add_argument("--manual", help="points CSV (default: OUT/manual/points.csv when it exists)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for $GITHUB_STEP_SUMMARY)")
    p.set_defaults(func=cmd_gradebook)

    p = sub.add_parser("mutants", help="a suite's mutation score: mutants of the master solution, graded (needs [mutants])")
    p.add_argument("name", help="the assignment whose master notebook is mutated and whose suite grades the mutants")
    p.add_argument("--max", type=int, default=50, help="operator mutants graded at most, a sample (default 50; "
                   "the catalogue's mistakes always come too)")
    p.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    p.add_argument("--jobs", type=int, default=1, help="mutants graded in parallel")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "gpu"])
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--out", help="keep the mutant notebooks and their grading here (default: a temporary folder)")
    p.add_argument("--resume", action="store_true", help="with --out: keep what an interrupted run of the same "
                   "command graded there (same --max, --seed and catalogue)")
    p.add_argument("--equiv-timeout", type=float, default=60.0,
                   help="seconds the equivalence comparison of one survivor may run (default 60)")
    p.add_argument("--fail-under", type=float, metavar="PERCENT", help="exit 1 when the score is below PERCENT")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--no-cache", action="store_true", help="measure afresh (no cached trusted-side training)")
    _add_limits(p)
    p.set_defaults(func=cmd_mutants)

    p = sub.add_parser("import-otter", help="convert an otter-grader master notebook into an exercise (needs [otter])")
    p.add_argument("master", help="the otter-assign master notebook (.ipynb)")
    p.add_argument("--name", help="exercise name (default: the assignment config's name, else the file name)")
    p.add_argument("--course-dir", help="course folder; writes solutions/NAME/ there (default: the course's)")
    p.add_argument("--append", action="store_true", help="append the config entry to autograder.toml (created if missing)")
    p.add_argument("--force", action="store_true", help="overwrite solutions/NAME/ files")
    p.set_defaults(func=cmd_import_otter, needs_course=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        course = load_course(args.config) if getattr(args, "needs_course", True) else None
        return int(args.func(args, course) or 0)
    except ConfigError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a clear line, not a traceback, for known errors
        from grader.batch.device import DeviceError
        from grader.course.release import ReleaseError
        from grader.datasets import DatasetNotFound

        if isinstance(exc, (DatasetNotFound, DeviceError, ReleaseError, FileNotFoundError)):
            print(f"grader: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
