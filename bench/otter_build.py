"""The otter autograders of the benchmark: OK-format tests from ``bench/otter/<exercise>/``.

Each exercise has ``bench/otter/<exercise>/bench_checks.py`` (the checks, one function per
test of the grader's suite, same names and points; ``QUESTIONS`` lists them) and
``bench/otter/<exercise>/tests/<name>.py``, one OK-format test file per question whose
single doctest case calls the student's code through ``bench_checks.run(name, globals())``.
The test files are generated from ``QUESTIONS`` (``python bench/otter_build.py --write-tests``
rewrites them; tests/integration/test_bench.py checks they are current) and committed.

At bench time :func:`build_autograder` copies them into a temporary folder and runs
``otter generate`` there (``bench_checks.py`` as a support file), which writes the
``autograder.zip`` that ``otter run -a autograder.zip submission.ipynb`` grades with.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, OTTER, bench_env  # noqa: E402

OTTER_DIR = BENCH / "otter"

TEMPLATE = '''OK_FORMAT = True

test = {{
    "name": "{name}",
    "points": {points},
    "all_or_nothing": True,
    "suites": [
        {{
            "cases": [
                {{
                    "code": r"""
>>> import bench_checks as _bench_checks
>>> _bench_checks.run("{name}", globals())
True
""",
                    "hidden": {hidden},
                    "locked": False,
                }}
            ],
            "scored": True,
            "setup": "",
            "teardown": "",
            "type": "doctest",
        }}
    ],
}}
'''


def all_exercises() -> list[str]:
    return sorted(p.parent.name for p in OTTER_DIR.glob("*/bench_checks.py"))


def checks_module(exercise: str):
    """``bench/otter/<exercise>/bench_checks.py`` imported by path."""
    path = OTTER_DIR / exercise / "bench_checks.py"
    spec = importlib.util.spec_from_file_location(f"bench_checks_{exercise}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def questions(exercise: str) -> list[tuple[str, float, bool]]:
    return list(checks_module(exercise).QUESTIONS)


def test_files(exercise: str) -> dict[str, str]:
    """file name -> text of every OK-format test file of ``exercise``."""
    return {f"{name}.py": TEMPLATE.format(name=name, points=points, hidden=bool(hidden))
            for name, points, hidden in questions(exercise)}


def write_tests(exercise: str) -> list[Path]:
    folder = OTTER_DIR / exercise / "tests"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = test_files(exercise)
    for old in folder.glob("*.py"):
        if old.name not in wanted:
            old.unlink()
    written = []
    for name, text in wanted.items():
        (folder / name).write_text(text, "utf-8")
        written.append(folder / name)
    return written


def stale_tests(exercise: str) -> list[str]:
    folder = OTTER_DIR / exercise / "tests"
    wanted = test_files(exercise)
    found = {p.name: p.read_text("utf-8") for p in folder.glob("*.py")} if folder.is_dir() else {}
    return sorted(n for n in set(wanted) | set(found) if wanted.get(n) != found.get(n))


def build_autograder(exercise: str, workdir: Path) -> Path:
    """``otter generate`` in ``workdir/<exercise>``: returns the autograder zip."""
    src = OTTER_DIR / exercise
    target = workdir / exercise
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copytree(src / "tests", target / "tests")
    shutil.copy(src / "bench_checks.py", target / "bench_checks.py")
    zip_path = target / "autograder.zip"
    cmd = [OTTER, "generate", "-t", "tests", "-o", str(zip_path), "--no-config", "--no-requirements",
           "--no-environment", "bench_checks.py"]
    proc = subprocess.run(cmd, cwd=target, env=bench_env(), capture_output=True, text=True)
    if proc.returncode != 0 or not zip_path.is_file():
        raise RuntimeError(f"otter generate failed for {exercise}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    return zip_path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="write the OK-format test files, or build the zips")
    p.add_argument("--write-tests", action="store_true", help="rewrite bench/otter/<exercise>/tests/")
    p.add_argument("--zip-dir", type=Path, help="build the autograder zips in this folder")
    p.add_argument("--exercises", default=",".join(all_exercises()))
    args = p.parse_args(argv)
    for exercise in [e for e in args.exercises.split(",") if e]:
        if args.write_tests:
            print(f"{exercise}: {len(write_tests(exercise))} test files")
        if args.zip_dir:
            print(build_autograder(exercise, args.zip_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
