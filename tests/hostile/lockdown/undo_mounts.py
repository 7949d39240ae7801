"""Tries to undo its sandbox from inside: unmount every mount it can see (deepest first,
MNT_DETACH, its /proc included), mount a fresh tmpfs or proc, enter new namespaces, trace
itself, read another process's memory, and reports what it could do, its capabilities and
its seccomp mode. scale() returns the report (the check fails: it is a probe)."""
import ctypes
import errno
import os

libc = ctypes.CDLL(None, use_errno=True)


def _err(result):
    return "ok" if result == 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def scale(x):
    report = {}
    with open("/proc/self/mountinfo") as handle:
        mounts = [line.split()[4] for line in handle]
    report["mounts_seen"] = len(mounts)
    undone = []
    for target in sorted(set(mounts), key=lambda p: -p.count("/")):
        if _err(libc.umount2(target.encode(), 2)) == "ok":  # MNT_DETACH
            undone.append(target)
    report["unmounted"] = undone
    os.makedirs("m", exist_ok=True)
    report["mount_tmpfs"] = _err(libc.mount(b"none", b"m", b"tmpfs", 0, None))
    report["mount_proc"] = _err(libc.mount(b"proc", b"m", b"proc", 0, None))
    report["unshare_user"] = _err(libc.unshare(0x10000000))
    report["unshare_mount"] = _err(libc.unshare(0x00020000))
    report["ptrace_traceme"] = _err(libc.ptrace(0, 0, None, None))
    report["process_vm_readv"] = _err(libc.syscall(310, 1, None, 0, None, 0, 0))  # x86_64 number
    with open("/proc/self/status") as handle:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"):
        report[key] = status.get(key, "?").strip()
    report["pids_visible"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())[:20]
    return report
