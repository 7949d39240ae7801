"""Choosing the device: ``--device auto|cpu|gpu``, by TensorFlow's conventions.

``auto`` asks TensorFlow whether it sees a GPU, but only when the machine could have one
(an NVIDIA device node or a WSL GPU): on a CPU-only machine it answers ``cpu`` without
paying for a TensorFlow import. The answer is the *profile* name too: budgets and
thresholds come from ``[profiles.<device>]`` in autograder.toml. With ``--jobs N`` and
several GPUs, slot ``i`` gets GPU ``i % count`` through ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

PROBE = "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))"


class DeviceError(Exception):
    pass


@dataclass(frozen=True)
class DeviceChoice:
    name: str  # "cpu" or "gpu": also the profile
    gpus: int  # GPUs TensorFlow sees (0 on the CPU path)

    def gpu_for(self, slot: int) -> int | None:
        return slot % self.gpus if self.name == "gpu" and self.gpus else None


def _could_have_gpu() -> bool:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/dxg"))


@lru_cache(maxsize=1)
def count_gpus() -> int:
    """GPUs TensorFlow sees, asked in a subprocess (TF in the batch process is not needed)."""
    if not _could_have_gpu():
        return 0
    try:
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        return int(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return 0


def choose(requested: str) -> DeviceChoice:
    if requested == "cpu":
        return DeviceChoice("cpu", 0)
    gpus = count_gpus()
    if requested == "gpu":
        if not gpus:
            raise DeviceError("--device gpu: TensorFlow sees no GPU on this machine (try --device auto or cpu)")
        return DeviceChoice("gpu", gpus)
    if requested == "auto":
        return DeviceChoice("gpu", gpus) if gpus else DeviceChoice("cpu", 0)
    raise DeviceError(f"unknown device {requested!r}: use auto, cpu or gpu")


def split_cores(jobs: int) -> list[list[int]]:
    """The CPUs this process may use, split into ``jobs`` disjoint groups (one per slot)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    jobs = max(1, jobs)
    if jobs >= len(cpus):
        return [[cpus[i % len(cpus)]] for i in range(jobs)]
    size = len(cpus) // jobs
    return [cpus[i * size:(i + 1) * size] if i < jobs - 1 else cpus[i * size:] for i in range(jobs)]
