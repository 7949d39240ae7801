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


def _png(fig: Any, dpi: int = 80) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _shape(a: np.ndarray) -> str:
    return "x".join(str(n) for n in a.shape)


class Feedback:
    """Recorder for one test; ``items`` is a list of plain dicts."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.items: list[dict[str, Any]] = []

    def leaderboard(self, name: str, value: float | int | str, order: str = "desc") -> None:
        """One quantity of this submission's leaderboard entry (e.g. its accuracy).

        Gradescope's results.json carries them as its top-level ``leaderboard`` list
        (:func:`grader.reports.results.gradescope`) and a batch ranks the submissions that
        have one in ``OUT/leaderboard.csv`` / ``leaderboard.html``
        (:mod:`grader.reports.leaderboard`). ``order``: ``"desc"`` (higher ranks higher,
        Gradescope's default) or ``"asc"`` (e.g. seconds). A suite records an entry only for
        a submission that earned one (a model within its budget, trained); the quantities
        are public on the leaderboard, whether or not the check that records them is hidden.
        """
        if order not in ("asc", "desc"):
            raise ValueError(f"leaderboard order must be 'asc' or 'desc', not {order!r}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, str, np.integer, np.floating)):
            raise TypeError(f"a leaderboard value is a number or a string, not {type(value).__name__}")
        if isinstance(value, (int, np.integer)):
            value = int(value)
        elif not isinstance(value, str):
            value = float(value)
            if not np.isfinite(value):
                raise ValueError(f"a leaderboard value must be finite, not {value!r}")
        self.items.append({"test": self.test, "kind": "leaderboard", "name": str(name), "value": value,
                           "order": order})

    def text(self, title: str, text: str) -> None:
        self.items.append({"test": self.test, "kind": "text", "title": title, "text": str(text)})

    def table(self, title: str, header: list[str], rows: list[list[Any]], highlight: list[int] = (),
              groups: list[tuple[str, int]] = (), note: str = "") -> None:
        """A table; rows whose index is in ``highlight`` are marked as mismatching.

        ``groups``: optional column groups drawn as a header row above ``header``, as
        (label, number of columns), e.g. ``[("", 1), ("your model", 3), ("expected", 3)]``.
        ``note``: a line under the table (e.g. totals).
        """
        item = {"test": self.test, "kind": "table", "title": title, "header": [str(h) for h in header],
                "rows": [[str(c) for c in r] for r in rows], "highlight": [int(i) for i in highlight]}
        if groups:
            item["groups"] = [[str(label), int(span)] for label, span in groups]
        if note:
            item["note"] = str(note)
        self.items.append(item)

    def images(self, title: str, images: dict[str, np.ndarray], cmap: str = "gray",
               difference: bool = False) -> None:
        """Grayscale images side by side (e.g. yours / expected), on one shared scale.

        All images share one colour scale (with a colour bar), so that an image that is
        only darker, scaled or negated does not look the same as the expected one. With
        ``difference=True`` and exactly two images, a third panel shows first minus second
        on a diverging colour map centred at 0 (red: first larger, blue: smaller); when the
        shapes differ the panel says so instead.
        """
        plt = _pyplot()
        arrays = {str(k): np.asarray(v, dtype=np.float64) for k, v in images.items()}
        finite = [a[np.isfinite(a)] for a in arrays.values()]
        finite = [a for a in finite if a.size]
        lo = min((float(a.min()) for a in finite), default=0.0)
        hi = max((float(a.max()) for a in finite), default=1.0)
        if hi <= lo:
            hi = lo + 1.0
        diff = None
        if difference and len(arrays) == 2:
            (name_a, a), (name_b, b) = arrays.items()
            diff = (f"{name_a} \u2212 {name_b}", a - b if a.shape == b.shape else None,
                    f"no difference map: {name_a} is {_shape(a)}, {name_b} is {_shape(b)}")
        panels = len(arrays) + (diff is not None)
        side = 4.0 if panels >= 3 else 4.4  # inches at 90 dpi: 360-400 px per panel
        fig, axes = plt.subplots(1, panels, figsize=(side * panels + 0.8 * (1 + (diff is not None)), side + 0.5),
                                 squeeze=False, layout="constrained")
        axes = list(axes[0])
        shown = None
        for ax, (label, image) in zip(axes[:len(arrays)], arrays.items(), strict=True):
            shown = ax.imshow(image, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
            ax.set_title(f"{label} ({_shape(image)})", fontsize=12)
            ax.axis("off")
        if shown is not None:
            fig.colorbar(shown, ax=axes[:len(arrays)], shrink=0.8, pad=0.02, label="value (same scale)")
        if diff is not None:
            label, values, why = diff
            ax = axes[-1]
            ax.axis("off")
            finite_diff = None if values is None else values[np.isfinite(values)]
            if values is None or (finite_diff.size == values.size and not np.any(finite_diff)):
                text = why if values is None else f"no difference:\n{name_a} and {name_b} are equal"
                ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=12, transform=ax.transAxes)
                ax.set_title(label if values is not None else "difference", fontsize=12)
            else:
                magnitude = np.abs(finite_diff)
                largest = float(magnitude.max()) if magnitude.size else 0.0
                # a few large differences (edges) would wash out the rest: the scale ends at the
                # 99th percentile of the non-zero differences and the colour bar says it is clipped
                nonzero = magnitude[magnitude > 0]
                span = float(np.percentile(nonzero, 99)) if nonzero.size else 0.0
                span = span if span > 0 else (largest or 1.0)
                im = ax.imshow(values, cmap="RdBu_r", vmin=-span, vmax=span, interpolation="nearest")
                ax.set_title(f"{label} (red: {name_a} larger)", fontsize=12)
                clipped = largest > span * (1 + 1e-9)
                fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02, extend="both" if clipped else "neither",
                             label="difference (0 = white)" + (f", largest {largest:.4g}" if clipped else ""))
        self.items.append({"test": self.test, "kind": "png", "title": title, "png": _png(fig, dpi=90)})

    def curves(self, title: str, series: dict[str, list[float]], xlabel: str = "epoch", ylabel: str = "",
               threshold: float | None = None, threshold_label: str = "") -> None:
        """Line plot of several series (e.g. your training accuracy / the reference's).

        The first series is the student's: a solid, thick line with round markers, drawn
        on top of the others (dashed, square markers). ``threshold`` adds a labelled
        horizontal line (e.g. the accuracy at which training should stop).
        """
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
        styles = [dict(color="#d62728", linestyle="-", marker="o", linewidth=2.4, markersize=7),
                  dict(color="#1f77b4", linestyle="--", marker="s", linewidth=1.8, markersize=6),
                  dict(color="#2ca02c", linestyle=":", marker="^", linewidth=1.8, markersize=6)]
        items = list(series.items())
        for i in reversed(range(len(items))):  # the first series last: on top
            label, values = items[i]
            style = styles[min(i, len(styles) - 1)]
            ax.plot(range(1, len(values) + 1), [float(v) for v in values], label=str(label),
                    zorder=3 + (len(items) - i), **style)
        if threshold is not None:
            text = threshold_label or f"threshold {threshold:g}"
            ax.axhline(float(threshold), color="#444444", linestyle="-.", linewidth=1.2, zorder=2, label=text)
            ax.annotate(text, xy=(0.0, float(threshold)), xycoords=("axes fraction", "data"),
                        xytext=(4, 4), textcoords="offset points", fontsize=10, color="#444444")
        if threshold is not None:  # room above the line for its label
            low, high = ax.get_ylim()
            ax.set_ylim(low, max(high, float(threshold) + 0.12 * (max(high, float(threshold)) - low)))
        longest = max((len(v) for _, v in items), default=1)
        if longest <= 20:
            ax.set_xticks(range(1, longest + 1))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        names = [str(n) for n, _ in items]
        order = sorted(range(len(labels)), key=lambda k: names.index(labels[k]) if labels[k] in names else len(names))
        ax.legend([handles[k] for k in order], [labels[k] for k in order], loc="lower right")
        self.items.append({"test": self.test, "kind": "png", "title": title, "png": _png(fig, dpi=90)})
