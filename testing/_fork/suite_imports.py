"""A ported file's imports of upstream's suites: ``testing.<suite>`` names the suite shipped in torch.

``python -m testing.port`` renames ``torch.testing._internal`` to ``testing`` in every import, so a
ported file imports a suite (testing/_fork/suites.py) as ``testing.distributed.distributed_test``.
The harness keeps no copy of the suites: they exist only in torch, and they import each other and
the harness by upstream's names. So such a name is served by loading the suite as the redirect
does (from the installed torch's source, its harness imports answered by ``testing``) and handing
out a proxy of it under the ported name. Keeping upstream's name in the ported file instead would
load the suite on torch's own harness whenever the file runs without the redirect.

The finder sits last on ``sys.meta_path`` and answers only suite names that no module of the
package provides; nothing happens until a ported file imports one.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any, Optional

from testing._fork.suites import UPSTREAM, suite_name

PORTED = "testing"


def upstream_name(fullname: str) -> Optional[str]:
    """``testing.<suite>`` -> ``torch.testing._internal.<suite>``; None for any other name."""
    if not fullname.startswith(PORTED + "."):
        return None
    name = UPSTREAM + fullname[len(PORTED):]
    return name if suite_name(name) else None


class _SuiteFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if upstream_name(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        from testing._fork import redirect  # loaded on first use: a suite's own imports need it

        if not redirect.is_installed():  # installing purges upstream modules: the suites loaded so far too
            redirect.install()
        return redirect.proxy(spec.name, importlib.import_module(upstream_name(spec.name)))

    def exec_module(self, module: types.ModuleType) -> None:
        pass


_finder = _SuiteFinder()


def install() -> None:
    """Serve ``testing.<suite>`` names from now on (idempotent); last, after the package's own modules."""
    if _finder not in sys.meta_path:
        sys.meta_path.append(_finder)
