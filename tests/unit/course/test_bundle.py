"""`grader bundle --gradescope`: the zip, unpacked into a folder laid out like /autograder.

run_autograder runs for real (AUTOGRADER_ROOT points it at the tmp folder; this venv's
python is first on PATH, as setup.sh's venv would be on Gradescope). setup.sh is not run
whole (it needs apt and PyPI): its shell syntax is checked, its first step (the Python
version check) runs against fake `python3`s, and the grader source it installs is built into
a wheel offline, whose requirements are read back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[2] / "course"
GRADER = [sys.executable, "-m", "grader.cli", "--config", str(COURSE / "autograder.toml")]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("bundle")
    out = tmp / "demo-autograder.zip"
    proc = subprocess.run([*GRADER, "bundle", "--gradescope", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout
    return out


def _autograder(tmp: Path, bundle: Path, files: dict[str, bytes]) -> Path:
    """A folder like Gradescope's /autograder: source/ unpacked, run_autograder copied up."""
    root = tmp / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # zipfile does not restore permissions
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(root / "source" / info.filename, mode)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    return root


def _run(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("GRADER_CONFIG", None)
    proc = subprocess.run([str(root / "run_autograder")], capture_output=True, text=True, env=env,
                          timeout=180, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return json.loads((root / "results" / "results.json").read_text("utf-8"))


def test_bundle_layout_follows_gradescope(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) for i in zf.infolist()}
        config = zf.read("course/autograder.toml").decode()
    assert {"setup.sh", "run_autograder", "gradescope_run.py", "bundle.json"} <= names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert "course/demo/test_demo.py" in names
    assert "grader_src/pyproject.toml" in names and "grader_src/grader/cli.py" in names
    assert not [n for n in names if n.endswith((".ipynb", ".npz", ".gz", ".dat"))]  # no notebooks, no datasets
    assert not [n for n in names if "make_notebook" in n or "__pycache__" in n or "submissions/" in n]
    from grader.course.bundle import tomllib

    parsed = tomllib.loads(config)
    assert list(parsed["assignments"]) == ["demo"]  # only this assignment
    assert parsed["course"]["seed"] == 7 and "data_dir" not in parsed["course"]
    assert parsed["assignments"]["demo"]["manual"] == [{"name": "why", "points": 2, "prompt": "Why?"}]


def test_run_autograder_grades_a_submission(bundle, tmp_path):
    good = (COURSE / "submissions" / "good.py").read_bytes()
    results = _run(_autograder(tmp_path, bundle, {"good.py": good}))
    assert results["score"] == 7.0
    tests = {t["name"]: t for t in results["tests"]}
    assert len(tests) == 6  # 5 checks + the pending explanation question
    assert tests["add: random integers"]["visibility"] == "after_published"
    assert tests["add: 2 + 3"]["score"] == 1.0 and tests["add: 2 + 3"]["max_score"] == 1.0
    assert tests["why (explanation, graded by your instructor)"]["max_score"] == 2
    assert results["extra_data"]["max_score"] == 7.0


def test_run_autograder_takes_the_package_of_grader_submit(bundle, tmp_path):
    """What `grader submit` writes, unzipped as Gradescope does: the notebook + manifest."""
    from grader.course.submit import sha256

    wrong = (COURSE / "submissions" / "wrong.py").read_bytes()
    manifest = {"file": "demo.py", "sha256": sha256(wrong), "bytes": len(wrong), "created": "today"}
    results = _run(_autograder(tmp_path, bundle, {"demo.py": wrong, "manifest.json": json.dumps(manifest).encode(),
                                                  "notes.txt": b"hello"}))
    assert results["score"] == 0.0
    assert "matches the copy `grader submit` checked" in results["output"]
    failed = [t for t in results["tests"] if t.get("status") == "failed"]
    assert any("you multiplied" in t["output"] for t in failed)


def test_run_autograder_without_a_notebook_still_writes_results(bundle, tmp_path):
    results = _run(_autograder(tmp_path, bundle, {"readme.txt": b"oops"}))
    assert results["score"] == 0.0 and results["tests"] == []
    assert "No notebook (.ipynb) or Python file (.py) was found" in results["output"]
    assert "readme.txt" in results["output"]


def test_setup_sh_is_valid_and_the_grader_source_builds(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path / "src")
    setup = tmp_path / "src" / "setup.sh"
    subprocess.run(["bash", "-n", str(setup)], check=True)
    text = setup.read_text()
    assert 'pip install "$SOURCE/grader_src"' in text and "python3-venv" in text
    assert text.index("python3 --version") < text.index("apt-get install -y --no-install-recommends python3-venv")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           str(tmp_path / "src" / "grader_src"), "-w", str(tmp_path / "wheel")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    wheel = next((tmp_path / "wheel").glob("tf_grader-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        assert "grader = grader.cli:main" in zf.read(entry).decode()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "grader/course/bundle.py" in names and "grader/worker/main.py" in names
    # what `pip install grader_src` installs: the runtime dependencies, no extra at all
    installed = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    packages = {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in installed}
    assert {"tensorflow", "keras", "numpy", "pytest", "nbformat"} <= packages
    assert not packages & {"otter-grader", "nbclient", "nbconvert", "ruff", "pytest-timeout"}, installed
    assert not [r for r in installed if "extra ==" in r] and "Provides-Extra" not in metadata
    with zipfile.ZipFile(bundle) as zf:
        described = json.loads(zf.read("bundle.json"))["requirements"]
    from packaging.requirements import Requirement  # pytest's own dependency

    assert {str(Requirement(r)) for r in described} == {str(Requirement(r)) for r in installed}


def _fake_python(folder: Path, version_line: str) -> dict[str, str]:
    """A PATH whose `python3` is a shell script printing what setup.sh's check reads."""
    folder.mkdir()
    fake = folder / "python3"
    fake.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_setup_sh_refuses_a_python_older_than_3_10(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zf:
        zf.extract("setup.sh", tmp_path)
    setup = tmp_path / "setup.sh"
    # Ubuntu 20.04's python3: setup.sh stops before it installs anything, and says what to do
    old = subprocess.run(["bash", str(setup)], env=_fake_python(tmp_path / "old", "Python 3.8.10"),
                         capture_output=True, text=True, timeout=30)
    assert old.returncode == 1
    assert "needs Python >= 3.10" in old.stderr and "Python 3.8.10" in old.stderr
    assert "Ubuntu 22.04" in old.stderr and "base image" in old.stderr
    assert "apt-get" not in old.stdout + old.stderr  # nothing ran after the check
    # Ubuntu 22.04's and 24.04's pass the check (--check-python: the check alone)
    for version in ("Python 3.10.12", "Python 3.12.3"):
        new = subprocess.run(["bash", str(setup), "--check-python"],
                             env=_fake_python(tmp_path / version.split()[1], version),
                             capture_output=True, text=True, timeout=30)
        assert new.returncode == 0, new.stderr
        assert version in new.stdout


def test_dump_toml_round_trips():
    from grader.course.bundle import dump_toml, tomllib

    data = {"course": {"name": 'a "quoted" name\nwith a newline', "seed": 3},
            "profiles": {"cpu": {"epochs": 2, "ratio": 0.5, "on": True}, "gpu": {"epochs": 20}},
            "assignments": {"x.y": {"graded": ["f", "g"], "limits": {"timeout": 60},
                                    "manual": [{"name": "q1", "points": 1.5}, {"name": "q2", "points": 2}]}}}
    assert tomllib.loads(dump_toml(data)) == data


# ---------------------------------------------------------------------- the CI example
WORKFLOW = Path(__file__).resolve().parents[3] / "examples" / "github-classroom" / ".github" / "workflows" / "grade.yml"


def test_github_workflow_steps_grade_and_write_the_step_summary(tmp_path):
    """The workflow's own `run:` scripts, run with bash in a workspace laid out like the job's."""
    import xml.etree.ElementTree as ET

    import yaml

    workflow = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    steps = {s.get("name"): s for s in workflow["jobs"]["grade"]["steps"]}
    uploaded = steps["Upload the results"]["with"]["path"].split()
    assert steps["Summary"]["if"] == "always()" and "grading-out/**/junit.xml" in uploaded
    workspace = tmp_path / "ws"
    (workspace / "submission").mkdir(parents=True)
    shutil.copy(COURSE / "submissions" / "wrong.py", workspace / "submission" / "demo.py")
    shutil.copytree(COURSE, workspace / "course", ignore=shutil.ignore_patterns("submissions", "__pycache__"))
    summary = tmp_path / "step_summary.md"
    env = {**os.environ, "GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "GRADER_OFFLINE": "1"}
    env.update({k: str(v) for k, v in workflow["env"].items()})
    env.update({"ASSIGNMENT": "demo", "NOTEBOOK": "demo.py"})
    for name in ("Grade", "Summary"):
        for key, value in steps[name].get("env", {}).items():
            env[key] = value.replace("${{ github.workspace }}", str(workspace))
        assert "${{" not in steps[name]["run"]  # plain bash: runs the same here and on GitHub
        proc = subprocess.run(["bash", "-eo", "pipefail", "-c", steps[name]["run"]], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, f"{name}: {proc.stderr[-2000:]}"
    text = summary.read_text("utf-8")
    assert text.startswith("## Grading: demo")
    assert "| submission | assignment | status | score | max_score | manual:why | pending_manual | total | max_total |" in text
    assert "| demo | demo | ok | 0 | 7 | 0 | 0 | 0 | 9 |" in text  # no answer in a .py: 0 manual points
    assert "[FAIL] 0/1  add: 2 + 3" in text and "you multiplied" in text
    assert "add(-754" not in text  # the hidden check's message stays hidden
    junit = ET.parse(workspace / "grading-out" / "submissions" / "demo" / "junit.xml").getroot()
    assert junit.tag == "testsuites" and junit.find("testsuite/testcase/failure") is not None
