"""Writes demo_feedback.ipynb, the master notebook of the engine's feedback demo."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_markdown_cell("# Feedback demo\nThree small functions whose checks attach pictures and tables."),
    new_code_cell("import numpy as np\n\nimport grader"),
    new_code_cell("# GRADED: flip\ndef flip(image):\n    # BEGIN SOLUTION\n    return np.asarray(image)[:, ::-1]\n    # END SOLUTION",
                  metadata={"tags": ["graded"]}),
    new_code_cell('grader.check("flip")', metadata={"tags": ["check"]}),
    new_code_cell("# GRADED: smooth\ndef smooth(values, k):\n    # BEGIN SOLUTION\n"
                  "    return np.convolve(values, np.ones(k) / k, mode='valid')\n    # END SOLUTION",
                  metadata={"tags": ["graded"]}),
    new_code_cell('grader.check("smooth")', metadata={"tags": ["check"]}),
    new_code_cell("# GRADED: classify\ndef classify(x):\n    # BEGIN SOLUTION\n"
                  "    return 'negative' if x < 0 else 'zero' if x == 0 else 'positive'\n    # END SOLUTION",
                  metadata={"tags": ["graded"]}),
    new_code_cell('grader.check("classify")', metadata={"tags": ["check"]}),
    new_markdown_cell("<!-- ANSWER: window -->\nA wider window removes more noise and shortens the output.",
                      metadata={"tags": ["answer"]}),
]
nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                          "grader": {"assignment": "demo_feedback"}})
for i, cell in enumerate(nb.cells):
    cell["id"] = f"demo-feedback-{i}"
nbformat.write(nb, str(Path(__file__).with_name("demo_feedback.ipynb")))
