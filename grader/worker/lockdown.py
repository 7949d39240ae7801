"""The last layer of the worker's confinement: lock the mounts, drop every capability,
filter system calls. Called at the very end of ``confine()``, just before student code runs.

Worker side: the standard library, :mod:`grader.worker.libc` and ``pyseccomp`` (a ctypes
binding to the system's libseccomp.so.2, API-compatible with libseccomp's own Python
bindings, which are not on PyPI; the filter is libseccomp's, not hand-assembled BPF). :func:`lock_down` never raises: each layer is applied when the OS allows it and
*reported* (``report["mounts_locked"]``, ``report["capabilities"]``, ``report["seccomp"]``).

Why each layer
--------------
* **Mounts locked.** A grader run as a normal user confines its worker in a user namespace
  of its own: the worker keeps every capability there and owns its mount namespace, so it
  could ``umount2(MNT_DETACH)`` the tmpfs covers (or its ``/proc``) and see what they hide.
  Entering a further user namespace, owned by the current one, together with a new mount
  namespace copies every mount into a namespace of lesser privilege, and the kernel marks
  each of them ``MNT_LOCKED``: they can no longer be unmounted or moved, whatever
  capabilities the process holds in its new namespace (``EINVAL``). Done in both modes
  (root with a per-slot uid, normal user), the uid and gid mapped to themselves.
* **No capability.** Bounding set, ambient set, effective/permitted/inheritable all empty;
  securebits ``NOROOT`` (locked): not even an ``execve`` as uid 0 of the namespace gives any
  back. ``PR_SET_NO_NEW_PRIVS`` stays set.
* **Seccomp.** Default *allow*; the calls in :data:`DENIED` fail with the errno given there
  (``EPERM`` but ``clone3``: ``ENOSYS``, so that glibc falls back to ``clone``, whose flags
  can be checked); ``clone`` with any flag of :data:`CLONE_NAMESPACE_FLAGS` fails with
  ``EPERM``; ``personality`` is allowed only as the query ``personality(0xffffffff)``.
  A system call of another ABI (i386 through ``int 0x80``, x32) kills the process.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
import time
from typing import Any

from grader.worker.libc import libc as _libc
from grader.worker.libc import prctl as _prctl

try:  # at import time: pyseccomp runs ``ldconfig -p`` to find the libraries (~20 ms)
    import pyseccomp as _seccomp

    _SECCOMP_ERROR = ""
except Exception as exc:  # noqa: BLE001  (library missing, libseccomp.so.2 missing, ...)
    _seccomp = None
    _SECCOMP_ERROR = f"{type(exc).__name__}: {exc}"

EPERM, ENOSYS = errno.EPERM, errno.ENOSYS

#: (system call, errno returned, why it is denied). Unconditional denials. A name the
#: running architecture does not have (libseccomp resolves it to a negative number) is
#: skipped. Documented syscall by syscall in SECURITY.md.
DENIED: tuple[tuple[str, int, str], ...] = (
    # mounts and namespaces: hidden folders stay hidden, the sandbox stays the sandbox
    ("mount", EPERM, "uncovering or replacing the tmpfs covers, remounting read-only binds"),
    ("umount2", EPERM, "detaching a tmpfs cover or /proc to see what it hides"),
    ("pivot_root", EPERM, "changing the root of the mount namespace"),
    ("chroot", EPERM, "chroot tricks (with a capability, escaping a chroot of its own)"),
    ("fsopen", EPERM, "new mount API: creating a file system context"),
    ("fsconfig", EPERM, "new mount API: configuring a file system context"),
    ("fsmount", EPERM, "new mount API: turning a context into a mount"),
    ("fspick", EPERM, "new mount API: reconfiguring an existing mount"),
    ("move_mount", EPERM, "new mount API: attaching or moving a mount"),
    ("open_tree", EPERM, "new mount API: cloning a mount tree (a detached copy of a covered folder)"),
    ("mount_setattr", EPERM, "new mount API: changing mount flags (read-only, idmapping)"),
    ("unshare", EPERM, "new namespaces: a user namespace gives every capability again, inside it"),
    ("setns", EPERM, "joining another namespace through a descriptor"),
    ("clone3", ENOSYS, "its flags sit in a struct seccomp cannot read; ENOSYS makes glibc use clone, whose flags are checked"),
    # other processes' memory and descriptors
    ("ptrace", EPERM, "tracing another process: reading and changing its memory and registers"),
    ("process_vm_readv", EPERM, "reading another process's memory"),
    ("process_vm_writev", EPERM, "writing another process's memory"),
    ("process_madvise", EPERM, "advising on another process's memory"),
    ("pidfd_getfd", EPERM, "taking a descriptor out of another process"),
    ("kcmp", EPERM, "comparing kernel objects of other processes (ptrace-like probe)"),
    # kernel keyrings
    ("keyctl", EPERM, "kernel keyrings are not namespaced: keys of the same uid"),
    ("add_key", EPERM, "kernel keyrings"),
    ("request_key", EPERM, "kernel keyrings, and the upcall it can trigger"),
    # large kernel attack surface, no use in grading
    ("bpf", EPERM, "eBPF programs and maps: kernel attack surface"),
    ("perf_event_open", EPERM, "performance counters: side channels, kernel attack surface"),
    ("userfaultfd", EPERM, "stalling the kernel on a page fault: a classic exploit primitive"),
    ("io_uring_setup", EPERM, "io_uring: kernel attack surface, its operations are not seen by seccomp"),
    ("io_uring_enter", EPERM, "io_uring (see io_uring_setup)"),
    ("io_uring_register", EPERM, "io_uring (see io_uring_setup)"),
    ("open_by_handle_at", EPERM, "opening a file by handle bypasses the path, hence the covers"),
    ("name_to_handle_at", EPERM, "getting handles for open_by_handle_at"),
    # kernel modules and booting
    ("init_module", EPERM, "loading a kernel module"),
    ("finit_module", EPERM, "loading a kernel module from a descriptor"),
    ("delete_module", EPERM, "unloading a kernel module"),
    ("create_module", EPERM, "obsolete module call"),
    ("query_module", EPERM, "obsolete module call"),
    ("get_kernel_syms", EPERM, "obsolete module call"),
    ("kexec_load", EPERM, "loading a new kernel"),
    ("kexec_file_load", EPERM, "loading a new kernel from a file"),
    ("reboot", EPERM, "rebooting, or in a PID namespace killing its init"),
    # system-wide state
    ("swapon", EPERM, "adding swap"),
    ("swapoff", EPERM, "removing swap"),
    ("acct", EPERM, "process accounting to a file"),
    ("quotactl", EPERM, "disk quotas"),
    ("quotactl_fd", EPERM, "disk quotas"),
    ("settimeofday", EPERM, "setting the clock (the time limits depend on it)"),
    ("clock_settime", EPERM, "setting the clock"),
    ("adjtimex", EPERM, "adjusting the clock"),
    ("clock_adjtime", EPERM, "adjusting the clock"),
    ("syslog", EPERM, "reading or clearing the kernel log (addresses, other users' messages)"),
    ("vhangup", EPERM, "hanging up the terminal"),
    ("sethostname", EPERM, "host name (namespaced, refused anyway)"),
    ("setdomainname", EPERM, "domain name (namespaced, refused anyway)"),
    ("iopl", EPERM, "raw I/O port access"),
    ("ioperm", EPERM, "raw I/O port access"),
    ("lookup_dcookie", EPERM, "profiling interface that leaks paths"),
    ("nfsservctl", EPERM, "obsolete kernel NFS server control"),
    ("uselib", EPERM, "obsolete: loading a library the a.out way"),
    ("_sysctl", EPERM, "obsolete binary sysctl"),
    ("ustat", EPERM, "obsolete file system statistics"),
    ("sysfs", EPERM, "obsolete file system type listing"),
)

#: ``clone`` fails with ``EPERM`` when its flags (argument 0) hold any of these bits.
CLONE_NAMESPACE_FLAGS: tuple[tuple[str, int], ...] = (
    ("CLONE_NEWNS", 0x00020000),
    ("CLONE_NEWCGROUP", 0x02000000),
    ("CLONE_NEWUTS", 0x04000000),
    ("CLONE_NEWIPC", 0x08000000),
    ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_NEWPID", 0x20000000),
    ("CLONE_NEWNET", 0x40000000),
)

#: ``personality(x)`` fails with ``EPERM`` unless ``x`` is this query value (changing the
#: personality can turn off address randomisation, among others). ``PER_LINUX`` (0) is
#: refused too: libseccomp 2.5 cannot put two comparisons on one argument in a rule.
PERSONALITY_QUERY = 0xFFFFFFFF

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 28, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECBIT_NOROOT, SECBIT_NOROOT_LOCKED = 1 << 0, 1 << 1
SECBIT_KEEP_CAPS_LOCKED = 1 << 5
SECBIT_NO_CAP_AMBIENT_RAISE, SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 1 << 6, 1 << 7
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc.unshare.argtypes = [ctypes.c_int]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_libc.capset.argtypes = [ctypes.POINTER(_CapHeader), ctypes.POINTER(_CapData)]


def _errno_text() -> str:
    err = ctypes.get_errno()
    return f"{errno.errorcode.get(err, err)}: {os.strerror(err)}"


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _status(prefix: str, path: str = "/proc/self/status") -> dict[str, str]:
    with open(path) as handle:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in handle) if k.startswith(prefix)}


def lock_down(report: dict[str, Any]) -> None:
    """Lock the mounts, drop every capability, load the seccomp filter; never raises.

    Call it last in ``confine()``, single-threaded (a user namespace cannot be entered by a
    process with several threads), after the mounts, the uid switch, the rlimits and
    ``PR_SET_NO_NEW_PRIVS``. Sets ``report["mounts_locked"]`` (bool, with
    ``report["mounts_locked_why"]`` when False), ``report["capabilities"]`` and
    ``report["seccomp"]`` (strings), ``report["lockdown_ms"]``.
    """
    start = time.perf_counter()
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    for step, key in ((_lock_mounts, "mounts_locked"), (_drop_capabilities, "capabilities"), (_filter_syscalls, "seccomp")):
        try:
            step(report)
        except Exception as exc:  # noqa: BLE001  never let the last layer break the worker
            why = f"failed: {type(exc).__name__}: {exc}"
            if key == "mounts_locked":
                report.setdefault("mounts_locked", False)
                report.setdefault("mounts_locked_why", why)
            else:
                report[key] = why
    report["lockdown_ms"] = round((time.perf_counter() - start) * 1000, 2)


def _lock_mounts(report: dict[str, Any]) -> None:
    """New user namespace (owned by the current one) + new mount namespace: every
    inherited mount becomes MNT_LOCKED."""
    uid, gid = os.geteuid(), os.getegid()
    pdeath = ctypes.c_int(0)
    _libc.prctl(PR_GET_PDEATHSIG, ctypes.addressof(pdeath), 0, 0, 0)
    parent = os.getppid()
    dumpable = _prctl(PR_GET_DUMPABLE)
    # after a setuid from root the process is not dumpable, so /proc/self/uid_map belongs
    # to root and cannot be written: dumpable for the time of the switch only
    if dumpable != 1:
        _prctl(PR_SET_DUMPABLE, 1)
    try:
        if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
            report["mounts_locked"] = False
            report["mounts_locked_why"] = f"unshare(CLONE_NEWUSER|CLONE_NEWNS) failed ({_errno_text()})"
            return
        report["mounts_locked"] = True
        try:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError as exc:  # locked all the same; ids show as 65534 inside
            report["mounts_locked_why"] = f"locked, but uid/gid not mapped ({exc})"
    finally:
        if dumpable != 1:
            _prctl(PR_SET_DUMPABLE, dumpable)
        if pdeath.value:
            again = ctypes.c_int(0)
            _libc.prctl(PR_GET_PDEATHSIG, ctypes.addressof(again), 0, 0, 0)
            if again.value != pdeath.value:  # cleared by a change of credentials: arm it again
                _prctl(PR_SET_PDEATHSIG, pdeath.value)
                if os.getppid() != parent:  # the parent died in between
                    os._exit(1)


def _cap_last() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 63  # PR_CAPBSET_DROP answers EINVAL past the last one


def _drop_capabilities(report: dict[str, Any]) -> None:
    problems = []
    bits = (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED
            | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)
    if _prctl(PR_SET_SECUREBITS, bits) != 0:
        problems.append(f"securebits not set ({_errno_text()})")
    for cap in range(_cap_last() + 1):  # needs CAP_SETPCAP: before capset
        if _prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() != errno.EINVAL:
            problems.append(f"bounding set kept ({_errno_text()})")
            break
    if _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL) != 0:
        problems.append(f"ambient set not cleared ({_errno_text()})")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if _libc.capset(ctypes.byref(header), data) != 0:
        problems.append(f"capset failed ({_errno_text()})")
    left = {k: v for k, v in _status("Cap").items() if int(v, 16) != 0}
    if left:
        problems.append("left: " + ", ".join(f"{k} {v}" for k, v in sorted(left.items())))
    # capabilities belong to threads: capset() above changed the calling thread only
    me = str(threading.get_native_id())
    others = [t for t in os.listdir("/proc/self/task") if t != me]
    kept = [t for t in others if any(int(v, 16) for v in _status("Cap", f"/proc/self/task/{t}/status").values())]
    if kept:
        problems.append(f"{len(kept)} other thread(s) keep theirs (call lock_down single-threaded)")
    if left or kept:
        report["capabilities"] = "not all dropped: " + "; ".join(problems)
    else:
        report["capabilities"] = "dropped" + (f" ({'; '.join(problems)})" if problems else "")


def _build_filter() -> tuple[Any, int]:
    """The filter (not loaded) and how many system calls it denies (wholly or in part)."""
    sc = _seccomp
    native = sc.Arch.NATIVE
    flt = sc.SyscallFilter(sc.ALLOW)
    try:  # i386 (int 0x80) or x32 calls would dodge rules written for x86_64
        flt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    except OSError:
        pass  # libseccomp's default: kill the thread
    try:
        flt.set_attr(sc.Attr.CTL_TSYNC, 1)
    except OSError:
        pass
    count = 0
    for name, err, _why in DENIED:
        if sc.resolve_syscall(native, name) < 0:
            continue
        flt.add_rule(sc.ERRNO(err), name)
        count += 1
    if sc.resolve_syscall(native, "clone") >= 0:
        for _flag, bit in CLONE_NAMESPACE_FLAGS:
            flt.add_rule(sc.ERRNO(EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, bit, bit))
        count += 1
    if sc.resolve_syscall(native, "personality") >= 0:
        flt.add_rule(sc.ERRNO(EPERM), "personality", sc.Arg(0, sc.NE, PERSONALITY_QUERY))
        count += 1
    return flt, count


def _filter_syscalls(report: dict[str, Any]) -> None:
    if _seccomp is None:
        report["seccomp"] = f"not enforced: no seccomp library ({_SECCOMP_ERROR})"
        return
    try:
        flt, count = _build_filter()
    except OSError as exc:
        report["seccomp"] = f"not enforced: libseccomp refused the filter ({exc})"
        return
    try:
        flt.load()
    except OSError as exc:
        report["seccomp"] = f"not enforced: the kernel refused the filter ({exc})"
        return
    mode = _status("Seccomp").get("Seccomp", "?")
    report["seccomp"] = f"enforced ({count} syscalls denied)" if mode == "2" else f"loaded, but Seccomp: {mode}"


def export_pfc(path: str) -> None:
    """Write libseccomp's readable listing of the filter (for the docs, for review)."""
    if _seccomp is None:
        raise RuntimeError(_SECCOMP_ERROR)
    flt, _ = _build_filter()
    with open(path, "w") as handle:
        flt.export_pfc(handle)
