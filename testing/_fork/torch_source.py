"""A module of torch's library, executed from torch's own source with its harness imports served
by ``testing``, without installing the redirect in this process.

``torch._dynamo.test_case.TestCase`` is library code that subclasses the private harness's
TestCase (``from torch.testing._internal.common_utils import TestCase``). The harness's Dynamo
bases stand on it as upstream's do; loading a private copy whose ``from torch.testing._internal.X
import ...`` resolves to ``testing.X`` keeps that release's own behaviour and never imports torch's
harness. The copy is not put in ``sys.modules``.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import types
from typing import Any

from testing._fork.suites import UPSTREAM

_loaded: dict[str, types.ModuleType] = {}


def _harness_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    if level == 0 and fromlist and (name == UPSTREAM or name.startswith(UPSTREAM + ".")):
        return importlib.import_module("testing" + name[len(UPSTREAM):])
    return builtins.__import__(name, globals, locals, fromlist, level)


def load_on_harness(module_name: str) -> types.ModuleType:
    """torch's ``module_name``, executed once from its source file with harness imports redirected."""
    if module_name not in _loaded:
        spec = importlib.util.find_spec(module_name)
        if spec is None or spec.origin is None:
            raise ImportError(f"torch module {module_name} not found", name=module_name)
        module = types.ModuleType(module_name)
        module.__file__ = spec.origin
        module.__package__ = module_name.rpartition(".")[0]
        module.__builtins__ = {**vars(builtins), "__import__": _harness_import}
        with open(spec.origin, encoding="utf-8") as f:
            code = compile(f.read(), spec.origin, "exec")
        exec(code, module.__dict__)
        _loaded[module_name] = module
    return _loaded[module_name]
