"""Grading suite of 04_convolution: convolve, to_pixels and max_pool written with numpy.

Expected values come from references computed here, on the trusted side: a Keras
``Conv2D`` layer given the same kernel and SciPy's ``signal.correlate2d`` for
``convolve``, numpy's own block reshaping for ``max_pool``. Likely mistakes (the kernel
flipped as in a "true" convolution, the kernel transposed, sums wrapped around in uint8,
clipping inside ``convolve``, rounding pooled sizes up...) are recognised and named.

The 512x512 ascent image is the lesson's; a student's convolution written with Python
loops over its pixels takes a few seconds, so it is convolved twice only (one public,
one hidden check); every other case uses small images.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
from scipy import signal

from grader.checks import CheckFailed, Mistake, call_each, expect, expect_array, raise_if_failed
from grader.datasets import load_ascent

# the lesson's filters
EDGES = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
HORIZONTAL = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
VERTICAL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


# --------------------------------------------------------------------------- references


@functools.cache
def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def keras_conv2d(image: np.ndarray, kernel: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """What a Keras Conv2D layer (one filter, no bias, valid padding) computes."""
    keras = _keras()
    kh, kw = kernel.shape
    layer = keras.layers.Conv2D(1, (kh, kw), use_bias=False, padding="valid")
    layer.build((None, *image.shape, 1))
    layer.set_weights([np.asarray(kernel, dtype=np.float32).reshape(kh, kw, 1, 1)])
    out = layer(np.asarray(image, dtype=np.float32)[None, :, :, None])
    return np.asarray(out, dtype=np.float64)[0, :, :, 0] * weight


def scipy_conv(image: np.ndarray, kernel: np.ndarray, weight: float = 1.0) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return signal.correlate2d(image, np.asarray(kernel, dtype=np.float64), mode="valid") * weight


def reference_max_pool(image: np.ndarray, size: int = 2) -> np.ndarray:
    h, w = image.shape[0] // size, image.shape[1] // size
    return image[: h * size, : w * size].reshape(h, size, w, size).max(axis=(1, 3))


def reference_to_pixels(image: np.ndarray) -> np.ndarray:
    return np.clip(image, 0, 255).astype(np.uint8)


def show_side_by_side(feedback, title: str, found, expected: np.ndarray) -> None:
    """Your image next to the expected one in feedback.html (recorded before judging)."""
    if isinstance(found, np.ndarray) and found.ndim == 2 and found.size and found.dtype.kind in "biuf":
        feedback.images(title, {"yours": found, "expected": expected}, difference=True)
    else:
        feedback.text(title, f"nothing to show: your function returned {type(found).__name__}")


@functools.cache
def ascent() -> np.ndarray:
    return np.array(load_ascent())  # a writable copy of the shared read-only array


# --------------------------------------------------------------------------- convolve
#
# A likely mistake is a function of the inputs (grader.checks.Mistake), named only when it
# reproduces the student's results on every input of the check and is confirmed on a second
# one (grader.checks.diagnose). Each check calls the student's function on two inputs or
# more (call_each), chosen so that the mistakes differ from the right answer and from each
# other: asymmetric kernels (flipping or transposing a symmetric one changes nothing, and
# flipping the horizontal edge filter only changes its sign), sums below 0 and above 255,
# a weight other than 1 twice, odd and non-square sizes.

_CLIPPED = ("you clipped the sums to [0, 255] inside convolve; return the raw sums (negative or above 255 "
            "too) and let to_pixels do the clipping")


def right_convolution(image, kernel, weight=1.0) -> np.ndarray:
    return scipy_conv(image, kernel, weight)


CONVOLVE_MISTAKES = [
    Mistake("your convolve matches the kernel flipped (a 'true' convolution, like scipy's convolve2d): "
            "Conv2D computes a cross-correlation, don't flip the kernel: output[y, x] is the sum of "
            "image[y + i, x + j] * kernel[i, j]",
            lambda image, kernel, weight=1.0: scipy_conv(image, np.asarray(kernel)[::-1, ::-1], weight)),
    Mistake("your convolve matches the kernel transposed: kernel[i, j] multiplies image[y + i, x + j] "
            "(i moves down the rows, j along the columns); check the order of your indices",
            lambda image, kernel, weight=1.0: scipy_conv(image, np.asarray(kernel).T, weight)),
    Mistake(_CLIPPED, lambda image, kernel, weight=1.0: np.clip(scipy_conv(image, kernel), 0, 255) * weight),
    Mistake(_CLIPPED, lambda image, kernel, weight=1.0: np.clip(scipy_conv(image, kernel, weight), 0, 255)),
    Mistake("your sums wrapped around as in uint8 (-4 became 252): you stored them in an array made from "
            "the uint8 image (np.zeros_like(image), np.copy(image)); compute in floats",
            lambda image, kernel, weight=1.0: np.mod(np.trunc(scipy_conv(image, kernel)), 256) * weight),
    Mistake("you took the absolute value of the sums; return them with their sign",
            lambda image, kernel, weight=1.0: np.abs(scipy_conv(image, kernel)) * weight),
    Mistake("you ignored weight: multiply each sum by weight",
            lambda image, kernel, weight=1.0: scipy_conv(image, kernel)),
]


def check_convolution(found, image, kernel, weight: float, what: str, cases: list, expected=None,
                      rtol: float = 1e-6, atol: float = 1e-6) -> None:
    """``found`` must be convolve(image, kernel, weight); ``cases``: every (inputs, found) of
    the check, to name a mistake only when they confirm it."""
    raise_if_failed(found)
    image = np.asarray(image)
    kernel = np.asarray(kernel)
    if expected is None:
        expected = scipy_conv(image, kernel, weight)
    out_shape = expected.shape
    if isinstance(found, np.ndarray) and found.dtype == np.uint8 and image.dtype == np.uint8:
        differs = found.shape == out_shape and not np.allclose(found, expected, rtol=rtol, atol=atol)
        if differs or found.shape != out_shape:
            raise CheckFailed(
                f"{what}: your convolve returned a uint8 array, which cannot hold the sums: negative "
                "ones and those above 255 wrap around (-4 becomes 252). A uint8 result comes from an "
                "array made from the image (np.zeros_like(image), np.copy(image)) or converted to "
                "uint8; compute and return floats (np.zeros(shape) is float64). Converting to "
                "pixels is to_pixels' job."
            )
    found_shape = getattr(found, "shape", None)
    if found_shape == image.shape:
        hint = (f"the output has the image's shape {image.shape}; with valid padding only the "
                f"positions where the whole {kernel.shape[0]}x{kernel.shape[1]} kernel fits count: "
                f"(H - kh + 1, W - kw + 1) = {out_shape}")
    elif found_shape == out_shape[::-1] and out_shape[0] != out_shape[1]:
        hint = "rows and columns are swapped: the output has H - kh + 1 rows and W - kw + 1 columns"
    elif found_shape is not None and len(found_shape) == 2 and found_shape == (image.shape[0] - kernel.shape[0],
                                                                                image.shape[1] - kernel.shape[1]):
        hint = ("that is one position short on each side: a kernel of width kw fits at W - kw + 1 "
                "positions, so loop over range(W - kw + 1)")
    else:
        hint = ""
    expect_array(found, expected, what, rtol=rtol, atol=atol, mistakes=CONVOLVE_MISTAKES, hint=hint,
                 cases=cases, right=right_convolution)


SMALL_IMAGE = np.array([
    [12, 200, 37, 90, 3, 150],
    [81, 5, 240, 66, 128, 19],
    [44, 171, 9, 255, 73, 110],
    [230, 58, 140, 21, 199, 87],
    [16, 99, 180, 47, 8, 210],
], dtype=np.float64)
SMALL_KERNEL = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -3.0], [2.0, 0.0, -1.0]])
# a second small case, taller than wide, with another asymmetric kernel
TALL_IMAGE = np.array([
    [90, 14, 201, 66],
    [3, 177, 45, 250],
    [128, 60, 99, 12],
    [240, 31, 170, 85],
    [7, 222, 54, 140],
    [163, 95, 18, 233],
    [51, 188, 120, 9],
], dtype=np.float64)
TALL_KERNEL = np.array([[0.0, -1.0, 2.0], [3.0, 0.0, 0.0], [-2.0, 1.0, -1.0]])
# an asymmetric integer kernel for crops of the ascent image
SLANTED = np.array([[2, 1, 0], [1, 0, -1], [0, -2, -2]])


@pytest.mark.points(2)
@pytest.mark.target("convolve")
def test_convolve_small_example(submission):
    """convolve: a 5x6 image and a 7x4 image, asymmetric 3x3 kernels"""
    cases = call_each(submission, "convolve", [(SMALL_IMAGE, SMALL_KERNEL), (TALL_IMAGE, TALL_KERNEL)])
    for (image, kernel), found in cases:
        check_convolution(found, image, kernel, 1.0, f"convolve(image {image.shape[0]}x{image.shape[1]}, "
                          "kernel 3x3)", cases)


@pytest.mark.points(2)
@pytest.mark.target("convolve")
def test_convolve_matches_keras_conv2d(submission, rng):
    """convolve: the same as a Keras Conv2D layer given the same kernel (5x5, then 3x3)"""
    inputs = []
    for shape, k in [((12, 17), 5), ((9, 14), 3)]:
        kernel = rng.normal(0, 1, size=(k, k))
        kernel -= kernel.mean()  # an edge detector: its weights sum to 0, its sums have both signs
        inputs.append((rng.uniform(0, 255, size=shape), kernel))
    cases = call_each(submission, "convolve", inputs)
    for (image, kernel), found in cases:
        expected = keras_conv2d(image, kernel)
        assert np.allclose(expected, scipy_conv(image, kernel), rtol=1e-4, atol=1e-2)  # the references agree
        k = kernel.shape[0]
        check_convolution(found, image, kernel, 1.0, f"convolve(random {image.shape[0]}x{image.shape[1]} image, "
                          f"random {k}x{k} kernel) compared with keras.layers.Conv2D", cases, expected=expected,
                          rtol=1e-4, atol=1e-2)


@pytest.mark.points(2)
@pytest.mark.target("convolve")
def test_convolve_edge_filter_on_ascent(submission, feedback):
    """convolve: the horizontal edge filter on the 512x512 uint8 ascent image, a slanted one on a crop"""
    image = ascent()
    crop = ascent()[300:341, 100:163]
    cases = call_each(submission, "convolve", [(image, HORIZONTAL), (crop, SLANTED)])
    show_side_by_side(feedback, "The horizontal edge filter on the ascent image", cases[0][1],
                      scipy_conv(image.astype(np.float64), HORIZONTAL))
    whats = ["convolve(ascent, [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])",
             f"convolve(41x63 crop of ascent, {SLANTED.tolist()})"]
    for ((image, kernel), found), what in zip(cases, whats, strict=False):  # cases stop at an error
        check_convolution(found, image, kernel, 1.0, what, cases)


@pytest.mark.hidden
@pytest.mark.points(2)
@pytest.mark.target("convolve")
def test_convolve_random_cases(submission, rng):
    """convolve: random non-square images, 3x3 to 7x7 kernels, uint8 and negative kernels"""
    inputs = [
        (rng.integers(0, 256, size=(9, 14)).astype(np.uint8), rng.integers(-3, 4, size=(3, 3)), 1.0),
        (rng.integers(0, 256, size=(20, 11)).astype(np.uint8), -np.abs(rng.normal(0, 2, size=(5, 5))), 1.0),
        (rng.normal(0, 10, size=(16, 23)), rng.normal(0, 1, size=(7, 7)), 1.0),
        (rng.integers(0, 256, size=(13, 8)).astype(np.uint8), rng.integers(-2, 3, size=(5, 5)), 0.25),
        (rng.uniform(0, 255, size=(6, 6)), rng.normal(0, 1, size=(3, 3)), -1.5),
    ]
    cases = call_each(submission, "convolve", inputs)
    for (image, kernel, weight), found in cases:
        what = (f"convolve({image.dtype} image {image.shape[0]}x{image.shape[1]}, kernel "
                f"{kernel.shape[0]}x{kernel.shape[1]}, weight={weight:g})")
        check_convolution(found, image, kernel, weight, what, cases, rtol=1e-6, atol=1e-6)


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("convolve")
def test_convolve_filters_and_weight_on_ascent(submission, rng):
    """convolve: the lesson's filters and a slanted one, with weights, on crops of the ascent image"""
    y, x = int(rng.integers(0, 200)), int(rng.integers(0, 150))
    crop = ascent()[y:y + 180, x:x + 260]
    small = ascent()[x:x + 37, y:y + 52]
    inputs = [(crop, EDGES, 0.5), (crop, VERTICAL, 1.0), (small, SLANTED, 2.0)]
    cases = call_each(submission, "convolve", inputs)
    for (image, kernel, weight), found in cases:
        expected = keras_conv2d(image, kernel, weight)
        check_convolution(found, image, kernel, weight, f"convolve({image.shape[0]}x{image.shape[1]} crop of ascent, "
                          f"{kernel.tolist()}, weight={weight:g}) compared with keras.layers.Conv2D", cases,
                          expected=expected, rtol=1e-4, atol=1e-3)


# --------------------------------------------------------------------------- to_pixels

PIXEL_MISTAKES = [
    Mistake("you converted without clipping: values below 0 and above 255 wrap around (300 becomes 44, "
            "-4 becomes 252); np.clip(image, 0, 255) first", lambda image: image.astype(np.uint8)),
    Mistake("negative values must become 0, not their absolute value",
            lambda image: np.abs(image).clip(0, 255).astype(np.uint8)),
]


def check_pixels(found, image: np.ndarray, what: str, cases: list) -> None:
    raise_if_failed(found)
    expected = reference_to_pixels(image)
    if isinstance(found, np.ndarray) and found.shape == expected.shape and found.dtype != np.uint8:
        values = found.astype(np.float64)
        in_range = values.min() >= 0 and values.max() <= 255
        raise CheckFailed(
            f"{what}: expected dtype uint8, found {found.dtype}."
            + (" The values are clipped; convert them with .astype(np.uint8)." if in_range
               else " Clip to [0, 255] with np.clip, then convert with .astype(np.uint8).")
        )
    # rounding instead of truncating is fine (12.7 -> 12 or 13): a tolerance of 1
    expect_array(found, expected, what, rtol=0, atol=1, kind="uint8", mistakes=PIXEL_MISTAKES,
                 cases=cases, right=reference_to_pixels)
    # the tolerance is for rounding the values in between: the clipped ones are exact
    for clipped, bound, side in ((image <= 0, 0, "at or below 0"), (image >= 255, 255, "at or above 255")):
        off = clipped & (found != bound)
        expect(not off.any(), f"{what}: values {side} must become exactly {bound}; "
               + (f"{image[off][0]:g} became {int(found[off][0])}. " if off.any() else "")
               + "Clip to [0, 255] with np.clip(image, 0, 255), then convert with .astype(np.uint8).")


@pytest.mark.points(1)
@pytest.mark.target("to_pixels")
def test_to_pixels_small(submission):
    """to_pixels: values below 0, inside [0, 255] and above 255, in two small images"""
    first = np.array([[-20.5, 0.0, 12.7], [254.9, 255.0, 300.2]])
    second = np.array([[-3.2, 260.0, 99.5, 17.0], [400.7, -128.0, 254.4, -0.6]])
    cases = call_each(submission, "to_pixels", [(first,), (second,)])
    whats = ["to_pixels([[-20.5, 0, 12.7], [254.9, 255, 300.2]])",
             "to_pixels([[-3.2, 260, 99.5, 17], [400.7, -128, 254.4, -0.6]])"]
    for ((image,), found), what in zip(cases, whats, strict=False):  # cases stop at an error
        check_pixels(found, image, what, cases)


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("to_pixels")
def test_to_pixels_random(submission, rng):
    """to_pixels: random values from -300 to 600 in non-square images"""
    inputs = [(rng.uniform(-300, 600, size=(7, 13)),), (rng.integers(-5, 400, size=(4, 9)).astype(np.float64),)]
    cases = call_each(submission, "to_pixels", inputs)
    whats = ["to_pixels(random 7x13 image)", "to_pixels(random 4x9 integral image)"]
    for ((image,), found), what in zip(cases, whats, strict=False):  # cases stop at an error
        check_pixels(found, image, what, cases)


# --------------------------------------------------------------------------- max_pool


def _blocks(image: np.ndarray, size: int) -> np.ndarray:
    oh, ow = image.shape[0] // size, image.shape[1] // size
    return np.asarray(image)[: oh * size, : ow * size].reshape(oh, size, ow, size)


def _with_border_blocks(image: np.ndarray, size: int = 2) -> np.ndarray:
    """Max pooling that keeps the incomplete blocks at the border."""
    h, w = image.shape
    ch, cw = -(-h // size), -(-w // size)
    padded = np.full((ch * size, cw * size), -np.inf)
    padded[:h, :w] = image
    return padded.reshape(ch, size, cw, size).max(axis=(1, 3))


POOL_MISTAKES = [
    Mistake("you averaged each block; max pooling keeps the largest value",
            lambda image, size=2: _blocks(image, size).mean(axis=(1, 3))),
    Mistake("you kept the smallest value of each block; keep the largest",
            lambda image, size=2: _blocks(image, size).min(axis=(1, 3))),
    Mistake("rows and columns are swapped: block (r, c) covers rows r*size..r*size+size-1 and columns "
            "c*size..c*size+size-1", lambda image, size=2: _blocks(image, size).max(axis=(1, 3)).T),
    Mistake("you kept the incomplete blocks at the border; drop them (H // size rows, W // size columns)",
            _with_border_blocks),
]


def right_pool(image: np.ndarray, size: int = 2) -> np.ndarray:
    return reference_max_pool(image, size)


def check_pool(found, image: np.ndarray, size: int, what: str, cases: list) -> None:
    raise_if_failed(found)
    expected = reference_max_pool(image, size)
    h, w = image.shape
    found_shape = getattr(found, "shape", None)
    hint = ""
    if found_shape == expected.shape:
        pass
    elif found_shape == (-(-h // size), -(-w // size)):
        hint = (f"{found_shape} counts the incomplete blocks at the border (H / size and W / size rounded "
                f"up); they are dropped, so the shape is (H // size, W // size) = {expected.shape}")
    elif found_shape == (h - size + 1, w - size + 1):
        hint = (f"{found_shape} is what windows that move by 1 pixel give; pooling blocks do not overlap: "
                f"they move by size, so the shape is (H // size, W // size) = {expected.shape}")
    elif found_shape == (h // size, h // size) or found_shape == (w // size, w // size):
        hint = (f"{found_shape} is square but the image is not square: its H // size rows and W // size "
                f"columns make {expected.shape}")
    expect_array(found, expected, what, rtol=0, atol=1e-9, mistakes=POOL_MISTAKES, hint=hint,
                 cases=cases, right=right_pool)


def judge_pools(cases: list, whats: list) -> None:
    for (inputs, found), what in zip(cases, whats, strict=False):  # cases stop at an error
        check_pool(found, inputs[0], inputs[1] if len(inputs) > 1 else 2, what, cases)


@pytest.mark.points(2)
@pytest.mark.target("max_pool")
def test_max_pool_small(submission):
    """max_pool: a 4x6 image and a 6x8 image in 2x2 blocks"""
    image = np.array([
        [1, 5, 0, 2, 9, 9],
        [3, 4, 7, 1, 0, 8],
        [6, 0, 2, 2, 5, 1],
        [2, 8, 3, 4, 6, 0],
    ], dtype=np.float64)
    wider = (np.arange(48).reshape(6, 8) * 29 % 31).astype(np.float64)
    cases = call_each(submission, "max_pool", [(image,), (wider,)])
    judge_pools(cases, ["max_pool(4x6 image)", "max_pool(6x8 image)"])


@pytest.mark.points(1)
@pytest.mark.target("max_pool")
def test_max_pool_odd_size(submission):
    """max_pool: a 5x7 image and a 7x9 image, whose last row and column are dropped"""
    image = (np.arange(35).reshape(5, 7) * 37 % 23).astype(np.float64)
    other = (np.arange(63).reshape(7, 9) * 41 % 29).astype(np.float64)
    cases = call_each(submission, "max_pool", [(image,), (other,)])
    judge_pools(cases, ["max_pool(5x7 image)", "max_pool(7x9 image)"])


@pytest.mark.points(1)
@pytest.mark.target("max_pool")
def test_max_pool_ascent(submission, feedback):
    """max_pool: the 512x512 ascent image pooled to 256x256, and a 12x12 crop of it"""
    image = ascent()
    cases = call_each(submission, "max_pool", [(image,), (ascent()[200:212, 300:312],)])
    show_side_by_side(feedback, "The ascent image max-pooled", cases[0][1], reference_max_pool(image))
    judge_pools(cases, ["max_pool(ascent)", "max_pool(12x12 crop of ascent)"])


@pytest.mark.hidden
@pytest.mark.points(2)
@pytest.mark.target("max_pool")
def test_max_pool_random(submission, rng):
    """max_pool: random non-square images with odd sides, block sizes 2 to 4"""
    inputs = []
    for h, w, size in [(9, 14, 2), (11, 7, 3), (17, 10, 4), (6, 9, 3), (3, 5, 2)]:
        image = rng.integers(0, 256, size=(h, w)).astype(np.uint8)
        if size == 3:
            image = rng.normal(0, 1, size=(h, w))
        inputs.append((image, size))
    cases = call_each(submission, "max_pool", inputs)
    judge_pools(cases, [f"max_pool({image.shape[0]}x{image.shape[1]} image, size={size})" for image, size in inputs])
