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

from grader.checks import CheckFailed, expect_array
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


def check_convolution(found, image, kernel, weight: float, what: str, expected=None,
                      rtol: float = 1e-6, atol: float = 1e-6) -> None:
    """``found`` must be convolve(image, kernel, weight); name the likely mistake if not."""
    image = np.asarray(image)
    kernel = np.asarray(kernel)
    raw = scipy_conv(image, kernel)
    if expected is None:
        expected = raw * weight
    out_shape = expected.shape
    if isinstance(found, np.ndarray) and found.dtype == np.uint8 and image.dtype == np.uint8:
        differs = found.shape == out_shape and not np.allclose(found, expected, rtol=rtol, atol=atol)
        if differs or found.shape != out_shape:
            raise CheckFailed(
                f"{what}: your convolve returned a uint8 array, which cannot hold the sums: negative "
                "ones and those above 255 wrap around (-4 becomes 252). Likely mistake: the result "
                "array was made from the image (np.zeros_like(image), np.copy(image)) or converted "
                "to uint8; compute and return floats (np.zeros(shape) is float64). Converting to "
                "pixels is to_pixels' job."
            )
    mistakes = [
        (scipy_conv(image, kernel[::-1, ::-1], weight),
         "your convolve matches the kernel flipped (a 'true' convolution, like scipy's convolve2d): "
         "Conv2D computes a cross-correlation, don't flip the kernel: output[y, x] is the sum of "
         "image[y + i, x + j] * kernel[i, j]"),
        (scipy_conv(image, kernel.T, weight),
         "your convolve matches the kernel transposed: kernel[i, j] multiplies image[y + i, x + j] "
         "(i moves down the rows, j along the columns); check the order of your indices"),
        (np.clip(raw, 0, 255) * weight,
         "you clipped the sums to [0, 255] inside convolve; return the raw sums (negative or above "
         "255 too) and let to_pixels do the clipping"),
        (np.clip(raw * weight, 0, 255),
         "you clipped the sums to [0, 255] inside convolve; return the raw sums (negative or above "
         "255 too) and let to_pixels do the clipping"),
        (np.mod(np.trunc(raw), 256) * weight,
         "your sums wrapped around as in uint8 (-4 became 252): you stored them in an array made from "
         "the uint8 image (np.zeros_like(image), np.copy(image)); compute in floats"),
        (np.abs(raw) * weight, "you took the absolute value of the sums; return them with their sign"),
    ]
    if weight != 1.0:
        mistakes.append((raw, f"you ignored weight={weight:g}: multiply each sum by weight"))
    found_shape = getattr(found, "shape", None)
    if found_shape == image.shape:
        hint = (f"the output has the image's shape {image.shape}; with valid padding only the "
                f"positions where the whole {kernel.shape[0]}x{kernel.shape[1]} kernel fits count: "
                f"(H - kh + 1, W - kw + 1) = {out_shape}")
    elif found_shape == out_shape[::-1] and out_shape[0] != out_shape[1]:
        hint = "rows and columns are swapped: the output has H - kh + 1 rows and W - kw + 1 columns"
    elif found_shape is not None and len(found_shape) == 2 and found_shape == (image.shape[0] - kernel.shape[0],
                                                                                image.shape[1] - kernel.shape[1]):
        hint = ("you stop one position short: a kernel of width kw fits at W - kw + 1 positions, "
                "so loop over range(W - kw + 1)")
    else:
        hint = ""
    expect_array(found, expected, what, rtol=rtol, atol=atol, mistakes=mistakes, hint=hint)


@pytest.mark.points(2)
@pytest.mark.target("convolve")
def test_convolve_small_example(submission):
    """convolve: a 5x6 image and an asymmetric 3x3 kernel"""
    image = np.array([
        [12, 200, 37, 90, 3, 150],
        [81, 5, 240, 66, 128, 19],
        [44, 171, 9, 255, 73, 110],
        [230, 58, 140, 21, 199, 87],
        [16, 99, 180, 47, 8, 210],
    ], dtype=np.float64)
    kernel = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -3.0], [2.0, 0.0, -1.0]])
    found = submission.call("convolve", image, kernel)
    check_convolution(found, image, kernel, 1.0, "convolve(image 5x6, kernel 3x3)")


@pytest.mark.points(2)
@pytest.mark.target("convolve")
def test_convolve_matches_keras_conv2d(submission, rng):
    """convolve: the same as a Keras Conv2D layer given the same 5x5 kernel"""
    image = rng.uniform(0, 255, size=(12, 17))
    kernel = rng.normal(0, 1, size=(5, 5))
    kernel -= kernel.mean()  # an edge detector: its weights sum to 0, its sums have both signs
    expected = keras_conv2d(image, kernel)
    assert np.allclose(expected, scipy_conv(image, kernel), rtol=1e-4, atol=1e-2)  # the references agree
    found = submission.call("convolve", image, kernel)
    check_convolution(found, image, kernel, 1.0, "convolve(random 12x17 image, random 5x5 kernel) "
                      "compared with keras.layers.Conv2D", expected=expected, rtol=1e-4, atol=1e-2)


@pytest.mark.points(2)
@pytest.mark.target("convolve")
def test_convolve_edge_filter_on_ascent(submission, feedback):
    """convolve: the horizontal edge filter on the 512x512 uint8 ascent image"""
    image = ascent()
    found = submission.call("convolve", image, HORIZONTAL)
    show_side_by_side(feedback, "The horizontal edge filter on the ascent image", found,
                      scipy_conv(image.astype(np.float64), HORIZONTAL))
    check_convolution(found, image, HORIZONTAL, 1.0,
                      "convolve(ascent, [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])")


@pytest.mark.hidden
@pytest.mark.points(2)
@pytest.mark.target("convolve")
def test_convolve_random_cases(submission, rng):
    """convolve: random non-square images, 3x3 to 7x7 kernels, uint8 and negative kernels"""
    cases = [
        (rng.integers(0, 256, size=(9, 14)).astype(np.uint8), rng.integers(-3, 4, size=(3, 3)), 1.0),
        (rng.integers(0, 256, size=(20, 11)).astype(np.uint8), -np.abs(rng.normal(0, 2, size=(5, 5))), 1.0),
        (rng.normal(0, 10, size=(16, 23)), rng.normal(0, 1, size=(7, 7)), 1.0),
        (rng.integers(0, 256, size=(13, 8)).astype(np.uint8), rng.integers(-2, 3, size=(5, 5)), 0.25),
        (rng.uniform(0, 255, size=(6, 6)), rng.normal(0, 1, size=(3, 3)), -1.5),
    ]
    for image, kernel, weight in cases:
        found = submission.call("convolve", image, kernel, weight)
        what = (f"convolve({image.dtype} image {image.shape[0]}x{image.shape[1]}, kernel "
                f"{kernel.shape[0]}x{kernel.shape[1]}, weight={weight:g})")
        check_convolution(found, image, kernel, weight, what, rtol=1e-6, atol=1e-6)


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("convolve")
def test_convolve_filters_and_weight_on_ascent(submission, rng):
    """convolve: the lesson's filters with a weight on a crop of the ascent image"""
    y, x = int(rng.integers(0, 200)), int(rng.integers(0, 150))
    crop = ascent()[y:y + 180, x:x + 260]
    for kernel, weight in [(EDGES, 0.5), (VERTICAL, 1.0)]:
        expected = keras_conv2d(crop, kernel, weight)
        found = submission.call("convolve", crop, kernel, weight)
        check_convolution(found, crop, kernel, weight, f"convolve(180x260 crop of ascent, {kernel.tolist()}, "
                          f"weight={weight:g}) compared with keras.layers.Conv2D", expected=expected,
                          rtol=1e-4, atol=1e-3)


# --------------------------------------------------------------------------- to_pixels


def check_pixels(found, image: np.ndarray, what: str) -> None:
    expected = reference_to_pixels(image)
    if isinstance(found, np.ndarray) and found.shape == expected.shape and found.dtype != np.uint8:
        values = found.astype(np.float64)
        in_range = values.min() >= 0 and values.max() <= 255
        raise CheckFailed(
            f"{what}: expected dtype uint8, found {found.dtype}."
            + (" The values are clipped; convert them with .astype(np.uint8)." if in_range
               else " Clip to [0, 255] with np.clip, then convert with .astype(np.uint8).")
        )
    mistakes = [
        (image.astype(np.uint8), "you converted without clipping: values below 0 and above 255 wrap "
         "around (300 becomes 44, -4 becomes 252); np.clip(image, 0, 255) first"),
        (np.abs(image).clip(0, 255).astype(np.uint8), "negative values must become 0, not their "
         "absolute value"),
    ]
    # rounding instead of truncating is fine (12.7 -> 12 or 13): a tolerance of 1
    expect_array(found, expected, what, rtol=0, atol=1, kind="uint8", mistakes=mistakes)


@pytest.mark.points(1)
@pytest.mark.target("to_pixels")
def test_to_pixels_small(submission):
    """to_pixels: values below 0, inside [0, 255] and above 255"""
    image = np.array([[-20.5, 0.0, 12.7], [254.9, 255.0, 300.2]])
    found = submission.call("to_pixels", image)
    check_pixels(found, image, "to_pixels([[-20.5, 0, 12.7], [254.9, 255, 300.2]])")


@pytest.mark.hidden
@pytest.mark.points(1)
@pytest.mark.target("to_pixels")
def test_to_pixels_random(submission, rng):
    """to_pixels: random values from -300 to 600 in a non-square image"""
    image = rng.uniform(-300, 600, size=(7, 13))
    found = submission.call("to_pixels", image)
    check_pixels(found, image, "to_pixels(random 7x13 image)")
    image = rng.integers(-5, 400, size=(4, 9)).astype(np.float64)
    check_pixels(submission.call("to_pixels", image), image, "to_pixels(random 4x9 integral image)")


# --------------------------------------------------------------------------- max_pool


def pool_mistakes(image: np.ndarray, size: int) -> list:
    h, w = image.shape
    oh, ow = h // size, w // size
    blocks = image[: oh * size, : ow * size].reshape(oh, size, ow, size)
    mistakes = [
        (blocks.mean(axis=(1, 3)), "you averaged each block; max pooling keeps the largest value"),
        (blocks.min(axis=(1, 3)), "you kept the smallest value of each block; keep the largest"),
        (blocks.max(axis=(1, 3)).T, "rows and columns are swapped: block (r, c) covers rows "
         "r*size..r*size+size-1 and columns c*size..c*size+size-1"),
    ]
    if h % size or w % size:  # the incomplete border blocks, kept
        ch, cw = -(-h // size), -(-w // size)
        padded = np.full((ch * size, cw * size), -np.inf)
        padded[:h, :w] = image
        mistakes.append((padded.reshape(ch, size, cw, size).max(axis=(1, 3)), "you kept the incomplete "
                         "blocks at the border; drop them (H // size rows, W // size columns)"))
    return mistakes


def check_pool(found, image: np.ndarray, size: int, what: str) -> None:
    expected = reference_max_pool(image, size)
    h, w = image.shape
    found_shape = getattr(found, "shape", None)
    hint = ""
    if found_shape == (-(-h // size), -(-w // size)):
        hint = (f"the output has {found_shape} blocks: you rounded up; the incomplete blocks at the "
                f"border are dropped, so the shape is (H // size, W // size) = {expected.shape}")
    elif found_shape == (h - size + 1, w - size + 1):
        hint = ("your windows move by 1 pixel; pooling blocks do not overlap: they move by size, so the "
                f"shape is (H // size, W // size) = {expected.shape}")
    elif found_shape == (h // size, h // size) or found_shape == (w // size, w // size):
        hint = "the image is not square: use its height for the rows and its width for the columns"
    expect_array(found, expected, what, rtol=0, atol=1e-9, mistakes=pool_mistakes(image, size), hint=hint)


@pytest.mark.points(2)
@pytest.mark.target("max_pool")
def test_max_pool_small(submission):
    """max_pool: a 4x6 image in 2x2 blocks"""
    image = np.array([
        [1, 5, 0, 2, 9, 9],
        [3, 4, 7, 1, 0, 8],
        [6, 0, 2, 2, 5, 1],
        [2, 8, 3, 4, 6, 0],
    ], dtype=np.float64)
    found = submission.call("max_pool", image)
    check_pool(found, image, 2, "max_pool(4x6 image)")


@pytest.mark.points(1)
@pytest.mark.target("max_pool")
def test_max_pool_odd_size(submission):
    """max_pool: a 5x7 image, whose last row and column are dropped"""
    image = (np.arange(35).reshape(5, 7) * 37 % 23).astype(np.float64)
    found = submission.call("max_pool", image)
    check_pool(found, image, 2, "max_pool(5x7 image)")


@pytest.mark.points(1)
@pytest.mark.target("max_pool")
def test_max_pool_ascent(submission, feedback):
    """max_pool: the 512x512 ascent image pooled to 256x256"""
    image = ascent()
    found = submission.call("max_pool", image)
    show_side_by_side(feedback, "The ascent image max-pooled", found, reference_max_pool(image))
    check_pool(found, image, 2, "max_pool(ascent)")


@pytest.mark.hidden
@pytest.mark.points(2)
@pytest.mark.target("max_pool")
def test_max_pool_random(submission, rng):
    """max_pool: random non-square images with odd sides, block sizes 2 to 4"""
    for h, w, size in [(9, 14, 2), (11, 7, 3), (17, 10, 4), (6, 9, 3), (3, 5, 2)]:
        image = rng.integers(0, 256, size=(h, w)).astype(np.uint8)
        if size == 3:
            image = rng.normal(0, 1, size=(h, w))
        found = submission.call("max_pool", image, size)
        check_pool(found, image, size, f"max_pool({h}x{w} image, size={size})")
