"""sys.exit(0), raise SystemExit and KeyboardInterrupt at the top level: each statement runs on
its own, so the definitions after them still load. Honest without a model: 4/8, status ok.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import os
import sys

import numpy as np

sys.exit(0)
raise SystemExit("bye")
raise KeyboardInterrupt
exit()
quit()


def scale(x):
    return x / np.max(np.abs(x))


def predict_labels(probs):
    return np.argmax(probs, axis=1)


RATE = 0.01
os.kill(os.getpid(), 0)  # harmless: signal 0 only checks
