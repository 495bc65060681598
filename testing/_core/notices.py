"""What the harness tells the user outside of test outcomes (a module that instantiated no test and
why; accelerator-only tests emulated on CPU ranks): printed on stderr at once, and kept so that
pytest's terminal summary shows them even when pytest captures stderr (testing._runner.pytest_plugin)."""

from __future__ import annotations

import multiprocessing
import sys

_notices: list[str] = []


def notice(text: str) -> None:
    _notices.append(text)
    print(f"testing: {text}", file=sys.stderr)


def collected() -> list[str]:
    return list(_notices)


def in_rank_process() -> bool:
    """Whether this process is a rank (or another child) of the process that says the notices: a
    forked child has a parent process; a spawned one, while it re-imports the main module, is still
    inheriting and has none yet."""
    return multiprocessing.parent_process() is not None or getattr(
        multiprocessing.current_process(), "_inheriting", False)
