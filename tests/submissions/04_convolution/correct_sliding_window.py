"""A correct submission, vectorized with numpy's sliding_window_view and einsum."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def convolve(image, kernel, weight=1.0):
    kernel = np.asarray(kernel, dtype=np.float64)
    windows = sliding_window_view(np.asarray(image, dtype=np.float64), kernel.shape)
    return weight * np.einsum("yxij,ij->yx", windows, kernel)


def to_pixels(image):
    return np.minimum(np.maximum(np.asarray(image), 0), 255).astype("uint8")


def max_pool(image, size=2):
    image = np.asarray(image)
    windows = sliding_window_view(image, (size, size))[::size, ::size]
    return windows.max(axis=(-2, -1))
