OK_FORMAT = True

test = {
    "name": "test_answer",
    "points": 1,
    "all_or_nothing": True,
    "suites": [
        {
            "cases": [
                {
                    "code": r"""
>>> import bench_checks as _bench_checks
>>> _bench_checks.run("test_answer", globals())
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
