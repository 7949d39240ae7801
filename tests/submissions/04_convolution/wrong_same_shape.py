"""Wrong on purpose: the output keeps the image's shape (border left at 0), as in the original lab."""
import numpy as np


def convolve(image, kernel, weight=1.0):
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out = np.zeros(image.shape)
    for y in range(image.shape[0] - kh + 1):
        for x in range(image.shape[1] - kw + 1):
            out[y + kh // 2, x + kw // 2] = np.sum(image[y:y + kh, x:x + kw] * kernel) * weight
    return out


def to_pixels(image):
    return np.clip(image, 0, 255).astype(np.uint8)


def max_pool(image, size=2):
    h, w = image.shape[0] // size, image.shape[1] // size
    return image[:h * size, :w * size].reshape(h, size, w, size).max(axis=(1, 3))
