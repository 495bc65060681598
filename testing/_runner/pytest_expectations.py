"""pytest's ``--expectations FILE`` (repeatable): the runner's expectations files under pytest.

Each file (TOML, a ``skip_dict`` module or upstream's disabled-tests JSON) is read once at start;
an entry that applies to a collected test becomes a mark (skip, xfail, strict xfail) or the test's
rank timeout, its mode/reason/link/source are the test's JUnit properties (``--junitxml``), and the
terminal summary lists the entries applied, with their files, and the stale ones, as run_test.py does.
"""

from __future__ import annotations

from typing import Any

import pytest

_ENTRIES = pytest.StashKey[list]()
_APPLIED = pytest.StashKey[list]()
_STALE = pytest.StashKey[list]()
_TIMEOUT = pytest.StashKey[tuple]()


def pytest_addoption(parser: Any) -> None:
    parser.getgroup("testing").addoption(
        "--expectations", action="append", default=[], metavar="FILE",
        help="known skips/xfails/timeouts (TOML, a torch-xpu-ops skip_dict .py, or upstream's disabled-tests .json); repeatable")


def pytest_configure(config: Any) -> None:
    from testing._fork import expectation_files
    from testing._fork.expectations import ExpectationError

    try:
        config.stash[_ENTRIES] = expectation_files.load_all(config.getoption("expectations") or [])
    except ExpectationError as exc:
        pytest.exit(f"testing: error: {exc}", returncode=2)
    config.stash[_APPLIED] = []
    config.stash[_STALE] = []


def _test_id(item: Any) -> str:
    return f"{item.cls.__name__}.{item.name}"


def _device(item: Any) -> Any:
    device = getattr(item.cls, "device_type", None)
    if isinstance(device, str):
        return device
    from testing._core.config import get_config

    return get_config().device


def pytest_collection_modifyitems(config: Any, items: list) -> None:
    from testing._core import versions
    from testing._fork import expectations

    entries = config.stash.get(_ENTRIES, [])
    if not entries:
        return
    for item in items:
        if getattr(item, "cls", None) is None:
            continue
        entry = expectations.matching(entries, _test_id(item), _device(item), versions.build(), str(item.path))
        if entry is None:
            continue
        config.stash[_APPLIED].append((item.nodeid, entry))
        for name, value in (("expectation", entry.mode), ("expectation_reason", entry.reason),
                            ("expectation_link", entry.link), ("expectation_source", entry.where)):
            if value:
                item.user_properties.append((name, value))
        if entry.mode == "skip":
            item.add_marker(pytest.mark.skip(reason=f"expectation: {entry.reason}"))
        elif entry.mode in ("xfail", "strict-xfail"):
            item.add_marker(pytest.mark.xfail(reason=f"expectation: {entry.reason}", strict=entry.mode == "strict-xfail"))
        else:
            item.stash[_TIMEOUT] = (entry.timeout, f"expectations file {entry.source}")


def pytest_collection_finish(session: Any) -> None:
    from testing._core import versions
    from testing._fork import expectations

    config = session.config
    entries = config.stash.get(_ENTRIES, [])
    if not entries or config.getoption("keyword") or config.getoption("markexpr"):
        return  # a selection: entries for tests left out are not stale
    collected: dict[str, set] = {}
    for item in session.items:
        if getattr(item, "cls", None) is not None:
            collected.setdefault(str(item.path), set()).add(_test_id(item))
    from testing._core.config import get_config

    config.stash[_STALE] = expectations.stale(entries, collected, get_config().device, versions.build())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: Any) -> None:
    timeout = item.stash.get(_TIMEOUT, None)
    testcase = getattr(item, "_testcase", None)
    if timeout is not None and testcase is not None:
        testcase._testing_timeout = timeout


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    applied, stale = config.stash.get(_APPLIED, []), config.stash.get(_STALE, [])
    if not applied and not stale:
        return
    terminalreporter.section("testing expectations")
    for nodeid, entry in applied:
        terminalreporter.write_line(f"  {entry.mode:<12} {config.cwd_relative_nodeid(nodeid)} (from {entry.where})")
    for entry in stale:
        what = "file" if entry.kind == "file" else "collected test"
        terminalreporter.write_line(f"STALE expectation: {entry.id} ({entry.where}) matched no {what} - {entry.reason}")
