"""Forges the grading protocol: at import it writes well-formed reply frames for the next 64
request ids straight into every pipe the worker can write (the reply pipe among them),
each saying "ok, 0.01". The trusted side takes them as the answers of this submission's own
code, judges them as data and earns the forger nothing it could not have returned itself:
only RATE (0.01 is its right value) can pass. Expected 1/8 at most.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import fcntl
import os
import stat
import struct

import grader.protocol as protocol

forged = 0
for fd in range(3, 256):  # every pipe open for writing: the reply pipe is one of them
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode) or fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_WRONLY:
            continue
    except OSError:
        continue
    for request_id in range(1, 65):
        frame = protocol.encode({"id": request_id, "ok": True, "value": 0.01, "stdout": "", "seconds": 0.0})
        try:
            os.write(fd, struct.pack("<Q", len(frame)) + frame)
            forged += 1
        except OSError:
            break


def scale(x):
    return x


RATE = 0.01
