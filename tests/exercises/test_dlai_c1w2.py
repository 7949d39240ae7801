"""The adopted-course example grades DeepLearning.AI C1W2 notebooks as students have them.

examples/dlai_c1w2/ (its own autograder.toml, master notebook, suite) and the submissions
under examples/dlai_c1w2/submissions/ are graded once, in one batch through the command
line (``grader --config ... grade ... --jobs 2``), as an instructor would run it: both
template eras' correct spellings (2022 ``myCallback`` with tf.nn activations, Flatten's
``input_shape`` and exploration cells that train at the top level; 2024
``EarlyStoppingCallback``) get full marks; each typical mistake loses the points of the
checks it breaks, with a message naming it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dlai_c1w2"
SUBMISSIONS = EXAMPLE / "submissions"
MAX_SCORE = 13.0
ALL_TESTS = {"test_data", "test_model_layers", "test_model_compile", "test_callback_class",
             "test_callback_threshold", "test_callback_message", "test_train_mnist_history",
             "test_train_mnist_message", "test_train_mnist_model_agrees"}

RIGHT = ["right_2024", "right_2022_mycallback", "c1w2_callbacks"]  # the last: the master notebook
# submission -> (score, {failed test: words its message must contain})
WRONG = {
    "wrong_threshold_099": (6, {
        "test_callback_threshold": ["0.98: goes on", "threshold is 0.99"],
        "test_callback_message": ["Reached 99% accuracy", "older version"],
        "test_train_mnist_history": ["reached 0.98 at epoch", "went on to epoch"],
        "test_train_mnist_message": ["did not print"],
    }),
    "wrong_acc_key": (6, {
        "test_callback_threshold": ["logs.get('acc')", "Keras 2"],
        "test_callback_message": ["Nothing was printed"],
        "test_train_mnist_history": ["went on to epoch 10"],
        "test_train_mnist_message": ["did not print"],
    }),
    "wrong_no_softmax": (6, {
        "test_model_layers": ["activation 'linear', expected 'softmax'"],
        "test_model_compile": ["outputs logits", "add activation='softmax'"],
        "test_train_mnist_history": ["it should reach 0.98"],
        "test_train_mnist_message": ["did not print"],
    }),
    "wrong_loss": (7, {
        "test_model_compile": ["found 'categorical_crossentropy'", "one-hot"],
        "test_train_mnist_history": ["raised ValueError", "loss='sparse_categorical_crossentropy'"],
        "test_train_mnist_message": ["raised ValueError"],
        "test_train_mnist_model_agrees": ["raised ValueError"],
    }),
    "wrong_no_return": (8, {
        "test_train_mnist_history": ["should return a keras History", "is a `return` missing?"],
        "test_train_mnist_message": ["should return a keras History"],
        "test_train_mnist_model_agrees": ["should return a keras History"],
    }),
    "wrong_epochs_15": (10, {
        "test_train_mnist_history": ["asked for 15 epochs", "at most 10"],
    }),
    "wrong_data_path": (4, {
        "test_data": ["`data_shape` is not defined because running your graded cell 'data' failed",
                      "FileNotFoundError", "mnist.npz"],
        "test_model_layers": ["name 'data_shape' is not defined", "graded cell 'data' failed: FileNotFoundError"],
        "test_model_compile": ["graded cell 'data' failed: FileNotFoundError"],
        "test_train_mnist_history": ["graded cell 'data' failed: FileNotFoundError"],
        "test_train_mnist_message": ["FileNotFoundError"],
        "test_train_mnist_model_agrees": ["FileNotFoundError"],
    }),
    # a smaller hidden layer: not the specified model, but it trains as asked (the profile's
    # subset is calibrated so that it does: examples/dlai_c1w2/calibrate.py)
    "dense_128": (11, {
        "test_model_layers": ["units=128, expected units=512"],
    }),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("dlai-out")
    paths = sorted(str(p) for p in SUBMISSIONS.glob("*.py")) + [str(EXAMPLE / "c1w2_callbacks.ipynb")]
    env = dict(os.environ)
    env.setdefault("GRADER_DATA_DIR", "/work/shared/datasets")
    env.setdefault("GRADER_OFFLINE", "1")
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "--config", str(EXAMPLE / "autograder.toml"), "grade", *paths,
         "--assignment", "c1w2_callbacks", "--jobs", "2", "--out", str(out), "--quiet"],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    results = {}
    for path in paths:
        full = out / "submissions" / Path(path).stem / "result.full.json"
        if full.is_file():
            results[Path(path).stem] = json.loads(full.read_text())
    return done, results, out


def test_every_submission_is_graded(batch):
    done, results, out = batch
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(results) == set(RIGHT) | set(WRONG), (sorted(results), done.stderr[-3000:])
    with open(out / "grades.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(results)
    for name, result in results.items():
        assert result["status"] == "ok", (name, result["message"])
        assert result["max_score"] == MAX_SCORE
        assert {t["name"] for t in result["tests"]} == ALL_TESTS
        # the data the course declared, read-only beside the notebook in the worker
        assert "data/mnist.npz: read-only bind" in result["sandbox"].get("data", []), result["sandbox"]


@pytest.mark.parametrize("name", RIGHT)
def test_right_submissions_get_full_marks(batch, name):
    result = batch[1][name]
    failed = {t["name"]: t["output"] for t in result["tests"] if t["status"] != "passed"}
    assert result["score"] == MAX_SCORE, failed
    # the exploration cells (a top-level train_mnist, Keras' own MNIST loader) never ran
    assert result["load_errors"] == [] and result["problems"] == []


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_submissions_lose_points_for_their_mistake(batch, name):
    score, messages = WRONG[name]
    result = batch[1][name]
    failed = {t["name"]: t["output"] for t in result["tests"] if t["status"] != "passed"}
    assert set(failed) == set(messages), failed
    assert result["score"] == score
    for test, words in messages.items():
        for word in words:
            assert word in failed[test], (test, word, failed[test])
        assert "\x1b[" not in failed[test] and "\r" not in failed[test]
    for output in failed.values():
        assert "graded cells run on their own" not in output  # the real cause, not the generic hint


def test_submit_accepts_the_older_eras_name(tmp_path):
    """`grader submit` finds graded names through their aliases, as grading does."""
    from grader.config import load_course
    from grader.course.submit import submit

    lines: list[str] = []
    report = submit(SUBMISSIONS / "right_2022_mycallback.py", load_course(EXAMPLE / "autograder.toml"),
                    out=tmp_path, assignment="c1w2_callbacks", run_checks=False, log=lines.append)
    assert report.ok, report.warnings
    assert any("4 of 4 defined" in line for line in lines), lines
