"""Reads environment variables: its own (os.environ, /proc/self/environ, and every dict
in its interpreter holding a secret's name), and those of every process it can see in /proc (looking
for GRADER_DATA_DIR, GRADER_CONFIG, keys, tokens). scale() returns them. Honest RATE: 1/8.
"""
import gc
import os


def python_copies(name):
    """Every value stored under ``name`` in any dict alive in this interpreter (environment copies)."""
    hits = []
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            for key in (name, name.encode()):
                if obj.get(key) is not None:
                    hits.append(str(obj[key])[:80])
    return hits


def scale(x):
    others = {}
    cmdlines = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                others[pid] = handle.read().decode("utf-8", "replace").split("\0")
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdlines += bool(handle.read(1))
        except OSError:
            pass
    try:  # unreadable once the worker has its own uid (the process is no longer dumpable)
        with open("/proc/self/environ", "rb") as handle:
            own = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        own = type(exc).__name__
    return {"environ": dict(os.environ), "other_environs": others, "cmdlines_readable": cmdlines,
            "uid": os.getuid(), "own_proc_environ": own, "secret_in_memory": python_copies("AWS_SECRET_ACCESS_KEY")}


RATE = 0.01
