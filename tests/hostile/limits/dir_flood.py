"""A directory flood: empty folders and symlinks, in the scratch folder and in /tmp, until
the file system refuses, and on refusing. Each costs an inode and no block: the byte limit
alone would never stop it, and deleting 100,000s of them from the host disk took minutes.
The scratch folder is a tmpfs of ``inodes`` inodes: ENOSPC, and the watchdog kills. 0/8."""
import os
import time


def scale(x):
    made, refused = 0, 0
    for base in (".", "/tmp"):
        os.makedirs(os.path.join(base, "flood"), exist_ok=True)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        base = ("flood", "/tmp/flood")[made % 2]
        try:
            os.mkdir(os.path.join(base, f"d{made}"))
            os.symlink("nowhere", os.path.join(base, f"l{made}"))
            made += 1
        except OSError:
            refused += 1
            time.sleep(0.001)
    return {"made": made, "refused": refused}


RATE = 0.01
