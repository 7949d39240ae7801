import numpy as np
def add(a, b):
    x = np.ones(4 * 1024**3, dtype=np.uint8)
    return a + b
ANSWER = 42
