"""Grade by executing the whole notebook, as nbgrader and otter do, then run otter's checks.

``python bench/nbexec.py NOTEBOOK --exercise NAME [--json OUT]``: the notebook runs top to
bottom in a fresh Jupyter kernel (nbclient, errors allowed, generous timeout) in a
temporary folder holding ``bench_checks.py``; a last cell then runs every OK-format test
of ``bench/otter/<exercise>/tests/`` against the kernel's globals (otter's own
``OKTestFile``, the checks ``otter run`` uses) and writes the verdicts. No otter
orchestration (zip, logging server, grading preprocessor): method (c) of bench/compare.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHECK_CELL = """\
import glob as _glob, json as _json
from otter.test_files import OKTestFile as _OKTestFile
_bench_results = {{}}
for _path in sorted(_glob.glob({tests!r} + "/*.py")):
    _test = _OKTestFile.from_file(_path)
    _test.run(globals())
    _bench_results[_test.name] = {{"passed": bool(_test.passed_all), "score": float(_test.score),
                                   "max_score": float(_test.possible)}}
with open({out!r}, "w") as _f:
    _json.dump(_bench_results, _f)
"""


def execute(notebook: Path, exercise: str, timeout: float = 3600) -> dict:
    import nbformat
    from nbclient import NotebookClient

    source = HERE / "otter" / exercise
    work = Path(tempfile.mkdtemp(prefix="bench-nbexec-"))
    try:
        shutil.copy(source / "bench_checks.py", work / "bench_checks.py")
        shutil.copytree(source / "tests", work / "tests")
        out = work / "verdicts.json"
        nb = nbformat.read(notebook, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(CHECK_CELL.format(tests=str(work / "tests"), out=str(out))))
        start = time.perf_counter()
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(work)}})
        client.execute()
        seconds = time.perf_counter() - start
        errors = [o.get("ename") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        verdicts = json.loads(out.read_text()) if out.is_file() else {}
        return {"tests": verdicts, "seconds": round(seconds, 2), "cell_errors": errors,
                "score": sum(v["score"] for v in verdicts.values()),
                "max_score": sum(v["max_score"] for v in verdicts.values())}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebook", type=Path)
    p.add_argument("--exercise", required=True)
    p.add_argument("--timeout", type=float, default=3600, help="seconds per cell")
    p.add_argument("--json", type=Path, help="write the verdicts here too")
    args = p.parse_args(argv)
    result = execute(args.notebook, args.exercise, args.timeout)
    if args.json:
        args.json.write_text(json.dumps(result), "utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
