"""A fork bomb in the first graded call: every process forks forever. Stopped by the task
limit (RLIMIT_NPROC under its own uid, and the watchdog's task count); everything it started
is killed. 0/8.
"""
import os


def scale(x):
    while True:
        try:
            os.fork()
        except OSError:
            pass


RATE = 0.01
