"""Mutation catalogue of 04_convolution for `grader mutants 04_convolution`
(docs/AUTHORING.md, "Measuring a suite"). Never released: `grader release` copies no hidden_* file.

MISTAKES: typical student answers, each replacing one graded definition; `expect` holds the
words a good failing message about that mistake contains (any case). inputs_<name>(rng):
random argument tuples on which a surviving mutant is compared with the master to tell an
equivalent mutant from a gap in the suite.
"""

import numpy as np

_LOOPS = """def convolve(image, kernel, weight=1.0):
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    H, W = image.shape
    out = np.zeros(({rows}, {cols}))
    for y in range({rows}):
        for x in range({cols}):
            out[y, x] = {body}
    return {result}
"""


def _loops(rows="H - kh + 1", cols="W - kw + 1", body="np.sum(image[y:y + kh, x:x + kw] * kernel)",
           result="out * weight"):
    return _LOOPS.format(rows=rows, cols=cols, body=body, result=result)


MISTAKES = [
    # convolve
    {"name": "flipped_kernel", "replaces": "convolve", "expect": ["flipped"],
     "source": _loops(body="np.sum(image[y:y + kh, x:x + kw] * kernel[::-1, ::-1])")},
    {"name": "transposed_kernel", "replaces": "convolve", "expect": ["transposed"],
     "source": _loops(body="np.sum(image[y:y + kh, x:x + kw] * kernel.T)")},
    {"name": "ignores_weight", "replaces": "convolve", "expect": ["weight"], "source": _loops(result="out")},
    {"name": "clips_inside", "replaces": "convolve", "expect": ["clipped"],
     "source": _loops(result="np.clip(out * weight, 0, 255)")},
    {"name": "absolute_value", "replaces": "convolve", "expect": ["absolute value"],
     "source": _loops(result="np.abs(out) * weight")},
    {"name": "one_short", "replaces": "convolve", "expect": ["one position short"],
     "source": _loops(rows="H - kh", cols="W - kw")},
    {"name": "same_shape", "replaces": "convolve", "expect": ["valid padding"],
     "source": ("def convolve(image, kernel, weight=1.0):\n"
                "    image = np.asarray(image, dtype=np.float64)\n"
                "    kernel = np.asarray(kernel, dtype=np.float64)\n"
                "    kh, kw = kernel.shape\n"
                "    H, W = image.shape\n"
                "    padded = np.zeros((H + kh - 1, W + kw - 1))\n"
                "    padded[:H, :W] = image\n"
                "    out = np.zeros((H, W))\n"
                "    for y in range(H):\n"
                "        for x in range(W):\n"
                "            out[y, x] = np.sum(padded[y:y + kh, x:x + kw] * kernel)\n"
                "    return out * weight\n")},
    {"name": "rows_columns_swapped", "replaces": "convolve", "expect": ["swapped"],
     "source": _loops(rows="W - kw + 1", cols="H - kh + 1", body="np.sum(image[x:x + kh, y:y + kw] * kernel)")},
    {"name": "uint8_result", "replaces": "convolve", "expect": ["uint8"],
     "source": ("def convolve(image, kernel, weight=1.0):\n"
                "    image = np.asarray(image)\n"
                "    kernel = np.asarray(kernel, dtype=np.float64)\n"
                "    kh, kw = kernel.shape\n"
                "    out = np.zeros_like(image[:image.shape[0] - kh + 1, :image.shape[1] - kw + 1])\n"
                "    for y in range(out.shape[0]):\n"
                "        for x in range(out.shape[1]):\n"
                "            out[y, x] = np.sum(image[y:y + kh, x:x + kw] * kernel) * weight\n"
                "    return out\n")},
    # to_pixels
    {"name": "no_clip", "replaces": "to_pixels", "expect": ["without clipping"],
     "source": "def to_pixels(image):\n    return np.asarray(image).astype(np.uint8)\n"},
    {"name": "no_cast", "replaces": "to_pixels", "expect": ["uint8"],
     "source": "def to_pixels(image):\n    return np.clip(image, 0, 255)\n"},
    {"name": "absolute_pixels", "replaces": "to_pixels", "expect": ["absolute value"],
     "source": "def to_pixels(image):\n    return np.clip(np.abs(image), 0, 255).astype(np.uint8)\n"},
    # max_pool
    {"name": "average_pool", "replaces": "max_pool", "expect": ["averaged"],
     "source": ("def max_pool(image, size=2):\n"
                "    image = np.asarray(image)\n"
                "    h, w = image.shape[0] // size, image.shape[1] // size\n"
                "    return image[:h * size, :w * size].reshape(h, size, w, size).mean(axis=(1, 3))\n")},
    {"name": "min_pool", "replaces": "max_pool", "expect": ["smallest"],
     "source": ("def max_pool(image, size=2):\n"
                "    image = np.asarray(image)\n"
                "    h, w = image.shape[0] // size, image.shape[1] // size\n"
                "    return image[:h * size, :w * size].reshape(h, size, w, size).min(axis=(1, 3))\n")},
    {"name": "overlapping_windows", "replaces": "max_pool", "expect": ["move by"],
     "source": ("def max_pool(image, size=2):\n"
                "    image = np.asarray(image)\n"
                "    h, w = image.shape[0] - size + 1, image.shape[1] - size + 1\n"
                "    out = np.zeros((h, w), dtype=image.dtype)\n"
                "    for y in range(h):\n"
                "        for x in range(w):\n"
                "            out[y, x] = image[y:y + size, x:x + size].max()\n"
                "    return out\n")},
    {"name": "keeps_border", "replaces": "max_pool", "expect": ["incomplete"],
     "source": ("def max_pool(image, size=2):\n"
                "    image = np.asarray(image)\n"
                "    h, w = -(-image.shape[0] // size), -(-image.shape[1] // size)\n"
                "    out = np.zeros((h, w), dtype=image.dtype)\n"
                "    for y in range(h):\n"
                "        for x in range(w):\n"
                "            out[y, x] = image[y * size:(y + 1) * size, x * size:(x + 1) * size].max()\n"
                "    return out\n")},
    {"name": "square_assumed", "replaces": "max_pool", "expect": ["not square"],
     "source": ("def max_pool(image, size=2):\n"
                "    image = np.asarray(image)\n"
                "    n = image.shape[0] // size\n"
                "    out = np.zeros((n, n), dtype=image.dtype)\n"
                "    for y in range(n):\n"
                "        for x in range(n):\n"
                "            out[y, x] = image[y * size:(y + 1) * size, x * size:(x + 1) * size].max()\n"
                "    return out\n")},
]


def inputs_convolve(rng):
    for _ in range(60):
        h, w = int(rng.integers(3, 30)), int(rng.integers(3, 30))
        kh, kw = int(rng.integers(1, min(h, 6) + 1)), int(rng.integers(1, min(w, 6) + 1))
        image = rng.integers(0, 256, size=(h, w)).astype(rng.choice([np.uint8, np.float64]))
        kernel = rng.normal(0, 1, size=(kh, kw)) if rng.random() < 0.6 else rng.integers(-3, 4, size=(kh, kw))
        if rng.random() < 0.2:  # nested lists, as a student may pass them
            image, kernel = image.tolist(), kernel.tolist()
        yield (image, kernel) if rng.random() < 0.3 else (image, kernel, float(rng.normal(0, 2)))


def inputs_to_pixels(rng):
    for _ in range(100):
        yield (rng.uniform(-400, 700, size=(int(rng.integers(1, 20)), int(rng.integers(1, 20)))),)


def inputs_max_pool(rng):
    for _ in range(100):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        image = rng.integers(0, 256, size=(h, w)).astype(rng.choice([np.uint8, np.float64]))
        size = int(rng.integers(1, min(h, w) + 1))
        yield (image,) if rng.random() < 0.3 and min(h, w) >= 2 else (image, size)
