"""Wrong on purpose: to_pixels clips to [0, 254] (an off-by-one at the top: uint8 holds 0 to 255),
within the checks' tolerance of 1 for rounding, but a clipped value must be exact."""
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
    return np.clip(image, 0, 254).astype(np.uint8)


def max_pool(image, size=2):
    h, w = image.shape[0] // size, image.shape[1] // size
    return image[:h * size, :w * size].reshape(h, size, w, size).max(axis=(1, 3))
