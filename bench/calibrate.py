"""Calibrate the training budgets and thresholds of 02_callback and 03_cnn.

Runs, over several seeds, exactly what the grading suites do (through the helper modules
that sit beside the suites: ``solutions/02_callback/callback_budget.py`` and
``solutions/03_cnn/cnn_budget.py``) for the reference solution and for one-mistake variants, and
prints a table per variant: seed, the measured number, seconds. The numbers and the
commands that produced them are kept in docs/CALIBRATION.md.

Examples (from the project root, offline)::

    GRADER_DATA_DIR=/work/shared/datasets GRADER_OFFLINE=1 \\
        python bench/calibrate.py cnn --seeds 10 --variants reference,logits_output
    python bench/calibrate.py callback --seeds 10 --variants reference,no_normalization,acc_key
    python bench/calibrate.py cnn --samples 12000 --epochs 2 --batch-size 64   # a candidate budget

Without ``--samples/--epochs/--batch-size`` the budget is the profile of ``--device`` in
autograder.toml, so a run checks the configured numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_budget(exercise: str, module: str) -> Any:
    """The helper module beside a suite, imported by path (it shares a name with the other)."""
    import importlib.util

    path = ROOT / "solutions" / exercise / module
    spec = importlib.util.spec_from_file_location(f"budget_{exercise}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _profile(exercise: str, device: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from grader.config import load_course

    course = load_course(ROOT / "autograder.toml")
    return course.profile(course.assignment(exercise), device)


# ----------------------------------------------------------------------------- 03_cnn

def cnn_variant(name: str) -> Any:
    """The reference build_cnn() (as in the master notebook) or a one-mistake variant."""
    import keras
    from keras import layers

    padding = "same" if name == "same_padding" else "valid"
    filters = 32 if name == "filters32" else 64
    conv_act = None if name == "no_relu" else "relu"
    out_act = {"sigmoid_output": "sigmoid", "logits_output": None}.get(name, "softmax")
    stack: list[Any] = [keras.Input(shape=(28, 28, 1)),
                        layers.Conv2D(filters, (3, 3), activation=conv_act, padding=padding)]
    if name != "no_pooling":
        stack.append(layers.MaxPooling2D(2, 2))
    stack += [layers.Conv2D(64, (3, 3), activation=conv_act), layers.MaxPooling2D(2, 2),
              layers.Flatten(), layers.Dense(128, activation="relu"),
              layers.Dense(10, activation=out_act)]
    model = keras.Sequential(stack)
    optimizer = "sgd" if name == "sgd" else "adam"
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


CNN_VARIANTS = ("reference", "sigmoid_output", "logits_output", "sgd", "no_relu",
                "same_padding", "no_pooling", "filters32")


def calibrate_cnn(args: argparse.Namespace) -> None:
    budget = _import_budget("03_cnn", "cnn_budget.py")
    profile = _profile("03_cnn", args.device)
    samples = args.samples or profile["train_samples"]
    epochs = args.epochs or profile["epochs"]
    batch_size = args.batch_size or profile["batch_size"]
    threshold = args.threshold or profile.get("test_accuracy")
    print(f"03_cnn: {samples} training images, {epochs} epochs, batch {batch_size}, "
          f"threshold {threshold}, device profile {args.device!r}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for variant in args.variants.split(","):
        print(f"\n{variant}")
        print(f"{'seed':>6} {'test acc':>9} {'seconds':>8}")
        accs, secs = [], []
        for seed in seeds:
            data = budget.fashion_data(samples, seed)
            model = cnn_variant(variant)
            outcome = budget.train_and_evaluate(model, model.get_compile_config(),
                                                samples=samples, epochs=epochs,
                                                batch_size=batch_size, seed=seed, data=data)
            accs.append(outcome.accuracy)
            secs.append(outcome.seconds)
            print(f"{seed:>6} {outcome.accuracy:>9.4f} {outcome.seconds:>8.1f}", flush=True)
        passed = sum(a >= threshold for a in accs) if threshold else None
        print(f"median {statistics.median(accs):>9.4f} {statistics.median(secs):>8.1f}   "
              f"min {min(accs):.4f}  max {max(accs):.4f}"
              + (f"   pass {passed}/{len(accs)} at >= {threshold}" if threshold else ""))


# ----------------------------------------------------------------------------- 02_callback

def callback_variant(name: str) -> Any:
    """The reference train_mnist (as in the master notebook) or a one-mistake variant."""
    import keras

    key = "acc" if name == "acc_key" else "accuracy"

    class AccuracyThresholdCallback(keras.callbacks.Callback):
        def __init__(self, threshold: float = 0.99) -> None:
            super().__init__()
            self.threshold = threshold

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            accuracy = (logs or {}).get(key)
            if accuracy is not None and accuracy >= self.threshold:
                print(f"\nReached {self.threshold:.0%} accuracy so cancelling training!")
                self.model.stop_training = True

    units = {"dense128": 128, "dense1024": 1024}.get(name, 512)
    if name == "lookup":  # the forged History of tests/submissions/02_callback/wrong_lookup_history.py
        import importlib.util

        path = ROOT / "tests" / "submissions" / "02_callback" / "wrong_lookup_history.py"
        spec = importlib.util.spec_from_file_location("wrong_lookup_history", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.train_mnist

    def train_mnist(x_train: Any, y_train: Any) -> Any:
        x = x_train if name in ("no_normalization", "rescaling") else x_train / 255.0
        scale = [keras.layers.Rescaling(1.0 / 255)] if name == "rescaling" else []
        model = keras.Sequential([keras.Input(shape=(28, 28)), *scale, keras.layers.Flatten(),
                                  keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model.fit(x, y_train, epochs=10, callbacks=[AccuracyThresholdCallback()],
                         verbose=0)

    return train_mnist


CALLBACK_VARIANTS = ("reference", "no_normalization", "acc_key", "dense128", "dense1024", "rescaling", "lookup")


def calibrate_callback(args: argparse.Namespace) -> None:
    import contextlib
    import io

    import keras

    budget = _import_budget("02_callback", "callback_budget.py")
    profile = _profile("02_callback", args.device)
    samples = args.samples or profile["train_samples"]
    print(f"02_callback: {samples} MNIST training images, device profile {args.device!r}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for variant in args.variants.split(","):
        print(f"\n{variant}")
        print(f"{'seed':>6} {'epochs':>6} {'stopped':>7} {'last acc':>9} {'model acc':>9} "
              f"{'gap':>7} {'held-out':>9} {'gap':>7} {'seconds':>8}")
        rows = []
        for seed in seeds:
            x, y = budget.mnist_subset(samples, seed)
            keras.utils.set_random_seed(seed)
            train_mnist = callback_variant(variant)
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                history = train_mnist(x, y)
            seconds = time.perf_counter() - start
            accs = history.history.get("accuracy") or history.history.get("acc") or [0.0]
            ran = len(history.epoch)
            stopped = ran < history.params["epochs"]
            measured, _ = budget.measured_accuracy(history.model, x, y)
            gap = accs[-1] - measured
            # the suite's check: the model on MNIST test images the worker never saw
            x_held, y_held = budget.mnist_heldout(int(profile.get("heldout_samples", 10000)), seed)
            held, _ = budget.measured_accuracy(history.model, x_held, y_held)
            rows.append((ran, stopped, accs[-1], measured, gap, seconds, accs[-1] - held))
            print(f"{seed:>6} {ran:>6} {stopped!s:>7} {accs[-1]:>9.4f} {measured:>9.4f} "
                  f"{gap:>+7.4f} {held:>9.4f} {accs[-1] - held:>+7.4f} {seconds:>8.1f}", flush=True)
        ok = sum(1 for r in rows if r[1] and r[2] >= 0.99)
        print(f"median epochs {statistics.median(r[0] for r in rows)}, "
              f"median seconds {statistics.median(r[5] for r in rows):.1f}, "
              f"max gap {max(r[4] for r in rows):+.4f}, max held-out gap {max(r[6] for r in rows):+.4f}, "
              f"stopped with last acc >= 0.99 on {ok}/{len(rows)} seeds")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", choices=["cnn", "callback"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="profile in autograder.toml")
    parser.add_argument("--variants", default="reference")
    parser.add_argument("--samples", type=int, default=0, help="override the profile")
    parser.add_argument("--epochs", type=int, default=0, help="override the profile (cnn)")
    parser.add_argument("--batch-size", type=int, default=0, help="override the profile (cnn)")
    parser.add_argument("--threshold", type=float, default=0.0, help="override the profile (cnn)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.exercise == "cnn":
        calibrate_cnn(args)
    else:
        calibrate_callback(args)


if __name__ == "__main__":
    main()
