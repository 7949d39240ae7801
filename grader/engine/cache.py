"""A cache of the trusted side's own measurements: train once per architecture.

Some checks make the trusted side do heavy work of its own, e.g. 03's suite trains a fresh
copy of the submitted architecture to score it on a test set the student never sees. Many
submissions share an architecture (the reference, a typical mistake), and the training is
deterministic given its inputs, so its result is stored and reused.

What is cached, and what is not
    Only what the trusted side computed itself (numbers, histories), stored under a key
    the trusted side computed itself: a sha256 of canonical JSON (sorted keys, no spaces)
    of the measurement's name, the digest of the source files that compute it, the
    fields the suite gives (for a model: the config and compile config of the model as
    **rebuilt on this side** after the allow-list check, re-serialized by Keras here; the
    budget; the data's digest) and the context the engine adds: the profile (budget and
    device profile), the course seed, the versions of Python, numpy, TensorFlow and Keras,
    and the hardware it ran on (CPU model and threads, or GPU names). Nothing the worker
    sent is a key or a value: a worker-provided string only ever reaches the key through
    Keras' own deserialize/serialize on the trusted side. A GPU's results (non-deterministic
    kernels) are keyed by its device, separately from a CPU's.

Where it lives
    ``GRADER_CACHE_DIR`` (set by ``grader grade``: ``[course] cache_dir`` of
    autograder.toml, default ``OUT/.grader-cache``; by ``grader.check``: a folder of the
    user's, :func:`user_dir`). ``GRADER_NO_CACHE=1`` (``--no-cache``) switches it off;
    without either, ``grade_file`` called directly (tests, ``grader validate``) measures
    afresh. The folder is hidden from the worker like the output folder
    (:func:`hidden_paths`, used by ``grader.engine.grading.default_hidden_paths``).

Concurrency
    One trainer per key at a time: ``fcntl.flock`` on ``locks/<key>.lock``; the second
    ``--jobs`` slot wanting the same key waits, then reads the entry. Entries are written
    with :func:`grader.reports.results.atomic_write` (a temporary file, then ``os.replace``).
    ``events.log`` gets one JSON line per hit and per store (tests and ``grader cache
    info`` read it).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FOLDER_NAME = ".grader-cache"
FORMAT = 1  # bump when the layout or the meaning of a key changes
_TRUE = ("1", "true", "yes", "on")


# --------------------------------------------------------------------------- keys
def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces; tuples as lists. Raises for non-data."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def code_digest(sources: Iterable[Any]) -> dict[str, str]:
    """sha256 of each source file (a module or a path): a change of the code that measures is a new key."""
    out = {}
    for source in sources:
        path = Path(getattr(source, "__file__", source))
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def plain(value: Any) -> bool:
    """Only JSON data: dicts with str keys, lists, str, finite or non-finite floats, ints, bools, None."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return False


# --------------------------------------------------------------------------- where
def enabled_by_env() -> bool:
    return os.environ.get("GRADER_NO_CACHE", "").strip().lower() not in _TRUE


def active_dir() -> Path | None:
    """The cache folder of this grading process, or None (no cache)."""
    if not enabled_by_env():
        return None
    raw = os.environ.get("GRADER_CACHE_DIR", "").strip()
    return Path(raw).expanduser().resolve() if raw else None


def batch_dir(course: Any, out: Path | str) -> Path:
    """``[course] cache_dir`` of autograder.toml, else ``OUT/.grader-cache``."""
    configured = getattr(course, "cache_dir", None)
    return Path(configured).resolve() if configured else (Path(out) / FOLDER_NAME).resolve()


def user_dir() -> Path:
    """grader.check's cache: ``$XDG_CACHE_HOME/tf-grader/checks`` (``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base) / "tf-grader" / "checks").resolve()


def hidden_paths() -> list[str]:
    """The active cache folder, created (0700) so that the worker's mount namespace can cover it."""
    folder = active_dir()
    if folder is None:
        return []
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return []
    return [str(folder)]


def clear(folder: Path) -> int:
    """Remove every entry of ``folder`` (a cache folder); return how many entries there were."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    count = sum(1 for _ in folder.glob("entries/*/*.json"))
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    return count


def info(folder: Path) -> dict[str, Any]:
    folder = Path(folder)
    entries = list(folder.glob("entries/*/*.json")) if folder.is_dir() else []
    hits = stores = 0
    log = folder / "events.log"
    if log.is_file():
        for line in log.read_text("utf-8", errors="replace").splitlines():
            hits += '"event":"hit"' in line
            stores += '"event":"store"' in line
    return {"folder": str(folder), "entries": len(entries), "bytes": sum(p.stat().st_size for p in entries),
            "hits": hits, "stores": stores}


# --------------------------------------------------------------------------- the engine's context
def versions() -> dict[str, str]:
    import numpy

    out = {"python": platform.python_version(), "numpy": numpy.__version__, "format": str(FORMAT)}
    for name in ("tensorflow", "keras"):
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except Exception:  # noqa: BLE001 - not installed: part of the key as such
                module = None
        out[name] = str(getattr(module, "__version__", "none"))
    return out


def hardware() -> dict[str, Any]:
    """What the trusted side computes on: GPU names when TensorFlow sees a GPU, and the CPU
    (model, threads this process may use: reductions may be split by thread count)."""
    out: dict[str, Any] = {"machine": platform.machine()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            out["cpu"] = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        out["cpu"] = platform.processor()
    out["threads"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    out["omp_threads"] = os.environ.get("OMP_NUM_THREADS", "")
    gpus: list[str] = []
    if "tensorflow" in sys.modules:
        try:
            tf = sys.modules["tensorflow"]
            for gpu in tf.config.list_physical_devices("GPU"):
                details = tf.config.experimental.get_device_details(gpu)
                gpus.append(f"{details.get('device_name', gpu.name)} cc{details.get('compute_capability', '')}")
            if gpus:  # the kernels a GPU runs come with TensorFlow's CUDA/cuDNN build
                build = tf.sysconfig.get_build_info()
                out["cuda"] = f"{build.get('cuda_version', '')}/{build.get('cudnn_version', '')}"
        except Exception:  # noqa: BLE001
            gpus.append("unknown")
    out["gpus"] = gpus
    return out


# --------------------------------------------------------------------------- the cache
class TrustedCache:
    """The ``trusted_cache`` fixture: :meth:`measure` runs a trusted computation once per key."""

    def __init__(self, folder: Path | None, profile: dict[str, Any], seed: int) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.profile = dict(profile)
        self.seed = int(seed)
        self.events: list[dict[str, Any]] = []  # this process's hits/stores, for the suite and tests
        self._context: dict[str, Any] | None = None

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def context(self) -> dict[str, Any]:
        if self._context is None:
            self._context = {"profile": self.profile, "seed": self.seed, "versions": versions(),
                             "hardware": hardware()}
        return self._context

    def key(self, what: str, fields: dict[str, Any], code: Iterable[Any] = ()) -> str:
        return digest({"what": what, "code": code_digest(code), "fields": fields, "context": self.context()})

    def measure(self, what: str, fields: dict[str, Any] | None, compute: Callable[[], Any], *,
                code: Iterable[Any] = (), encode: Callable[[Any], Any] | None = None,
                decode: Callable[[Any], Any] | None = None) -> Any:
        """``compute()``'s result, from the cache when this key was measured before.

        ``fields``: what decides the result besides the engine's context (None: do not
        cache, e.g. a model that could not be described). ``encode`` turns the result
        into plain data for storage and ``decode`` back; an exception of ``compute`` is
        never cached. Only call this with fields computed on the trusted side.
        """
        if self.folder is None or fields is None:
            return compute()
        encode = encode or (lambda v: v)
        decode = decode or (lambda v: v)
        code = list(code)
        key = self.key(what, fields, code)
        entry_path = self.folder / "entries" / key[:2] / f"{key}.json"
        lock_path = self.folder / "locks" / f"{key}.lock"
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            lock = open(lock_path, "a+b")  # noqa: SIM115 - closed below
        except OSError as exc:  # a folder we cannot write: measure, as without a cache
            self._problem(what, key, exc)
            return compute()
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one trainer per key; others wait, then hit
            stored = self._read(entry_path, key)
            if stored is not None:
                try:
                    value = decode(stored["value"])
                except Exception:  # noqa: BLE001 - an entry that does not decode: measure again
                    value = None
                else:
                    self._log("hit", what, key, stored.get("seconds"))
                    return value
            start = time.perf_counter()
            value = compute()
            seconds = time.perf_counter() - start
            data = encode(value)
            if not plain(data):
                raise TypeError(f"{what}: the cached value must be plain data, not {type(data).__name__}")
            from grader.files import atomic_write

            entry = {"format": FORMAT, "key": key, "what": what, "value": data, "seconds": round(seconds, 3),
                     "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "context": self.context(),
                     "fields": fields, "code": code_digest(code)}  # what was measured, for a person reading it
            try:
                entry_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                atomic_write(entry_path, json.dumps(entry, sort_keys=True))
            except OSError as exc:  # a full disk: the measurement stands, it is just not kept
                self._problem(what, key, exc)
                return value
            self._log("store", what, key, round(seconds, 3))
            return value

    def _problem(self, what: str, key: str, exc: OSError) -> None:
        self.events.append({"event": "error", "what": what, "key": key, "error": f"{type(exc).__name__}: {exc}"})

    @staticmethod
    def _read(path: Path, key: str) -> dict[str, Any] | None:
        try:
            entry = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
            return None  # a file under another key's name: not this measurement
        if not plain(entry.get("value")):
            return None
        return entry

    def _log(self, event: str, what: str, key: str, seconds: Any) -> None:
        record = {"event": event, "what": what, "key": key, "seconds": seconds, "pid": os.getpid(),
                  "time": round(time.time(), 3)}
        self.events.append(record)
        assert self.folder is not None
        line = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode()
        try:
            fd = os.open(self.folder / "events.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)  # one short O_APPEND write: lines of parallel slots never interleave
            finally:
                os.close(fd)
        except OSError:
            pass
