"""Starts a daemon that should outlive grading: double fork, setsid, exec of a python that
sleeps an hour with a marker in its command line. The test looks for the marker after the
batch. The submission is otherwise honest without a model: 4/8, status ok.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import os
import sys
import time

import numpy as np

MARKER = "__MARKER__"


def _daemon():
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    for fd in (0, 1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    os.execv(sys.executable, [sys.executable, "-c", f"import time; time.sleep(3600)  # {MARKER}"])


def scale(x):
    _daemon()
    time.sleep(1.5)  # keep the worker (and so its daemons) alive long enough for the test to see them
    return x / np.max(np.abs(x))


def predict_labels(probs):
    _daemon()
    return np.argmax(probs, axis=1)


_daemon()  # one started while the cells load, too
RATE = 0.01
