"""A correct submission written with loops over the output pixels, and rounding in to_pixels."""
import numpy as np


def convolve(image, kernel, weight=1.0):
    kernel = np.array(kernel, dtype=float)
    size_y, size_x = image.shape
    k_y, k_x = kernel.shape
    result = np.zeros((size_y - k_y + 1, size_x - k_x + 1))
    for y in range(size_y - k_y + 1):
        for x in range(size_x - k_x + 1):
            patch = image[y:y + k_y, x:x + k_x].astype(float)
            result[y, x] = np.sum(patch * kernel) * weight
    return result


def to_pixels(image):
    out = np.empty(image.shape, dtype=np.uint8)
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            value = round(float(image[y, x]))
            out[y, x] = 0 if value < 0 else (255 if value > 255 else value)
    return out


def max_pool(image, size=2):
    rows, cols = image.shape[0] // size, image.shape[1] // size
    out = np.zeros((rows, cols), dtype=image.dtype)
    for r in range(rows):
        for c in range(cols):
            out[r, c] = image[r * size:(r + 1) * size, c * size:(c + 1) * size].max()
    return out
