"""Upstream path: common_cuda of torch's private testing package (same public names)."""

from testing._upstream_api.cuda_flags import *  # noqa: F401,F403  (the names listed in its __all__)
from testing._upstream_api.cuda_flags import __all__  # noqa: F401
