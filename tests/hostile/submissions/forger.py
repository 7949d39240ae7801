"""Forges the grading protocol: at import it writes well-formed reply frames for the next 64
request ids straight into every pipe the worker can write (the reply pipe among them),
each saying "ok, 0.01". The first forged frame answers the request to run the cells, with a
value of the wrong shape: the trusted side refuses it as a protocol breach, stops the worker
and grades nothing (a well-formed forgery would only be judged as data, like any value the
submission's own functions could return). 0/8, status error.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import fcntl
import os
import stat
import struct

import grader.worker.protocol as protocol

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
