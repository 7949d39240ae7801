OK_FORMAT = True

test = {
    "name": "test_build_cnn_layers",
    "points": 3,
    "all_or_nothing": True,
    "suites": [
        {
            "cases": [
                {
                    "code": r"""
>>> import bench_checks as _bench_checks
>>> _bench_checks.run("test_build_cnn_layers", globals())
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
