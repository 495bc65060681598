"""Run unmodified upstream test files: upstream harness module ``X`` resolves to ``testing.X``.

Two parts:
* `check_file` reads a file's import statements before it runs and reports, in one error, every
  upstream module and name it imports that this harness does not provide ("unsupported upstream
  API"), instead of a bare ImportError deep in a traceback, when the file needs one of them to be
  defined; names that only tests use (or decorate tests with) import as placeholders instead, so
  they cost only those tests (testing._fork.placeholders);
* `install` puts a finder first on ``sys.meta_path`` that serves upstream's harness package and
  its submodules as proxies of the harness's modules, and refuses the ones the harness lacks: an
  upstream file never falls back to torch's private harness. The test suites that ship inside
  torch (testing/_fork/suites.py) load from torch's source, their harness imports redirected too.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Any, Optional

from testing._fork.placeholders import Placeholder, UnsupportedUpstreamAPI, blocking_uses
from testing._fork.suites import suite_name

UPSTREAM = "torch.testing._internal"  # the name this module intercepts; never imported from here
OURS = "testing"


# Modules of upstream's harness package that torch's library code itself imports (FSDP's
# _flat_param imports FakeProcessGroup): part of torch's implementation, not of the test harness,
# so they load from torch as they are, for tests too.
PASS_THROUGH = frozenset({"torch.testing._internal.distributed.fake_pg"})


_placeholders: dict[str, Placeholder] = {}
"""``<upstream module>.<name>`` -> the placeholder its proxy serves (names the running file only
decorates with or uses inside tests; testing._fork.placeholders)."""


def _target(fullname: str) -> Optional[str]:
    """Upstream ``<UPSTREAM>.common_utils`` -> ``testing.common_utils``; None if not provided."""
    if fullname == UPSTREAM:
        return OURS
    rest = fullname[len(UPSTREAM) + 1 :]
    if rest.split(".")[0].startswith("_"):  # the harness's private modules are not upstream names
        return None
    if suite_name(fullname):  # testing.<suite> answers for a ported file (suite_imports): torch's, not ours
        return None
    name = f"{OURS}.{rest}"
    try:
        return name if importlib.util.find_spec(name) is not None else None
    except ModuleNotFoundError:
        return None


class _Proxy(types.ModuleType):
    """An upstream module name whose attributes are the harness module's own objects."""

    def __init__(self, name: str, target: types.ModuleType) -> None:
        super().__init__(name)
        object.__setattr__(self, "_testing_target", target)
        if hasattr(target, "__path__"):
            self.__path__ = []  # a package: submodules come through the finder too

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(object.__getattribute__(self, "_testing_target"), name)
        except AttributeError:
            placeholder = _placeholders.get(f"{self.__name__}.{name}")
            if placeholder is None:
                raise
            return placeholder

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("__") or isinstance(value, types.ModuleType):
            object.__setattr__(self, name, value)
        else:  # a test that patches a flag patches the module the harness reads
            setattr(object.__getattribute__(self, "_testing_target"), name, value)

    def __dir__(self) -> list[str]:
        return dir(object.__getattribute__(self, "_testing_target"))


def proxy(name: str, target: types.ModuleType) -> types.ModuleType:
    """A module named ``name`` whose attributes are ``target``'s (and patching it patches ``target``)."""
    return _Proxy(name, target)


def _torch_dir() -> str:
    import torch

    return os.path.dirname(os.path.abspath(torch.__file__))


def _imported_by_torch() -> bool:
    """Whether the import being resolved was started by torch's own library code."""
    frame = sys._getframe(2)
    here = os.path.abspath(__file__)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<frozen importlib") and os.path.abspath(filename) != here:
            if suite_name(frame.f_globals.get("__name__", "")):
                return False  # a suite's harness imports are served like the test file's own
            return os.path.abspath(filename).startswith(_torch_dir() + os.sep)
        frame = frame.f_back
    return False


def _real_spec(fullname: str) -> Optional[importlib.machinery.ModuleSpec]:
    """torch's own module of that name, found in torch's directory (below our proxies)."""
    parts = fullname.split(".")
    directory = os.path.join(_torch_dir(), *parts[1:-1])
    return importlib.machinery.PathFinder.find_spec(fullname, [directory])


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != UPSTREAM and not fullname.startswith(UPSTREAM + "."):
            return None
        ours = _target(fullname)
        if ours is not None:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        if fullname in PASS_THROUGH or suite_name(fullname) or _imported_by_torch():
            return _real_spec(fullname)  # a suite (testing/_fork/suites.py) loads from torch's source
        raise UnsupportedUpstreamAPI(
            f"unsupported upstream API: module {fullname} is not provided by {OURS}", name=fullname
        )

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _Proxy(spec.name, importlib.import_module(_target(spec.name)))

    def exec_module(self, module: types.ModuleType) -> None:
        pass


_finder = _Finder()


def install() -> None:
    """Serve upstream harness imports from this harness from now on (idempotent)."""
    from testing._core import config

    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    for name in config.redirect_placeholders():  # a spawned rank re-imports the file: same placeholders
        _placeholders.setdefault(name, Placeholder(name))
    for name in [n for n in sys.modules if n == UPSTREAM or n.startswith(UPSTREAM + ".")]:
        del sys.modules[name]  # imported earlier from torch: later imports must come from here


def is_installed() -> bool:
    return _finder in sys.meta_path


def admit(path: str) -> list[str]:
    """Check the upstream file at ``path`` (UnsupportedUpstreamAPI when it cannot load) and register
    the missing names it imports as placeholders (said once, in a notice); returns them."""
    from testing._core import notices

    placeholders = check_file(path)
    for name in placeholders:
        _placeholders.setdefault(name, Placeholder(name))
    if placeholders:
        notices.notice(placeholder_notice(path, placeholders))
    return placeholders


def activate(path: str) -> list[str]:
    """Run the upstream file at ``path`` on this harness: report what it lacks at import time
    (UnsupportedUpstreamAPI), else install the redirect here and in every process this one starts.
    Returns the missing names that import as placeholders (said once, in a notice)."""
    from testing._core import config

    placeholders = admit(path)
    config.export_redirect(placeholders)
    install()
    return placeholders


def placeholder_notice(path: str, names: list[str]) -> str:
    return (f"{os.path.relpath(path)}: unsupported upstream API, the tests that use it error: {', '.join(names)}")


def _import_time_nodes(tree: ast.AST):
    """Nodes that run when the module is imported: not the bodies of functions (tests)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                stack.append(child)


def missing_names(source: str) -> list[str]:
    """Upstream modules and names the source imports at import time that this harness lacks.

    Imports inside test functions are checked when they run (the finder refuses them there), so
    one test's needs do not stop the file's other tests.
    """
    missing: list[str] = []
    for node in _import_time_nodes(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
            node.module == UPSTREAM or node.module.startswith(UPSTREAM + ".")
        ):
            if node.module in PASS_THROUGH or suite_name(node.module):
                continue  # suites load from torch: their names are the installed release's own
            ours = _target(node.module)
            if ours is None:
                missing.append(node.module)
                continue
            module = importlib.import_module(ours)
            for alias in node.names:
                if alias.name == "*" or hasattr(module, alias.name):
                    continue
                submodule = f"{node.module}.{alias.name}"
                if submodule not in PASS_THROUGH and not suite_name(submodule) and _target(submodule) is None:
                    missing.append(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.name.startswith(UPSTREAM + ".") and alias.name not in PASS_THROUGH
                        and not suite_name(alias.name) and _target(alias.name) is None):
                    missing.append(alias.name)
    return sorted(set(missing))


def upstream_imports(source: str) -> str:
    """Where the source imports upstream's harness: "import" (at import time: its tests stand on
    it), "tests" (only inside functions, or at import time beside this harness: upstream's is then
    the oracle the file compares against), or "" (nowhere, or the source does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""

    def imports(node: ast.AST, package: str = UPSTREAM) -> bool:
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
        return any(name == package or name.startswith(package + ".") for name in names)

    at_import = list(_import_time_nodes(tree))
    if any(imports(node) for node in at_import):
        return "tests" if any(imports(node, OURS) for node in at_import) else "import"
    return "tests" if any(imports(node) for node in ast.walk(tree)) else ""


def _bound_names(tree: ast.AST, missing: list[str]) -> dict[str, str]:
    """local name -> ``<upstream module>.<name>`` for the missing names imported from provided modules."""
    bound = {}
    for node in _import_time_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
            node.module == UPSTREAM or node.module.startswith(UPSTREAM + ".")
        ):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in missing and _target(node.module) is not None:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _release_dependent(qualified: str) -> bool:
    """A name upstream has only on other torch releases: upstream's own import fails on this one."""
    from testing._core import versions

    return f"name:{qualified[len(UPSTREAM) + 1:]}" in versions.TABLE_NAMES


def check_file(path: str) -> list[str]:
    """Raise UnsupportedUpstreamAPI naming everything the file needs that is not provided, when some
    of it is needed to define the file (a missing module; a name used at import time other than as a
    test's decorator; a name upstream lacks on this torch release). Otherwise return the missing
    names, which then import as placeholders."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    missing = missing_names(source)
    bound = _bound_names(ast.parse(source), missing)
    blocking = blocking_uses(ast.parse(source), set(bound))
    deferrable = sorted({q for local, q in bound.items() if local not in blocking and not _release_dependent(q)}
                        - {q for local, q in bound.items() if local in blocking})
    if missing and set(missing) != set(deferrable):
        raise UnsupportedUpstreamAPI(
            f"unsupported upstream API: {', '.join(missing)} (not provided by {OURS}; see "
            "docs/differences.md, 'Names it does not provide')"
        )
    return deferrable
