"""Plants a ``.pth`` file (Python runs its ``import`` lines at every start) into every
folder a later Python process of the grader might read: each site-packages the worker can
see, every sys.path folder, the grader user's home, /tmp, /var/tmp, /dev/shm, and each
home folder under /home. Returns where it could write (the check fails: it is a probe).
Its own folder (the scratch) is the control: writing there works."""
import errno
import os
import pwd
import site
import sys

NAME = "zz_hostile_planted.pth"


def _targets():
    found = list(site.getsitepackages()) + [site.getusersitepackages()]
    found += [p for p in sys.path if p and os.path.isdir(p)]
    try:
        found.append(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    found += ["/root", "/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~")]
    try:
        found += [os.path.join("/home", h) for h in os.listdir("/home")]
    except OSError:
        pass
    return sorted(set(os.path.realpath(p) for p in found))


def scale(x):
    report = {"scratch": os.path.realpath(os.getcwd()), "where": {}}
    for folder in _targets() + [os.getcwd()]:
        try:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, NAME), "w") as handle:
                handle.write("import sys; sys.stderr.write('planted .pth ran\\n')\n")
            report["where"][folder] = "written"
        except OSError as exc:
            report["where"][folder] = errno.errorcode.get(exc.errno, str(exc.errno))
    return report


RATE = 0.01
