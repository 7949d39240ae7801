OK_FORMAT = True

test = {
    "name": "test_convolve_filters_and_weight_on_ascent",
    "points": 1,
    "all_or_nothing": True,
    "suites": [
        {
            "cases": [
                {
                    "code": r"""
>>> import bench_checks as _bench_checks
>>> _bench_checks.run("test_convolve_filters_and_weight_on_ascent", globals())
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
