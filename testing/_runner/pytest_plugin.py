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
