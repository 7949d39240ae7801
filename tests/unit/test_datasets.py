"""grader.datasets on the real offline copies in ../shared/datasets (read only, never written).

Every test runs with GRADER_OFFLINE=1 and with the download functions replaced by ones that
fail the test, so nothing here can reach the network. Files a test needs to place somewhere
are copied into tmp_path; the shared folder is only ever read.
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import datasets
from grader.datasets import DatasetCorrupt, DatasetNotFound

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (SHARED / "mnist.npz").is_file():
        pytest.skip(f"the offline datasets are not at {SHARED} (see its README)")
    return SHARED


def _no_download(*args: object, **kwargs: object) -> None:
    pytest.fail("a test tried to download a dataset")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No data dir, a config without data_dir, empty Keras/grader/pooch caches, offline."""
    datasets.clear_cache()
    monkeypatch.setenv("GRADER_OFFLINE", "1")
    monkeypatch.delenv("GRADER_DATA_DIR", raising=False)
    config = tmp_path / "autograder.toml"
    config.write_text('[course]\nname = "test"\n', encoding="utf-8")
    monkeypatch.setenv("GRADER_CONFIG", str(config))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "grader_cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg_cache"))  # pooch's cache
    for name in ("_download_mnist", "_download_fashion", "_download_ascent"):
        monkeypatch.setattr(datasets, name, _no_download)
    yield tmp_path
    datasets.clear_cache()


def _config_with_data_dir(tmp_path: Path, data_dir: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "course" / "autograder.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(f'[course]\nname = "test"\ndata_dir = "{data_dir}"\n', encoding="utf-8")
    monkeypatch.setenv("GRADER_CONFIG", str(config))
    return config


def _mnist_with_label(shared: Path, folder: Path, split: str, index: int, label: int) -> Path:
    """``folder`` holding a copy of the real mnist.npz whose ``split[index]`` is ``label``."""
    folder.mkdir()
    with np.load(shared / "mnist.npz") as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays[split] = arrays[split].copy()
    arrays[split][index] = label
    np.savez(folder / "mnist.npz", **arrays)
    return folder


def _all_arrays() -> list[np.ndarray]:
    (a, b), (c, d) = datasets.load_mnist()
    (e, f), (g, h) = datasets.load_fashion_mnist()
    return [a, b, c, d, e, f, g, h, datasets.load_ascent()]


# --------------------------------------------------------------------------- loading


def test_mnist_from_grader_data_dir(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(shared))
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train)[:2].tolist() == [5923, 6742]
    assert np.bincount(y_test)[:2].tolist() == [980, 1135]
    assert x_train.max() > 200  # pixels, not 0-1 floats


def test_fashion_mnist_from_grader_data_dir(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(shared))
    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_test, minlength=10).tolist() == [1000] * 10
    assert np.bincount(y_train, minlength=10).tolist() == [6000] * 10


def test_ascent_from_grader_data_dir(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(shared))
    image = datasets.load_ascent()
    assert image.shape == (512, 512) and image.dtype == np.uint8
    assert 0 <= image.min() < image.max() <= 255


def test_arrays_are_read_only_and_cached(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(shared))
    for array in _all_arrays():
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array.flat[0] = 1
        with pytest.raises(ValueError):  # and the flag cannot simply be switched back on
            array.setflags(write=True)
    first = datasets.load_mnist()
    assert datasets.load_mnist() is first  # one shared copy per process
    copy = first[0][0].copy()  # what callers do before modifying
    copy[0, 0, 0] = 255
    datasets.clear_cache()
    assert datasets.load_mnist() is not first


def test_decoded_copies_are_mapped_on_the_next_load(shared: Path, isolated: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The first load decodes and keeps .npy copies in the grader's cache; the next (another
    runner) maps them: the same arrays, read-only for good, without decompressing."""
    monkeypatch.setenv("GRADER_DATA_DIR", str(shared))
    first = [np.array(a) for a in _all_arrays()[:8]]
    decoded = sorted((isolated / "grader_cache" / "decoded").glob("*/*.npy"))
    assert [p.name for p in decoded] == ["x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"] * 2
    datasets.clear_cache()
    monkeypatch.setattr(datasets, "_decode_mnist", lambda path: pytest.fail("MNIST decoded again"))
    monkeypatch.setattr(datasets, "_decode_fashion", lambda folder: pytest.fail("Fashion-MNIST decoded again"))
    again = _all_arrays()[:8]
    for before, after in zip(first, again, strict=True):
        assert type(after) is np.ndarray and np.array_equal(before, after)
        with pytest.raises(ValueError):
            after.setflags(write=True)


def test_a_damaged_decoded_copy_is_decoded_again(shared: Path, isolated: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(shared))
    expected = np.array(datasets.load_mnist()[1][1])
    (copy,) = (isolated / "grader_cache" / "decoded").glob("mnist-*/y_test.npy")
    copy.write_bytes(copy.read_bytes()[:100])  # truncated
    datasets.clear_cache()
    assert np.array_equal(datasets.load_mnist()[1][1], expected)
    assert copy.stat().st_size > 10000  # written again, whole


def test_a_bad_file_is_never_cached(shared: Path, tmp_path: Path, isolated: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(_mnist_with_label(shared, tmp_path / "env", "y_train", 3, 11)))
    for _ in range(2):
        datasets.clear_cache()
        with pytest.raises(DatasetCorrupt, match="y_train holds label 11"):
            datasets.load_mnist()
    assert not list((isolated / "grader_cache").glob("decoded/mnist-*/*.npy"))


def test_an_unwritable_cache_still_loads(shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(shared))
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    monkeypatch.setenv("GRADER_CACHE_DIR", str(blocked))
    assert datasets.load_mnist()[0][0].shape == (60000, 28, 28)


# --------------------------------------------------------------------------- lookup order


def test_data_dirs_order_and_labels(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config_with_data_dir(tmp_path, "data", monkeypatch)
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "env"))
    labels, paths = zip(*datasets.data_dirs(), strict=True)
    assert paths == (tmp_path / "env", config.parent / "data", tmp_path / "keras_home" / "datasets")
    assert "GRADER_DATA_DIR" in labels[0]
    assert "data_dir" in labels[1] and str(config) in labels[1]
    assert "Keras" in labels[2]


def test_keras_home_unset_means_dot_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KERAS_HOME")
    assert datasets.data_dirs()[-1][1] == Path.home() / ".keras" / "datasets"


def test_broken_config_means_no_configured_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[course\ndata_dir = ", encoding="utf-8")
    monkeypatch.setenv("GRADER_CONFIG", str(bad))
    assert [label for label, _ in datasets.data_dirs()] == ["Keras cache ($KERAS_HOME/datasets)"]
    monkeypatch.setenv("GRADER_CONFIG", str(tmp_path / "missing.toml"))
    assert len(datasets.data_dirs()) == 1


def test_env_dir_wins_over_config_dir(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_dir, config_dir = tmp_path / "env", tmp_path / "course" / "data"
    env_dir.mkdir()
    config_dir.mkdir(parents=True)
    shutil.copyfile(shared / "mnist.npz", env_dir / "mnist.npz")
    (config_dir / "mnist.npz").write_bytes(b"not an npz")  # would fail if it were read
    _config_with_data_dir(tmp_path, "data", monkeypatch)

    monkeypatch.setenv("GRADER_DATA_DIR", str(env_dir))
    assert datasets.load_mnist()[0][0].shape == (60000, 28, 28)

    datasets.clear_cache()  # without the env var the config's (bad) copy is the one found
    monkeypatch.delenv("GRADER_DATA_DIR")
    with pytest.raises(DatasetCorrupt, match="course/data/mnist.npz"):
        datasets.load_mnist()


def test_config_data_dir_is_used(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config_with_data_dir(tmp_path, str(shared), monkeypatch)
    assert datasets.data_dirs()[0][1].resolve() == shared.resolve()  # the config path may name a symlink
    assert datasets.load_fashion_mnist()[1][1].shape == (10000,)
    assert datasets.load_ascent().shape == (512, 512)


def test_keras_cache_found_when_others_absent(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    shutil.copyfile(shared / "mnist.npz", cache / "mnist.npz")
    assert [path for _, path in datasets.data_dirs()] == [cache]
    (x_train, _), _ = datasets.load_mnist()
    assert x_train.shape == (60000, 28, 28)


def test_grader_download_cache_is_searched(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "grader_cache" / "datasets"  # where keras.utils.get_file put it
    cache.mkdir(parents=True)
    shutil.copyfile(shared / "mnist.npz", cache / "mnist.npz")
    assert datasets.load_mnist()[1][1].shape == (10000,)


# --------------------------------------------------------------------------- not found


@pytest.mark.parametrize(
    ("loader", "dataset", "wanted", "last_place"),
    [
        (datasets.load_mnist, "mnist", "mnist.npz", "grader_cache/datasets/mnist.npz"),
        (
            datasets.load_fashion_mnist,
            "fashion_mnist",
            "fashion-mnist",
            "grader_cache/datasets/fashion-mnist/",
        ),
        (datasets.load_ascent, "ascent", "ascent.dat", "xdg_cache/scipy-data/ascent.dat"),
    ],
)
def test_missing_everywhere_offline_lists_every_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader, dataset, wanted, last_place
) -> None:
    _config_with_data_dir(tmp_path, "configured", monkeypatch)
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFound) as info:
        loader()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert repr(dataset) in message and wanted in message
    for label, folder in datasets.data_dirs():
        assert str(folder) in message and label in message
    assert str(tmp_path / last_place) in message
    assert "GRADER_DATA_DIR=/path/to/datasets" in message
    assert "data_dir" in message and "autograder.toml" in message
    assert "GRADER_OFFLINE" in message and "online" in message


def test_incomplete_fashion_folder_is_reported(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "env" / "fashion-mnist"
    folder.mkdir(parents=True)
    shutil.copyfile(
        shared / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    )
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFound, match="incomplete, missing"):
        datasets.load_fashion_mnist()


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_download_failure_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """With GRADER_OFFLINE false the loader tries the (here: failing, fake) downloader."""

    def unreachable() -> None:
        raise OSError("network is unreachable")

    monkeypatch.setenv("GRADER_OFFLINE", value)
    monkeypatch.setattr(datasets, "_download_mnist", unreachable)
    with pytest.raises(DatasetNotFound) as info:
        datasets.load_mnist()
    message = str(info.value)
    assert "download" in message and "network is unreachable" in message
    assert str(tmp_path / "keras_home" / "datasets" / "mnist.npz") in message


# --------------------------------------------------------------------------- corrupt files


def test_corrupt_npz_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "env"
    folder.mkdir()
    (folder / "mnist.npz").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    monkeypatch.setenv("GRADER_DATA_DIR", str(folder))
    with pytest.raises(DatasetCorrupt, match="not a readable MNIST .npz") as info:
        datasets.load_mnist()
    assert str(folder / "mnist.npz") in str(info.value)
    assert isinstance(info.value, ValueError)


def test_npz_with_wrong_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "env"
    folder.mkdir()
    monkeypatch.setenv("GRADER_DATA_DIR", str(folder))
    np.savez(folder / "mnist.npz", x_train=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DatasetCorrupt, match="missing"):
        datasets.load_mnist()
    small = np.zeros((3,), np.uint8)
    np.savez(
        folder / "mnist.npz",
        x_train=np.zeros((3, 28, 28), np.uint8),
        y_train=small,
        x_test=np.zeros((3, 28, 28), np.uint8),
        y_test=small,
    )
    with pytest.raises(DatasetCorrupt, match=r"shape \(3, 28, 28\), expected \(60000, 28, 28\)"):
        datasets.load_mnist()


def test_labels_out_of_range(shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(_mnist_with_label(shared, tmp_path / "env", "y_test", 7, 10)))
    with pytest.raises(DatasetCorrupt, match="y_test holds label 10"):
        datasets.load_mnist()


def test_corrupt_fashion_files(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "env" / "fashion-mnist"
    shutil.copytree(shared / "fashion-mnist", folder)
    os.chmod(folder, 0o755)
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    labels.chmod(0o644)
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "env"))
    good = gzip.decompress(labels.read_bytes())

    labels.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + good[4:]))  # images magic
    with pytest.raises(DatasetCorrupt, match="magic number"):
        datasets.load_fashion_mnist()
    labels.write_bytes(gzip.compress(good[:-5]))  # truncated data
    with pytest.raises(DatasetCorrupt, match="bytes after gunzip"):
        datasets.load_fashion_mnist()
    labels.write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(DatasetCorrupt, match="not a readable gzip"):
        datasets.load_fashion_mnist()


# --------------------------------------------------------------------------- ascent pickle


class _Exploit:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("wrap", ["bare", "inside_a_list"])
def test_malicious_ascent_pickle_is_refused_and_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrap: str
) -> None:
    marker = tmp_path / "pwned"
    payload: object = _Exploit(f"touch {marker}")
    if wrap == "inside_a_list":
        payload = [np.zeros(3), payload]
    data = pickle.dumps(payload)
    assert b"system" in data  # it really names os.system (posix.system)
    folder = tmp_path / "env"
    folder.mkdir()
    (folder / "ascent.dat").write_bytes(data)
    monkeypatch.setenv("GRADER_DATA_DIR", str(folder))
    with pytest.raises(DatasetCorrupt, match=r"refused to load global \w+\.system"):
        datasets.load_ascent()
    assert not marker.exists()


def test_other_globals_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "env"
    folder.mkdir()
    monkeypatch.setenv("GRADER_DATA_DIR", str(folder))
    for payload in (pickle.dumps(np.load), pickle.dumps({"eval": eval})):
        (folder / "ascent.dat").write_bytes(payload)
        with pytest.raises(DatasetCorrupt, match="refused"):
            datasets.load_ascent()


def test_ascent_written_by_this_numpy_loads(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared file spells numpy.core (numpy 1); today's numpy writes numpy._core."""
    monkeypatch.setenv("GRADER_DATA_DIR", str(shared))
    image = datasets.load_ascent()
    folder = tmp_path / "env"
    folder.mkdir()
    (folder / "ascent.dat").write_bytes(pickle.dumps(image.copy(), protocol=5))
    monkeypatch.setenv("GRADER_DATA_DIR", str(folder))
    datasets.clear_cache()
    assert np.array_equal(datasets.load_ascent(), image)


def test_ascent_wrong_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "env"
    folder.mkdir()
    monkeypatch.setenv("GRADER_DATA_DIR", str(folder))
    cases = {
        "shape": pickle.dumps(np.zeros((5, 5), np.uint8)),
        "expected a numpy array": pickle.dumps([1, 2, 3]),
        "0-255": pickle.dumps(np.full((512, 512), 300, np.int32)),
        "not a readable ascent pickle": b"\x80\x04 garbage",
    }
    for expected, payload in cases.items():
        (folder / "ascent.dat").write_bytes(payload)
        with pytest.raises(DatasetCorrupt, match=expected):
            datasets.load_ascent()


def test_float_ascent_is_converted_to_uint8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "env"
    folder.mkdir()
    values = np.arange(512 * 512, dtype=np.float64).reshape(512, 512) % 256
    (folder / "ascent.dat").write_bytes(pickle.dumps(values))
    monkeypatch.setenv("GRADER_DATA_DIR", str(folder))
    image = datasets.load_ascent()
    assert image.dtype == np.uint8 and np.array_equal(image, values)


# --------------------------------------------------------------------------- no TensorFlow


def test_import_and_load_do_not_import_tensorflow(shared: Path, tmp_path: Path) -> None:
    code = (
        "import sys, grader.datasets as d\n"
        "d.load_mnist(); d.load_fashion_mnist(); d.load_ascent()\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'scipy') if m in sys.modules))\n"
    )
    env = {
        **os.environ,
        "GRADER_DATA_DIR": str(shared),
        "GRADER_OFFLINE": "1",
        "GRADER_CONFIG": str(tmp_path / "autograder.toml"),
        "KERAS_HOME": str(tmp_path / "keras_home"),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
