"""Forges a reply frame at import: a prefix announcing 512 MB for a request id nobody asked
for, then starts writing the 512 MB. The trusted side refuses the frame from its 16-byte
prefix (wrong id, and longer than any reply may be) without reading or allocating the
payload, stops the worker and grades nothing: 0, status error, a protocol breach.
"""
# %%
# GRADED: all of it (a graded cell runs whole, top-level code included)
import fcntl
import os
import stat
import struct

SIZE = 512 * 1024**2
CHUNK = b"[0," * (1 << 18)  # ~768 KB of an endless JSON list

for fd in range(3, 256):  # every pipe open for writing: the reply pipe is one of them
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode) or fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_WRONLY:
            continue
    except OSError:
        continue
    try:
        os.write(fd, struct.pack("<qQ", 987_654_321, SIZE))
        sent = 0
        while sent < SIZE:  # blocks once the pipe is full: nobody reads it any more
            sent += os.write(fd, CHUNK)
    except OSError:
        continue


def add(a, b):
    return a + b


def mean(x, axis=None):
    import numpy as np

    return np.mean(x, axis=axis)


ANSWER = 42
