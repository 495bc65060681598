"""A standalone port of the part of PyTorch's internal test harness distributed tests stand on.

Modules on upstream's paths (``testing.common_utils`` for upstream's ``common_utils`` and so on)
define or re-export upstream's names; the logic lives in the private modules.
"""

__version__ = "0.1.0"
