"""grader.course.builder: the master notebook written from Python, its cells' conventions,
stable cell ids and the scripts' command line (--check, --out)."""

from __future__ import annotations

import nbformat
import pytest

from grader.course.builder import MasterNotebook, stable_ids


def _demo(extra_first: str | None = None, edited: bool = False) -> MasterNotebook:
    nb = MasterNotebook("demo", prompts={"why": "Why 42?"})
    if extra_first:
        nb.md(extra_first)
    nb.md("\n# Demo\n")
    nb.code("import numpy as np")
    nb.graded("add", """
def add(a, b):
    return a + b  # SOLUTION
""", "add")
    nb.graded("stats", "MEAN = 1  # SOLUTION" if not edited else "MEAN = 2  # SOLUTION", ["mean", "std"])
    nb.graded(None, "# GRADED FUNCTION: f\ndef f():\n    pass")
    nb.answer("why", "\nBecause 6 * 7 = 42.\n", points=2)
    return nb


def test_cells_follow_the_grader_conventions():
    cells = _demo().notebook().cells
    assert [c.cell_type for c in cells] == ["markdown", "code", "code", "code", "code", "code", "code",
                                           "code", "markdown", "markdown"]
    assert cells[0].source == "# Demo"  # leading and trailing newlines dropped
    assert cells[2].source == "# GRADED: add\ndef add(a, b):\n    return a + b  # SOLUTION"
    assert cells[2].metadata == {"tags": ["graded"]}
    assert cells[3].source == 'grader.check("add")' and cells[3].metadata == {"tags": ["check"]}
    assert [c.source for c in cells[5:7]] == ['grader.check("mean")', 'grader.check("std")']
    assert cells[7].source.startswith("# GRADED FUNCTION: f") and cells[7].metadata == {"tags": ["graded"]}
    assert cells[8].source == "**Question (why, 2 points).** Why 42?"
    assert cells[9].source == "<!-- ANSWER: why -->\nBecause 6 * 7 = 42." and cells[9].metadata == {"tags": ["answer"]}


def test_one_point_is_singular_and_an_unknown_question_fails():
    nb = MasterNotebook("x", prompts={"q": "What?"})
    nb.answer("q", "yes")
    assert nb.cells[0].source == "**Question (q, 1 point).** What?"
    with pytest.raises(KeyError):
        nb.answer("nope", "no prompt for it")


def test_the_notebook_is_valid_and_names_its_assignment(tmp_path):
    path = _demo().write(tmp_path / "demo.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["grader"] == {"assignment": "demo"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert path.read_text("utf-8").endswith("}\n")


def test_a_rebuild_is_byte_for_byte_and_ids_do_not_depend_on_chance(tmp_path):
    a = _demo().write(tmp_path / "a.ipynb").read_bytes()
    b = _demo().write(tmp_path / "b.ipynb").read_bytes()
    assert a == b  # nbformat's own ids are random: these are derived
    again = _demo().write(tmp_path / "a.ipynb").read_bytes()
    assert again == a
    ids = [c["id"] for c in nbformat.reads(a.decode(), as_version=4).cells]
    assert len(set(ids)) == len(ids)


def test_cells_keep_the_ids_of_the_notebook_they_replace(tmp_path):
    path = _demo().write(tmp_path / "demo.ipynb")
    old = nbformat.read(str(path), as_version=4).cells
    # ids edited by hand (as Jupyter's random ones are) are kept, not recomputed
    raw = nbformat.read(str(path), as_version=4)
    for i, cell in enumerate(raw.cells):
        cell["id"] = f"kept-{i}"
    nbformat.write(raw, str(path))
    _demo().write(path)
    assert [c["id"] for c in nbformat.read(str(path), as_version=4).cells] == [f"kept-{i}" for i in range(len(old))]
    # a cell inserted first: the others keep theirs (matched by text), the new one gets a fresh id
    _demo(extra_first="A new introduction").write(path)
    cells = nbformat.read(str(path), as_version=4).cells
    assert [c["id"] for c in cells[1:]] == [f"kept-{i}" for i in range(len(old))]
    assert not cells[0]["id"].startswith("kept-")
    # back without it, then one cell edited: it keeps the id of the cell at its position
    _demo().write(path)
    _demo(edited=True).write(path)
    cells = nbformat.read(str(path), as_version=4).cells
    assert cells[4].source.endswith("MEAN = 2  # SOLUTION") and cells[4]["id"] == "kept-4"
    assert len({c["id"] for c in cells}) == len(cells)


def test_stable_ids_never_hand_out_one_id_twice():
    cells = [nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("y")]
    previous = [nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("z")]
    previous[0]["id"], previous[1]["id"] = "one", "two"
    ids = stable_ids("n", cells, previous)
    assert ids[0] == "one" and ids[1] == "two"  # same text first, then same position
    assert len(set(ids)) == 3


def test_check_mode_fails_on_a_stale_notebook_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "demo.ipynb"
    assert _demo().main(path, ["--check"]) == 1  # missing
    assert not path.exists()
    assert _demo().main(path, []) == 0
    assert _demo().main(path, ["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    stale = path.read_text("utf-8").replace("Because 6 * 7 = 42.", "Because.")
    path.write_text(stale, "utf-8")
    assert _demo().main(path, ["--check"]) == 1
    assert "is not what make_notebook.py builds: run `python make_notebook.py`" in capsys.readouterr().out
    assert path.read_text("utf-8") == stale


def test_out_writes_elsewhere_with_the_ids_of_the_notebook(tmp_path):
    path = _demo().write(tmp_path / "demo.ipynb")
    other = tmp_path / "other.ipynb"
    assert _demo().main(path, ["--out", str(other)]) == 0
    assert other.read_bytes() == path.read_bytes()
