"""The device table: the one place that says what a device type is.

Every question the harness asks about a device (is it present, how many are there, which
collective backend does it use, what suffix do its generated classes get, does the upstream
harness need an opt-in flag to instantiate it) is answered from a `DeviceType` row here.
Out-of-tree devices (a PrivateUse1 backend, a fork's own accelerator) join the table with
`register_device()` or through the ``testing.devices`` entry-point group, without editing this file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Optional

import torch


@dataclasses.dataclass(frozen=True)
class DeviceType:
    """One row of the device table."""

    name: str
    """torch's device-type string (``"cuda"``); also the test-name suffix (``_cuda``)."""
    backend: str
    """Collective backend ranks of this device use by default."""
    count: Callable[[], int]
    """How many devices of this type the process can see (0 when absent)."""
    accelerator: bool = True
    opt_in: Optional[str] = None
    """Keyword of instantiate_device_type_tests that must be true for this type to be instantiated
    at all (upstream: ``allow_xpu``, ``allow_mps``); None when no opt-in is needed."""
    native: bool = True
    """Whether upstream lists it in NATIVE_DEVICES (hpu is not; assertRaisesRegex differs)."""
    base_name: Optional[str] = None
    """Name of the per-device test base class (``CUDATestBase``)."""
    set_device: bool = True
    """Whether each rank binds to device index ``rank`` before init (upstream: nccl, xccl); also
    upstream's DDP_RANK_DEVICES."""
    priority: int = 50
    """Upstream's detection order when several accelerators are present (cuda, hpu, xpu)."""
    triton: bool = False
    """Whether inductor generates triton code for it (GPU_TYPE candidates)."""
    runtime_initialized: Callable[[], bool] = lambda: False
    """Whether this process has initialised the device's runtime (forking is then unsafe)."""
    backend_aliases: tuple[str, ...] = ()
    """Vendor variants of its backend that mean the same device (``ncclx`` for nccl)."""
    backend_probe: Optional[Callable[[], bool]] = None
    """Whether its backend can be used here; None: torch's ``is_<backend>_available``."""
    visible_env: Optional[str] = None
    """The environment variable that limits which of its devices a process sees (run_test.py -j)."""
    distributed: bool = True
    """Whether multi-rank tests count it as an accelerator (mps does not)."""
    fsdp_device: Optional[str] = None
    """The device string upstream's common_fsdp picks for it, when not the bare name (``hpu:0``)."""
    free_memory: Optional[Callable[[torch.device], float]] = None
    """Bytes this process may still allocate on a device of this type (largeTensorTest asks it once
    the type is the current accelerator); None where upstream has no such query for the type."""
    host_memory: bool = False
    """Whether its tensors live in host memory (cpu, mps): largeTensorTest checks the host's."""

    @property
    def class_suffix(self) -> str:
        # upstream names PrivateUse1 classes from the base's type string, "privateuse1"
        return "PRIVATEUSE1" if self.base_name == "PrivateUse1TestBase" else self.name.upper()

    @property
    def test_base_name(self) -> str:
        return self.base_name or f"{self.class_suffix}TestBase"

    def present(self) -> bool:
        return self.name == "cpu" or self.count() > 0


def _safe_count(fn: Callable[[], int]) -> Callable[[], int]:
    def count() -> int:
        try:
            return int(fn())
        except Exception:  # a half-installed device plugin must not break discovery
            return 0

    return count


# torch's own answers, taken before --map-cuda may stand the selected device in for torch.cuda's
_CUDA_AVAILABLE, _CUDA_DEVICE_COUNT, _CUDA_INITIALIZED = torch.cuda.is_available, torch.cuda.device_count, torch.cuda.is_initialized


def _cuda_count() -> int:
    return _CUDA_DEVICE_COUNT() if _CUDA_AVAILABLE() else 0


def _xpu_count() -> int:
    xpu = getattr(torch, "xpu", None)
    return xpu.device_count() if xpu is not None and xpu.is_available() else 0


def _hpu_count() -> int:
    hpu = getattr(torch, "hpu", None)
    return hpu.device_count() if hpu is not None and hpu.is_available() else 0


def _cuda_free_memory(device: torch.device) -> float:
    # upstream's measure: free memory, scaled by the share of it this process is allowed
    return torch.cuda.memory.mem_get_info(device)[0] * torch.cuda.memory.get_per_process_memory_fraction(device)


def _xpu_free_memory(device: torch.device) -> float:
    return torch.xpu.memory.mem_get_info(device)[0]


def _initialized(name: str) -> Callable[[], bool]:
    def check() -> bool:
        module = getattr(torch, name, None)
        return bool(module is not None and getattr(module, "is_initialized", lambda: False)())

    return check


def _mps_count() -> int:
    return 1 if torch.backends.mps.is_available() else 0


def privateuse1_name() -> str:
    return torch._C._get_privateuse1_backend_name()


def _privateuse1_count() -> int:
    module = getattr(torch, privateuse1_name(), None)
    if module is None or not hasattr(module, "device_count"):
        return 0
    available = getattr(module, "is_available", lambda: True)()
    return module.device_count() if available else 0


_BUILTIN = (
    DeviceType("cpu", "gloo", lambda: 0, accelerator=False, set_device=False, priority=99, host_memory=True),
    DeviceType("cuda", "nccl", _safe_count(_cuda_count), priority=0, triton=True,
               runtime_initialized=_CUDA_INITIALIZED, backend_aliases=("ncclx",), visible_env="CUDA_VISIBLE_DEVICES",
               free_memory=_cuda_free_memory),
    DeviceType("xpu", "xccl", _safe_count(_xpu_count), opt_in="allow_xpu", priority=2, triton=True,
               runtime_initialized=_initialized("xpu"), visible_env="ZE_AFFINITY_MASK", free_memory=_xpu_free_memory),
    DeviceType("hpu", "hccl", _safe_count(_hpu_count), native=False, set_device=False, priority=1,
               backend_probe=lambda: _hpu_count() > 0, fsdp_device="hpu:0", visible_env="HABANA_VISIBLE_MODULES"),
    DeviceType("mps", "gloo", _safe_count(_mps_count), opt_in="allow_mps", set_device=False, priority=60,
               distributed=False, host_memory=True),
)

_table: dict[str, DeviceType] = {d.name: d for d in _BUILTIN}
_entry_points_loaded = False


def register_device(device: DeviceType) -> DeviceType:
    """Add or replace a row (a fork's accelerator, a PrivateUse1 backend)."""
    _table[device.name] = device
    return device


def _load_entry_points() -> None:
    """Rows contributed by installed packages (group ``testing.devices``)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="testing.devices"):
        row = ep.load()
        row = row() if callable(row) and not isinstance(row, DeviceType) else row
        register_device(row)


def _privateuse1_row() -> Optional[DeviceType]:
    """A renamed PrivateUse1 backend that registered no row of its own gets a default one."""
    name = privateuse1_name()
    if name == "privateuseone" or name in _table:
        return None
    import torch.distributed as dist

    backend = dist.Backend.default_device_backend_map.get(name, "gloo")
    return DeviceType(name, backend, _safe_count(_privateuse1_count), base_name="PrivateUse1TestBase")


def device_table() -> dict[str, DeviceType]:
    """All known device types, built-in first, then plug-ins, then a renamed PrivateUse1."""
    _load_entry_points()
    row = _privateuse1_row()
    if row is not None:
        register_device(row)
    return dict(_table)


def lookup(name: str) -> Optional[DeviceType]:
    return device_table().get(name)


def present_devices() -> list[str]:
    """Names of the device types that have at least one device here ("cpu" always)."""
    return [d.name for d in device_table().values() if d.present()]


def accelerators() -> list[DeviceType]:
    """Accelerators that distributed tests run on, in table order (cuda, xpu, hpu, then plug-ins: the
    order of upstream's backend lists); mps, a single local device, is not one of them."""
    return [d for d in device_table().values() if d.accelerator and d.distributed]


def by_detection_order(rows: list[DeviceType]) -> list[DeviceType]:
    """Upstream's order when it picks one accelerator among those present (cuda, hpu, xpu)."""
    return sorted(rows, key=lambda d: d.priority)


def accelerator_backends() -> frozenset[str]:
    """Every collective backend that means "an accelerator" (nccl, ncclx, xccl, hccl, plug-ins')."""
    rows = [d for d in device_table().values() if d.accelerator and d.backend != "gloo"]
    return frozenset(name for d in rows for name in (d.backend, *d.backend_aliases))


def backend_available(backend: str) -> bool:
    """Whether a collective backend can be used in this build (upstream's requires_* probes)."""
    for row in device_table().values():
        if row.backend == backend and row.backend_probe is not None:
            return bool(row.backend_probe())
    import torch.distributed as dist

    probe = getattr(dist, f"is_{backend}_available", None)
    return bool(probe and probe())


def native_devices() -> tuple[str, ...]:
    """Upstream's NATIVE_DEVICES: the table's native rows, meta, mtia and the PrivateUse1 name."""
    names = [d.name for d in device_table().values() if d.native]
    return tuple(dict.fromkeys([*names, "meta", "mtia", privateuse1_name()]))


def triton_targets() -> list[str]:
    return [d.name for d in device_table().values() if d.triton]


def runtime_initialized() -> bool:
    """Whether this process has initialised any accelerator runtime."""
    return any(d.runtime_initialized() for d in device_table().values())


def max_accelerator_count() -> int:
    """Devices a multi-device test may use, as upstream counts them (the largest accelerator count)."""
    return max([d.count() for d in accelerators()] or [0])


def current_device(name: str, rank: int) -> int:
    """The device index a rank uses: the runtime's current device when it binds one, else the rank."""
    row = lookup(name)
    if row is not None and row.set_device and row.accelerator:
        module = getattr(torch, name, None)
        if module is not None and hasattr(module, "current_device"):
            return module.current_device()
    return rank


def backend_for(device: str, overrides: Optional[dict[str, str]] = None) -> str:
    """Collective backend for a device type: an override first, then the table, then torch's map."""
    if overrides and device in overrides:
        return overrides[device]
    row = lookup(device)
    if row is not None:
        return row.backend
    import torch.distributed as dist

    return dist.Backend.default_device_backend_map.get(device, "gloo")


def parse_backend_overrides(text: str) -> dict[str, str]:
    """``"xpu=xccl,foo=foo_ccl"`` -> {"xpu": "xccl", "foo": "foo_ccl"} (env TESTING_DEVICE_BACKENDS)."""
    result = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        device, sep, backend = item.partition("=")
        if not sep or not device or not backend:
            raise ValueError(f"bad device=backend pair {item!r} in TESTING_DEVICE_BACKENDS")
        result[device.strip()] = backend.strip()
    return result


def loopback_interface() -> Optional[str]:
    """Name of the loopback interface, so gloo never binds a routable address."""
    try:
        import socket

        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return None
    for candidate in ("lo", "lo0"):
        if candidate in names:
            return candidate
    return None


def describe() -> str:
    table = device_table()
    return f"known: {', '.join(sorted(table))}; present: {', '.join(present_devices())}"

