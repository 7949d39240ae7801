"""Reading a submission file into code cells, whatever shape it arrives in.

A submission is a ``.ipynb`` or a ``.py``. Students' files are often damaged: invalid
JSON, an nbformat 3 notebook, bytes that are not UTF-8, an empty file. None of these may
crash the engine: :func:`read_submission` either returns cells or raises
:class:`SubmissionUnreadable` with a message for the student.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MAX_NOTEBOOK_BYTES = 256 * 1024**2
_PERCENT_CELL = re.compile(r"^# %%.*$", re.MULTILINE)


class SubmissionUnreadable(Exception):
    """The file cannot be read as a notebook or Python source; str() is the message."""


@dataclass
class Cell:
    index: int  # position in the notebook (0-based), or the cell number in a .py file
    kind: str  # "code" or "markdown"
    source: str
    tags: tuple[str, ...] = ()

    @property
    def first_line(self) -> str:
        return self.source.lstrip().split("\n", 1)[0].strip() if self.source.strip() else ""


@dataclass
class SubmissionFile:
    path: Path
    cells: list[Cell]
    metadata: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def assignment(self) -> str | None:
        """The assignment named in the notebook's metadata (set by ``grader release``)."""
        meta = self.metadata.get("grader") if isinstance(self.metadata, dict) else None
        name = meta.get("assignment") if isinstance(meta, dict) else None
        return name if isinstance(name, str) else None


def _decode(data: bytes, path: Path, warnings: list[str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warnings.append(
            f"{path.name} is not valid UTF-8 (byte {exc.start}); undecodable bytes were replaced"
        )
        return data.decode("utf-8", errors="replace")


def read_submission(path: Path) -> SubmissionFile:
    """Read ``path`` (.ipynb or .py) into cells; raise SubmissionUnreadable if impossible."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SubmissionUnreadable(f"cannot open {path.name}: {exc.strerror}") from None
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionUnreadable(
            f"{path.name} is {size / 1024**2:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 1024**2} MB "
            "limit: clear the outputs (Kernel > Restart & Clear Output) and submit again"
        )
    warnings: list[str] = []
    text = _decode(path.read_bytes(), path, warnings)
    if path.suffix == ".py":
        return SubmissionFile(path, _py_cells(text), {}, warnings)
    if path.suffix != ".ipynb":
        raise SubmissionUnreadable(f"{path.name}: submit a .ipynb notebook or a .py file")
    return _notebook(path, text, warnings)


def _py_cells(text: str) -> list[Cell]:
    """A .py file is one code cell, or several when it uses ``# %%`` cell markers."""
    if not _PERCENT_CELL.search(text):
        return [Cell(0, "code", text)]
    cells, starts = [], [m.start() for m in _PERCENT_CELL.finditer(text)]
    bounds = ([0] if starts[0] else []) + starts + [len(text)]
    for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        chunk = text[a:b]
        header = chunk.split("\n", 1)[0]
        kind = "markdown" if "[markdown]" in header else "code"
        body = chunk.split("\n", 1)[1] if chunk.startswith("# %%") and "\n" in chunk else ("" if chunk.startswith("# %%") else chunk)
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
        cells.append(Cell(i, kind, body))
    return cells


def _notebook(path: Path, text: str, warnings: list[str]) -> SubmissionFile:
    if not text.strip():
        raise SubmissionUnreadable(f"{path.name} is empty: did the notebook save before you submitted?")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionUnreadable(
            f"{path.name} is not a valid notebook (JSON error at line {exc.lineno}, column "
            f"{exc.colno}: {exc.msg}). It was probably edited as text or truncated; re-download "
            "it from Jupyter (File > Download) and submit that file."
        ) from None
    if not isinstance(raw, dict):
        raise SubmissionUnreadable(f"{path.name} is JSON but not a notebook")
    try:
        major = int(raw.get("nbformat", 4))
        node = nbformat.from_dict(raw)
        if major < 4:
            warnings.append(f"{path.name} is an nbformat {major} notebook; it was converted to nbformat 4")
            node = nbformat.convert(node, 4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds; all mean unreadable
        raise SubmissionUnreadable(f"{path.name} is not a notebook nbformat can read: {exc}") from None
    cells = []
    for index, cell in enumerate(node.get("cells", []) or []):
        kind = cell.get("cell_type", "code")
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        meta = cell.get("metadata") or {}
        tags = meta.get("tags") or [] if isinstance(meta, dict) else []
        cells.append(Cell(index, str(kind), str(source), tuple(str(t) for t in tags if isinstance(t, str))))
    metadata = node.get("metadata") or {}
    return SubmissionFile(path, cells, dict(metadata), warnings)
