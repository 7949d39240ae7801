"""Writes a 1 GB file (refused past the file-size rlimit: OSError), then file after file of
7 MB in its scratch folder until the disk watchdog kills it. 0/8, status error (disk).
"""
import os
import time


def scale(x):
    with open("huge.bin", "wb") as handle:
        for _ in range(1024):
            handle.write(b"\0" * (1 << 20))
    return x


def predict_labels(probs):
    block = os.urandom(7 * 1024**2)
    for i in range(10**6):
        with open(f"part{i}.bin", "wb") as handle:
            handle.write(block)
        time.sleep(0.05)


RATE = 0.01
