"""Writes a fake results.json wherever it can reach: its working folder and every parent,
/tmp and the other world-writable folders, the grader user's home, the repository, and the
output folders of every submission being graded (their paths are guessed from the command
lines of the grading processes in /proc). scale() returns where the writes succeeded; the
test asserts that only the worker's own scratch folder took them. Honest RATE: 1/8.
"""
import json
import os

FAKE = json.dumps({"score": 100.0, "tests": [{"name": "all", "score": 100.0, "max_score": 100.0}]})


def _targets():
    folders = set()
    here = os.getcwd()
    while True:
        folders.add(here)
        if here == "/":
            break
        here = os.path.dirname(here)
    folders.update(["/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/run", "/root",
                    os.path.expanduser("~"), "/home", "/work", "/srv", "/opt", "/mnt"])
    try:
        import grader

        repo = os.path.dirname(os.path.dirname(grader.__file__))
        folders.update([repo, os.path.join(repo, "tests"), os.path.join(repo, "tests", "course"),
                        os.path.join(repo, "tests", "hostile"), os.path.dirname(grader.__file__)])
    except Exception:
        pass
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        for i, arg in enumerate(argv):
            if arg.startswith("{") and '"out"' in arg:
                try:
                    request = json.loads(arg)
                except ValueError:
                    continue
                for key in ("out", "path", "config"):
                    if isinstance(request.get(key), str):
                        folders.add(request[key] if key == "out" else os.path.dirname(request[key]))
                        folders.add(os.path.dirname(request[key]))
            if arg == "--out" and i + 1 < len(argv):
                folders.add(os.path.abspath(argv[i + 1]))
    # world-writable folders anywhere (shallow walk)
    for top in ("/", "/var", "/run", "/usr", "/etc", "/work"):
        try:
            for entry in os.scandir(top):
                if entry.is_dir(follow_symlinks=False) and entry.stat().st_mode & 0o002:
                    folders.add(entry.path)
        except OSError:
            pass
    return sorted(folders)


def scale(x):
    written, tried = [], 0
    for folder in _targets():
        for name in ("results.json", "result.full.json", "grades.csv"):
            path = os.path.join(folder, name)
            tried += 1
            try:
                with open(path, "w") as handle:
                    handle.write(FAKE)
                written.append(path)
            except OSError:
                pass
    return {"cwd": os.getcwd(), "written": written, "tried": tried, "uid": os.getuid()}


RATE = 0.01
