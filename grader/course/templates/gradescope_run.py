"""Grade the submission in <root>/submission; write <root>/results/results.json.

Written by `grader bundle --gradescope`. Whatever happens, results.json is written.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ASSIGNMENT = "@assignment@"
SKIP = {".ipynb_checkpoints", "__MACOSX", "__pycache__"}


def write_results(results: Path, data: dict) -> None:
    results.mkdir(parents=True, exist_ok=True)
    tmp = results / ".results.json.tmp"
    tmp.write_text(json.dumps(data, indent=2), "utf-8")
    os.replace(tmp, results / "results.json")


def failure(message: str) -> dict:
    return {"score": 0.0, "output": message, "visibility": "visible", "stdout_visibility": "hidden",
             "tests": [], "extra_data": {"status": "error", "assignment": ASSIGNMENT}}


def pick(folder: Path) -> tuple:
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not (set(p.parts) & SKIP)
             and not p.name.startswith(".")]
    for suffix in (".ipynb", ".py"):
        found = [p for p in files if p.suffix == suffix]
        if not found:
            continue
        exact = [p for p in found if p.stem == ASSIGNMENT]
        named = [p for p in found if ASSIGNMENT.lower() in p.name.lower()]
        chosen = (exact or named or found)[0]
        note = ""
        if len(found) > 1:
            note = (f"{len(found)} {suffix} files were submitted; graded {chosen.name} "
                    f"(others: {', '.join(p.name for p in found if p != chosen)}).")
        return chosen, note, files
    return None, "", files


def manifest_note(folder: Path, chosen: Path) -> str:
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return ""
    try:
        data = json.loads(manifest.read_text("utf-8"))
        if data.get("file") != chosen.name:
            return ""
        if hashlib.sha256(chosen.read_bytes()).hexdigest() != data.get("sha256"):
            return f"Note: {chosen.name} differs from the copy `grader submit` checked (manifest sha256)."
        return f"{chosen.name} matches the copy `grader submit` checked on {data.get('created', '?')}."
    except (OSError, ValueError, AttributeError):
        return ""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    root = Path(parser.parse_args().root)
    source, submission, results = root / "source", root / "submission", root / "results"
    try:
        chosen, note, files = pick(submission)
        if chosen is None:
            listing = ", ".join(p.name for p in files) or "nothing"
            write_results(results, failure(
                f"No notebook (.ipynb) or Python file (.py) was found in your submission (found: {listing}). "
                f"Upload {ASSIGNMENT}.ipynb."))
            return 0
        out = Path(tempfile.mkdtemp(prefix="grader-gradescope-"))
        cmd = [sys.executable, "-m", "grader.cli", "--config", str(source / "course" / "autograder.toml"),
               "grade", str(chosen), "--assignment", ASSIGNMENT, "--out", str(out), "--device", "cpu", "--quiet"]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        print(proc.stdout)
        print(proc.stderr, file=sys.stderr)
        done = sorted(out.glob("submissions/*/results.json"))
        if not done:
            tail = " | ".join(proc.stderr.strip().splitlines()[-5:])
            write_results(results, failure(f"The autograder could not grade {chosen.name} (exit {proc.returncode}): {tail}"))
            return 0
        data = json.loads(done[0].read_text("utf-8"))
        notes = [n for n in (note, manifest_note(chosen.parent, chosen)) if n]
        if notes:
            data["output"] = "\n".join(notes) + "\n\n" + data.get("output", "")
        write_results(results, data)
    except Exception as exc:  # noqa: BLE001 - Gradescope needs a results.json whatever happens
        write_results(results, failure(f"The autograder failed: {type(exc).__name__}: {exc}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
