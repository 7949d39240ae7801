"""Writes the corpus's notebooks (run from anywhere: `python tests/hostile/make_notebooks.py`).

The 200 MB notebook is not here: tests/hostile/test_hostile.py writes it at test time.
"""

from pathlib import Path

import nbformat
from nbformat import v3
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
OUT = HERE / "submissions"
COURSE = HERE.parent / "course"

IMPORTS = "import numpy as np"
SCALE = "def scale(x):\n    return x / np.max(np.abs(x))"
PREDICT = "def predict_labels(probs):\n    return np.argmax(probs, axis=1)"
RATE = "RATE = 0.01"
EXPLORE = "model = make_model(8)\nmodel.fit(np.zeros((10, 4)), np.zeros(10), epochs=1000)"
META = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "grader": {"assignment": "demo_model"}}


def graded(label: str, source: str, tag: bool = True):
    return new_code_cell(f"# GRADED: {label}\n{source}", metadata={"tags": ["graded"]} if tag else {})


def write(name: str, cells: list, metadata: dict | None = None) -> None:
    nb = new_notebook(cells=cells, metadata=metadata or META)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{Path(name).stem.replace('_', '-')}-{i}"
    nbformat.write(nb, str(OUT / name))


def main() -> None:
    # graded tags and `# GRADED:` lines removed (cells copied into a fresh notebook): still 4/8
    write("untagged.ipynb", [
        new_markdown_cell("# Demo model\nMy copy, re-created cell by cell."),
        new_code_cell(IMPORTS),
        new_code_cell(SCALE),
        new_code_cell(PREDICT),
        new_code_cell(RATE),
        new_code_cell(EXPLORE),
    ])
    # the graded cells deleted: only the lesson, the imports and exploration remain: 0/8
    write("deleted_cells.ipynb", [
        new_markdown_cell("# Demo model"),
        new_code_cell(IMPORTS),
        new_code_cell("x = np.arange(4.0)\nprint(x / x.max())"),
    ])
    # a syntax error in one graded cell: that cell is lost, the others score: 2/8
    write("syntax_error_cell.ipynb", [
        new_code_cell(IMPORTS),
        graded("scale", "def scale(x):\n    return x / np.max(np.abs(x)"),
        graded("predict_labels", PREDICT),
        graded("rate", RATE),
    ])
    # the other exercise's notebook (the demo assignment's master): 0/8, names missing
    demo = nbformat.read(str(COURSE / "demo" / "demo.ipynb"), as_version=4)
    nbformat.write(demo, str(OUT / "wrong_exercise.ipynb"))
    # an nbformat 3 notebook (worksheets, `input` instead of `source`): converted, 4/8
    old = v3.new_notebook(name="old", metadata={"grader": {"assignment": "demo_model"}})
    old.worksheets.append(v3.new_worksheet(cells=[
        v3.new_text_cell("markdown", source="# Demo model, saved by an old Jupyter"),
        v3.new_code_cell(input=IMPORTS),
        v3.new_code_cell(input=f"# GRADED: scale\n{SCALE}"),
        v3.new_code_cell(input=f"# GRADED: predict_labels\n{PREDICT}"),
        v3.new_code_cell(input=f"# GRADED: rate\n{RATE}"),
    ]))
    (OUT / "nbformat3.ipynb").write_text(v3.writes_json(old) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
