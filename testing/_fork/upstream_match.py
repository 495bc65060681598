"""How upstream's lists name tests, and how such a name is matched to a test of this run.

Upstream's disabled-tests file matches as ``common_utils.check_if_enable`` does; skip lists that
name a file by an upstream path match the run's file by its ``test/...`` suffix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def file_suffix(key: str) -> str:
    """``"../../../../test/distributed/x.py"`` -> ``"test/distributed/x.py"`` (what a run's file ends with)."""
    parts = [p for p in Path(key).as_posix().split("/") if p not in ("", ".", "..")]
    if "test" in parts:
        parts = parts[parts.index("test"):]
    return "/".join(parts)


def _upstream_platforms() -> dict[str, bool]:
    from testing._upstream_api import flags, upstream_utils

    return {"mac": flags.IS_MACOS, "macos": flags.IS_MACOS, "win": flags.IS_WINDOWS, "windows": flags.IS_WINDOWS,
            "linux": flags.IS_LINUX, "rocm": flags.TEST_WITH_ROCM, "xpu": flags.TEST_XPU, "asan": flags.TEST_WITH_ASAN,
            "dynamo": upstream_utils.TEST_WITH_TORCHDYNAMO, "dynamo_wrapped": upstream_utils.TEST_WITH_TORCHDYNAMO,
            "inductor": upstream_utils.TEST_WITH_TORCHINDUCTOR, "slow": upstream_utils.TEST_WITH_SLOW}


def known_platforms(platforms: tuple[str, ...], device_names: bool = False) -> tuple[list[str], list[str]]:
    """(the names the rule keeps, the unrecognized ones), in the list's order. Upstream keeps only
    its platforms (``linux``, ``win``, ``mac``, ``rocm``, ``xpu``, ...); with ``device_names`` a
    device type of the harness's table (``cuda``, ``hpu``) is kept too (``--expectations``)."""
    from testing._core import devices as _devices

    known = _upstream_platforms()
    kept = [p for p in platforms if p in known or (device_names and _devices.lookup(p) is not None)]
    return kept, [p for p in platforms if p not in kept]


def platforms_hold(platforms: tuple[str, ...], device: Optional[str], device_names: bool = True) -> bool:
    """Upstream's rule: an empty list, or any known platform that holds; unrecognized names are dropped
    (a list of only such names then holds everywhere). With ``device_names`` (``--expectations``) a
    device type named in the list is known, and holds where it is the selected device (``--device xpu``)."""
    known = _upstream_platforms()
    kept, _ = known_platforms(platforms, device_names)
    return not kept or any(known.get(p, False) or (device_names and p == device) for p in kept)


def unrecognized_platforms_line(key: str, issue: str, unknown: list[str]) -> str:
    """What upstream's check_if_enable prints for a disabled entry naming platforms it does not know."""
    return " ".join((f"Test {key} is disabled for some unrecognized ",
                     f"platforms: [{', '.join(unknown)}]. Please edit issue {issue} to fix the platforms ",
                     'assigned to this flaky test, changing "Platforms: ..." to a comma separated ',
                     f"subset of the following (or leave it blank to match all platforms): {', '.join(_upstream_platforms())}"))


def remove_device_and_dtype_suffixes(test_name: str) -> str:
    """Upstream's sanitizer: ``test_x_cuda_float32`` -> ``test_x`` (a dtype suffix, and the device before it)."""
    import torch

    from testing._core import devices as _devices
    from testing._core.naming import dtype_name

    device_suffixes = set(_devices.device_table()) | {"meta", "mtia", _devices.privateuse1_name()}
    dtype_suffixes = {dtype_name(d) for d in vars(torch).values() if isinstance(d, torch.dtype)}
    chunks = test_name.split("_")
    if chunks and chunks[-1] in dtype_suffixes:
        if len(chunks) > 1 and chunks[-2] in device_suffixes:
            return "_".join(chunks[:-2])
        return "_".join(chunks[:-1])
    return test_name


def disabled_key_matches(key: str, class_name: str, method: str) -> bool:
    """Whether ``"test_name (module.ClassName)"`` names this test, as upstream's ``matches_test``."""
    parts = key.split()
    if len(parts) < 2:
        return False
    target_class = parts[1][1:-1].split(".")[-1]
    return class_name.startswith(target_class) and parts[0] in (method, remove_device_and_dtype_suffixes(method))


def file_matches(file: str, suffix: str) -> bool:
    """Whether a run's file is the one a list names by its ``test/...`` suffix (or its own path)."""
    here = Path(file).resolve().as_posix()
    return here == Path(suffix).resolve().as_posix() or here.endswith("/" + suffix.lstrip("/"))
