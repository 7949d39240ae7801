"""Calibrate 05_architectures' training check: validation accuracy per seed and variant.

Runs exactly what the suite's hidden check runs (``lenet_budget.train_and_validate``, beside
this file) on the reference LeNet, on correct models written differently and on models
with one mistake, for seeds 0..N-1 (a seed picks the training and validation subsets, the
initial weights and the shuffling). Without ``--samples/--epochs/--batch-size/--val-samples``
it reads the ``[assignments.05_architectures.profiles.<device>]`` budget of autograder.toml.
Results: docs/CALIBRATION.md. Never released (``grader release`` copies no ``hidden_*`` file):
it builds the reference architecture.

    GRADER_DATA_DIR=/work/shared/datasets GRADER_OFFLINE=1 \\
      python solutions/05_architectures/hidden_calibrate.py --seeds 10
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

import lenet_budget  # noqa: E402 - beside this file

ASSIGNMENT = "05_architectures"


def variant(name: str):
    """A compiled model: the reference, a correct alternative, or one mistake."""
    import keras
    from keras import layers

    relu, out, opt, padding = "relu", "softmax", "adam", "valid"
    if name == "sigmoid_sgd":  # sigmoid everywhere, plain SGD with a small learning rate
        relu, opt = "sigmoid", keras.optimizers.SGD(learning_rate=0.001)
    elif name == "no_softmax":  # logits into a loss that expects probabilities
        out = None
    elif name == "same_padding":
        padding = "same"
    elif name == "sigmoid":  # sigmoid hidden layers, adam
        relu = "sigmoid"
    elif name == "sgd":  # relu, but SGD at its default learning rate
        opt = "sgd"
    # "two_dense": the Dense(84) layer left out (below)
    if name == "softmax_layer":  # tests/submissions/05_architectures/correct_numpy_add.py's model
        model = keras.Sequential()
        model.add(layers.Input((28, 28, 1)))
        model.add(layers.Conv2D(6, 5, activation="relu"))
        model.add(layers.MaxPooling2D())
        model.add(layers.Conv2D(16, 5, activation="relu"))
        model.add(layers.MaxPooling2D())
        model.add(layers.Flatten())
        model.add(layers.Dense(120, activation="relu"))
        model.add(layers.Dense(84, activation="relu"))
        model.add(layers.Dense(10))
        model.add(layers.Softmax())
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        return model
    if name == "functional":  # tests/submissions/05_architectures/correct_functional.py's model
        inputs = keras.Input((28, 28, 1))
        x = layers.Conv2D(6, 5)(inputs)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(16, 5)(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
        x = layers.Dense(120, activation="relu")(x)
        x = layers.Dense(84, activation="relu")(x)
        model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    else:
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(6, 5, activation=relu, padding=padding),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5, activation=relu, padding=padding),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation=relu),
            *([] if name == "two_dense" else [layers.Dense(84, activation=relu)]),
            layers.Dense(10, activation=out),
        ])
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


VARIANTS = ("reference", "functional", "softmax_layer", "same_padding", "two_dense", "sigmoid", "sgd",
            "sigmoid_sgd", "no_softmax")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="the profile read from autograder.toml")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--variants", default="reference,functional,sigmoid_sgd,no_softmax",
                        help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--samples", type=int)
    parser.add_argument("--val-samples", type=int)
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
    val_samples = args.val_samples or int(profile.get("val_samples", 10000))
    epochs = args.epochs or int(profile.get("epochs", 2))
    batch_size = args.batch_size or int(profile.get("batch_size", 64))
    threshold = profile.get("val_accuracy")
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    print(f"budget: {samples} training images, {epochs} epochs, batch {batch_size}, "
          f"{val_samples} validation images; threshold {threshold}")
    print("seed  " + "  ".join(f"{n:>22}" for n in names))
    results: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        data = lenet_budget.mnist_data(samples, val_samples, seed)
        cells = []
        for name in names:
            model = variant(name)
            try:
                outcome = lenet_budget.train_and_validate(
                    model, model.get_compile_config(), epochs=epochs, batch_size=batch_size,
                    seed=seed, data=data)
                acc, secs = outcome.val_accuracy, outcome.seconds
            except lenet_budget.TrainingFailed as exc:
                print(f"  {name}: {exc}")
                acc, secs = float("nan"), 0.0
            results[name].append((acc, secs))
            mark = "" if threshold is None else (" pass" if acc >= float(threshold) else " FAIL")
            cells.append(f"{acc:.4f} {secs:5.1f}s{mark:>5}")
        print(f"{seed:>4}  " + "  ".join(f"{c:>22}" for c in cells), flush=True)
    print()
    for name in names:
        accs = [a for a, _ in results[name]]
        secs = [s for _, s in results[name]]
        print(f"{name:>14}: min {min(accs):.4f}  median {statistics.median(accs):.4f}  "
              f"max {max(accs):.4f}  median {statistics.median(secs):.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
