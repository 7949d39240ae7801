"""Generate the master notebook 04_convolution.ipynb (run: python make_notebook.py).

The notebook is written from this script so that a review reads plain Python instead of
notebook JSON. Conventions (docs/AUTHORING.md): graded cells are tagged ``graded`` and
start with ``# GRADED: <label>``; solutions sit between ``# BEGIN SOLUTION`` and
``# END SOLUTION``; each graded cell is followed by a ``grader.check("<target>")`` cell
tagged ``check``.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.builder import MasterNotebook

NAME = "04_convolution"

nb = MasterNotebook(NAME)
md, code, graded = nb.md, nb.code, nb.graded


md("""
# Convolution and max pooling by hand

A convolutional layer does not look at a whole image at once: it slides a small grid of
weights, the **kernel** (or filter), over the image. At each position it multiplies the
pixels under the kernel by the kernel's weights and adds the products up; that sum is one
pixel of the output. A kernel whose weights sum to zero gives 0 on flat regions and large
values (positive or negative) where the brightness changes: it finds **edges**.

After a convolution, a **max pooling** layer shrinks the image by keeping only the largest
value of each small block (2×2 usually), which keeps the strong responses and halves the
size.

In this exercise you write both with numpy, apply the classic edge filters to a photo, and
see what a convolutional network computes in its first layers.

**How this notebook is graded.** Cells that start with `# GRADED:` are run by the grader:
write your code where it says `# YOUR CODE HERE` and keep the function names. Your
functions must use only their arguments (the grader does not run the other cells). The
`grader.check(...)` cell after each graded cell runs the public checks on your answer.
""")

code("""
import numpy as np
import matplotlib.pyplot as plt
from scipy import signal

import grader
from grader.datasets import load_ascent
""")

md("""
## The image

SciPy ships a 512×512 grey photo of people climbing a staircase ("ascent"). Each pixel is
an integer from 0 (black) to 255 (white), stored as `uint8` (unsigned 8-bit integers).
""")

code("""
ascent = load_ascent()
print(ascent.shape, ascent.dtype, ascent.min(), ascent.max())
plt.figure(figsize=(5, 5))
plt.imshow(ascent, cmap="gray")
plt.axis("off")
plt.show()
""")

md("""
## Exercise 1: `convolve`

Write `convolve(image, kernel, weight=1.0)`.

- `image` is a 2-D array of shape `(H, W)` (possibly `uint8`), `kernel` a 2-D array of
  shape `(kh, kw)` (a square of odd size in this lesson: 3×3, 5×5...).
- Output pixel `(y, x)` is the sum over all `i, j` of `image[y + i, x + j] * kernel[i, j]`,
  multiplied by `weight`. This is exactly what a Keras `Conv2D` layer computes
  (mathematicians call it a *cross-correlation*; a "true" convolution would flip the kernel
  first: don't flip it).
- Only positions where the whole kernel fits on the image count ("valid" padding, as in
  Keras' default): the output has shape `(H - kh + 1, W - kw + 1)`.
- Return floats. The sums can be negative or larger than 255: a `uint8` array cannot hold
  them (−4 becomes 252!), so compute in floats, e.g. `image.astype(float)`, and do not
  store results in an array made with `np.zeros_like(image)` or `np.copy(image)`.
- Don't clip here: `to_pixels` below turns the result into a displayable image.

Loops over the output pixels are fine; looping over the few kernel positions instead, and
adding whole shifted slices of the image, is much faster.
""")

graded("convolve", """
def convolve(image, kernel, weight=1.0):
    \"\"\"Valid cross-correlation of a 2-D image with a 2-D kernel, times weight, as floats.\"\"\"
    # BEGIN SOLUTION
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    out_h, out_w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((out_h, out_w))
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * image[i:i + out_h, j:j + out_w]
    return out * weight
    # END SOLUTION
""", "convolve")

md("""
## Exercise 2: `to_pixels`

To show the result as an image (or to feed it to the next step as pixels), values below 0
become 0, values above 255 become 255, and the result is stored as `uint8`. Converting with
`.astype(np.uint8)` alone is not enough: 300 would become 44 and −4 would become 252.
""")

graded("to_pixels", """
def to_pixels(image):
    \"\"\"The image clipped to [0, 255], as uint8.\"\"\"
    # BEGIN SOLUTION
    return np.clip(image, 0, 255).astype(np.uint8)
    # END SOLUTION
""", "to_pixels")

md("""
## The lesson's edge filters

Three classic 3×3 filters. Their weights sum to 0, so flat areas give 0 (black) and edges
give large values:

- `edges`: the difference between a pixel and its four neighbours, any direction;
- `horizontal`: bright below, dark above (the rows of the kernel differ): horizontal edges;
- `vertical`: bright right, dark left: vertical edges.
""")

code("""
filters = {
    "edges": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "horizontal": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "vertical": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
}
filtered = {name: convolve(ascent, kernel) for name, kernel in filters.items()}
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, (name, result) in zip(axes, filtered.items()):
    ax.imshow(to_pixels(result), cmap="gray")
    ax.set_title(f"{name}: {result.shape}, from {result.min():.0f} to {result.max():.0f}")
    ax.axis("off")
plt.show()
""")

md("""
SciPy computes the same cross-correlation (`signal.correlate2d`); `signal.convolve2d` is
the "true" convolution, which flips the kernel: for the horizontal filter, flipping only
changes the sign.
""")

code("""
kernel = filters["horizontal"]
print("same as correlate2d:", np.allclose(filtered["horizontal"], signal.correlate2d(ascent, kernel, mode="valid")))
print("same as convolve2d: ", np.allclose(filtered["horizontal"], signal.convolve2d(ascent, kernel, mode="valid")))
print("convolve2d is minus :", np.allclose(-filtered["horizontal"], signal.convolve2d(ascent, kernel, mode="valid")))
""")

md("""
A blur uses a kernel of positive weights and `weight` to keep the brightness: the mean of
a 5×5 neighbourhood is the sum times 1/25.
""")

code("""
blurred = convolve(ascent, np.ones((5, 5)), weight=1 / 25)
plt.figure(figsize=(5, 5))
plt.imshow(to_pixels(blurred), cmap="gray")
plt.axis("off")
plt.show()
""")

md("""
## Exercise 3: `max_pool`

Write `max_pool(image, size=2)`: cut the image into blocks of `size × size` pixels and
keep the largest value of each block. The output has shape `(H // size, W // size)`; when
`H` or `W` is not a multiple of `size`, the incomplete blocks at the bottom and the right
are dropped (this is what Keras' `MaxPooling2D` does with its default "valid" padding).
""")

graded("max_pool", """
def max_pool(image, size=2):
    \"\"\"Maximum of each size x size block; incomplete blocks at the border are dropped.\"\"\"
    # BEGIN SOLUTION
    image = np.asarray(image)
    out_h, out_w = image.shape[0] // size, image.shape[1] // size
    blocks = image[:out_h * size, :out_w * size].reshape(out_h, size, out_w, size)
    return blocks.max(axis=(1, 3))
    # END SOLUTION
""", "max_pool")

md("""
Pooling the edges halves each side but keeps the edges visible: the network can look for
larger shapes in a smaller image.
""")

code("""
edges = to_pixels(filtered["vertical"])
pooled = max_pool(edges)
pooled_again = max_pool(pooled)
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, img in zip(axes, [edges, pooled, pooled_again]):
    ax.imshow(img, cmap="gray")
    ax.set_title(str(img.shape))
    ax.axis("off")
plt.show()
""")

raise SystemExit(nb.main(Path(__file__).with_name(f"{NAME}.ipynb")))
