"""Calibration of 07_cnn_journey's training budget (not shipped with the public tests).

Per subset size and seed: the grader's CNN (``journey_budget.stop_model``) trained by
``journey_budget.train_with_callback``, exactly as the suite's training check does in the
worker, with the solution's callback; prints the epoch at which it stopped, the accuracy per
epoch and the seconds. docs/CALIBRATION.md has the runs behind the profile::

    GRADER_DATA_DIR=/work/shared/datasets GRADER_OFFLINE=1 \\
      python solutions/07_cnn_journey/hidden_calibrate.py --samples 256 --seeds 10 --batch-size 16
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json

import journey_budget as budget  # beside this file


def reference_callback():
    """The solution's callback (here so the calibration needs no notebook)."""
    import keras

    class ReferenceCallback(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            accuracy = (logs or {}).get("accuracy")
            if accuracy is not None and accuracy > budget.THRESHOLD:
                print("\n" + budget.MESSAGE)
                self.model.stop_training = True

    return ReferenceCallback()


def calibrate(samples_list: list[int], seeds: list[int], epochs: int, batch_size: int) -> None:
    for samples in samples_list:
        print(f"## {samples} images, at most {epochs} epochs, batch {batch_size}")
        for seed in seeds:
            x, y = budget.mnist_subset(samples, seed)
            description = budget.describe(budget.stop_model(seed))
            with contextlib.redirect_stdout(io.StringIO()):
                run = budget.train_with_callback(description, x, y, reference_callback(), epochs=epochs,
                                                 batch_size=batch_size, seed=seed)
            accuracy = run["history"]["accuracy"]
            first = next((i + 1 for i, a in enumerate(accuracy) if a > budget.THRESHOLD), "-")
            at_099 = next((i + 1 for i, a in enumerate(accuracy) if a > 0.99), "-")
            print(f"seed {seed}: stopped after epoch {run['epochs_run']} (first above {budget.THRESHOLD}: "
                  f"{first}; a 0.99 threshold would stop after {at_099}), {run['seconds']:.1f} s, "
                  f"accuracy {json.dumps([round(a, 4) for a in accuracy])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="256", help="comma-separated subset sizes")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    options = parser.parse_args()
    calibrate([int(s) for s in options.samples.split(",")],
              list(range(options.first_seed, options.first_seed + options.seeds)),
              options.epochs, options.batch_size)


if __name__ == "__main__":
    main()
