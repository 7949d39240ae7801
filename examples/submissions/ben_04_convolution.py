"""Wrong on purpose: a true convolution: the kernel is flipped."""
import numpy as np


def convolve(image, kernel, weight=1.0):
    kernel = np.asarray(kernel, dtype=float)[::-1, ::-1]
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
