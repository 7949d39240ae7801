"""The child half of the fork template, the *zygote* (:mod:`grader.engine.prefork` holds the
parent's): a process forked from a warm runner (or started as ``python -I -m
grader.worker.template``) sheds the runner, waits for its setup, then forks one worker per
request of the sandbox; each becomes the worker exactly as ``python -I -m grader.worker.main``
would. The zygote itself never runs student code.

Also the first and last steps every forked grader process shares (:func:`detach`,
:func:`exit_after`). Worker side: standard library only.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, NoReturn

from grader.worker.libc import die_with_parent, set_process_name

SETUP_BYTES = 1 << 20  # the largest setup message the zygote reads
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


def become_zygote(parent: int, channel_fd: int) -> int:
    """In the forked child (or a fresh ``python -I -m grader.worker.template``): shed the
    runner, wait for the setup, then fork one worker per request until the runner hangs up.

    The zygote stays clean: it runs no student code and holds nothing but the setup (paths,
    limits, the worker's environment), so every worker forked from it starts exactly alike,
    the heavy imports already done, and a second or third worker costs a fork, not an import.
    """
    import socket

    detach(parent, "grader-zygote", os.open(os.devnull, os.O_WRONLY))
    channel = socket.socket(fileno=channel_fd)
    _close_all_but({0, 1, 2, channel.fileno()})
    setup = json.loads(channel.recv(SETUP_BYTES) or b"null")
    if not isinstance(setup, dict):
        return 3
    _take_on(setup)
    _blank_initial_environment()
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(channel, 64, 3)
        except OSError:
            return 0
        if not message:  # the runner hung up (or died)
            return 0
        if message != b"spawn" or len(fds) != 3:
            for fd in fds:
                os.close(fd)
            channel.send(b"0")
            continue
        pid = _fork_worker(parent, fds, setup, channel.fileno())
        for fd in fds:
            os.close(fd)
        channel.send(str(pid).encode())


def _fork_worker(parent: int, fds: list[int], setup: dict[str, Any], channel_fd: int) -> int:
    """Fork a worker that the runner (a child subreaper) adopts: the zygote forks a middle
    process, which forks the worker and exits; the worker's pid comes back, 0 on failure."""
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:  # pragma: no cover - the middle process; exercised through the engine tests
        os.close(read_end)
        os.close(channel_fd)
        worker = os.fork()
        if worker == 0:
            os.close(write_end)
            exit_after(lambda: _serve(parent, fds, setup))
        os.write(write_end, str(worker).encode())
        os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 32):
        data += chunk
    os.close(read_end)
    os.waitpid(middle, 0)  # once the middle process is reaped, the worker is the runner's child
    return int(data) if data.isdigit() else 0


def _serve(parent: int, fds: list[int], setup: dict[str, Any]) -> int:
    """In the worker: once adopted by the runner, its own session and pipes, then serve."""
    request_fd, reply_fd, output_fd = fds
    give_up = time.monotonic() + 10
    while os.getppid() != parent:  # the middle process is exiting: wait for the adoption
        if time.monotonic() > give_up:
            return 1
        time.sleep(0.001)
    detach(parent, "grader-worker", output_fd)
    _close_all_but({0, 1, 2, request_fd, reply_fd})
    os.chdir(setup["scratch"])
    from grader.worker.main import serve_confined  # the worker's own import, after the fork

    serve_confined(request_fd, reply_fd, setup)
    return 0


def _close_all_but(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _take_on(setup: dict[str, Any]) -> None:
    """What a fresh ``python -I`` worker would have: its environment, folder and search path."""
    os.environ.clear()
    os.environ.update(setup.get("env", {}))
    tempfile.tempdir = None  # TMPDIR changed: the cached answer is the runner's
    sys.dont_write_bytecode = True
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


def main() -> None:
    """``python -I -m grader.worker.template CHANNEL_FD``: a zygote without a warm runner."""
    exit_after(lambda: become_zygote(os.getppid(), int(sys.argv[1])))


if __name__ == "__main__":
    main()
