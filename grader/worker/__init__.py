"""The untrusted side: the process that runs a student's code, and nothing else.

**Import rule** (as pytest-xdist's ``remote.py`` keeps for its worker side): modules of
this package import the standard library, numpy (after confinement, to exchange arrays)
and, lazily, Keras (to describe a model it was asked about), and **nothing else of
grader**. The rule is checked by import-linter (``pyproject.toml``, ``lint-imports`` in
``.ci/run``) and by ``tests/unit/worker/test_isolation.py``, which imports every module
here in a fresh ``python -I`` and finds no other ``grader`` module loaded. The trusted
side may import from here (the wire protocol, the libc helpers, the child half of the
fork template); never the other way.

* :mod:`~grader.worker.main`: the request loop (``python -I -m grader.worker.main``);
* :mod:`~grader.worker.confine`: namespaces, hidden folders, uid, rlimits, lock-down;
* :mod:`~grader.worker.protocol`: framed JSON + raw numeric buffers, bounded decoding;
* :mod:`~grader.worker.libc`: prctl and friends;
* :mod:`~grader.worker.template`: the child half of the fork template;
* :mod:`~grader.worker.fit_recorder`: ``record_fit`` in every probe's scope.
"""
