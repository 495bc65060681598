"""``--map-cuda``: which device answers for CUDA names, decided beside the device table.

Much of upstream's distributed suite names CUDA in test bodies (``.cuda()``, ``device="cuda"``,
``torch.cuda.set_device(self.rank)``). With ``--map-cuda`` and a device selection, those names mean
the selected device. What answers is read from the selected row of the device table, so a plug-in
row gets the mapping without code:

* an accelerator row (xpu, hpu, a PrivateUse1 name): ``torch.<name>`` answers ``torch.cuda``'s calls
  (``torch.accelerator`` for the index and synchronisation), and the row's count is the device count;
* a non-accelerator row (cpu): an emulation on CPU ranks, whose device count is the emulated rank
  count (``--world-size`` or upstream's default), so world sizes taken from
  ``torch.cuda.device_count()`` become real worlds.

``--device cuda`` ignores the mode (CUDA names already mean CUDA). The mode is off unless asked for;
this module only decides; ``cuda_install`` puts it in place (``cuda_calls``, ``cuda_devices``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional, Union

import torch

from testing._core import devices as _devices

CUDA = "cuda"
_CUDA_STRING = re.compile(r"^cuda(?::(\d+))?$")


class CudaNotMapped(RuntimeError):
    """A CUDA API with no equivalent on the selected device: the test fails naming both."""

    def __init__(self, api: str, device: str, why: str = "") -> None:
        super().__init__(f"--map-cuda: torch.cuda.{api} has no equivalent on {device}" + (f" ({why})" if why else ""))


@dataclasses.dataclass(frozen=True)
class CudaTarget:
    """What CUDA names mean in this process."""

    device_type: str
    """The selected device type that stands in for CUDA."""
    count: int
    """``torch.cuda.device_count()`` in this mode."""
    module: Optional[Any]
    """The torch module that answers ``torch.cuda``'s calls; None: emulated on CPU ranks."""

    @property
    def indexed(self) -> bool:
        # CPU ranks share one CPU: a device index names a rank, not a device of its own
        return self.module is not None

    def device(self, index: Optional[int] = None) -> torch.device:
        """The device a CUDA device of ``index`` becomes (CPU ranks: the CPU, whatever the index)."""
        return torch.device(self.device_type, index) if self.indexed and index is not None else torch.device(self.device_type)

    def describe(self) -> str:
        how = f"torch.{self.device_type}" if self.indexed else f"CPU ranks; torch.cuda.device_count() is {self.count}"
        return f"CUDA names (torch.cuda, .cuda(), device=\"cuda\") are mapped to {self.device_type} ({how})"


def target_for(config: Any) -> Optional[CudaTarget]:
    """The mapping ``config`` asks for; None when the mode is off or the selected device is CUDA."""
    if not getattr(config, "map_cuda", False) or not config.device or config.device == CUDA:
        return None
    row = _devices.lookup(config.device)
    if row is None:
        return None
    if not row.accelerator:
        return CudaTarget(row.name, config.rank_count, None)
    return CudaTarget(row.name, row.count(), getattr(torch, row.name, None) or _AcceleratorOnly())


class _AcceleratorOnly:
    """A row whose device has no torch module: only ``torch.accelerator`` answers."""


_active: Optional[CudaTarget] = None


def active() -> Optional[CudaTarget]:
    """The mapping installed in this process, if any."""
    return _active


def maps_to(device_type: str) -> str:
    """``device_type`` as the mapping reads it: "cuda" becomes the selected device while it is on."""
    return _active.device_type if _active is not None and device_type == CUDA else device_type


def names_device(wanted: Any, actual: str) -> bool:
    """Whether a decorator's device type(s) ``wanted`` (a name or names) covers ``actual`` because
    CUDA is mapped to it (onlyCUDA, skipCUDAIf, dtypesIfCUDA)."""
    if _active is None or actual != _active.device_type:
        return False
    names = [wanted] if isinstance(wanted, str) else list(wanted or ())
    return CUDA in names


def as_cuda(device_type: str, table: Any) -> str:
    """The key of a per-device table (dtypesIfCUDA's) that answers for ``device_type``: "cuda" when
    CUDA is mapped to it and the table has a CUDA entry, else ``device_type`` itself."""
    return CUDA if names_device(CUDA, device_type) and CUDA in table else device_type


def cuda_count(real: int) -> int:
    """``torch.cuda.device_count()`` as the flags see it: the mapped count while the mode is on."""
    return _active.count if _active is not None else real


def map_device(value: Any) -> Any:
    """A device argument with CUDA replaced by the selected device; anything else unchanged."""
    if isinstance(value, torch.device):
        if value.type != CUDA:
            return value
        return _active.device(value.index) if _active is not None else value
    if isinstance(value, str):
        match = _CUDA_STRING.match(value)
        if match is None or _active is None:
            return value
        return _active.device(int(match.group(1)) if match.group(1) else None)
    return value


def device_index(value: Union[int, str, torch.device, None]) -> Optional[int]:
    """The index in a CUDA device argument (``1``, ``"cuda:1"``, ``torch.device("cuda", 1)``)."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        value = torch.device(value)
    return value.index


def announcement(config: Any) -> str:
    """The one line a run with ``--map-cuda`` prints."""
    mapping = target_for(config)
    return mapping.describe() if mapping is not None else NO_EFFECT


def junit_properties(config: Any) -> dict[str, str]:
    """The run's JUnit properties for the mode: which device CUDA names were mapped to (none: off)."""
    mapping = target_for(config)
    return {"map_cuda": mapping.device_type} if mapping is not None else {}


NO_EFFECT = "--map-cuda has no effect with --device cuda: CUDA names already mean CUDA"

# what torch raises when a test calls CUDA where there is none (CPU build, no driver, no GPU)
_NO_CUDA = re.compile(r"Torch not compiled with CUDA enabled|Found no NVIDIA driver|No CUDA GPUs are available"
                      r"|no CUDA-capable device|has no attribute '_cuda_\w+'|CUDA driver initialization failed")


# a CUDA build whose test process probed CUDA before the ranks forked: a CUDA call in a rank says
# this, not that CUDA is missing; it means "calls CUDA" only when another device was selected
_FORKED_CUDA = re.compile(r"Cannot re-initialize CUDA in forked subprocess")


def hint_for(failure_text: str, config: Any) -> Optional[str]:
    """A line pointing at ``--map-cuda`` when a test failed for calling CUDA on a run that selected
    another device without the mode (the user may not know the mode exists); else None."""
    selected = getattr(config, "device", None)
    if getattr(config, "map_cuda", False) or selected == CUDA:
        return None
    if not (_NO_CUDA.search(failure_text) or (selected and _FORKED_CUDA.search(failure_text))):
        return None
    device = selected or "cpu"
    return (f"hint: the test calls CUDA, which this run does not have; --device {device} --map-cuda "
            f"runs its CUDA names on {device} (docs/cuda-mapping.md)")


def activate(mapping: CudaTarget) -> None:
    """Record the mapping this process runs under (testing._core.cuda_install puts it in place)."""
    global _active
    _active = mapping
