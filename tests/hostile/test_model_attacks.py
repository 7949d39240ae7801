"""Issue 12: the trusted side takes nothing on faith about a student's model.

The worker describes a model as config + weights + compile config, and the student's code,
which runs in the worker, can forge that description (``to_json``/``get_compile_config``
patched in its own process). Each submission of tests/submissions/demo_model/ is graded
through the real engine against the engine test course's ``demo_model`` assignment (8
points), and what the trusted side does with the forged description is asserted:

* a layer node without ``module`` naming the public Keras function ``plot_image_gallery``
  with a ``path`` (Keras would call it while rebuilding, writing that file): refused, no
  file at the path;
* ``run_eagerly`` in the compile config and in the model config, plus a forged
  ``plot_image_gallery`` metric with a ``path``: the metric refused, no file; honest
  ``run_eagerly``: dropped, full marks, and the rebuilt model is not eager;
* Conv2D -> Flatten -> Dense(400000) (8.65 billion parameters): a failed check that says
  the numbers, in seconds, the trusted side's memory barely moves.
"""

from __future__ import annotations

import json
import os
import resource
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from grader.checks import CheckFailed
from grader.config import load_course
from grader.engine.grading import grade_file
from tests.conftest import COURSE_DIR, ROOT

SUBMISSIONS = ROOT / "tests" / "submissions" / "demo_model"
ASSIGNMENT = "demo_model"
SLOT = 27  # this module's own sandbox slot
MAX = 8.0
REBUILD = "test_make_model_outputs_probabilities"  # the check that rebuilds the model on the trusted side


def _grade(name: str, tmp_path: Path) -> tuple[object, str]:
    """Grade a copy of ``name`` with ``__MARKER__`` made unique; the result and the marker."""
    marker = f"MODEL-ATTACK-{uuid.uuid4().hex[:12]}"
    path = tmp_path / name
    path.write_text((SUBMISSIONS / name).read_text("utf-8").replace("__MARKER__", marker), "utf-8")
    course = load_course(COURSE_DIR / "autograder.toml")
    # the course's 30 s cover its batch's warm workers; a cold worker imports TensorFlow on a busy machine
    return grade_file(path, assignment=ASSIGNMENT, course=course, device="cpu", slot=SLOT,
                      limits={"timeout": 300}), marker


def _failed(result) -> dict[str, str]:
    return {name: t.output for name, t in result.tests.items() if t.status != "passed"}


def test_every_submission_is_covered():
    assert {p.name for p in SUBMISSIONS.glob("*.py")} == {
        "forged_moduleless_layer.py", "forged_eager_metric.py", "eager_honest.py", "huge_dense.py"}


@pytest.mark.slow
def test_a_module_less_node_is_refused_and_writes_nothing(tmp_path):
    result, marker = _grade("forged_moduleless_layer.py", tmp_path)
    assert not Path(f"/tmp/pwned-{marker}.png").exists()
    assert result.status == "ok", result.message
    failed = _failed(result)
    assert set(failed) == {"test_make_model_layers", REBUILD}, failed
    assert "plot_image_gallery without naming its Keras module" in failed[REBUILD]
    assert result.score == MAX - 3


@pytest.mark.slow
def test_a_forged_metric_with_run_eagerly_is_refused_and_writes_nothing(tmp_path):
    result, marker = _grade("forged_eager_metric.py", tmp_path)
    assert not Path(f"/tmp/pwned-{marker}-metric.png").exists()
    assert result.status == "ok", result.message
    failed = _failed(result)
    assert set(failed) == {REBUILD}, failed
    assert "plot_image_gallery from 'keras.visualization'" in failed[REBUILD]
    assert result.score == MAX - 1


@pytest.mark.slow
def test_honest_run_eagerly_is_dropped_and_graded_fully(tmp_path):
    result, _ = _grade("eager_honest.py", tmp_path)
    assert result.status == "ok", result.message
    assert _failed(result) == {}
    assert result.score == MAX


@pytest.mark.slow
def test_a_model_over_the_budget_is_refused_in_seconds_without_memory(tmp_path):
    import keras  # noqa: F401 - imported before measuring: the trusted side's Keras is not the model

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    result, _ = _grade("huge_dense.py", tmp_path)
    seconds = time.perf_counter() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert result.status == "ok", result.message
    failed = _failed(result)
    assert set(failed) == {"test_make_model_layers", REBUILD}, failed
    params = 26 * 26 * 32 * 400_000 + 400_000 + 3 * 3 * 32 + 32
    assert f"has {params:,} parameters; this exercise allows at most 5,000,000" in failed[REBUILD]
    assert result.score == MAX - 3
    assert result.tests[REBUILD].seconds < 15, result.tests[REBUILD].seconds
    assert seconds < 300, seconds  # the worker's start and TensorFlow import included, on a busy machine
    assert grown < 300 * 1024**2, f"the trusted side grew by {grown / 1024**2:.0f} MiB"


# ------------------------------------------------------------------- the engine, without a worker

def _observation(model, name="make_model", **limits):
    from grader.config import Limits
    from grader.engine.submission import _model_observation

    data = {"config": model.to_json(), "weights": model.get_weights(),
            "compile_config": json.dumps(model.get_compile_config()) if model.compiled else None}
    return _model_observation(data, name, "", Limits().merged(limits))


def test_run_eagerly_never_reaches_the_rebuilt_model():
    keras = pytest.importorskip("keras")

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True, steps_per_execution=3)
    found = _observation(model)
    assert found.config["compile_config"]["run_eagerly"] is True  # what the worker sent
    assert found.compile_config["run_eagerly"] is True
    assert set(found.safe_compile_config) <= {"optimizer", "loss", "metrics", "weighted_metrics", "loss_weights"}
    rebuilt = found.model
    assert rebuilt.run_eagerly is False and rebuilt.steps_per_execution == 1
    assert rebuilt.loss == "sparse_categorical_crossentropy"
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_keras2_loss_weights_leave_the_model_uncompiled_and_a_forged_metric_refuses_it():
    keras = pytest.importorskip("keras")

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])  # Keras 2: metrics -> loss_weights
    found = _observation(model)
    assert found.compiled and found.compile_config["loss_weights"] == ["accuracy"]
    assert found.model.compiled is False and found.model.count_params() == 15  # the architecture is graded
    with pytest.raises(CheckFailed, match="loss_weights that are not numbers"):
        found.safe_compile_config  # noqa: B018 - what training would be given
    forged = _observation(model)
    forged.compile_config = {**forged.compile_config, "metrics": [
        {"module": "keras.visualization", "class_name": "plot_image_gallery", "config": {"path": "/tmp/x.png"}}]}
    with pytest.raises(CheckFailed, match="plot_image_gallery"):
        forged.model  # noqa: B018


def test_the_budget_comes_from_the_limits():
    keras = pytest.importorskip("keras")

    model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(100)])  # 10,100 parameters
    assert _observation(model, max_params=20_000).model.count_params() == 10_100
    with pytest.raises(CheckFailed, match="has 10,100 parameters; this exercise allows at most 10,000"):
        _observation(model, max_params=10_000).model  # noqa: B018
    with pytest.raises(CheckFailed, match="needs 20,000 operations per example; this exercise allows at most 19,999"):
        _observation(model, max_flops=19_999).model  # noqa: B018
    assert _observation(model, max_params=0, max_flops=0).model.count_params() == 10_100  # 0: no limit


def test_a_history_model_is_held_to_the_submissions_limits():
    from grader.config import Limits
    from grader.engine.submission import HistoryObservation

    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(100)])
    data = {"config": model.to_json(), "weights": model.get_weights(), "compile_config": None}
    small = HistoryObservation({"accuracy": [0.5]}, {}, [0], data, "train_mnist", "", Limits(max_params=1000))
    with pytest.raises(CheckFailed, match="allows at most 1,000"):
        small.model.model  # noqa: B018
    assert HistoryObservation({"accuracy": [0.5]}, {}, [0], data, "train_mnist", "").model.model.count_params() == 10_100


def test_limits_read_model_budgets_from_the_config(tmp_path):
    from grader.config import ConfigError, Limits

    assert (Limits().max_params, Limits().max_flops) == (5_000_000, 200_000_000)
    merged = Limits().merged({"max_params": 1_000_000, "max_flops": 0})
    assert (merged.max_params, merged.max_flops) == (1_000_000, None)
    for bad in ("many", 1.5, -1, True):
        with pytest.raises(ConfigError, match="max_params"):
            Limits().merged({"max_params": bad})
    real = load_course(ROOT / "autograder.toml")
    assert real.assignment("02_callback").limits.max_params == 1_000_000
    assert real.assignment("03_cnn").limits.max_params == 2_000_000  # its own budget: about 8x the specified model
    assert os.path.isfile(real.assignment("02_callback").suite)
