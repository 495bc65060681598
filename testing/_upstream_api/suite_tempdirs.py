"""common_distributed's shared temp directories for the c10d suite (distributed_test).

``initialize_temp_directories`` makes TEMP_DIR with ``barrier``, ``test_dir`` and ``init_dir`` in it
and exports TEMP_DIR and INIT_METHOD, which distributed_test's ranks read; ``cleanup_temp_dir``
removes it. Upstream's layout and variables.
"""

from __future__ import annotations

import os
import tempfile
from typing import Optional

from testing._core.config import set_env
from testing._upstream_api.upstream_utils import FILE_SCHEMA

_tmp_dir: Optional[tempfile.TemporaryDirectory] = None


def initialize_temp_directories(init_method: Optional[str] = None) -> None:
    global _tmp_dir
    _tmp_dir = tempfile.TemporaryDirectory()
    set_env("TEMP_DIR", _tmp_dir.name)
    for sub in ("barrier", "test_dir", "init_dir"):
        os.mkdir(os.path.join(_tmp_dir.name, sub))
    default = FILE_SCHEMA + os.path.join(_tmp_dir.name, "init_dir", "shared_init_file")
    set_env("INIT_METHOD", init_method if init_method is not None else default)


def cleanup_temp_dir() -> None:
    if _tmp_dir is not None:
        _tmp_dir.cleanup()
