"""Calibrate 06_design_challenge's training checks: held-out accuracy per seed and model.

Runs exactly what the suite's hidden checks run (``design_budget.train_and_evaluate``, beside
this file) on the solution's model, on the alternative-correct models of the test
submissions, on a plain dense network and a logistic regression (what threshold A is set
from) and on broken models, for seeds 0..N-1 (a seed picks the training subset, the initial
weights and the shuffling). Without ``--samples/--epochs/--batch-size`` it reads the
``[assignments.06_design_challenge.profiles.<device>]`` budget of autograder.toml.
Results: docs/CALIBRATION.md. Never released (``grader release`` copies no ``hidden_*``
file): it builds the solution's model.

    GRADER_DATA_DIR=/work/shared/datasets GRADER_OFFLINE=1 \\
      python solutions/06_design_challenge/hidden_calibrate.py --seeds 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import design_budget  # noqa: E402 - beside this file

ASSIGNMENT = "06_design_challenge"


def variant(name: str):
    """A model (compiled, or not: the grader then compiles it with DEFAULT_COMPILE)."""
    import keras
    from keras import layers

    if name == "solution":  # the master notebook's build_model(): "uncompiled"'s layers, compiled
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    if name == "reference":  # two small convolution + pooling pairs (the first solution tried)
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    if name == "batchnorm":  # tests/submissions/06_design_challenge/correct_batchnorm_functional.py
        inputs = keras.Input((28, 28, 1))
        x = layers.Conv2D(24, 3, padding="same", use_bias=False)(inputs)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(48, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
        x = layers.Dropout(0.25)(x)
        outputs = layers.Dense(10, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002),
                      loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
        return model
    if name == "uncompiled":  # tests/submissions/06_design_challenge/correct_uncompiled.py
        return keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(10),
            layers.Softmax(),
        ])
    if name == "wide":  # more filters, no hidden Dense layer
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ])
    elif name == "reference_lr3":
        model = variant("reference")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    elif name == "nan_sgd":
        model = variant("reference")
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e4, momentum=0.9),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    elif name == "nan_adam":
        model = variant("reference")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e30),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    elif name == "dense":  # a plain dense network: threshold A
        model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                                  layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
    elif name == "logistic":  # logistic regression
        model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                                  layers.Dense(10, activation="softmax")])
    elif name == "diverging":  # tests/submissions/06_design_challenge/wrong_diverging_learning_rate.py
        model = variant("reference")
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=50.0),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    elif name == "sgd_slow":  # plain SGD with a tiny learning rate
        model = variant("reference")
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.001),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    else:
        raise SystemExit(f"unknown variant {name!r}; one of {', '.join(VARIANTS)}")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


VARIANTS = ("solution", "reference", "reference_lr3", "wide", "batchnorm", "uncompiled", "dense", "logistic", "diverging",
            "nan_sgd", "nan_adam", "sgd_slow")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="the profile read from autograder.toml")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--variants", default="solution,reference,batchnorm,dense,logistic,diverging",
                        help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--samples", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args(argv)

    profile: dict = {}
    try:
        sys.path.insert(0, str(HERE.parents[1]))
        from grader.config import load_course

        course = load_course(HERE.parents[1] / "autograder.toml")
        profile = course.profile(course.assignment(ASSIGNMENT), args.device)
    except Exception as exc:  # noqa: BLE001 - calibrating before the entry exists
        print(f"(no profile read: {exc})")
    samples = args.samples or int(profile.get("train_samples", 6000))
    epochs = args.epochs or int(profile.get("epochs", 2))
    batch_size = args.batch_size or int(profile.get("batch_size", 64))
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    print(f"budget: {samples} training images, {epochs} epochs, batch {batch_size}; thresholds "
          f"A {profile.get('accuracy_a')}, B {profile.get('accuracy_b')}")
    print("seed  " + "  ".join(f"{n:>22}" for n in names), flush=True)
    results: dict[str, list[float]] = {n: [] for n in names}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        data = design_budget.fashion_data(samples, seed)
        cells = []
        for name in names:
            model = variant(name)
            try:
                outcome = design_budget.train_and_evaluate(
                    model, model.get_compile_config() if model.compiled else None, epochs=epochs,
                    batch_size=batch_size, seed=seed, data=data)
                acc, secs = outcome.accuracy, outcome.seconds
                note = "" if outcome.finite else " NaN"
            except design_budget.TrainingFailed as exc:
                print(f"  {name}: {exc}")
                acc, secs, note = float("nan"), 0.0, " failed"
            results[name].append(acc)
            cells.append(f"{acc:.4f} ({secs:5.1f} s){note}")
        print(f"{seed:>4}  " + "  ".join(f"{c:>22}" for c in cells), flush=True)
    print("median " + "  ".join(f"{statistics.median(v):>22.4f}" for v in results.values()))
    print("min    " + "  ".join(f"{min(v):>22.4f}" for v in results.values()))
    print("max    " + "  ".join(f"{max(v):>22.4f}" for v in results.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
