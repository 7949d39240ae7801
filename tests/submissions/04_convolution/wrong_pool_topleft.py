"""Wrong on purpose (a mistake the first catalogue did not have): max_pool keeps the top-left pixel of
each block (image[::size, ::size]) instead of the largest. On odd sizes its shape is that of
rounding up, but it does not keep the incomplete blocks' maxima: no mistake may be named."""
import numpy as np


def convolve(image, kernel, weight=1.0):
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            out[y, x] = np.sum(image[y:y + kh, x:x + kw] * kernel)
    return out * weight


def to_pixels(image):
    return np.clip(image, 0, 255).astype(np.uint8)


def max_pool(image, size=2):
    return np.asarray(image)[::size, ::size]
