"""What the harness tells the user outside of test outcomes (a module that instantiated no test and
why; accelerator-only tests emulated on CPU ranks): printed on stderr at once, and kept so that
pytest's terminal summary shows them even when pytest captures stderr (testing._runner.pytest_plugin)."""

from __future__ import annotations

import sys

_notices: list[str] = []


def notice(text: str) -> None:
    _notices.append(text)
    print(f"testing: {text}", file=sys.stderr)


def collected() -> list[str]:
    return list(_notices)
