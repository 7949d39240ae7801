"""Writes demo_model.ipynb, the master notebook of the engine's Keras test assignment."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_markdown_cell("# Demo model\nA tiny Keras exercise for the engine's tests (hostile corpus)."),
    new_code_cell("import keras\nimport numpy as np"),
    new_code_cell("# GRADED: scale\ndef scale(x):\n    # BEGIN SOLUTION\n    return x / np.max(np.abs(x))\n    # END SOLUTION",
                  metadata={"tags": ["graded"]}),
    new_code_cell("# GRADED: predict_labels\ndef predict_labels(probs):\n    # BEGIN SOLUTION\n"
                  "    return np.argmax(probs, axis=1)\n    # END SOLUTION",
                  metadata={"tags": ["graded"]}),
    new_code_cell("# GRADED: make_model\ndef make_model(units):\n    # BEGIN SOLUTION\n"
                  "    model = keras.Sequential([\n"
                  "        keras.Input(shape=(4,)),\n"
                  "        keras.layers.Dense(units, activation=\"relu\"),\n"
                  "        keras.layers.Dense(3, activation=\"softmax\"),\n"
                  "    ])\n"
                  "    model.compile(optimizer=\"adam\", loss=\"sparse_categorical_crossentropy\", metrics=[\"accuracy\"])\n"
                  "    return model\n    # END SOLUTION",
                  metadata={"tags": ["graded"]}),
    new_code_cell("# GRADED: rate\nRATE = 0.01  # SOLUTION", metadata={"tags": ["graded"]}),
    new_code_cell("model = make_model(8)\nmodel.fit(np.zeros((10, 4)), np.zeros(10), epochs=1000)  # never run by the grader"),
]
nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                          "grader": {"assignment": "demo_model"}})
for i, cell in enumerate(nb.cells):
    cell["id"] = f"demo-model-{i}"
nbformat.write(nb, str(Path(__file__).with_name("demo_model.ipynb")))
