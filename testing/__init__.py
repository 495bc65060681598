"""A standalone port of the part of PyTorch's internal test harness distributed tests stand on.

Modules on upstream's paths (``testing.common_utils`` for upstream's ``common_utils`` and so on)
define or re-export upstream's names; the logic lives in the private modules.
"""

__version__ = "0.1.0"

# A ported file imports upstream's suites as testing.<suite>; they are served from torch's source.
from testing._fork import suite_imports as _suite_imports  # noqa: E402

_suite_imports.install()
