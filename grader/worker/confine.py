"""Confining the worker process, from the inside, before any student code runs.

Called first thing by :mod:`grader.worker.main` while the process is single-threaded (only the
standard library imported). Each layer is applied when the OS allows it and *reported*,
so results say what was enforced (docs/SECURITY.md):

* ``PR_SET_PDEATHSIG``: the worker dies with the grading process;
* network namespace: no interface but a loopback that is down, so no connection to any
  address, loopback included (root, or an unprivileged user namespace);
* mount namespace: the course folder (suites, solutions), the output folder, the data
  folders (test-set labels), other submissions and ``/tmp`` are covered by empty, read-only
  tmpfs mounts of a few inodes; the Python installation and the grader are bound read-only;
* the scratch folder is a tmpfs of its own (``[limits] disk`` bytes, ``inodes`` files and
  folders: the kernel answers ENOSPC past either), ``/tmp`` a folder inside it; freed with
  the worker's mount namespace, so nothing is left on the host disk to delete;
* another uid (when the grader runs as root): a per-slot uid that owns nothing but the
  scratch folder, so the worker cannot write outside it, cannot signal other processes;
* tasks: ``RLIMIT_NPROC``, set once the worker's tasks are counted apart from any other
  process (its own user namespace, or the per-slot uid): :func:`cap_tasks`;
* ``PR_SET_NO_NEW_PRIVS``, and rlimits: data memory, file size, CPU time, no core;
* last, :func:`grader.worker.lockdown.lock_down`: the mounts locked (a further user
  namespace), every capability dropped, a seccomp filter (docs/SECURITY.md lists it).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import stat
import sys
from typing import Any

from grader.worker.libc import die_with_parent, no_new_privs
from grader.worker.libc import libc as _libc
from grader.worker.lockdown import lock_down  # at import: before any uid switch

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2


_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _enter_namespaces(report: dict[str, Any]) -> bool:
    """Network + mount + PID namespaces; True when mounts may be changed.

    After ``unshare(CLONE_NEWPID)`` only children land in the new PID namespace, so the
    process forks: the parent stays behind as a tiny waiter that mirrors the child's exit,
    and the child carries on as PID 1 of its namespace. It sees no process of the host,
    and when it exits the kernel kills every process it left behind (double-forked
    daemons included).
    """
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
    if os.geteuid() != 0:
        flags |= CLONE_NEWUSER
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        report["network"] = f"not blocked: unshare failed ({os.strerror(err)})"
        report["hidden"] = f"nothing hidden: unshare failed ({os.strerror(err)})"
        return False
    if flags & CLONE_NEWUSER:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        report["namespace"] = "user namespace (unprivileged)"
    report["network"] = "blocked: own network namespace, no interface up"
    _become_pid_one()
    report["waiter"] = True  # the process the grader started now only waits (see _become_pid_one)
    die_with_parent()
    try:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        report["processes"] = "own PID namespace: host processes invisible, all killed with the worker"
    except OSError as exc:
        report["processes"] = f"own PID namespace, host /proc still mounted ({exc})"
    return True


def _become_pid_one() -> None:
    """Fork; the parent waits and exits like the child (same code, same signal)."""
    pid = os.fork()
    if pid == 0:
        return
    for fd in range(3, 1024):  # the waiter holds no pipe: EOF reaches the trusted side
        try:
            os.close(fd)
        except OSError:
            pass
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):  # those two cannot be handled anyway
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


STAGE_MOUNTS = ("/mnt", "/media", "/srv", "/opt")
COVER_INODES = 256  # a cover holds the folders on the way to the paths kept inside it


def _hide(paths: list[str], keep: list[str], report: dict[str, Any], scratch: str = "") -> None:
    """Cover each path in ``paths`` with an empty tmpfs, re-exposing ``keep`` paths inside.

    Kept paths are first bind-mounted to a staging tmpfs (on ``/mnt`` in this mount
    namespace only, never a hidden path), then bound back once their ancestor is covered.
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    stage = next((p for p in STAGE_MOUNTS if os.path.isdir(p) and p not in paths), None)
    if stage is None:
        raise OSError("no folder to stage kept paths in (/mnt, /media, /srv, /opt)")
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=700")
    hidden: list[str] = []
    covers_ro: list[str] = []
    for target in sorted(set(paths), key=len):
        if not os.path.isdir(target) or any(target.startswith(h + os.sep) or target == h for h in hidden):
            continue
        inside = [k for k in keep if k == target or k.startswith(target + os.sep)]
        staged = []
        for i, path in enumerate(inside):
            if not os.path.exists(path):
                continue
            spot = os.path.join(stage, f"{len(hidden)}-{i}")
            os.makedirs(spot, exist_ok=True)
            _mount(path, spot, None, MS_BIND | MS_REC)
            staged.append((path, spot))
        # a few inodes (the folders kept paths need), and read-only once they are bound: in
        # a user namespace the worker owns the cover and could otherwise fill it
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size=1m,nr_inodes={COVER_INODES},mode=755")
        for path, spot in staged:
            os.makedirs(path, exist_ok=True)
            _mount(spot, path, None, MS_BIND | MS_REC)
            _libc.umount2(spot.encode(), MNT_DETACH)
            os.rmdir(spot)
        try:
            _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
            covers_ro.append(target)
        except OSError:
            pass
        hidden.append(target)
    _libc.umount2(stage.encode(), MNT_DETACH)
    report["hidden"] = hidden
    report["covers_read_only"] = covers_ro == hidden
    report["read_only"] = _read_only([k for k in keep if k != scratch])


def _read_only(paths: list[str]) -> list[str]:
    """Bind the Python installation and the grader package onto themselves, read-only.

    Whatever the uid, the worker then cannot plant code that a later trusted process
    would import (it matters most without a uid of its own, in a user namespace).
    """
    done = []
    for path in sorted(set(paths), key=len):
        if not os.path.isdir(path) or any(path == d or path.startswith(d + os.sep) for d in done):
            continue
        try:
            _mount(path, path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
            done.append(path)
        except OSError:
            continue
    return done


def _limits(limits: dict[str, Any], report: dict[str, Any]) -> None:
    applied = {}
    table = [
        ("core", resource.RLIMIT_CORE, 0),
        ("memory", resource.RLIMIT_DATA, limits.get("memory")),
        ("output", resource.RLIMIT_FSIZE, limits.get("output")),
        ("cpu_seconds", resource.RLIMIT_CPU, limits.get("cpu_seconds")),
    ]
    for name, which, value in table:
        if value is None:
            continue
        try:
            resource.setrlimit(which, (int(value), int(value)))
            applied[name] = int(value)
        except (ValueError, OSError) as exc:
            applied[name] = f"not set: {exc}"
    report["rlimits"] = applied


def _in_initial_userns() -> bool:
    try:
        with open("/proc/self/uid_map") as handle:
            return handle.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True


def cap_tasks(limit: int | None, own_uid: bool, report: dict[str, Any]) -> None:
    """``RLIMIT_NPROC`` = ``limit`` when the kernel counts this worker's tasks alone; says in
    ``report["tasks"]`` what holds (the watchdog's count stays, either way).

    Since Linux 5.14 the count behind ``RLIMIT_NPROC`` is kept per (user namespace, uid) and
    checked at every level up to the initial namespace against the limit each namespace
    was created with. In the worker's own user namespace (a grader run as a normal user)
    only the tasks of that namespace count, whatever the same uid runs outside; with the
    per-slot uid (``own_uid``, root) no other process has the uid. So: after
    ``_enter_namespaces`` or the uid switch. A later nested namespace (the lock-down's, or
    one the student would create) inherits the limit and is counted in this one.
    Not set where it would count the grader's own processes (a normal user without a user
    namespace) or where the kernel ignores it (uid 0 on the host).
    """
    if not limit:
        return
    if os.getuid() == 0 and _in_initial_userns():
        report["tasks"] = "not capped by the kernel: uid 0 is exempt from RLIMIT_NPROC (the watchdog counts)"
        return
    if _in_initial_userns() and not own_uid:
        report["tasks"] = ("not capped by the kernel: no user namespace or uid of its own, RLIMIT_NPROC would "
                           "count the grader's processes too (the watchdog counts)")
        return
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (int(limit), int(limit)))
    except (ValueError, OSError) as exc:
        report["tasks"] = f"not capped by the kernel: {exc} (the watchdog counts)"
        return
    where = "its own uid" if _in_initial_userns() else "its own user namespace"
    report["tasks"] = f"RLIMIT_NPROC {int(limit)}, counted in {where}"


def mount_scratch(path: str, size: int, inodes: int, uid: int, report: dict[str, Any], tmp: str = "/tmp") -> None:
    """Cover the scratch folder ``path`` with a tmpfs of ``size`` bytes and ``inodes`` inodes,
    mode 0700, owned by ``uid``, and bind ``<path>/.tmp`` onto ``tmp``, so that the worker's
    files, in both places, are held to the same limits by the kernel (ENOSPC).

    In the worker's own mount namespace, after :func:`_hide` (which covers ``tmp``) and before
    the course files are shown in ``path``. The folder underneath, on the host, stays empty;
    the tmpfs is freed when the namespace's last process ends. The trusted side reads its
    use with one ``statvfs`` through ``/proc/<pid>/root`` (``report["disk"]`` says so).
    Raises OSError when the tmpfs cannot be mounted (the watchdog then measures the folder).
    """
    gid = os.getgid() if uid == os.getuid() else uid
    page = os.sysconf("SC_PAGE_SIZE")
    pages = max(1, -(-int(size) // page))
    options = f"size={pages * page},nr_inodes={int(inodes)},mode=0700,uid={uid},gid={gid}"
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options)
    done: dict[str, Any] = {"scratch": "tmpfs", "bytes": pages * page, "inodes": int(inodes)}
    try:
        _bind_tmp(path, tmp, uid, gid, [p for p in report.get("read_only") or [] if isinstance(p, str)])
        done["tmp"] = f"{tmp}: a folder of the scratch tmpfs"
    except OSError as exc:
        done["tmp"] = f"{tmp}: an empty read-only cover ({exc})"
    report["disk"] = done


def _bind_tmp(path: str, tmp: str, uid: int, gid: int, keep: list[str] | tuple[str, ...] = ()) -> None:
    """Bind ``<path>/.tmp`` onto ``tmp``. What lay under ``tmp`` and must stay visible is bound
    back at its old path inside it: the scratch tmpfs itself (mkdtemp's
    /tmp/grader-scratch-*) and the read-only ``keep`` paths (a checkout and its virtual
    environment under /tmp, as CI's clones are), read-only again."""
    path, tmp = os.path.realpath(path), os.path.realpath(tmp)
    inner = os.path.join(path, ".tmp")
    os.mkdir(inner, 0o700)
    os.chown(inner, uid, gid)
    prefix = tmp.rstrip("/") + "/"
    under = sorted({os.path.realpath(p) for p in [path, *keep] if os.path.realpath(p).startswith(prefix)}, key=len)
    fds = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)) for p in under]
    try:
        _mount(inner, tmp, None, MS_BIND)
        for where, fd in fds:  # now inside <path>/.tmp
            os.makedirs(where, mode=0o700 if where == path else 0o755, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", where, None, MS_BIND | MS_REC)
            if where != path:
                _mount(None, where, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for _, fd in fds:
            os.close(fd)


def _open_data(files: list[Any], report: dict[str, Any]) -> list[tuple[int, str, str]]:
    """Open each declared course file (``[assignments.X] data``) by ``O_PATH`` while its
    folder is still visible: (fd, source, path relative to the scratch folder)."""
    opened = []
    for entry in files:
        try:
            source, target = str(entry[0]), str(entry[1])
            parts = target.split("/")
            if target.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise OSError(f"not a plain relative path: {target!r}")
            fd = os.open(source, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(f"{source} is not a regular file")
            opened.append((fd, source, target))
        except (OSError, IndexError, TypeError) as exc:
            report.setdefault("data", []).append(f"not shown: {exc}")
    return opened


def _show_data(files: list[tuple[int, str, str]], scratch: str, mounted: bool, report: dict[str, Any]) -> None:
    """Make each course file appear, read-only, at its path inside the scratch folder.

    In the worker's own mount namespace: an empty file there, the course file bind-mounted
    onto it (from its ``O_PATH`` descriptor: the folder it lives in is covered by now) and
    the bind remounted read-only. A mount point cannot be deleted, renamed or replaced, and
    a read-only mount cannot be written, whatever the worker's uid; nothing else of the
    data folder becomes visible. Without a mount namespace (``isolate = false``, no
    namespaces): a read-only copy (nothing is hidden there anyway).
    Folders on the way are created owned by the grader (root: the worker cannot add to them).
    """
    shown = report.setdefault("data", [])
    for fd, _source, target in files:
        base = os.path.realpath(scratch)
        path = os.path.join(base, target)
        try:
            folder = os.path.dirname(path)
            os.makedirs(folder, mode=0o755, exist_ok=True)
            if os.path.islink(path) or os.path.realpath(folder) != folder:
                raise OSError(f"{target}: a link on the way")
            if mounted:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444))
                _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)
                try:
                    _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
                except OSError:
                    _libc.umount2(path.encode(), MNT_DETACH)
                    raise
                shown.append(f"{target}: read-only bind")
            else:
                import shutil

                with open(f"/proc/self/fd/{fd}", "rb") as src, open(path, "xb") as dst:
                    shutil.copyfileobj(src, dst)
                os.chmod(path, 0o444)
                shown.append(f"{target}: read-only copy (no mount namespace)")
        except OSError as exc:
            shown.append(f"{target}: not shown ({exc})")
            try:  # no empty stand-in: the student's code gets FileNotFoundError, not an empty file
                if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == 0:
                    os.unlink(path)
            except OSError:
                pass
        finally:
            os.close(fd)


def _world_readable(path: str) -> bool:
    """Can any user reach ``path`` (o+x on every ancestor, o+r on the folder)?"""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        folder = os.sep.join(parts[:i]) or os.sep
        mode = os.stat(folder).st_mode
        if not mode & 0o001 or (folder == path and not mode & 0o004):
            return False
    return True


def confine(setup: dict[str, Any]) -> dict[str, Any]:
    """Apply every layer the setup asks for and the OS allows; return what was done."""
    report: dict[str, Any] = {}
    die_with_parent()
    scratch = setup["scratch"]
    data: list[tuple[int, str, str]] = []
    mounted = opened = False
    if setup.get("isolate", True):
        if _enter_namespaces(report):
            # opened in this mount namespace (a bind needs a mount of its own namespace),
            # before the data folders are covered
            data, opened = _open_data(setup.get("data") or [], report), True
            try:
                _hide(setup.get("hide", []), setup.get("keep", []) + [scratch], report, scratch)
                mounted = True
            except OSError as exc:
                report["hidden"] = f"not all hidden: {exc}"
    else:
        report["network"] = report["hidden"] = "not isolated (isolate = false)"
    limits = setup.get("limits", {})
    uid = setup.get("uid")
    if mounted and limits.get("disk") and limits.get("inodes"):
        try:  # before the course files are shown in it
            owner = uid if uid is not None and os.geteuid() == 0 else os.getuid()
            mount_scratch(scratch, limits["disk"], limits["inodes"], owner, report)
        except OSError as exc:
            report["disk"] = f"not limited by the kernel: {exc} (the watchdog measures the folder)"
    else:
        report["disk"] = "not limited by the kernel: no mount namespace (the watchdog measures the folder)"
    if not opened:
        data = _open_data(setup.get("data") or [], report)
    if data:
        _show_data(data, scratch, mounted, report)
    cores = setup.get("cores")
    if cores:
        try:
            os.sched_setaffinity(0, cores)
            report["cores"] = cores
        except OSError as exc:
            report["cores"] = f"not pinned: {exc}"
    _limits(limits, report)
    if uid is not None and not isinstance(report.get("hidden"), list) and not _world_readable(sys.base_prefix):
        report["uid"] = f"unchanged: {sys.base_prefix} is not readable by another uid and could not be re-exposed"
        uid = None
    if uid is not None and os.geteuid() == 0:
        parent = os.getppid()
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        # cleared by the uid change: armed again, or a worker whose grading process was
        # killed would live on
        die_with_parent()
        if os.getppid() != parent:  # the parent died in between
            os._exit(1)
        report["uid"] = uid
    elif "uid" not in report:
        report["uid"] = f"unchanged ({os.getuid()})"
    # after the namespaces and the uid switch, before any student code (see cap_tasks)
    cap_tasks(limits.get("processes"), isinstance(report["uid"], int), report)
    no_new_privs()
    os.chdir(scratch)
    os.umask(0o077)
    lock_down(report)  # last: mounts locked, no capability, seccomp (grader.worker.lockdown)
    return report
