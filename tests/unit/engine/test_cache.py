"""The trusted side's cache of its own measurements (grader.engine.cache, issue 16).

Unit tests of the cache itself (keys, locking, what it refuses), then one real 03_cnn batch
through the ``grader`` command: a submission that tries to poison the cache and two copies
of the reference with the same architecture, graded with ``--jobs 2``. The architecture is
trained once (the lock makes the second slot wait, then read), every copy gets the same
verdict and message, the poisoner sees no cache folder, and the honest copies get the true
verdict. Then ``grader cache clear`` empties the folder and ``--no-cache`` trains afresh
without touching it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.engine import cache
from grader.engine.cache import TrustedCache

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "autograder.toml"
REFERENCE = ROOT / "solutions" / "03_cnn" / "03_cnn.ipynb"


# --------------------------------------------------------------------------- the cache alone
def test_the_key_is_canonical_and_covers_every_field(tmp_path):
    c = TrustedCache(tmp_path, {"epochs": 1, "device": "cpu"}, 7)
    a = c.key("x", {"b": [1, 2], "a": {"y": 1, "x": 2}})
    assert a == c.key("x", {"a": {"x": 2, "y": 1}, "b": [1, 2]})  # order does not matter
    assert a != c.key("y", {"b": [1, 2], "a": {"y": 1, "x": 2}})  # the measurement's name
    assert a != c.key("x", {"b": [1, 3], "a": {"y": 1, "x": 2}})
    assert a != TrustedCache(tmp_path, {"epochs": 2, "device": "cpu"}, 7).key("x", {"b": [1, 2], "a": {"y": 1, "x": 2}})
    assert a != TrustedCache(tmp_path, {"epochs": 1, "device": "cpu"}, 8).key("x", {"b": [1, 2], "a": {"y": 1, "x": 2}})
    context = c.context()
    assert {"profile", "seed", "versions", "hardware"} <= set(context)
    assert {"python", "numpy", "tensorflow", "keras"} <= set(context["versions"])
    assert {"cpu", "threads", "gpus"} <= set(context["hardware"])


def test_measure_once_then_hit_and_never_cache_a_failure(tmp_path):
    c = TrustedCache(tmp_path / "c", {}, 1)
    calls = []

    def compute():
        calls.append(1)
        return {"accuracy": 0.5, "history": {"loss": [1.0, float("nan")]}}

    first = c.measure("m", {"f": 1}, compute)
    second = c.measure("m", {"f": 1}, compute)
    assert json.dumps(first) == json.dumps(second) and len(calls) == 1  # NaN survives too
    assert [e["event"] for e in c.events] == ["store", "hit"]

    def fails():
        raise RuntimeError("training failed")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            c.measure("m", {"f": 2}, fails)
    assert len(list((tmp_path / "c" / "entries").glob("*/*.json"))) == 1
    with pytest.raises(TypeError, match="plain data"):
        c.measure("m", {"f": 3}, lambda: object())
    assert TrustedCache(None, {}, 1).measure("m", {"f": 1}, lambda: 42) == 42  # off: always measures
    assert c.measure("m", None, lambda: 43) == 43  # nothing to key on: measures


def test_a_folder_that_cannot_be_written_only_costs_the_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    c = TrustedCache(blocker / "cache", {}, 1)  # below a file: every mkdir fails
    assert c.measure("m", {"f": 1}, lambda: 5) == 5
    assert [e["event"] for e in c.events] == ["error"]


def test_an_entry_under_another_keys_name_is_not_believed(tmp_path):
    c = TrustedCache(tmp_path, {}, 1)
    c.measure("m", {"f": 1}, lambda: {"accuracy": 0.9})
    [entry] = (tmp_path / "entries").glob("*/*.json")
    key = c.key("m", {"f": 2})
    forged = json.loads(entry.read_text())
    forged["value"] = {"accuracy": 0.01}
    target = tmp_path / "entries" / key[:2] / f"{key}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(forged))  # right place, but it names the other key
    assert c.measure("m", {"f": 2}, lambda: {"accuracy": 0.8}) == {"accuracy": 0.8}


def _slow_measure(folder: str, out: str) -> None:
    c = TrustedCache(Path(folder), {}, 1)

    def compute():
        time.sleep(1.0)
        return {"pid": os.getpid()}

    Path(out).write_text(json.dumps(c.measure("m", {"f": 1}, compute)))


def test_concurrent_processes_measure_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_slow_measure, args=(str(tmp_path / "c"), str(tmp_path / f"{i}.json"))) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    values = [json.loads((tmp_path / f"{i}.json").read_text()) for i in range(3)]
    assert len({v["pid"] for v in values}) == 1  # all three got the one measurement
    events = [json.loads(line)["event"] for line in (tmp_path / "c" / "events.log").read_text().splitlines()]
    assert sorted(events) == ["hit", "hit", "store"]


def test_clear_empties_the_folder(tmp_path):
    c = TrustedCache(tmp_path, {}, 1)
    c.measure("m", {"f": 1}, lambda: 1)
    c.measure("m", {"f": 2}, lambda: 2)
    assert cache.info(tmp_path)["entries"] == 2
    assert cache.clear(tmp_path) == 2
    assert list(tmp_path.iterdir()) == []


def test_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GRADER_CACHE_DIR", raising=False)
    monkeypatch.delenv("GRADER_NO_CACHE", raising=False)
    assert cache.active_dir() is None  # grade_file called directly: measure afresh
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "c"))
    assert cache.active_dir() == (tmp_path / "c").resolve()
    assert cache.hidden_paths() == [str((tmp_path / "c").resolve())]  # created, so it can be hidden
    monkeypatch.setenv("GRADER_NO_CACHE", "1")
    assert cache.active_dir() is None


# --------------------------------------------------------------------------- a real 03 batch
POISON = '''\
"""Tries to poison the grader's cache: forged entries in the cache folder, zero weights."""
import json
import os

import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

CACHE = {cache!r}
FORGED = {{"format": 1, "what": "03_cnn.train_and_evaluate",
          "value": {{"accuracy": 0.01, "seconds": 0.0, "history": {{"accuracy": [0.01]}}}}}}


def _poison():
    seen, wrote = {{}}, []
    for folder in (CACHE, os.path.join(CACHE, "entries"), os.path.dirname(CACHE)):
        try:
            seen[folder] = sorted(os.listdir(folder))
        except OSError as exc:
            seen[folder] = type(exc).__name__
    for root, _dirs, files in os.walk(CACHE):
        for name in files:
            try:
                with open(os.path.join(root, name), "w") as handle:
                    json.dump(dict(FORGED, key=name[:-5]), handle)
                wrote.append(os.path.join(root, name))
            except OSError as exc:
                wrote.append(type(exc).__name__)
    try:
        os.makedirs(os.path.join(CACHE, "entries", "00"), exist_ok=True)
        with open(os.path.join(CACHE, "entries", "00", "forged.json"), "w") as handle:
            json.dump(FORGED, handle)
        wrote.append("forged.json")
    except OSError as exc:
        wrote.append(type(exc).__name__)
    os.write(1, ("POISON " + json.dumps({{"seen": seen, "wrote": wrote}}) + "\\n").encode())


def reshape_and_normalize(images):
    images = np.asarray(images)
    return (images.astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)


def build_cnn():
    _poison()
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])  # forged: useless weights
    return model
'''


def _grader(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_DATA_DIR": os.environ.get("GRADER_DATA_DIR", "/work/shared/datasets"),
           "GRADER_OFFLINE": "1"}
    env.pop("GRADER_CACHE_DIR", None)
    env.pop("GRADER_NO_CACHE", None)
    return subprocess.run([sys.executable, "-m", "grader.cli", "--config", str(CONFIG), *args],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def _events(folder: Path) -> list[dict]:
    log = folder / "events.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """[poisoner, reference, reference] graded with --jobs 2: the same architecture three times."""
    tmp = tmp_path_factory.mktemp("cache03")
    subs, out = tmp / "subs", tmp / "out"
    subs.mkdir()
    folder = out / ".grader-cache"
    (subs / "a_poison.py").write_text(POISON.format(cache=str(folder)), "utf-8")
    for name in ("b_reference.ipynb", "c_reference.ipynb"):
        shutil.copy(REFERENCE, subs / name)
    proc = _grader("grade", str(subs), "--out", str(out), "--jobs", "2", "--assignment", "03_cnn", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {n: json.loads((out / "submissions" / n / "result.full.json").read_text())
               for n in ("a_poison", "b_reference", "c_reference")}
    return {"subs": subs, "out": out, "folder": folder, "results": results, "events": _events(folder)}


def _trains(result: dict) -> dict:
    return next(t for t in result["tests"] if t["name"] == "test_build_cnn_trains")


def test_one_architecture_is_trained_once_with_two_jobs(batch):
    events = [e for e in batch["events"] if e["what"] == "03_cnn.train_and_evaluate"]
    assert [e["event"] for e in events].count("store") == 1, events
    assert [e["event"] for e in events].count("hit") == 2, events
    assert len({e["key"] for e in events}) == 1  # the three models rebuilt here are one architecture
    assert len({e["pid"] for e in events}) == 3  # one fresh runner each
    assert len(list((batch["folder"] / "entries").glob("*/*.json"))) == 1


def test_a_hit_gives_the_verdict_and_message_of_training(batch):
    results = batch["results"]
    for name, result in results.items():
        assert result["score"] == result["max_score"] == 12, (name, result["tests"])
    trains = [_trains(r) for r in results.values()]
    assert {(t["status"], t["output"]) for t in trains} == {("passed", "")}
    curves = [[f for f in r["feedback"] if f["test"] == "test_build_cnn_trains"] for r in results.values()]
    assert curves[0] and curves[0] == curves[1] == curves[2]  # the same history drawn for each


def test_the_worker_cannot_see_or_poison_the_cache(batch):
    output = batch["results"]["a_poison"]["worker_output"]
    line = next(x for x in output.splitlines() if x.startswith("POISON "))
    seen = json.loads(line[len("POISON "):])
    folder = str(batch["folder"])
    # the output folder (and /tmp around it) is an empty tmpfs to the worker: no cache in it
    assert seen["seen"][folder] == "FileNotFoundError"
    assert seen["seen"][str(batch["out"])] in ([], "FileNotFoundError")
    assert not [w for w in seen["wrote"] if w.startswith(folder)]  # no entry found to overwrite
    assert not (batch["folder"] / "entries" / "00").exists()  # what it wrote stayed in its own tmpfs
    [entry] = (batch["folder"] / "entries").glob("*/*.json")
    value = json.loads(entry.read_text())["value"]
    assert value["accuracy"] > 0.78 and value["history"]["accuracy"] != [0.01]  # trusted training's own numbers


def test_clear_then_no_cache_trains_without_the_cache(batch):
    proc = _grader("cache", "clear", "--out", str(batch["out"]))
    assert proc.returncode == 0, proc.stderr
    assert "removed 1 cached measurement" in proc.stdout
    assert not list(batch["folder"].glob("entries/*/*.json")) and not (batch["folder"] / "events.log").exists()
    one = batch["subs"] / "b_reference.ipynb"
    proc = _grader("grade", str(one), "--out", str(batch["out"]), "--force", "--no-cache",
                   "--assignment", "03_cnn", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = json.loads((batch["out"] / "submissions" / "b_reference" / "result.full.json").read_text())
    assert fresh["score"] == 12
    assert (_trains(fresh)["status"], _trains(fresh)["output"]) == ("passed", "")
    assert not list(batch["folder"].glob("entries/*/*.json")) and not (batch["folder"] / "events.log").exists()


def test_the_training_key_ignores_the_names_keras_counted_and_nothing_else():
    import keras

    from grader.checks import training_fields

    def sequential(optimizer="adam", units=10):
        model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                                  keras.layers.Flatten(), keras.layers.Dense(units, activation="softmax")])
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def functional():
        x = inputs = keras.Input((8, 8, 1))
        x = keras.layers.Conv2D(4, 3, activation="relu")(x)
        outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    a, b = sequential(), sequential()  # "sequential" / "sequential_1", "conv2d" / "conv2d_1", "adam" / "adam_1"
    assert a.name != b.name and training_fields(a, n=1) == training_fields(b, n=1)
    assert training_fields(functional(), n=1) == training_fields(functional(), n=1)
    assert training_fields(a, n=1) != training_fields(a, n=2)  # the budget
    assert training_fields(a, n=1) != training_fields(sequential("sgd"), n=1)
    assert training_fields(a, n=1) != training_fields(sequential(units=12), n=1)
    assert training_fields(a, n=1) != training_fields(functional(), n=1)
    uncompiled = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert training_fields(uncompiled, n=1) is None  # nothing to key on: trained afresh
