"""Smoke tests of the benchmark scripts (bench/): they run on a tiny input and print their tables.

No benchmark is run here: the demo course's trivial submission, one repetition. The real
numbers and how to reproduce them are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
DEMO = ROOT / "tests" / "course"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402
import otter_build  # noqa: E402

ENV = common.bench_env()


def run(args: list[str], cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


def header_of(output: str, first: str) -> list[str]:
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no table starting with {first!r} in:\n{output}")


@pytest.mark.parametrize("exercise", otter_build.all_exercises())
def test_otter_tests_are_current_and_mirror_the_suite(exercise):
    """The committed OK-format files are what the generator writes, with the suite's names."""
    assert otter_build.stale_tests(exercise) == [], "run: python bench/otter_build.py --write-tests"
    if exercise == "demo":
        return
    suite = (ROOT / "solutions" / exercise / f"test_{exercise}.py").read_text()
    for name, _points, _hidden in otter_build.questions(exercise):
        assert f"def {name}(" in suite, f"{name} is not a test of the grader's suite"


@pytest.mark.parametrize("exercise", ["02_callback", "03_cnn"])
def test_otter_budgets_are_the_cpu_profile(exercise):
    """The otter twins train on the CPU profile's budget, so their verdicts are comparable."""
    from grader.config import load_course

    checks = otter_build.checks_module(exercise)
    course = load_course(ROOT / "autograder.toml")
    profile = course.profile(course.assignment(exercise), "cpu")
    assert {k: profile[k] for k in checks.BUDGET} == checks.BUDGET
    assert checks.SEED == course.seed


def test_student_notebook_puts_a_py_into_the_master():
    sub = common.find_submission("04_convolution", "wrong_flipped_kernel")
    nb = common.student_notebook(sub.source, sub.exercise)
    graded = [c.source for c in nb.cells if c.cell_type == "code" and "graded" in c.metadata.get("tags", [])]
    assert graded[0].startswith("# GRADED: convolve") and "[::-1, ::-1]" in graded[0]
    assert "BEGIN SOLUTION" not in "".join(graded)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("grader.check" in c for c in code)
    assert not any("grader.check" in c.source for c in common.without_checks(nb).cells if c.cell_type == "code")


def test_compare_prints_the_table_on_the_demo_course():
    proc = run([str(BENCH / "compare.py"), "--config", "autograder.toml", "--exercises", "demo",
                "--submissions", "good", "--corpus", "submissions", "--plain", "--repeats", "1",
                "--methods", "grader,nbexec"], cwd=DEMO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert header_of(proc.stdout, "submission") == ["submission", "method", "wall s (median)", "min-max",
                                                    "peak RSS", "x grader", "score", "agree", "load"]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| demo/good")]
    assert len(rows) == 2
    assert "| 7/7 " in rows[0] and "reference" in rows[0]
    assert "| 7/7 " in rows[1] and "5/5 yes" in rows[1]


def test_otter_autograder_zip_builds(tmp_path):
    zip_path = otter_build.build_autograder("demo", tmp_path)
    import zipfile

    names = zipfile.ZipFile(zip_path).namelist()
    assert "files/bench_checks.py" in names and "tests/test_add_small.py" in names


def test_overhead_instrumented_run_accounts_for_the_time():
    proc = run([str(BENCH / "overhead.py"), "--one", str(DEMO / "submissions" / "good.py"), "--exercise", "demo",
                "--config", str(DEMO / "autograder.toml")], cwd=DEMO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
    assert data["score"] == "7/7" and data["status"] == "ok"
    assert set(data["times"]) == set(__import__("overhead").STEPS)
    assert data["times"]["sandbox start (worker, confinement)"] > 0
    assert sum(data["times"].values()) <= data["total"] + 0.5


def test_fidelity_tables_from_results():
    import fidelity

    run_ok = {"status": "ok", "score": 3, "max_score": 3, "seconds": 1.0,
              "tests": {"a": {"passed": True, "output": "", "seconds": 0.1}}}
    data = {"profiles": {"x/s.py": {"cpu": run_ok, "gpu": run_ok}}, "repeat": {"x/s.py": [run_ok] * 5}}
    assert "| x/s.py" in fidelity.profiles_table(data) and "yes" in fidelity.profiles_table(data)
    assert "3, 3, 3, 3, 3" in fidelity.repeat_table(data)


@pytest.mark.skipif(os.environ.get("BENCH_SMOKE_OTTER") != "1", reason="otter run takes ~10 s more; BENCH_SMOKE_OTTER=1")
def test_compare_with_otter_on_the_demo_course():
    proc = run([str(BENCH / "compare.py"), "--config", "autograder.toml", "--exercises", "demo",
                "--submissions", "good", "--corpus", "submissions", "--plain", "--repeats", "1",
                "--methods", "grader,otter"], cwd=DEMO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any(line.startswith("| demo/good") and "| otter " in line and "5/5 yes" in line
               for line in proc.stdout.splitlines())
