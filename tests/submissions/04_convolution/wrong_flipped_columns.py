"""Wrong on purpose (a mistake the first catalogue did not have): the kernel is flipped left to right
only (its columns reversed). The symmetric edges filter and the horizontal one come out right;
for the vertical filter it is the same as flipping both ways; on an asymmetric kernel it is not,
and no flip may be named."""
import numpy as np


def convolve(image, kernel, weight=1.0):
    kernel = np.asarray(kernel, dtype=float)[:, ::-1]
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            out[y, x] = np.sum(image[y:y + kh, x:x + kw] * kernel)
    return out * weight


def to_pixels(image):
    return np.clip(image, 0, 255).astype(np.uint8)


def max_pool(image, size=2):
    h, w = image.shape[0] // size, image.shape[1] // size
    return image[:h * size, :w * size].reshape(h, size, w, size).max(axis=(1, 3))
