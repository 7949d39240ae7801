"""feedback.html in a real browser: one wrong submission per exercise, graded for real.

``grader grade`` (the batch: warm parent, runner, sandboxed worker, the suites with their
hidden checks) grades one wrong submission of each exercise 01..04; each feedback.html is
then opened in headless Chromium at 1280 px. A small script, injected into a copy of the
page (the page itself has none), measures what a student would see and writes it into the
DOM, which Chromium dumps: every picture decoded (naturalWidth > 0), no horizontal overflow
(document.documentElement.scrollWidth <= 1280), failing checks listed before passed ones,
and no script on the page but the probe.

Chromium is Debian's ``chromium`` (``.ci/install-chromium``). Without it the test skips,
except in CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "tests" / "submissions"
WIDTH = 1280

# exercise -> the wrong submission graded, and what its page must show
WRONG = {
    "01_keras_basics": "wrong_same_padding.py",
    "02_callback": "wrong_no_normalization.py",  # curve: yours / reference / the 0.99 line
    "03_cnn": "wrong_same_padding.py",  # the layer table, mismatching rows highlighted
    "04_convolution": "wrong_flipped_kernel.py",  # yours / expected / difference
}

PROBE = """<script>
window.addEventListener("load", function () {
  var root = document.documentElement;
  var report = {
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    images: Array.prototype.map.call(document.images, function (img) {
      return {complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
              shownWidth: img.getBoundingClientRect().width, alt: img.alt};
    }),
    checks: Array.prototype.map.call(document.querySelectorAll("table.checks tbody tr"),
                                     function (tr) { return tr.className; }),
    mismatchRows: document.querySelectorAll("table.feedback tr.mismatch").length,
    scripts: document.scripts.length
  };
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        return browser
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing in CI: .ci/install-chromium should have installed it")
    pytest.skip("chromium is not installed (install it with .ci/install-chromium)")


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """exercise -> the feedback.html of its wrong submission, graded by `grader grade`."""
    chromium()  # skip before grading when there is no browser
    tmp = tmp_path_factory.mktemp("browser")
    subs = tmp / "subs"
    subs.mkdir()
    files = []
    for exercise, name in WRONG.items():
        target = subs / f"{exercise}_{name}"  # the file name tells the batch its assignment
        shutil.copyfile(SUBMISSIONS / exercise / name, target)
        files.append(str(target))
    out = tmp / "out"
    for exercise, file in zip(WRONG, files, strict=True):  # a batch grades one assignment
        proc = subprocess.run([sys.executable, "-m", "grader.cli", "--config", str(ROOT / "autograder.toml"),
                               "grade", file, "--assignment", exercise, "--out", str(out), "--device", "cpu",
                               "--jobs", "1", "--quiet"],
                              capture_output=True, text=True, timeout=900, cwd=ROOT,
                              env={**os.environ, "GRADER_OFFLINE": "1"})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = {}
    for exercise, name in WRONG.items():
        folder = out / "submissions" / Path(f"{exercise}_{name}").stem
        result = json.loads((folder / "results.json").read_text("utf-8"))
        assert result["score"] < sum(t["max_score"] for t in result["tests"]), f"{exercise}: not wrong?"
        found[exercise] = folder / "feedback.html"
    return found


def measure(page: Path, tmp: Path) -> dict:
    """Open a copy of ``page`` with the probe in headless Chromium; the probe's report."""
    source = page.read_text("utf-8")
    assert "<script" not in source  # the page itself never has a script
    probed = tmp / "probed.html"
    probed.write_text(source.replace("</body>", PROBE + "</body>", 1), "utf-8")
    with tempfile.TemporaryDirectory(dir=tmp) as profile:
        proc = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={WIDTH},900",
             "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
            capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"no probe in Chromium's DOM (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.mark.slow
@pytest.mark.parametrize("exercise", sorted(WRONG))
def test_feedback_page_in_headless_chromium(pages, exercise, tmp_path):
    report = measure(pages[exercise], tmp_path)

    assert report["scripts"] == 1, report  # only the probe
    for img in report["images"]:
        assert img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0, img
    assert report["scrollWidth"] <= WIDTH, f"horizontal overflow: {report['scrollWidth']} px wide at {WIDTH} px"

    checks = report["checks"]
    assert "failed" in checks and set(checks) <= {"failed", "passed"}, checks
    first_pass = checks.index("passed") if "passed" in checks else len(checks)
    assert all(c == "failed" for c in checks[:first_pass]) and "failed" not in checks[first_pass:], checks

    if exercise == "02_callback":  # the training curve with the threshold line
        assert len(report["images"]) == 1, report["images"]
    if exercise == "03_cnn":  # a real table, the differing layers highlighted
        assert report["mismatchRows"] >= 1
    if exercise == "04_convolution":  # yours / expected / difference, three panels side by side
        pictures = report["images"]
        assert len(pictures) >= 2, pictures  # the edge filter (failed) and the max-pooling (passed)
        for img in pictures:  # shown at (nearly) full size: each panel clearly over 300 px
            assert img["shownWidth"] >= 1000, img
