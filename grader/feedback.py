"""Feedback a suite attaches to a check: pictures and tables a person would rather see.

The ``feedback`` fixture gives a test a :class:`Feedback` recorder. Items are stored as
plain data in the submission's result (pictures already rendered to PNG, base64) and
rendered into ``feedback.html`` next to ``results.json``. Everything here runs on the
trusted side, from observations the suite already judged.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


class Feedback:
    """Recorder for one test; ``items`` is a list of plain dicts."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.items: list[dict[str, Any]] = []

    def text(self, title: str, text: str) -> None:
        self.items.append({"test": self.test, "kind": "text", "title": title, "text": str(text)})

    def table(self, title: str, header: list[str], rows: list[list[Any]], highlight: list[int] = ()) -> None:
        """A table; rows whose index is in ``highlight`` are marked as mismatching."""
        self.items.append({"test": self.test, "kind": "table", "title": title, "header": [str(h) for h in header],
                           "rows": [[str(c) for c in r] for r in rows], "highlight": [int(i) for i in highlight]})

    def images(self, title: str, images: dict[str, np.ndarray], cmap: str = "gray") -> None:
        """Grayscale images side by side (e.g. yours / expected)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.4), squeeze=False)
        for ax, (label, image) in zip(axes[0], images.items(), strict=True):
            ax.imshow(np.asarray(image, dtype=np.float64), cmap=cmap)
            ax.set_title(label)
            ax.axis("off")
        self.items.append({"test": self.test, "kind": "png", "title": title, "png": _png(fig)})

    def curves(self, title: str, series: dict[str, list[float]], xlabel: str = "epoch", ylabel: str = "") -> None:
        """Line plot of several series (e.g. your training accuracy / the reference's)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.2))
        for label, values in series.items():
            ax.plot(range(1, len(values) + 1), values, marker="o", label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
        self.items.append({"test": self.test, "kind": "png", "title": title, "png": _png(fig)})
