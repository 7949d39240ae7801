"""The few libc calls the grader makes through ctypes, each defined once.

Worker side (stdlib only), also used by the trusted processes that fork (slot, runner).
"""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def prctl(option: int, arg2: int = 0) -> int:
    """``prctl(option, arg2, 0, 0, 0)``; the result (-1 with errno set on failure)."""
    return libc.prctl(option, arg2, 0, 0, 0)


def die_with_parent() -> None:
    """SIGKILL when the parent dies. The kernel clears this on fork and on a change of
    credentials, so every forked child and the worker after its uid switch arm it again."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def no_new_privs() -> None:
    """No setuid/file-capability gains through execve, ever again (needed for seccomp)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def become_subreaper() -> None:
    """Orphaned descendants are re-parented to this process, not to init."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_process_name(name: str) -> None:
    """What ``ps``/``top`` show (``comm``): forked processes keep the parent's command line."""
    buffer = ctypes.create_string_buffer(name.encode()[:15])
    libc.prctl(PR_SET_NAME, ctypes.cast(buffer, ctypes.c_void_p).value or 0, 0, 0, 0)
