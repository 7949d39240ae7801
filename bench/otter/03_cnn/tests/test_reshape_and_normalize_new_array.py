OK_FORMAT = True

test = {
    "name": "test_reshape_and_normalize_new_array",
    "points": 1,
    "all_or_nothing": True,
    "suites": [
        {
            "cases": [
                {
                    "code": r"""
>>> import bench_checks as _bench_checks
>>> _bench_checks.run("test_reshape_and_normalize_new_array", globals())
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
