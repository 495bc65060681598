"""pytest plugin (entry point ``pytest11``): the harness's notices in pytest's terminal summary.

Collection imports the test modules inside pytest's process, where the notices are kept; without
this they would sit in captured stderr, unseen unless pytest runs with ``-s``.
"""

from __future__ import annotations

from typing import Any

pytest_plugins = ["testing._runner.pytest_expectations"]  # --expectations, its own module


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from testing._core import notices

    found = notices.collected()
    if found:
        terminalreporter.section("testing notices")
        for text in found:
            terminalreporter.write_line(text)


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--map-cuda", action="store_true",
                     help="testing: CUDA names in tests mean the device selected by TESTING_DEVICE")


def pytest_configure(config: Any) -> None:
    if config.getoption("map_cuda", False):
        import pytest

        from testing._core import config as _config

        _config.set_env("TESTING_MAP_CUDA", "1")
        if not _config.env_value("TESTING_DEVICE"):
            pytest.exit("testing: error: --map-cuda needs a device selection: TESTING_DEVICE=NAME", returncode=2)
