"""feedback.html: real batch grading of the demo_feedback assignment, parsed as HTML.

The suite of ``tests/course/demo_feedback`` records an image pair (flip), a curve (smooth)
and a table with highlighted rows (classify); the submission here gets some wrong and puts
markup in everything a student controls (return values, explanation answer).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[2] / "course"
GRADER = [sys.executable, "-m", "grader.cli", "--config", str(COURSE / "autograder.toml")]

STUDENT = '''# %%
import numpy as np

# %%
# GRADED: flip
def flip(image):
    return np.asarray(image)[::-1, :]  # upside down: the wrong axis

# %%
# GRADED: smooth
def smooth(values, k):
    return np.convolve(values, np.ones(k) / k, mode="valid")

# %%
# GRADED: classify
def classify(x):
    if x < 0:
        return "negative"
    if x == 0:
        return '<script>alert("pwned")</script>'
    return "positive" if x < 100 else "big"

# %% [markdown]
# <!-- ANSWER: window -->
# <img src=x onerror=alert(1)> wider & smoother
'''


class Page(HTMLParser):
    """Start tags, text, images and table rows of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.rows: list[tuple[str | None, list[str]]] = []  # (class, cells) of table.feedback rows
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table = a.get("class")
        elif tag == "tr" and self._table == "feedback":
            self._row, self._row_class = [], a.get("class")
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.rows.append((self._row_class, self._row))
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """`grader grade` (real batch: runner process, sandboxed worker) on the student file."""
    tmp = tmp_path_factory.mktemp("feedback")
    sub = tmp / "subs" / "student_demo_feedback.py"
    sub.parent.mkdir()
    sub.write_text(STUDENT, "utf-8")
    out = tmp / "out"
    env = {**os.environ, "GRADER_OFFLINE": "1"}
    proc = subprocess.run([*GRADER, "grade", str(sub.parent), "--assignment", "demo_feedback", "--out", str(out),
                           "--quiet"], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    folder = out / "submissions" / "student_demo_feedback"
    return folder, (folder / "feedback.html").read_text("utf-8")


def test_feedback_html_is_written_next_to_results_json(graded):
    folder, html = graded
    assert (folder / "results.json").is_file() and (folder / "feedback.html").is_file()
    page = parse(html)
    text = " ".join(page.text)
    assert "Score: 1 / 6" in text  # smooth passes; flip, classify and the hidden check fail
    assert "flip(image)" in text  # the failing message of flip is shown
    classes = [a.get("class") for t, a in page.tags if t == "tr" and a.get("class") in ("passed", "failed")]
    assert classes.count("passed") == 1 and classes.count("failed") == 3


def test_pictures_are_real_pngs_of_the_announced_size(graded):
    _, html = graded
    from PIL import Image

    images = [a for t, a in parse(html).tags if t == "img"]
    assert len(images) == 2, images  # the flip pair and the smooth curve; the answer's <img> is text
    sizes = []
    for a in images:
        assert a["src"].startswith("data:image/png;base64,")
        data = base64.b64decode(a["src"].split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "PNG"
            assert im.size == (int(a["width"]), int(a["height"]))
            extrema = im.convert("L").getextrema()
            assert extrema[0] < 100 < extrema[1], "a blank picture"
            sizes.append(im.size)
    pair, curve = sizes
    assert pair[0] > 1.6 * pair[1], f"yours/expected side by side should be wide, got {pair}"
    assert curve[0] > curve[1]


def test_mismatching_rows_are_highlighted(graded):
    _, html = graded
    rows = parse(html).rows
    assert [r[1][0] for r in rows] == ["-2.0", "-0.5", "0.0", "0.5", "3.0"]
    highlighted = [i for i, (cls, _) in enumerate(rows) if cls == "mismatch"]
    assert highlighted == [2]  # only classify(0.0) is wrong
    assert rows[2][1][2] == '<script>alert("pwned")</script>'  # shown as text, exactly


def test_student_text_is_escaped(graded):
    _, html = graded
    page = parse(html)
    tags = {t for t, _ in page.tags}
    assert "script" not in tags
    assert not any(k.startswith("on") for _, a in page.tags for k in a)
    assert "&lt;script&gt;" in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; wider &amp; smoother" in html


def test_hidden_checks_show_their_score_but_not_their_message(graded):
    folder, html = graded
    assert "classify: large numbers" in html  # the title and the score are shown
    assert "secret answer" not in html and "secret case" not in html
    from grader.reports.html import render
    from grader.reports.results import load_full

    full = render(load_full(folder), hidden=True)  # the instructor's copy shows everything
    assert "secret answer" in full and "secret case" in full


def test_a_payload_that_is_not_png_is_never_embedded():
    from grader.model import SubmissionResult, TestResult
    from grader.reports.html import render

    fake = base64.b64encode(b"<svg onload=alert(1)>").decode()
    result = SubmissionResult("s", "s.py", "demo", "ok", "", 0.0, 1.0,
                              tests={"t": TestResult("t", "t", 0.0, 1.0, "failed", "x", False, None)},
                              feedback=[{"test": "t", "kind": "png", "title": "pic", "png": fake},
                                        {"test": "t", "kind": "png", "title": "pic2", "png": "not base64!"}])
    page = parse(render(result))
    assert not [a for t, a in page.tags if t == "img"]
    assert "could not be shown" in " ".join(page.text)


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="chromium is not installed")
def test_headless_chromium_screenshot_shows_the_page(graded, tmp_path):
    from PIL import Image

    _, html = graded
    page = tmp_path / "feedback.html"
    page.write_text(html, "utf-8")
    shot = tmp_path / "shot.png"
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--screenshot={shot}", "--window-size=1000,2400", page.as_uri()],
                          capture_output=True, text=True, timeout=90)
    assert shot.is_file(), proc.stderr[-2000:]
    import numpy as np

    with Image.open(shot) as im:
        assert im.size == (1000, 2400)
        rgb = np.asarray(im.convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # the highlighted row's red left border (#cf222e) and the PNGs' dark pixels are painted
    red = int(((r > 180) & (g < 70) & (b < 80)).sum())
    dark = int(((r < 60) & (g < 60) & (b < 60)).sum())
    assert red > 30, red
    assert dark > 2000, dark


def test_failing_checks_come_first_each_with_its_message_and_details():
    from grader.checks.feedback import Feedback
    from grader.model import SubmissionResult, TestResult
    from grader.reports.html import render

    recorder = Feedback("b")
    recorder.table("layers <b>", ["#", "<i>yours</i>", "expected"], [["0", "<x>", "y"], ["1", "z", "z"]],
                   highlight=[0], groups=[("", 1), ("<u>your model</u>", 1), ("expected", 1)],
                   note="total <script>1</script>")
    tests = {"a": TestResult("a", "check a", 1.0, 1.0, "passed", "", False, None),
             "b": TestResult("b", "check <b>", 0.0, 2.0, "failed", "found <img src=x onerror=alert(1)>", False, None),
             "c": TestResult("c", "check c", 0.0, 1.0, "failed", "secret message", True, None)}
    result = SubmissionResult("s", "s.py", "demo", "ok", "", 1.0, 4.0, tests=tests, feedback=recorder.items)
    html = render(result)
    page = parse(html)
    order = [a.get("class") for t, a in page.tags if t == "tr" and a.get("class") in ("passed", "failed")]
    assert order == ["failed", "failed", "passed"]  # b, c (suite order), then a
    assert "script" not in {t for t, _ in page.tags} and "img" not in {t for t, _ in page.tags}
    assert "found &lt;img src=x onerror=alert(1)&gt;" in html and "check &lt;b&gt;" in html
    assert "secret message" not in html  # hidden: title and score only
    assert '<th class="group" colspan="1">&lt;u&gt;your model&lt;/u&gt;</th>' in html
    assert "total &lt;script&gt;1&lt;/script&gt;; 1 highlighted row(s) differ" in html
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections == ["check-0", "check-1"]  # the two failed checks; a has no details
    # the message and the table sit in b's section, before c's
    assert html.index("onerror=alert(1)&gt;") < html.index("layers &lt;b&gt;") < html.index('id="check-1"')
    assert [r[1] for r in page.rows] == [["0", "<x>", "y"], ["1", "z", "z"]]
