"""Writes demo.ipynb, the master notebook of the engine's test course."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_markdown_cell("# Demo\nA tiny exercise for the engine's tests."),
    new_code_cell("import numpy as np\nimport grader"),
    new_code_cell("# GRADED: add\ndef add(a, b):\n    # BEGIN SOLUTION\n    return a + b\n    # END SOLUTION",
                  metadata={"tags": ["graded"]}),
    new_code_cell('grader.check("add")', metadata={"tags": ["check"]}),
    new_code_cell("# GRADED: mean\ndef mean(x, axis=None):\n    # BEGIN SOLUTION\n    return np.mean(x, axis=axis)\n    # END SOLUTION",
                  metadata={"tags": ["graded"]}),
    new_code_cell("# GRADED: answer\nANSWER = 42  # SOLUTION", metadata={"tags": ["graded"]}),
    new_code_cell("for epoch in range(10**9):\n    pass  # exploration that the grader never runs"),
    new_markdown_cell("<!-- ANSWER: why -->\nBecause 6 * 7 = 42.", metadata={"tags": ["answer"]}),
]
nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                          "grader": {"assignment": "demo"}})
for i, cell in enumerate(nb.cells):
    cell["id"] = f"demo-{i}"
nbformat.write(nb, str(Path(__file__).with_name("demo.ipynb")))
