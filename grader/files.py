"""Writing files safely: atomic replacement and names that cannot escape a folder.

Standard library only (bottom layer, beside :mod:`grader.model`).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, fsync, rename:
    a reader sees the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def safe_name(stem: str) -> str:
    """A file or folder name made of ``[A-Za-z0-9_.-]`` only, never empty, never ``.``/``..``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "submission"
