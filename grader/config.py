"""Course configuration: ``autograder.toml``.

The engine knows nothing of a particular exercise; everything exercise-specific (which
notebook, which suite, which names are graded, the training budgets per device) is data in
this file. A new exercise is a new ``[assignments.NAME]`` table, never an engine change.

The file is found by (first hit wins): an explicit path, env ``GRADER_CONFIG``, then
``autograder.toml`` in the working directory or any parent.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

CONFIG_NAME = "autograder.toml"
DEFAULT_PRELOAD = ("numpy", "tensorflow", "keras")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?\s*$", re.IGNORECASE)


class ConfigError(Exception):
    """The course configuration is missing or wrong; the message says how to fix it."""


def parse_size(value: int | str) -> int:
    """``"2GiB"``, ``"512MB"``, ``"1.5G"`` or a number of bytes -> bytes (powers of 1024)."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ConfigError(f"cannot read the size {value!r}: write e.g. '2GiB' or '512MiB'")
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * 1024 ** " KMGT".index(unit or " "))


_COUNTS = ("max_params", "max_flops")  # whole numbers; 0 or "none": no limit
_SIZES = ("memory", "output", "disk", "trusted_memory")  # bytes, or "4GiB"


def _count(key: str, raw: Any) -> int | None:
    if isinstance(raw, str) and raw.strip().lower() == "none":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0 or raw != int(raw):
        raise ConfigError(f"limit {key} = {raw!r}: write a whole number (e.g. 5_000_000), or 0 for no limit")
    return int(raw) or None


@dataclass(frozen=True)
class Limits:
    """What one submission's worker may use. Enforced by :mod:`grader.engine.sandbox`."""

    timeout: float = 120.0  # wall-clock seconds of the student's code (time the trusted side spends between requests does not count)
    memory: int = 3 * 1024**3  # bytes of private data (RLIMIT_DATA) and resident set
    processes: int = 256  # tasks (processes + threads) the worker may own
    output: int = 32 * 1024**2  # largest file the worker may write (stdout included)
    disk: int = 256 * 1024**2  # all files in the scratch directory together
    inodes: int = 20000  # files, folders and links in the scratch directory together
    # seconds of the student's code one check may use (its calls together; a check's mark
    # @pytest.mark.budget(s) overrides): past it that check fails and the next gets a fresh
    # worker. None: a quarter of ``timeout``; 0: no per-check limit
    check_timeout: float | None = None
    # a model the student returns, checked on the trusted side from its config before Keras
    # rebuilds it (grader.engine.model_policy; enforced by grader.engine.submission)
    max_params: int | None = 5_000_000  # parameters (trainable and not)
    max_flops: int | None = 200_000_000  # operations of one forward pass per example (multiply-add = 2)
    # the trusted side's own work on this submission (the runner: rebuilding, training and
    # evaluating its models), not the worker's. Memory: the runner's resident set, watched by
    # the batch (grader.batch.slot) and its private data capped (RLIMIT_DATA, grader.batch.runner);
    # past it the runner is stopped and the row is an `error` naming this limit; 0: none
    trusted_memory: int = 4 * 1024**3
    # seconds of trusted work per submission: the batch stops a runner at timeout +
    # trusted_timeout + 60 s (an `error` row naming the grader's limit)
    trusted_timeout: float = 600.0
    # seconds of trusted work one check may use (its time in the worker not counted):
    # past it the check is the grader's (grader-error), the others are graded.
    # None: half of ``trusted_timeout``; 0: no per-check limit (grader.engine.plugin)
    trusted_check_timeout: float | None = None

    def merged(self, overrides: dict[str, Any]) -> Limits:
        values = dict(self.__dict__)
        for key, raw in overrides.items():
            if raw is None:
                continue
            if key not in values:
                raise ConfigError(f"unknown limit {key!r}; known: {', '.join(values)}")
            if key in _COUNTS:
                values[key] = _count(key, raw)
            else:
                values[key] = parse_size(raw) if key in _SIZES else float(raw)
        values["processes"] = int(values["processes"])
        values["inodes"] = int(values["inodes"])
        return Limits(**values)


@dataclass(frozen=True)
class ManualQuestion:
    """An explanation question: answered in a markdown cell, graded by a person."""

    name: str
    points: float
    prompt: str = ""


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    notebook: Path  # the master notebook (solutions)
    suite: Path  # the pytest grading suite (public and hidden tests)
    graded: tuple[str, ...]  # names the submission must define
    limits: Limits
    profiles: dict[str, dict[str, Any]]  # device -> budget values for the suite
    manual: tuple[ManualQuestion, ...] = ()
    # other spellings of a graded name (older template eras): canonical -> aliases, from
    # ``graded = ["EarlyStoppingCallback|myCallback"]``; the suite asks for the canonical name
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # course files the worker sees read-only beside the notebook: (path relative to the
    # worker's folder, file name inside the data folder), from ``data = {"data/mnist.npz" = "mnist.npz"}``
    data: tuple[tuple[str, str], ...] = ()

    @property
    def student_notebook_name(self) -> str:
        return f"{self.name}.ipynb"

    def profile(self, device: str, course_profiles: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Course-wide profile for ``device`` overlaid with this assignment's own."""
        merged: dict[str, Any] = dict(course_profiles.get(device, {}))
        merged.update(self.profiles.get(device, {}))
        merged["device"] = device
        return merged


@dataclass(frozen=True)
class Course:
    root: Path  # the folder holding autograder.toml
    name: str
    seed: int
    data_dir: Path | None
    limits: Limits
    profiles: dict[str, dict[str, Any]]
    assignments: dict[str, Assignment] = field(default_factory=dict)
    assignments_dir: Path = Path("assignments")
    # imported once per batch slot by the warm parent (grader.batch.slot), so neither the runner
    # nor a worker forked from it imports them again per submission
    preload: tuple[str, ...] = DEFAULT_PRELOAD
    # where a batch keeps the trusted side's measurements between runs (grader.engine.cache);
    # None: OUT/.grader-cache of each batch
    cache_dir: Path | None = None

    def assignment(self, name: str) -> Assignment:
        try:
            return self.assignments[name]
        except KeyError:
            known = ", ".join(sorted(self.assignments)) or "none"
            raise ConfigError(f"no assignment {name!r} in {CONFIG_NAME} (known: {known})") from None

    def profile(self, assignment: Assignment, device: str) -> dict[str, Any]:
        return assignment.profile(device, self.profiles)


def find_config(start: Path | None = None) -> Path | None:
    """Locate autograder.toml: env ``GRADER_CONFIG``, then ``start`` (cwd) and its parents."""
    env = os.environ.get("GRADER_CONFIG")
    if env:
        return Path(env).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def read_preload(path: Path | str) -> tuple[str, ...]:
    """Only ``[course] preload`` of ``path``: what a process imports before it reads anything else."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return DEFAULT_PRELOAD  # load_course reports the problem properly later
    return _preload(raw.get("course", {}))


def _preload(course: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(m) for m in course.get("preload", DEFAULT_PRELOAD))


def load_course(path: Path | str | None = None) -> Course:
    """Read and check the course configuration; raise :class:`ConfigError` with a fix."""
    config_path = Path(path).resolve() if path else find_config()
    if config_path is None or not config_path.is_file():
        raise ConfigError(
            f"no {CONFIG_NAME} found in {Path.cwd()} or its parents; run the grader from the "
            f"course folder, or set GRADER_CONFIG=/path/to/{CONFIG_NAME}"
        )
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path} is not valid TOML: {exc}") from exc
    root = config_path.parent
    course = raw.get("course", {})
    data_dir = course.get("data_dir")
    limits = Limits().merged(raw.get("limits", {}))
    profiles = {k: dict(v) for k, v in raw.get("profiles", {}).items()}
    assignments: dict[str, Assignment] = {}
    for name, entry in raw.get("assignments", {}).items():
        assignments[name] = _assignment(name, entry, root, limits)
    return Course(
        root=root,
        name=str(course.get("name", root.name)),
        seed=int(course.get("seed", 0)),
        data_dir=(root / data_dir).resolve() if data_dir else None,
        limits=limits,
        profiles=profiles,
        assignments=assignments,
        assignments_dir=root / course.get("assignments_dir", "assignments"),
        preload=_preload(course),
        cache_dir=(root / course["cache_dir"]).resolve() if course.get("cache_dir") else None,
    )


def _assignment(name: str, entry: dict[str, Any], root: Path, limits: Limits) -> Assignment:
    for key in ("notebook", "suite"):
        if key not in entry:
            raise ConfigError(f"[assignments.{name}] needs a '{key}' path")
    manual = tuple(
        ManualQuestion(str(q["name"]), float(q.get("points", 0)), str(q.get("prompt", "")))
        for q in entry.get("manual", [])
    )
    graded, aliases = _graded_names(name, entry.get("graded", ()))
    return Assignment(
        name=name,
        title=str(entry.get("title", name)),
        notebook=(root / entry["notebook"]).resolve(),
        suite=(root / entry["suite"]).resolve(),
        graded=graded,
        aliases=aliases,
        data=_data_files(name, entry.get("data", {})),
        limits=limits.merged(entry.get("limits", {})),
        profiles={k: dict(v) for k, v in entry.get("profiles", {}).items()},
        manual=manual,
    )


def _graded_names(assignment: str, entries: Any) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """``["EarlyStoppingCallback|myCallback", "train_mnist"]`` -> canonical names and aliases."""
    if isinstance(entries, str) or not isinstance(entries, (list, tuple)):
        raise ConfigError(f"[assignments.{assignment}] graded must be a list of names")
    graded, aliases = [], {}
    for entry in entries:
        spellings = [s.strip() for s in str(entry).split("|")]
        bad = [s for s in spellings if not s.isidentifier()]
        if bad:
            raise ConfigError(f"[assignments.{assignment}] graded: {entry!r} is not a name or names joined by '|' "
                              "(write \"EarlyStoppingCallback|myCallback\": the first is the name the suite uses)")
        graded.append(spellings[0])
        if len(spellings) > 1:
            aliases[spellings[0]] = tuple(dict.fromkeys(s for s in spellings[1:] if s != spellings[0]))
    return tuple(graded), aliases


def _data_files(assignment: str, table: Any) -> tuple[tuple[str, str], ...]:
    """``{"data/mnist.npz" = "mnist.npz"}``: worker path (relative, inside its folder) -> a
    file of the data folder (relative, inside it). Both are plain relative paths."""
    if not isinstance(table, dict):
        raise ConfigError(f'[assignments.{assignment}] data must be a table: data = {{"data/mnist.npz" = "mnist.npz"}}')
    files = []
    for target, source in table.items():
        for what, path in (("path", target), ("data file", source)):
            parts = str(path).replace("\\", "/").split("/")
            if (not isinstance(path, str) or not path or path.startswith("/")
                    or any(p in ("", ".", "..") for p in parts)):
                raise ConfigError(f"[assignments.{assignment}] data: the {what} {path!r} must be a relative path "
                                  "without '..', e.g. data = {\"data/mnist.npz\" = \"mnist.npz\"}")
        files.append((target, source))
    return tuple(files)


def public_suite_path(course: Course, assignment: Assignment) -> Path:
    """Where ``grader release`` writes an assignment's public suite (in a student's copy of
    the course, the only suite there is)."""
    return course.assignments_dir / assignment.name / "tests" / assignment.suite.name
