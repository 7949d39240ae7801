"""The child half of the fork template (:mod:`grader.engine.prefork` holds the parent's):
a process forked from a warm runner sheds the runner, waits for its setup and becomes the
worker exactly as ``python -I -m grader.worker.main`` would.

Also the first and last steps every forked grader process shares (:func:`detach`,
:func:`exit_after`). Worker side: standard library only.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any, NoReturn

from grader.worker.libc import die_with_parent, set_process_name

# search-path entries a ``python -I`` worker would not have; the warm parent fills it in
UNSAFE_PATHS: set[str] = set()


def detach(parent: int, name: str, output_fd: int) -> None:
    """First steps of a forked child: its own session, death with ``parent`` (or exit if that
    already died), a name for ``ps``, stdin from /dev/null, stdout and stderr to ``output_fd``."""
    os.setsid()
    die_with_parent()
    if os.getppid() != parent:
        os._exit(1)
    set_process_name(name)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)


def exit_after(body: Callable[[], int | None]) -> NoReturn:
    """Run ``body`` in a forked child, then end it as a fresh interpreter would: with the
    body's exit code, SystemExit's, or 1 and a traceback. The child never returns into the
    parent's code, whatever the body did to builtins or to ``os`` (student code runs in the
    worker's): the exit function is held from before it ran."""
    exit_now, code = os._exit, 1
    try:
        code = _run_as_main(body)
    except BaseException:  # noqa: BLE001, S110 - even reporting failed (e.g. print replaced)
        pass
    finally:
        exit_now(code)


def _run_as_main(body: Callable[[], int | None]) -> int:
    """The exit code a fresh interpreter would give (SystemExit's code; 1 with a traceback)."""
    try:
        return body() or 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 - as the interpreter does: report and exit 1
        import traceback

        traceback.print_exc()
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - the student may have replaced or closed them
                pass


def become_worker(parent: int, request_fd: int, reply_fd: int, output_fd: int) -> None:
    """In the forked child: shed the runner, wait for the setup, then serve as the worker."""
    detach(parent, "grader-worker", output_fd)
    keep = {0, 1, 2, request_fd, reply_fd}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    from grader.worker.main import (  # the worker's own imports, after the fork
        _read_setup,
        serve_confined,
    )

    setup = _read_setup(request_fd)
    _take_on(setup)
    _blank_initial_environment()
    serve_confined(request_fd, reply_fd, setup)


def _take_on(setup: dict[str, Any]) -> None:
    """What a fresh ``python -I`` worker would have: its environment, folder and search path."""
    os.environ.clear()
    os.environ.update(setup.get("env", {}))
    tempfile.tempdir = None  # TMPDIR changed: the cached answer is the runner's
    sys.dont_write_bytecode = True
    os.chdir(setup["scratch"])
    # -I puts neither the start folder nor PYTHONPATH on the search path
    sys.path[:] = [p for p in sys.path if p and p not in UNSAFE_PATHS]


def _blank_initial_environment() -> None:
    """Zero the environment block the warm parent was started with (``/proc/self/environ``).

    ``os.environ`` is the worker's own by now; the original strings still sit on the stack,
    readable by the student's code, and libc no longer points at them.
    """
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (stat fields 50, 51)
        if 0 < start < end:
            ctypes.memset(start, 0, end - start)
    except (OSError, ValueError, IndexError):
        pass
