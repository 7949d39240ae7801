"""Wrong on purpose: max_pool uses the height for both sides."""
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
    n = image.shape[0] // size
    out = np.zeros((n, n), dtype=image.dtype)
    for r in range(n):
        for c in range(n):
            out[r, c] = image[r * size:(r + 1) * size, c * size:(c + 1) * size].max()
    return out
