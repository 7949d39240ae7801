"""The README's example submissions stay copies of their sources."""

from __future__ import annotations

import nbformat
import pytest

from tests.conftest import ROOT

EXAMPLES = ROOT / "examples" / "submissions"
EXERCISES = ["01_keras_basics", "02_callback", "03_cnn", "04_convolution"]
MISTAKES = {"01_keras_basics": "wrong_percentage", "02_callback": "wrong_acc_key",
            "03_cnn": "wrong_same_padding", "04_convolution": "wrong_flipped_kernel"}


def code(path):
    return [c.source for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_solved_example_is_the_master_notebook(exercise):
    assert code(EXAMPLES / f"ada_{exercise}.ipynb") == code(ROOT / "solutions" / exercise / f"{exercise}.ipynb"), (
        f"run: cp solutions/{exercise}/{exercise}.ipynb examples/submissions/ada_{exercise}.ipynb")


@pytest.mark.parametrize("exercise", EXERCISES)
def test_mistake_example_is_a_test_submission(exercise):
    source = ROOT / "tests" / "submissions" / exercise / f"{MISTAKES[exercise]}.py"
    assert (EXAMPLES / f"ben_{exercise}.py").read_text() == source.read_text()
