OK_FORMAT = True

test = {
    "name": "test_train_mnist_history",
    "points": 3,
    "all_or_nothing": True,
    "suites": [
        {
            "cases": [
                {
                    "code": r"""
>>> import bench_checks as _bench_checks
>>> _bench_checks.run("test_train_mnist_history", globals())
True
""",
                    "hidden": False,
                    "locked": False,
                }
            ],
            "scored": True,
            "setup": "",
            "teardown": "",
            "type": "doctest",
        }
    ],
}
