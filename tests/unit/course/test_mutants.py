"""grader mutants: operator mutants of graded cells, the catalogue, equivalence, and one real
run on the demo course at a small budget (the CI run of issue 13 item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mutmut", reason="grader mutants needs the [mutants] extra (mutmut)")

from grader.cli import main  # noqa: E402
from grader.course.mutants import (  # noqa: E402
    Mutant,
    MutantsError,
    catalogue_mistakes,
    catalogue_mutants,
    equivalent,
    judge_message,
    one_line_change,
    operator_mutants,
    sample,
)
from grader.model import SubmissionResult  # noqa: E402
from grader.model import TestResult as Row  # noqa: E402
from grader.source.notebook import Cell  # noqa: E402

COURSE = Path(__file__).resolve().parents[2] / "course" / "autograder.toml"
GRADED = Cell(2, "code", "# GRADED: add\ndef add(a, b):\n    # BEGIN SOLUTION\n    return a + b\n    # END SOLUTION",
              ("graded",))
CELLS = [
    Cell(0, "markdown", "# Title"),
    Cell(1, "code", "import numpy as np\nx = 1 + 2  # not graded: never mutated"),
    GRADED,
    Cell(3, "code", "# GRADED: answer\nANSWER = 6 * 7", ("graded",)),
]


def _units(code: str) -> list[dict]:
    return [{"label": "cell", "filename": "<cell>", "source": code, "lines": None}]


def test_operator_mutants_change_one_thing_in_graded_cells_only():
    mutants = operator_mutants(CELLS)
    changes = {(m.function, m.change) for m in mutants}
    assert ("add", "L4: return a + b -> return a - b") in changes
    assert ("ANSWER", "L2: ANSWER = 6 * 7 -> ANSWER = 6 / 7") in changes
    assert ("ANSWER", "L2: ANSWER = 6 * 7 -> ANSWER = 7 * 7") in changes
    assert all(m.cell in (2, 3) for m in mutants)  # the ungraded `1 + 2` is left alone
    assert len({m.source for m in mutants}) == len(mutants)  # no duplicates
    assert [m.id for m in mutants] == [f"m{i:03d}" for i in range(1, len(mutants) + 1)]
    for m in mutants:  # the comments (markers) stay, one line differs
        assert m.source.startswith("# GRADED:")
        assert sum(a != b for a, b in zip(m.source.split("\n"), CELLS[m.cell].source.split("\n"), strict=True)) == 1


def test_sample_is_reproducible_and_keeps_order():
    mutants = [Mutant(f"m{i:03d}", "op", "f", "", 0, "") for i in range(1, 41)]
    first, again, other = sample(mutants, 8, 3), sample(mutants, 8, 3), sample(mutants, 8, 4)
    assert [m.id for m in first] == [m.id for m in again]
    assert [m.id for m in first] != [m.id for m in other]
    assert [m.id for m in first] == sorted(m.id for m in first) and len(first) == 8
    assert len(sample(mutants, None, 0)) == 40 and len(sample(mutants, 100, 0)) == 40


def test_one_line_change_skips_comment_lines():
    assert one_line_change(GRADED.source, "# GRADED: add\ndef add(a, b):\n    return a * b") == \
        "L4: return a + b -> return a * b"
    assert one_line_change("x = 1", "x = 1") == "(no change)"


def test_catalogue_mistake_replaces_the_definition(tmp_path: Path):
    path = tmp_path / "hidden_mutants.py"
    mistakes = [{"name": "times", "replaces": "add", "source": "def add(a, b):\n    return a * b\n",
                 "expect": ["multiplied"]}]
    (mutant,) = catalogue_mutants(CELLS, catalogue_mistakes(None, path) + mistakes, path)
    assert mutant.id == "c_times" and mutant.cell == 2 and mutant.expect == ("multiplied",)
    assert mutant.source == "# GRADED: add\ndef add(a, b):\n    return a * b\n    # END SOLUTION"
    assert mutant.change == "times: L4: return a + b -> return a * b"
    with pytest.raises(MutantsError, match="no cell"):
        catalogue_mutants(CELLS, [dict(mistakes[0], replaces="nowhere")], path)


def test_catalogue_entries_are_checked(tmp_path: Path):
    class Module:
        MISTAKES = [{"name": "x", "replaces": "add", "source": "def add(a, b): return 0", "expect": "word"}]

    with pytest.raises(MutantsError, match="list of words"):
        catalogue_mistakes(Module, tmp_path / "hidden_mutants.py")  # type: ignore[arg-type]
    Module.MISTAKES = [{"name": "x", "replaces": "add"}]
    with pytest.raises(MutantsError, match="'source'"):
        catalogue_mistakes(Module, tmp_path / "hidden_mutants.py")  # type: ignore[arg-type]


def test_equivalence_on_random_inputs(tmp_path: Path):
    catalogue = tmp_path / "hidden_mutants.py"
    catalogue.write_text("def inputs_f(rng):\n    for _ in range(50):\n"
                         "        yield int(rng.integers(-99, 99)), int(rng.integers(-99, 99))\n")
    master = _units("def f(a, b):\n    return a + b\nK = 3")
    assert equivalent(master, _units("def f(a, b):\n    return b + a\nK = 3"), ["f", "K"], catalogue, 0, 60) == \
        (True, "same results on 50 random input(s)")
    same, why = equivalent(master, _units("def f(a, b):\n    return a + b if a < 90 else 0\nK = 3"), ["f"],
                           catalogue, 0, 60)
    assert not same and why.startswith("f differs on (")
    same, why = equivalent(master, _units("def f(a, b):\n    return a + b\nK = 4"), ["f", "K"], catalogue, 0, 60)
    assert (same, why) == (False, "K: 3 != 4")
    same, why = equivalent(master, _units("def f(a, b):\n    return a + b\nK = 3"), ["f"], None, 0, 60)
    assert not same and "no inputs_f" in why
    same, why = equivalent(master, _units("def f(a, b):\n    while True:\n        pass\nK = 3"), ["f"], catalogue, 0, 3)
    assert not same and "ran over 3 s" in why


def _result(*outputs: str) -> SubmissionResult:
    tests = {f"t{i}": Row(f"t{i}", "", 0.0, 1.0, "failed", out, False, None) for i, out in enumerate(outputs)}
    return SubmissionResult("m", "m.ipynb", "demo", "ok", "", 0.0, len(tests), tests)


def test_message_names_the_mistake():
    mistake = Mutant("c_x", "catalogue", "add", "", 2, "", expect=("Multiplied",))
    judge_message(mistake, _result("add(2, 3): expected 5, found 6. Likely mistake: you multiplied"))
    assert mistake.named == "yes"
    judge_message(mistake, _result("add(2, 3): expected 5, found 6."))
    assert mistake.named == "no" and "'Multiplied'" in mistake.why
    operator = Mutant("m001", "swap_op", "add", "", 2, "")
    judge_message(operator, _result("add(2, 3): expected 5, found -1."))
    assert operator.named == "no"
    judge_message(operator, _result("x", "add: found 6. Likely mistake: you multiplied"))
    assert operator.named == "yes"


@pytest.mark.slow
def test_grader_mutants_on_the_demo_course(tmp_path: Path, capsys):
    """The real thing at a small budget: --max 8 operator mutants + the demo's catalogue
    (tests/course/demo/hidden_mutants.py), graded by the batch engine."""
    report_path = tmp_path / "report.json"
    code = main(["--config", str(COURSE), "mutants", "demo", "--max", "8", "--seed", "1", "--jobs", "1", "--quiet", "--out",
                 str(tmp_path / "work"), "--json", str(report_path), "--fail-under", "100"])
    printed = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    rows = {m["id"]: m for m in report["mutants"]}
    assert code == 1  # --fail-under 100, and one mutant survives
    assert report["assignment"] == "demo" and report["total"] == len(rows) >= 8
    operators = [m for m in rows.values() if m["operator"] != "catalogue"]
    assert 1 <= len(operators) <= 8 and report["operator_mutants_available"] >= len(operators)
    # real kills: `a - b` for `a + b`, `ANSWER = 43` ...
    assert sum(m["verdict"] == "killed" for m in operators) >= len(operators) - 1
    assert all(m["score"] < m["max_score"] for m in rows.values() if m["verdict"] == "killed")
    assert rows["c_multiplied"]["verdict"] == "killed" and rows["c_multiplied"]["named"] == "yes"
    assert rows["c_ignores_axis"]["verdict"] == "killed" and rows["c_ignores_axis"]["named"] == "no"
    # full marks, same results on every random input: equivalent, left out of the score
    assert rows["c_commuted"]["verdict"] == "equivalent"
    assert rows["c_commuted"]["score"] == rows["c_commuted"]["max_score"] > 0
    # full marks, wrong on large arrays: the suite's gap
    assert rows["c_small_arrays_only"]["verdict"] == "survived"
    assert rows["c_small_arrays_only"]["why"].startswith("mean differs on")
    killed = sum(m["verdict"] == "killed" for m in rows.values())
    assert report["score_percent"] == round(100 * killed / (report["total"] - report["equivalent"]), 1)
    assert "c_small_arrays_only" in printed and f"{report['score_percent']:.1f}%" in printed
    assert (tmp_path / "work" / "mutants" / "original.ipynb").is_file()


def test_models_are_compared_as_architectures(tmp_path):
    """A builder's Keras model is compared by its config with canonical names (the optimizer's
    counted name too): MaxPooling2D(2) is MaxPooling2D(2, 2); MaxPooling2D(3) is not."""
    from grader.course.mutants import equivalent

    def unit(pool: str) -> list[dict]:
        source = ("import keras\nfrom keras import layers\n\n\ndef build():\n"
                  "    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3), "
                  f"layers.{pool}, layers.Flatten(), layers.Dense(3, activation='softmax')])\n"
                  "    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
                  "    return model\n")
        return [{"source": source, "filename": "cell", "lines": None}]

    catalogue = tmp_path / "hidden_mutants.py"
    catalogue.write_text("MISTAKES = []\n\n\ndef inputs_build(rng):\n    yield ()\n")
    same, why = equivalent(unit("MaxPooling2D(2, 2)"), unit("MaxPooling2D(2)"), ["build"], catalogue, 0, 120)
    assert same, why
    same, why = equivalent(unit("MaxPooling2D(2, 2)"), unit("MaxPooling2D(3)"), ["build"], catalogue, 0, 120)
    assert not same and "build differs" in why
