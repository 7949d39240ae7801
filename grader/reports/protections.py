"""What the worker's confinement report (``result.sandbox``, written by the worker itself:
:mod:`grader.worker.confine`) says was in force, one protection per row, in words an
instructor can act on. Used by the summary, the batch's one-time warning and
``grader doctor``; docs/SECURITY.md has the same table by mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Protection:
    name: str
    enforced: bool
    detail: str  # what was found in the report (why not, when not enforced)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} folders"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


# (protection, report key, test of the value); a key the report lacks is "not reported"
_RULES: list[tuple[str, str, Callable[[Any], bool]]] = [
    ("network blocked", "network", lambda v: isinstance(v, str) and v.startswith("blocked")),
    ("folders hidden", "hidden", lambda v: isinstance(v, list)),
    ("own PID namespace", "processes", lambda v: isinstance(v, str) and v.startswith("own PID namespace")),
    ("mounts locked", "mounts_locked", lambda v: v is True),
    ("no capabilities", "capabilities", lambda v: v == "dropped"),
    ("seccomp filter", "seccomp", lambda v: isinstance(v, str) and v.startswith("enforced")),
    ("task limit", "tasks", lambda v: isinstance(v, str) and v.startswith("RLIMIT_NPROC")),
    ("disk and inode limit", "disk",
     lambda v: isinstance(v, dict) and str(v.get("scratch", "")).startswith("tmpfs")),
    ("rlimits (memory, file size, CPU)", "rlimits", lambda v: isinstance(v, dict) and "memory" in v),
]


def protections(report: dict[str, Any]) -> list[Protection]:
    """One row per protection: enforced or not, with the report's own words."""
    rows = []
    for name, key, ok in _RULES:
        if key not in report:
            rows.append(Protection(name, False, "not reported"))
        else:
            rows.append(Protection(name, bool(ok(report[key])), _text(report[key])))
    uid = report.get("uid")
    if isinstance(uid, int):
        rows.append(Protection("own uid", True, str(uid)))
    else:
        rows.append(Protection("own uid", False, f"{uid} (a grader run as a normal user keeps its uid; "
                                                  "the mounts confine writes instead)"))
    return rows


def missing(report: dict[str, Any]) -> list[Protection]:
    """The protections not in force (own uid excepted when the mounts are locked: a normal
    user's mode, whose writes the locked read-only mounts and tmpfs confine instead)."""
    rows = [p for p in protections(report) if not p.enforced]
    locked = report.get("mounts_locked") is True
    return [p for p in rows if not (p.name == "own uid" and locked)]


def summary_line(report: dict[str, Any]) -> str:
    """One line for the instructor's summary: all enforced, or which are not and why."""
    if not report:
        return "sandbox: no worker ran"
    rows = protections(report)
    gaps = missing(report)
    if not gaps:
        return f"sandbox: {len(rows)} protections enforced"
    return "sandbox: NOT enforced: " + "; ".join(f"{p.name} ({p.detail})" for p in gaps)
