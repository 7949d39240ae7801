"""Forges the grading protocol: at import it writes well-formed reply frames for the next 64
request ids straight into the worker's reply pipe (its fd is on the worker's command line),
each saying "ok, 0.01". The trusted side takes them as the answers of this submission's own
code, judges them as data and earns the forger nothing it could not have returned itself:
only RATE (0.01 is its right value) can pass. Expected 1/8 at most.
"""
import os
import struct
import sys

import grader.protocol as protocol

try:
    reply_fd = int(sys.argv[-1])
except ValueError:
    reply_fd = 4
for request_id in range(1, 65):
    frame = protocol.encode({"id": request_id, "ok": True, "value": 0.01, "stdout": "", "seconds": 0.0})
    try:
        os.write(reply_fd, struct.pack("<Q", len(frame)) + frame)
    except OSError:
        break


def scale(x):
    return x


RATE = 0.01
