#!/usr/bin/env python3
"""Run the test suite: ``python run_test.py --device xpu`` (see docs/runner.md)."""

import sys

from testing._runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
