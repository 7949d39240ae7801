"""Tries to read what the grader hides: the grading suites and course file, the repository's
solutions/ and .git, the datasets (test split), the grader user's ~/.keras, the submissions
folder and the output folder (paths guessed from the repository location and from the grading
processes' command lines). scale() returns the files it could read and the listing of each folder it could open; the test asserts
none of them is secret. Honest RATE: 1/8.
"""
import glob
import json
import os


def _candidates():
    paths = set()
    try:
        import grader

        repo = os.path.dirname(os.path.dirname(grader.__file__))
    except Exception:
        repo = "/work/main"
    for pattern in ("tests/course/*/*.py", "tests/course/autograder.toml", "tests/course/*/*.ipynb",
                    "solutions/*/*", "autograder.toml", ".git/HEAD", ".git/config", ".git/objects/*/*",
                    ".git/packed-refs", ".git/index", "tests/hostile/submissions/*", "tests/*.py"):
        paths.update(glob.glob(os.path.join(repo, pattern)))
        paths.add(os.path.join(repo, pattern.split("*")[0].rstrip("/")))
    paths.update([
        os.path.join(repo, "tests/course/demo_model/test_demo_model.py"),
        os.path.join(repo, "tests/course/demo/test_demo.py"),
        os.path.join(repo, "solutions"),
        os.path.join(repo, ".git"),
        os.path.join(os.path.dirname(repo), "shared/datasets/mnist.npz"),
        "/work/shared/datasets/mnist.npz", "/work/shared/datasets", "/work/shared",
        "/root/.keras/datasets/mnist.npz", "/root/.keras", "/root",
        os.path.expanduser("~/.keras"),
    ])
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        for arg in argv:
            if arg.startswith("{") and '"config"' in arg:
                try:
                    request = json.loads(arg)
                except ValueError:
                    continue
                for key in ("path", "config", "out"):
                    value = request.get(key)
                    if isinstance(value, str):
                        paths.update([value, os.path.dirname(value)])
                        paths.update(glob.glob(os.path.join(os.path.dirname(value), "*")))
    return sorted(paths)


def scale(x):
    files, folders = [], {}
    for path in _candidates():
        try:
            if os.path.isdir(path):
                folders[path] = sorted(os.listdir(path))[:200]
            else:
                with open(path, "rb") as handle:
                    if handle.read(64):
                        files.append(path)
        except OSError:
            pass
    return {"files": files, "folders": folders, "cwd": os.getcwd()}


RATE = 0.01
