"""An infinite loop in the first graded call: stopped at the time limit, nothing graded. 0/8, timeout."""


def scale(x):
    while True:
        pass


RATE = 0.01
