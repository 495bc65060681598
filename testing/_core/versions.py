"""Which torch release's harness this one follows: every release-dependent behaviour, in one table.

The harness mirrors the upstream harness of the installed torch (2.13, 2.14 and 2.15 are
checked, see bench/torch_matrix.sh). Everything that differs between those releases is an entry
of ``TABLE`` below, keyed by the release it starts at (``since``) and, when it went away again,
the release it stopped at (``until``, exclusive); code asks ``current(name)`` and never compares
versions itself. This is the only module that reads ``torch.__version__``.

Entries named ``name:<facade>.<attr>`` are upstream names that exist only from a release on: their
value is where the implementation lives (``"module:attribute"``), ``None`` where the release lacks
them. The facades serve them through `_upstream_api.release_names.facade_getattr` / `facade_names`, so on an older release they
are absent (AttributeError; an unmodified upstream file importing one gets the unsupported-API
report) exactly as upstream's module lacks them.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple, Optional

Release = tuple[int, ...]


class Behaviour(NamedTuple):
    name: str
    since: str  # first release with ``value``
    value: Any = True
    before: Any = False  # the value before ``since`` (and from ``until`` on)
    until: Optional[str] = None  # first release that no longer has ``value``
    note: str = ""


def parse(version: str) -> Release:
    """``"2.15.0+cu132"`` -> ``(2, 15, 0)``; ``"2.16.0a0+git..."`` -> ``(2, 16, 0)``."""
    parts: list[int] = []
    for piece in version.split("+")[0].split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):  # "0a0", "0rc1": a pre-release of that number
            break
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


@functools.lru_cache(maxsize=None)
def build() -> str:
    """The installed torch's full version string (``2.15.0+cu132``)."""
    import torch

    return str(torch.__version__)


# The release series whose upstream harness this one is checked against (bench/torch_matrix.sh).
KNOWN_SERIES: tuple[Release, ...] = ((2, 13), (2, 14), (2, 15))


def is_final(version: str) -> bool:
    """A final release (``2.15.0``, ``2.15.0+xpu``, ``2.15.0+cu132``), not a pre-release, dev or
    source build (``2.16.0a0+git1a2b3c4``, ``2.15.0rc1``, ``2.15.0.dev20260101``, ``2.15.0+git...``)."""
    public, _, local = version.partition("+")
    return bool(re.fullmatch(r"\d+(\.\d+)*", public)) and not local.startswith("git")


def follows(version: str) -> Release:
    """The release whose harness behaviour a torch ``version`` gets: its own release in a known
    series (``2.13.0a0+git...`` -> 2.13, ``2.14.1`` -> 2.14.1); beyond the newest known series the
    newest (``2.16.0a0+git...`` -> 2.15), before the oldest the oldest."""
    found = parse(version)
    newest, oldest = KNOWN_SERIES[-1], KNOWN_SERIES[0]
    if found[:2] > newest:
        return newest + (0,)
    if found[:2] < oldest:
        return oldest + (0,)
    return found


def _label(release: Release) -> str:
    return ".".join(map(str, release[:2]))


@functools.lru_cache(maxsize=None)
def installed() -> Release:
    """The installed torch's release (for a development build, the release it follows: said once)."""
    version = build()
    found = follows(version)
    if not is_final(version) or found[:2] != parse(version)[:2]:
        from testing._core import notices

        kind = "a development build" if not is_final(version) else "not a release the harness knows"
        notices.notice(f"torch {version} is {kind}; the harness follows torch {_label(found)}'s harness "
                       f"(the nearest release it knows: {', '.join(map(_label, KNOWN_SERIES))})")
    return found


def release() -> str:
    """``"2.15.0"``: the installed release without its build tag."""
    return build().split("+")[0]


def since(version: str, release: Optional[Release] = None) -> bool:
    """Whether the installed torch (or ``release``) is ``version`` or later."""
    return (release or installed()) >= parse(version)


_N_DEVICES = range(1, 9)

TABLE: tuple[Behaviour, ...] = (
    # -- common_distributed: TEST_SKIPS and the skips built on it ----------------------------------
    Behaviour("skip_device_key", since="2.15", value="multi-device", before="multi-gpu",
              note="TEST_SKIPS keys multi-gpu-N became multi-device-N"),
    Behaviour("skip_device_word", since="2.15", value="accelerator", before="CUDA",
              note='"Need at least N CUDA devices" became "... accelerator devices"'),
    Behaviour("skip_if_no_gpu_key", since="2.15", value="no_accelerator", before="no_cuda",
              note="skip_if_no_gpu exits 89 'accelerator is not available.' (was 74 'CUDA is not available.')"),
    Behaviour("requires_world_size_noun", since="2.15", value="accelerators", before="GPUs",
              note='requires_world_size: "requires N GPUs, found M" became "requires N accelerators, found M"'),
    Behaviour("min_gpus_required_attr", since="2.15",
              note="skip_if_lt_x_gpu stamps wrapper._min_gpus_required"),
    # -- rank-level behaviour of upstream's bases (what the difference tests expect of the oracle) --
    Behaviour("continuous_rank_skip_is_skip", since="2.14",
              note="MultiProcContinuousTest: a rank's skipTest is a skip upstream (2.13: an ERROR, then "
                   "'Previous test failed' for the next test); this harness reports a skip on every release"),
    Behaviour("continuous_checks_any_backend", since="2.15",
              note="MultiProcContinuousTest skips 'Backend X is not available' for any backend name "
                   "(before: only nccl, gloo, mpi and xccl were checked)"),
    Behaviour("with_temp_dir_waits_for_ranks", since="2.15",
              note="checkpoint_utils.with_temp_dir: every rank meets at a barrier, even after a failure, and "
                   "rank 0 alone removes the directory (before: each rank removed it when its body returned)"),
    # -- common_device_type.largeTensorTest (testing/_upstream_api/memory_checks.py) ---------------
    Behaviour("large_tensor_host_cgroup", since="2.15",
              note="largeTensorTest on host memory: psutil's available memory, clamped to the cgroup's limit"),
    Behaviour("large_tensor_host_accelerator_sync", since="2.14",
              note="largeTensorTest on an accelerator using host memory (mps): synchronize and empty its "
                   "cache before measuring again"),
    # -- run_tests()'s command line (common_utils.parse_cmd_line_args) ------------------------------
    Behaviour("run_tests_flag:--hw-classification", since="2.14",
              note="run_tests() takes --hw-classification NAME... (filters by the classes' hw_classification); "
                   "2.13 refuses it as unittest's 'unrecognized arguments'"),
    # -- names that exist only from a release on ---------------------------------------------------
    Behaviour("name:common_utils.HardwareClassification", since="2.14",
              value="testing._upstream_api.release_names:HardwareClassification", before=None),
    Behaviour("name:common_utils.HW_CLASSIFICATION", since="2.14",
              value="testing._upstream_api.release_names:HW_CLASSIFICATION", before=None),
    Behaviour("name:common_distributed.requires_xccl", since="2.14",
              value="testing._core.skips:requires_xccl", before=None),
    Behaviour("name:common_utils.TEST_WITH_PERIODIC", since="2.15",
              value="testing._upstream_api.release_names:TEST_WITH_PERIODIC", before=None),
    # present on every release; served lazily, since its base (torch._dynamo's TestCase) is costly to import
    Behaviour("name:common_distributed.DynamoDistributedSingleProcTestCase", since="2.13",
              value="testing._ranks.dist_base:DynamoDistributedSingleProcTestCase", before=None),
    Behaviour("name:common_utils.requires_cuda_python_bindings", since="2.14",
              value="testing._upstream_api.release_names:requires_cuda_python_bindings", before=None),
    Behaviour("name:common_utils.IS_APPLE_M1", since="2.15",
              value="testing._upstream_api.release_names:IS_APPLE_M1", before=None),
    Behaviour("name:common_utils.skipIfNoFlyDSL", since="2.15",
              value="testing._upstream_api.release_names:skipIfNoFlyDSL", before=None),
    Behaviour("name:common_utils.periodic", since="2.15",
              value="testing._upstream_api.release_names:periodic", before=None),
    Behaviour("name:common_utils.requires_multigpu", since="2.15",
              value="testing._upstream_api.release_names:requires_multigpu", before=None),
    Behaviour("name:common_utils.requires_accelerator", since="2.15",
              value="testing._upstream_api.release_names:requires_accelerator", before=None),
    Behaviour("name:common_utils.requires_xpu", since="2.15",
              value="testing._upstream_api.release_names:requires_xpu", before=None),
    Behaviour("name:common_device_type.largeMPSBufferTest", since="2.14",
              value="testing._upstream_api.memory_checks:largeMPSBufferTest", before=None),
    Behaviour("name:common_device_type.Capability", since="2.15",
              value="testing._upstream_api.capabilities:Capability", before=None),
    Behaviour("name:common_device_type.requires_capabilities", since="2.15",
              value="testing._upstream_api.capabilities:requires_capabilities", before=None),
)

_BY_NAME: dict[str, Behaviour] = {entry.name: entry for entry in TABLE}
if len(_BY_NAME) != len(TABLE):
    raise AssertionError("testing._core.versions.TABLE: an entry name appears twice")
TABLE_NAMES = frozenset(_BY_NAME)


def entry(name: str) -> Behaviour:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no release-dependent behaviour named {name!r} in testing._core.versions.TABLE") from None


def applies(name: str, release: Optional[Release] = None) -> bool:
    """Whether the entry's ``value`` holds on the installed torch (or ``release``)."""
    found = entry(name)
    have = release or installed()
    return have >= parse(found.since) and (found.until is None or have < parse(found.until))


def current(name: str, release: Optional[Release] = None) -> Any:
    """The entry's value on the installed torch (or on ``release``)."""
    found = entry(name)
    return found.value if applies(name, release) else found.before


# -- the version-dependent names of the facades (served by _upstream_api.release_names.facade_getattr)

def facade_key(module_name: str) -> str:
    """``testing.common_utils`` (or the upstream proxy's name) -> ``common_utils``."""
    for prefix in ("testing.", "torch.testing._internal."):
        if module_name.startswith(prefix):
            return module_name[len(prefix):]
    return module_name


def facade_names(module_name: str, release: Optional[Release] = None) -> list[str]:
    """The release-dependent names a facade has on the installed torch (for its ``__all__``)."""
    prefix = f"name:{facade_key(module_name)}."
    return [e.name[len(prefix):] for e in TABLE if e.name.startswith(prefix) and current(e.name, release)]
