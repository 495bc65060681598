"""Upstream's test suites that ship inside torch: the one list of them, and where they load from.

torch's wheel carries, under ``torch/testing/_internal``, modules that hold tests or test data
rather than harness: the c10d suite behind ``test_distributed_spawn.py``, the RPC suites and their
fixtures, the OpInfo database, the logging test base. An upstream file imports them the way it
imports the harness. Under the redirect they load from the installed torch's own source, so they
are always the release's own tests, never a copy; their harness imports (``common_utils``,
``common_distributed``, ...) go through the redirect like the file's own, and get this harness.
Everything not in this list and not provided by ``testing`` stays refused.
"""

from __future__ import annotations

UPSTREAM = "torch.testing._internal"

# Module names relative to UPSTREAM; an entry covers its submodules too. Why each is a suite:
SUITES: tuple[str, ...] = (
    "distributed.distributed_test",  # the c10d suite (DistributedTest, TestDistBackend)
    "distributed.ddp_under_dist_autograd_test",  # DDP under distributed autograd, RPC-based
    "distributed.rpc",  # RPC, dist-autograd, dist-optimizer and faulty-agent suites and fixtures
    "distributed.rpc_utils",  # generate_tests: the RPC suites' class factory
    "distributed.nn",  # RemoteModule suite
    "dist_utils",  # dist_init and the waits the RPC suites stand on
    "common_methods_invocations",  # the OpInfo database (op_db, sample inputs)
    "opinfo",  # OpInfo, SampleInput, DecorateInfo and the per-domain definitions
    "common_dtype",  # dtype lists the OpInfo database is written in
    "common_quantized",  # quantization reference functions the OpInfo database calls
    "logging_utils",  # LoggingTestCase, on torch._dynamo's TestCase
)


def suite_name(fullname: str) -> bool:
    """Whether the upstream module ``fullname`` (``torch.testing._internal.X``) is a suite module."""
    if not fullname.startswith(UPSTREAM + "."):
        return False
    rest = fullname[len(UPSTREAM) + 1 :]
    return any(rest == entry or rest.startswith(entry + ".") for entry in SUITES)
