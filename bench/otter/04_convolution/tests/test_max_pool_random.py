OK_FORMAT = True

test = {
    "name": "test_max_pool_random",
    "points": 2,
    "all_or_nothing": True,
    "suites": [
        {
            "cases": [
                {
                    "code": r"""
>>> import bench_checks as _bench_checks
>>> _bench_checks.run("test_max_pool_random", globals())
True
""",
                    "hidden": True,
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
