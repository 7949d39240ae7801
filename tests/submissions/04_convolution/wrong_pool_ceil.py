"""Wrong on purpose: max_pool keeps the incomplete blocks at the border."""
import numpy as np


def convolve(image, kernel, weight=1.0):
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    h, w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((h, w))
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * image[i:i + h, j:j + w]
    return out * weight


def to_pixels(image):
    return np.clip(image, 0, 255).astype(np.uint8)


def max_pool(image, size=2):
    h, w = -(-image.shape[0] // size), -(-image.shape[1] // size)
    out = np.zeros((h, w), dtype=image.dtype)
    for r in range(h):
        for c in range(w):
            out[r, c] = image[r * size:(r + 1) * size, c * size:(c + 1) * size].max()
    return out
