"""Inside ``add``, forges the reply to the very request being served (its id read from the
worker's own request loop on the stack): a well-formed frame whose JSON nests 100,000 lists.
Decoding it on the trusted side would raise RecursionError; it is a protocol breach instead:
the worker is stopped, the row's status is error, every check not yet run gets 0 with the
breach's message.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import os
import struct
import sys

import numpy as np

DEPTH = 100_000


def _request_loop():
    """The id of the request being answered and the reply pipe, from the worker's loop."""
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code.co_name == "serve" and "request_id" in frame.f_locals:
            return frame.f_locals["request_id"], frame.f_locals["self"].fd_out
        frame = frame.f_back
    raise RuntimeError("the worker's request loop is not on the stack")


def add(a, b):
    request_id, fd = _request_loop()
    header = b"[" * DEPTH + b"]" * DEPTH
    payload = b"GRDR" + struct.pack("<I", len(header)) + header + struct.pack("<I", 0)
    frame = struct.pack("<qQ", request_id, len(payload)) + payload
    while frame:
        frame = frame[os.write(fd, frame):]
    return a + b


def mean(x, axis=None):
    return np.mean(x, axis=axis)


ANSWER = 42
