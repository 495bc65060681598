"""``--map-cuda``: ``torch.cuda``'s queries and controls answered for the device CUDA is mapped to.

Each public function and class of ``torch.cuda`` is replaced in the module itself, so calls written
as ``torch.cuda.X(...)`` and names imported after start-up both see the mapping:

* mapped to an accelerator: the device's own module answers (``torch.xpu.X``), its index and
  synchronisation go through ``torch.accelerator``, and device arguments naming CUDA are mapped;
* mapped to CPU ranks: a small emulation (one device per rank; seeds and RNG state are the CPU
  generator's, which is what produces ``device="cuda"`` tensors here; streams and events are
  immediate);
* anything else fails the test with one line naming the API and the device
  (``--map-cuda: torch.cuda.memory_allocated has no equivalent on cpu``): never a silent pass.

Private names (``torch.cuda._lazy_init``) stay torch's own.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any, Optional

import torch

from testing._core.cuda_mapping import CudaNotMapped, CudaTarget, device_index, map_device

# Upstream's torch.cuda names that are context managers or types, replaced alongside the functions.
_CLASSES = ("Stream", "Event", "device", "device_of", "StreamContext")
# torch.cuda's names that torch.accelerator answers for any accelerator under the same name.
_ACCELERATOR_NAMES = ("current_stream", "set_stream", "empty_cache", "memory_allocated", "max_memory_allocated",
                      "memory_reserved", "max_memory_reserved", "memory_stats", "reset_peak_memory_stats",
                      "reset_accumulated_memory_stats", "get_device_capability")


def _not_mapped(name: str, device: str, original: Any = None) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise CudaNotMapped(name, device)

    fail.__name__ = name
    if hasattr(original, "__wrapped__"):
        # torch._dynamo (2.14 on) reads e.g. torch.cuda.use_mem_pool.__wrapped__ when it is imported
        fail.__wrapped__ = original.__wrapped__  # type: ignore[attr-defined]
    return fail


class _CpuRanks:
    """torch.cuda on CPU ranks: each rank is one device; the current index is this process's."""

    def __init__(self, target: CudaTarget) -> None:
        self.target = target
        self.index = 0

    def answers(self) -> dict[str, Any]:
        generator = torch.random.default_generator
        count = self.target.count

        def set_device(device: Any) -> None:
            index = device_index(device)
            if index is not None and index >= 0:
                self.index = index

        @contextlib.contextmanager
        def on_device(device: Any = None) -> Iterator[None]:
            saved = self.index
            set_device(device)
            try:
                yield
            finally:
                self.index = saved

        def manual_seed(seed: int) -> None:
            generator.manual_seed(int(seed))

        def seed() -> None:
            torch.seed()

        return {
            "is_available": lambda: True,
            "is_initialized": lambda: False,  # no runtime to initialise: forking stays safe
            "init": lambda: None,
            "device_count": lambda: count,
            "current_device": lambda: self.index,
            "set_device": set_device,
            "synchronize": lambda device=None: None,
            "manual_seed": manual_seed,
            "manual_seed_all": manual_seed,
            "seed": seed,
            "seed_all": seed,
            "initial_seed": torch.initial_seed,
            "get_rng_state": lambda device="cuda": torch.get_rng_state(),
            "set_rng_state": lambda new_state, device="cuda": torch.set_rng_state(new_state),
            "get_rng_state_all": lambda: [torch.get_rng_state() for _ in range(count)],
            "set_rng_state_all": lambda new_states: torch.set_rng_state(list(new_states)[self.index]),
            "current_stream": lambda device=None: _CpuStream(),
            "default_stream": lambda device=None: _CpuStream(),
            "set_stream": lambda stream: None,
            "stream": lambda stream=None: contextlib.nullcontext(),
            "StreamContext": lambda stream=None: contextlib.nullcontext(),
            "Stream": _CpuStream,
            "Event": _CpuEvent,
            "device": on_device,
            "device_of": lambda obj: contextlib.nullcontext(),
            "empty_cache": lambda: None,
            "ipc_collect": lambda: None,
            "is_bf16_supported": lambda including_emulation=True: True,
            "is_current_stream_capturing": lambda: False,
        }


class _CpuStream(torch.Stream):
    """A CPU stream (torch has them; work on it is done when issued), with CUDA's constructor."""

    def __new__(cls, device: Any = None, priority: int = 0, **kwargs: Any) -> "_CpuStream":
        return super().__new__(cls, "cpu", priority=priority)

    def record_event(self, event: Optional["_CpuEvent"] = None) -> "_CpuEvent":
        event = event or _CpuEvent()
        event.record(self)
        return event

    def wait_event(self, event: Any) -> None:
        pass

    def wait_stream(self, stream: Any) -> None:
        pass


class _CpuEvent:
    """An event on CPU ranks: recorded when issued (CPU work is synchronous), timed by the clock."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False) -> None:
        self.enable_timing = enable_timing
        self._at: Optional[float] = None

    def record(self, stream: Any = None) -> None:
        self._at = time.perf_counter()

    def wait(self, stream: Any = None) -> None:
        pass

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, end_event: "_CpuEvent") -> float:
        if not (self.enable_timing and end_event.enable_timing) or self._at is None or end_event._at is None:
            raise RuntimeError("Both events must be recorded with enable_timing=True before elapsed_time")
        return (end_event._at - self._at) * 1000.0


def _mapped_arguments(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with device arguments naming CUDA mapped first (``torch.xpu.get_rng_state("cuda:1")``)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*(map_device(a) for a in args), **{k: map_device(v) for k, v in kwargs.items()})

    return call


def _through_accelerator(name: str, target: CudaTarget) -> Callable[..., Any]:
    """torch.accelerator's ``name`` for a device whose module lacks it. torch.accelerator has it for
    every device type, but a device without the runtime piece behind it (a plug-in without a device
    allocator, say) fails inside torch; that is the one-line "no equivalent" failure too."""
    fn = _mapped_arguments(getattr(torch.accelerator, name))

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, NotImplementedError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CudaNotMapped(name, target.device_type, f"torch.accelerator.{name}: {first}") from exc

    return call


def _accelerator_answers(target: CudaTarget) -> dict[str, Any]:
    """torch.cuda on an accelerator: the device's module answers what it has, torch.accelerator the
    index and synchronisation (a plug-in's module need not define them)."""
    module = target.module
    answers: dict[str, Any] = {}
    for name in dir(module):
        value = None if name.startswith("_") else getattr(module, name, None)
        if isinstance(value, type):
            answers[name] = value  # a class stays a class (isinstance checks)
        elif callable(value):
            answers[name] = _mapped_arguments(value)
    accelerator = torch.accelerator

    def set_device(device: Any) -> None:
        index = device_index(map_device(device))
        if index is not None and index >= 0:
            accelerator.set_device_index(index)

    seed_all = answers.get("manual_seed_all")
    answers.update({"is_available": lambda: True, "device_count": lambda: target.count})
    # the device's own module first; torch.accelerator for what a module leaves out
    answers.setdefault("current_device", accelerator.current_device_index)
    answers.setdefault("set_device", set_device)
    answers.setdefault("synchronize", lambda device=None: accelerator.synchronize(device_index(map_device(device))))
    answers.setdefault("device", accelerator.device_index)
    answers.setdefault("stream", lambda stream: stream)  # a torch.Stream is its own context manager
    for name in _ACCELERATOR_NAMES:
        if hasattr(accelerator, name):
            answers.setdefault(name, _through_accelerator(name, target))
    answers.setdefault("is_initialized", lambda: False)  # a plug-in module that does not say: nothing to guard
    if seed_all is not None:
        answers.setdefault("manual_seed", seed_all)  # seeding every device covers seeding the current one
    for name, generic in (("Stream", torch.Stream), ("Event", torch.Event)):
        answers.setdefault(name, functools.partial(generic, target.device_type))
    return answers


def _cuda_names() -> list[str]:
    """torch.cuda's public functions and the classes tests construct."""
    cuda = torch.cuda
    names = [name for name in getattr(cuda, "__all__", ()) if inspect.isfunction(getattr(cuda, name, None))]
    return names + [name for name in _CLASSES if hasattr(cuda, name)]


def install(target: CudaTarget) -> None:
    answers = _CpuRanks(target).answers() if target.module is None else _accelerator_answers(target)
    cuda = torch.cuda
    for name in _cuda_names():
        setattr(cuda, name, answers.get(name) or _not_mapped(name, target.device_type, getattr(cuda, name)))
