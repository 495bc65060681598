"""The runner behind ``run_test.py``: discovery, one subprocess per file, reporters, cache."""
