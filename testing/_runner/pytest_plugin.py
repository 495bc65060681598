"""pytest plugin (entry point ``pytest11``): pytest as one more way to run tests on this harness.

* Options: ``--redirect-upstream`` (or ini ``testing_redirect = true``) serves
  ``torch.testing._internal`` imports from this harness for the whole session, from before
  collection, as ``python -m testing FILE`` does (``TESTING_REDIRECT=1``: from the first collected
  file that imports upstream's harness, before it is imported); ``--device``, ``--backend``,
  ``--world-size``, ``--start-method`` and ``--timeout`` are the runner's flags. The values go to the configuration
  (`testing._core.config.adopt_flags`); this plugin reads no environment variable itself.
* Reports: a distributed test's failure shows the harness's headline, the root-cause rank's
  traceback without the harness's frames, and the knock-on ranks one line each (the runner's
  failures block, `failures.failure_block`); pytest's ``--junitxml`` writes ``<failure>`` or
  ``<error>`` by the rule ``run_test.py --xml`` uses (`classify`).
* A collected file that imports upstream's harness at import time while the redirect is off gets
  one warning line naming the option; with the redirect on, what such a file needs and the harness
  lacks is its collection error ("unsupported upstream API").
* The harness's notices go to pytest's terminal summary: collection imports the test modules in
  pytest's process, where the notices are kept; without this they would sit in captured stderr.

Nothing here imports torch unless an option asks for the harness or a collected file imports
upstream's harness, so pytest sessions of other projects in the same environment pay nothing for
the entry point.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

pytest_plugins = ["testing._runner.pytest_expectations",  # --expectations, its own module
                  "testing._runner.pytest_names"]  # classes keep their own names as ids

_REDIRECT_INI = "testing_redirect"
_TIMEOUT_DEST = "testing_timeout"
# pytest option dest -> the harness flag it stands for (testing._core.config.adopt_flags)
_FLAGS = {
    "testing_device": "--device",
    "testing_backend": "--backend",
    "testing_world_size": "--world-size",
    "testing_start_method": "--start-method",
    _TIMEOUT_DEST: "--timeout",
    "testing_redirect": "--redirect-upstream",
    "testing_map_cuda": "--map-cuda",
}
_SETUP_DONE = "_testing_plugin_setup_done"
_UPSTREAM_FILES = "_testing_upstream_files"


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("testing", "testing (PyTorch distributed test harness)")
    group.addoption("--redirect-upstream", action="store_true", default=False, dest="testing_redirect",
                    help="run files that import torch.testing._internal on this harness (also TESTING_REDIRECT=1 "
                         "or ini testing_redirect = true)")
    group.addoption("--device", dest="testing_device", default=None, metavar="NAME",
                    help="device type: cpu (CPU ranks, emulating accelerators), cuda, xpu, hpu or a plug-in name")
    group.addoption("--backend", dest="testing_backend", default=None, metavar="NAME",
                    help="collective backend to use instead of the device table's")
    group.addoption("--world-size", dest="testing_world_size", default=None, metavar="N",
                    help="rank count for tests that do not fix their own")
    group.addoption("--start-method", dest="testing_start_method", default=None, metavar="METHOD",
                    help="how rank processes start: zygote (default) or spawn")
    # pytest-timeout owns --timeout where it is installed (two plugins may not both define it);
    # --rank-timeout always works
    names = ("--rank-timeout",) if importlib.util.find_spec("pytest_timeout") else ("--timeout", "--rank-timeout")
    group.addoption(*names, dest=_TIMEOUT_DEST, type=float, default=None, metavar="SECONDS",
                    help="a distributed test's rank timeout in seconds (DISTRIBUTED_TESTS_DEFAULT_TIMEOUT)")
    group.addoption("--map-cuda", action="store_true", default=False, dest="testing_map_cuda",
                    help="CUDA names in tests mean the selected device (also TESTING_MAP_CUDA=1)")
    parser.addini(_REDIRECT_INI, type="bool", default=False,
                  help="run files that import torch.testing._internal on this harness (as --redirect-upstream)")


def _setup(config: Any, options: Any) -> None:
    """Hand the options to the harness's configuration and install the redirect, once a session:
    from pytest_load_initial_conftests where it runs (``options`` are then pytest's early parse),
    so conftest files are redirected too, else from pytest_configure."""
    if getattr(config, _SETUP_DONE, False):
        return
    flags = {flag: getattr(options, dest, None) for dest, flag in _FLAGS.items()}
    flags["--redirect-upstream"] = flags["--redirect-upstream"] or bool(config.getini(_REDIRECT_INI))
    if not any(value not in (None, False) for value in flags.values()):
        return  # nothing asked for the harness here: leave it lazy (TESTING_* variables still apply)
    setattr(config, _SETUP_DONE, True)
    from testing._core import config as _config
    from testing._fork import redirect

    try:
        selected = _config.adopt_flags(flags, "pytest")
    except _config.UsageError as exc:
        raise pytest.UsageError(f"testing: {exc}") from None
    if selected.redirect:
        redirect.install()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: Any, parser: Any, args: list[str]) -> None:
    _setup(early_config, early_config.known_args_namespace)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: Any) -> None:
    _setup(config, config.option)
    setattr(config, _UPSTREAM_FILES, [])
    config.pluginmanager.register(_JUnitKinds(config), "testing-junit-kinds")


def _redirected() -> bool:
    """Whether upstream harness imports resolve here: the option or ini value installed the
    redirect, or TESTING_REDIRECT=1 asks for it now. The variable is read at the first file that
    imports upstream's harness, before that file is imported, so that sessions that never see one
    never import torch for the question."""
    from testing._fork import redirect

    if redirect.is_installed():
        return True
    from testing._core import config as _config

    if not _config.redirect_requested():
        return False
    redirect.install()
    return True


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: Any) -> Any:
    """A test file that imports upstream's harness: with the redirect, check what it needs first
    (the runner's "unsupported upstream API" line as its collection error); without, note it for
    the warning line."""
    path = getattr(collector, "path", None)
    if not isinstance(collector, pytest.Module) or path is None or str(path).endswith("conftest.py"):
        return (yield)
    from testing._fork import redirect

    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return (yield)
    where = redirect.upstream_imports(source)
    if not where:
        return (yield)
    if not _redirected():
        if where == "import":  # its tests stand on torch's harness (an import inside a test may be an oracle)
            getattr(collector.config, _UPSTREAM_FILES, []).append(collector.nodeid)
        return (yield)
    try:
        redirect.admit(str(path))  # names only its tests use import as placeholders
    except redirect.UnsupportedUpstreamAPI as exc:
        report = yield  # the file's one error, as the runner's: what it needs that the harness lacks
        report.outcome, report.result, report.longrepr = "failed", [], f"testing: error: {exc}"
        return report
    return (yield)


def pytest_collection_finish(session: Any) -> None:
    found = getattr(session.config, _UPSTREAM_FILES, [])
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if found and reporter is not None:
        what = (f"{found[0]} imports torch.testing._internal and runs" if len(found) == 1 else
                f"{found[0]} and {len(found) - 1} more files import torch.testing._internal and run")
        reporter.write_line(f"testing: {what} on torch's own harness; add --redirect-upstream (or "
                            f"TESTING_REDIRECT=1) to run {'it' if len(found) == 1 else 'them'} on this harness",
                            yellow=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    if call.excinfo is None or not report.failed or call.when != "call":
        return report
    from testing._runner import classify

    exc = call.excinfo.value
    report.testing_kind = classify.kind_of_exception(exc)
    if getattr(exc, "evidence", None):
        report.longrepr = _rank_report(item, exc, item.config.getoption("tbstyle", "auto"))
    else:  # a plain test: the hint the failure block gives a distributed one, as a report section
        from testing._core import cuda_mapping
        from testing._core.config import get_config

        hint = cuda_mapping.hint_for(f"{type(exc).__name__}: {exc}", get_config())
        if hint:
            report.sections.append(("testing", hint))
    return report


def _rank_report(item: Any, exc: Any, tbstyle: str) -> Any:
    """The runner's failure block as pytest's report: headline first, then the root-cause rank's
    traceback (harness frames dropped unless --tb=long), then the knock-on ranks."""
    from _pytest._code.code import ExceptionChainRepr, ReprFileLocation, ReprTracebackNative

    from testing._core.config import get_config
    from testing._runner import failures
    from testing._runner.result import TestReport

    report = TestReport(id=item.nodeid, outcome="failed", message=exc.headline, details=str(exc),
                        ranks=[rank.to_dict() for rank in exc.evidence])
    lines = failures.failure_block(report, "long" if tbstyle == "long" else "short", get_config())
    path, lineno, _ = item.location
    crash = ReprFileLocation(path=path, lineno=(lineno or 0) + 1, message=exc.headline)
    return ExceptionChainRepr([(ReprTracebackNative([line + "\n" for line in lines]), crash, None)])


class _JUnitKinds:
    """After pytest's JUnit writer saw a failed call, make its entry an <error> where the harness's
    rule says error (pytest writes every failed call as <failure>)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: Any) -> Any:
        result = yield
        if getattr(report, "testing_kind", None) == "error" and report.when == "call":
            self._failure_to_error(report)
        return result

    def _failure_to_error(self, report: Any) -> None:
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:  # no --junitxml
            return
        for node in reversed(xml.node_reporter(report).nodes):
            if node.tag == "failure":
                node.tag = "error"
                xml.stats["failure"] -= 1
                xml.stats["error"] += 1
                return


def pytest_terminal_summary(terminalreporter: Any) -> None:
    import sys

    if "testing._core.notices" not in sys.modules:
        return  # the harness never loaded: nothing to say
    from testing._core import notices

    found = notices.collected()
    if found:
        terminalreporter.section("testing notices")
        for text in found:
            terminalreporter.write_line(text)
