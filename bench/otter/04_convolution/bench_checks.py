"""Otter-side checks of 04_convolution (support file of the otter autograder; bench only).

Each function mirrors the pass/fail condition of the test of the same name in
solutions/04_convolution/test_04_convolution.py, written the way an otter author would:
it calls the student's functions in the notebook's own namespace ``ns`` (no sandbox) and
raises AssertionError when the check fails. The OK-format test files in ``tests/`` call
:func:`run`. Random cases use fixed seeds (the grader's suite seeds its own per test).
"""

import numpy as np

QUESTIONS = [  # (name, points, hidden) -- the same names and points as the grader's suite
    ("test_convolve_small_example", 2, False),
    ("test_convolve_matches_keras_conv2d", 2, False),
    ("test_convolve_edge_filter_on_ascent", 2, False),
    ("test_convolve_random_cases", 2, True),
    ("test_convolve_filters_and_weight_on_ascent", 1, True),
    ("test_to_pixels_small", 1, False),
    ("test_to_pixels_random", 1, True),
    ("test_max_pool_small", 2, False),
    ("test_max_pool_odd_size", 1, False),
    ("test_max_pool_ascent", 1, False),
    ("test_max_pool_random", 2, True),
]

EDGES = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
HORIZONTAL = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
VERTICAL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def run(name, ns):
    globals()[name](ns)
    return True


def _ascent():
    from grader.datasets import load_ascent

    return np.array(load_ascent())


def correlate(image, kernel, weight=1.0):
    from scipy import signal

    return signal.correlate2d(np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64),
                              mode="valid") * weight


def keras_conv(image, kernel, weight=1.0):
    import keras

    kh, kw = kernel.shape
    layer = keras.layers.Conv2D(1, (kh, kw), use_bias=False, padding="valid")
    layer.build((None, *image.shape, 1))
    layer.set_weights([np.asarray(kernel, dtype=np.float32).reshape(kh, kw, 1, 1)])
    out = layer(np.asarray(image, dtype=np.float32)[None, :, :, None])
    return np.asarray(out, dtype=np.float64)[0, :, :, 0] * weight


def same_array(found, expected, what, rtol=1e-6, atol=1e-6, dtype=None):
    assert isinstance(found, np.ndarray), f"{what}: not a numpy array: {type(found).__name__}"
    if dtype is not None:
        assert found.dtype == np.dtype(dtype), f"{what}: dtype {found.dtype}, expected {dtype}"
    assert found.shape == expected.shape, f"{what}: shape {found.shape}, expected {expected.shape}"
    assert found.dtype.kind in "biuf", f"{what}: dtype {found.dtype} is not numeric"
    assert np.allclose(found.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol), \
        f"{what}: wrong values"


# ----------------------------------------------------------------------------- convolve


def test_convolve_small_example(ns):
    image = np.array([[12, 200, 37, 90, 3, 150], [81, 5, 240, 66, 128, 19], [44, 171, 9, 255, 73, 110],
                      [230, 58, 140, 21, 199, 87], [16, 99, 180, 47, 8, 210]], dtype=np.float64)
    kernel = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -3.0], [2.0, 0.0, -1.0]])
    same_array(ns["convolve"](image, kernel), correlate(image, kernel), "convolve(5x6, 3x3)")


def test_convolve_matches_keras_conv2d(ns):
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, size=(12, 17))
    kernel = rng.normal(0, 1, size=(5, 5))
    kernel -= kernel.mean()
    same_array(ns["convolve"](image, kernel), keras_conv(image, kernel), "convolve vs Conv2D",
               rtol=1e-4, atol=1e-2)


def test_convolve_edge_filter_on_ascent(ns):
    image = _ascent()
    same_array(ns["convolve"](image, HORIZONTAL), correlate(image, HORIZONTAL), "convolve(ascent)")


def test_convolve_random_cases(ns):
    rng = np.random.default_rng(2)
    cases = [
        (rng.integers(0, 256, size=(9, 14)).astype(np.uint8), rng.integers(-3, 4, size=(3, 3)), 1.0),
        (rng.integers(0, 256, size=(20, 11)).astype(np.uint8), -np.abs(rng.normal(0, 2, size=(5, 5))), 1.0),
        (rng.normal(0, 10, size=(16, 23)), rng.normal(0, 1, size=(7, 7)), 1.0),
        (rng.integers(0, 256, size=(13, 8)).astype(np.uint8), rng.integers(-2, 3, size=(5, 5)), 0.25),
        (rng.uniform(0, 255, size=(6, 6)), rng.normal(0, 1, size=(3, 3)), -1.5),
    ]
    for image, kernel, weight in cases:
        same_array(ns["convolve"](image, kernel, weight), correlate(image, kernel, weight),
                   f"convolve({image.dtype} {image.shape}, {kernel.shape}, {weight})")


def test_convolve_filters_and_weight_on_ascent(ns):
    crop = _ascent()[40:220, 90:350]
    for kernel, weight in [(EDGES, 0.5), (VERTICAL, 1.0)]:
        same_array(ns["convolve"](crop, kernel, weight), keras_conv(crop, kernel, weight),
                   "convolve(crop of ascent)", rtol=1e-4, atol=1e-3)


# ----------------------------------------------------------------------------- to_pixels


def test_to_pixels_small(ns):
    image = np.array([[-20.5, 0.0, 12.7], [254.9, 255.0, 300.2]])
    same_array(ns["to_pixels"](image), np.clip(image, 0, 255).astype(np.uint8), "to_pixels",
               rtol=0, atol=1, dtype=np.uint8)


def test_to_pixels_random(ns):
    rng = np.random.default_rng(3)
    for image in (rng.uniform(-300, 600, size=(7, 13)), rng.integers(-5, 400, size=(4, 9)).astype(np.float64)):
        same_array(ns["to_pixels"](image), np.clip(image, 0, 255).astype(np.uint8), "to_pixels",
                   rtol=0, atol=1, dtype=np.uint8)


# ----------------------------------------------------------------------------- max_pool


def pooled(image, size=2):
    h, w = image.shape[0] // size, image.shape[1] // size
    return image[: h * size, : w * size].reshape(h, size, w, size).max(axis=(1, 3))


def test_max_pool_small(ns):
    image = np.array([[1, 5, 0, 2, 9, 9], [3, 4, 7, 1, 0, 8], [6, 0, 2, 2, 5, 1], [2, 8, 3, 4, 6, 0]],
                     dtype=np.float64)
    same_array(ns["max_pool"](image), pooled(image), "max_pool(4x6)", rtol=0, atol=1e-9)


def test_max_pool_odd_size(ns):
    image = (np.arange(35).reshape(5, 7) * 37 % 23).astype(np.float64)
    same_array(ns["max_pool"](image), pooled(image), "max_pool(5x7)", rtol=0, atol=1e-9)


def test_max_pool_ascent(ns):
    image = _ascent()
    same_array(ns["max_pool"](image), pooled(image), "max_pool(ascent)", rtol=0, atol=1e-9)


def test_max_pool_random(ns):
    rng = np.random.default_rng(4)
    for h, w, size in [(9, 14, 2), (11, 7, 3), (17, 10, 4), (6, 9, 3), (3, 5, 2)]:
        image = rng.integers(0, 256, size=(h, w)).astype(np.uint8)
        if size == 3:
            image = rng.normal(0, 1, size=(h, w))
        same_array(ns["max_pool"](image, size), pooled(image, size), f"max_pool({h}x{w}, {size})",
                   rtol=0, atol=1e-9)
