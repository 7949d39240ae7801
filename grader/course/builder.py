"""An instructor's master notebook, written from a Python script.

A master notebook (the assignment with its solutions, see docs/AUTHORING.md) is easier to
review as plain Python than as notebook JSON, so each ``solutions/<name>/make_notebook.py``
builds its notebook with this module and writes it beside itself::

    from pathlib import Path

    from grader.course.builder import MasterNotebook

    nb = MasterNotebook("02_callback", prompts={"why": "Why does training stop early?"})
    md, code, graded, answer = nb.md, nb.code, nb.graded, nb.answer

    md("# Stop training at 99% accuracy")
    code("import keras")
    graded("train_mnist", '''
    def train_mnist(x, y):
        # BEGIN SOLUTION
        ...
        # END SOLUTION
    ''', "train_mnist")
    answer("why", "**Your answer:** ...")

    nb.main(Path(__file__).with_name("02_callback.ipynb"))

The cells follow the grader's conventions: :meth:`MasterNotebook.graded` writes a code cell
tagged ``graded`` whose first line is ``# GRADED: <label>``, then one ``grader.check("<target>")``
cell tagged ``check`` per target; :meth:`MasterNotebook.answer` writes the question (its prompt,
as in ``[[assignments.<name>.manual]]`` of autograder.toml) and the markdown answer cell tagged
``answer`` whose first line is ``<!-- ANSWER: <question> -->``. Texts lose their leading and
trailing newlines, so triple-quoted strings can start and end on lines of their own.

:meth:`MasterNotebook.main` is the script's command line: no argument writes the notebook;
``--check`` writes nothing and exits 1 when the notebook on disk is not what the script builds
(tests/unit/course/test_generated.py runs it for every script); ``--out PATH`` writes elsewhere.
Cell ids are stable: a cell keeps the id it has in the notebook being replaced (same type and
text, else same type at the same position), and a new cell gets an id derived from the
notebook's name, its position and its text, so a script rebuilds its notebook byte for byte.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


class MasterNotebook:
    """The cells of one assignment's master notebook, in order."""

    def __init__(self, name: str, *, prompts: dict[str, str] | None = None) -> None:
        self.name = name
        self.prompts = dict(prompts or {})
        self.cells: list[Any] = []

    # ------------------------------------------------------------------ cells
    def md(self, text: str) -> None:
        """A markdown cell."""
        self.cells.append(new_markdown_cell(text.strip("\n")))

    def code(self, text: str) -> None:
        """A code cell the grader never runs (lesson, exploration, plots)."""
        self.cells.append(new_code_cell(text.strip("\n")))

    def graded(self, label: str | None, text: str, target: str | Sequence[str] = ()) -> None:
        """A graded cell: tagged ``graded``, first line ``# GRADED: <label>`` (none when ``label``
        is None: the text brings its own, e.g. a course's ``# GRADED FUNCTION: name``), then a
        ``grader.check("<target>")`` cell tagged ``check`` for each target."""
        header = f"# GRADED: {label}\n" if label is not None else ""
        self.cells.append(new_code_cell(header + text.strip("\n"), metadata={"tags": ["graded"]}))
        for name in [target] if isinstance(target, str) else target:
            self.cells.append(new_code_cell(f'grader.check("{name}")', metadata={"tags": ["check"]}))

    def answer(self, question: str, text: str, *, points: float = 1) -> None:
        """The question (its prompt from ``prompts``), then the answer cell the grader collects."""
        unit = "point" if points == 1 else "points"
        self.cells.append(new_markdown_cell(f"**Question ({question}, {points:g} {unit}).** "
                                            f"{self.prompts[question]}"))
        self.cells.append(new_markdown_cell(f"<!-- ANSWER: {question} -->\n" + text.strip("\n"),
                                            metadata={"tags": ["answer"]}))

    # ------------------------------------------------------------------ the notebook
    def notebook(self, previous: Path | str | None = None) -> Any:
        """The validated notebook; cell ids kept from ``previous`` (a notebook file) if it exists."""
        cells = [nbformat.from_dict(dict(cell)) for cell in self.cells]  # copies: ids are set below
        old = []
        if previous is not None and Path(previous).is_file():
            old = nbformat.read(str(previous), as_version=4).cells
        for cell, cell_id in zip(cells, stable_ids(self.name, cells, old), strict=True):
            cell["id"] = cell_id
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": dict(KERNELSPEC),
            "language_info": {"name": "python"},
            "grader": {"assignment": self.name},
        })
        nbformat.validate(nb)
        return nb

    def text(self, previous: Path | str | None = None) -> str:
        """The notebook file's text, as nbformat.write writes it."""
        text = nbformat.writes(self.notebook(previous))
        return text if text.endswith("\n") else text + "\n"

    def write(self, path: Path | str) -> Path:
        """Write the notebook to ``path`` (ids kept from the file it replaces)."""
        path = Path(path)
        path.write_bytes(self.text(path).encode("utf-8"))
        return path

    def main(self, path: Path | str, argv: Sequence[str] | None = None) -> int:
        """The script's command line (module docstring); exits with its status when run as a script."""
        path = Path(path)
        parser = argparse.ArgumentParser(description=f"Write the master notebook {path.name}.")
        parser.add_argument("--check", action="store_true",
                            help=f"write nothing; exit 1 if {path.name} is not what this script builds")
        parser.add_argument("--out", type=Path, help=f"write here instead of {path} (ids kept from it)")
        args = parser.parse_args(argv)
        script = Path(sys.argv[0]) if argv is None else Path("make_notebook.py")
        if args.check:
            built = self.text(path).encode("utf-8")
            if path.is_file() and path.read_bytes() == built:
                print(f"{path} is up to date")
                return 0
            print(f"{path} is not what {script} builds: run `python {script}` and commit the notebook")
            return 1
        out = args.out or path
        out.write_bytes(self.text(path).encode("utf-8"))
        print("wrote", out)
        return 0


def stable_ids(name: str, cells: Sequence[Any], previous: Sequence[Any]) -> list[str]:
    """An id for each cell: the id of an unused previous cell of the same type and text, else
    of the previous cell at the same position if it has the same type and is unused, else one
    derived from ``name``, the position and the text (made unique)."""
    available = collections.defaultdict(collections.deque)
    for cell in previous:
        if cell.get("id"):
            available[(cell.cell_type, cell.source)].append(cell["id"])
    ids: list[str | None] = []
    taken: set[str] = set()
    for cell in cells:
        queue = available.get((cell.cell_type, cell.source))
        found = queue.popleft() if queue else None
        ids.append(found)
        if found:
            taken.add(found)
    for i, cell in enumerate(cells):
        if ids[i] is None and i < len(previous):
            old = previous[i]
            if old.cell_type == cell.cell_type and old.get("id") and old["id"] not in taken:
                ids[i] = old["id"]
                taken.add(old["id"])
    for i, cell in enumerate(cells):
        if ids[i] is None:
            salt = 0
            while True:
                digest = hashlib.sha256(f"{name}\0{i}\0{salt}\0{cell.source}".encode()).hexdigest()[:8]
                if digest not in taken:
                    break
                salt += 1
            ids[i] = digest
            taken.add(digest)
    return [str(i) for i in ids]
