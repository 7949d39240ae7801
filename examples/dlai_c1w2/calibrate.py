"""Calibrate the c1w2_callbacks profile: epochs to 98% training accuracy and seconds, per
subset size, for the reference model and a slower-but-valid one (run: python calibrate.py).

The grader trains a submission's train_mnist on `train_samples` MNIST images chosen with the
course seed, on the worker's cores (2 on the CPU profile); every model the specification
allows must reach 98% within 10 epochs there, and one submission must grade well under 30 s.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from c1w2_data import mnist_subset  # noqa: E402

SEED = 2024


def model(hidden: int) -> keras.Model:
    m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


class Stop(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] >= 0.98:
            self.model.stop_training = True


for samples in [int(s) for s in (sys.argv[1:] or ["4000", "6000", "10000"])]:
    x, y = mnist_subset(samples, SEED)
    for hidden in (512, 128, 64):
        for seed in (SEED, SEED + 1):
            keras.utils.set_random_seed(seed)
            start = time.perf_counter()
            h = model(hidden).fit(x, y, epochs=10, callbacks=[Stop()], verbose=0)
            acc = h.history["accuracy"]
            print(f"samples {samples:6d} Dense({hidden:3d}) seed {seed}: {len(acc)} epochs, "
                  f"last {acc[-1]:.4f}, {time.perf_counter() - start:.1f} s", flush=True)
