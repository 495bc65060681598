"""largeTensorTest: upstream's outcomes and skip messages, checked in this process against the
installed torch's own harness (host memory from a stand-in psutil, so the answers do not depend on
this machine), and the selected device answering for CUDA under --map-cuda."""

from __future__ import annotations

import types
import unittest

import pytest
import torch
import torch.testing._internal.common_device_type as upstream
import torch.testing._internal.common_utils as upstream_utils

import testing.common_device_type as ours
import testing.common_utils as ours_utils
from testing._core import cuda_mapping
from testing._upstream_api import memory_checks

GB = 1024**3


def _psutil(available: int) -> types.SimpleNamespace:
    memory = types.SimpleNamespace(available=available, total=available)
    return types.SimpleNamespace(virtual_memory=lambda: memory)


@pytest.fixture
def host_memory(monkeypatch):
    """Set the host's available memory (None: psutil missing) for both harnesses."""
    def set_available(available):
        fake = None if available is None else _psutil(available)
        monkeypatch.setattr(upstream, "psutil", fake)
        monkeypatch.setattr(upstream, "HAS_PSUTIL", fake is not None)
        monkeypatch.setattr(memory_checks, "psutil", fake)

    return set_available


def _outcomes(cls: type) -> dict[str, tuple[str, str]]:
    found = {}
    for name in sorted(n for n in vars(cls) if n.startswith("test")):  # not the bases' own
        result = unittest.TestResult()
        cls(name).run(result)
        if result.skipped:
            found[name] = ("skipped", result.skipped[0][1])
        elif result.errors or result.failures:
            found[name] = ("error", (result.errors + result.failures)[0][1].strip().splitlines()[-1])
        else:
            found[name] = ("passed", "")
    return found


def _explicit_devices(harness: types.ModuleType, calls: list) -> type:
    large = harness.largeTensorTest

    class Explicit(unittest.TestCase):
        @large("1GB", device="cuda")
        def test_cuda_without_an_accelerator(self):
            pass

        @large(4096, device=torch.device("cuda", 1))
        def test_cuda_device_object(self):
            pass

        @large(1024, device="xla")
        def test_xla(self):
            pass

        @large(lambda test: calls.append(type(test).__name__) or 1, device="hpu")
        def test_hpu_callable_size(self):
            pass

        @large("1gb", device="cpu")
        def test_cpu_fits(self):
            pass

        @large(2 * GB, device="cpu")
        def test_cpu_too_large(self):
            pass

    return Explicit


def _device_generic(harness: types.ModuleType) -> type:
    base = (upstream_utils if harness is upstream else ours_utils).TestCase

    class Generic(base):
        @harness.largeTensorTest(lambda test, device: 3 * GB if device == "cpu" else 0)
        def test_callable_size_of_the_test_device(self, device):
            pass

        @harness.largeTensorTest(100)
        def test_small(self, device):
            pass

    scope: dict = {"Generic": Generic}
    harness.instantiate_device_type_tests(Generic, scope, only_for=("cpu",))
    return scope["GenericCPU"]


def test_skips_and_runs_as_upstreams_harness_does(host_memory):
    host_memory(GB + 1)
    calls: list = []
    expected = _outcomes(_explicit_devices(upstream, calls))
    assert _outcomes(_explicit_devices(ours, calls)) == expected
    assert calls == ["Explicit", "Explicit"]  # the callable gets the test, under both
    assert expected == {
        "test_cuda_without_an_accelerator": ("skipped", "Insufficient cuda memory"),
        "test_cuda_device_object": ("skipped", "Insufficient cuda:1 memory"),
        "test_xla": ("skipped", "TODO: Memory availability checks for XLA?"),
        "test_hpu_callable_size": ("skipped", "Unknown device type"),
        "test_cpu_fits": ("passed", ""),
        "test_cpu_too_large": ("skipped", "Insufficient cpu memory"),
    }


def test_a_device_generic_test_measures_its_own_device(host_memory):
    host_memory(2 * GB)
    expected = _outcomes(_device_generic(upstream))
    assert _outcomes(_device_generic(ours)) == expected
    assert expected == {"test_callable_size_of_the_test_device_cpu": ("skipped", "Insufficient cpu memory"),
                        "test_small_cpu": ("passed", "")}


def test_without_psutil_host_memory_is_not_measured(host_memory):
    host_memory(None)
    expected = _outcomes(_device_generic(upstream))
    assert _outcomes(_device_generic(ours)) == expected
    assert set(expected.values()) == {("skipped", "Need psutil to determine if memory is sufficient")}


def test_sizes_other_than_bytes_or_gb_are_refused_at_decoration():
    for harness in (upstream, ours):
        with pytest.raises(AssertionError, match=r"only bytes or GB supported, got '1TB'"):
            harness.largeTensorTest("1TB")


def test_under_map_cuda_the_selected_device_answers(host_memory, monkeypatch):
    """CPU ranks: a CUDA device measures the host, and the skip names cpu."""
    host_memory(2 * GB)
    monkeypatch.setattr(cuda_mapping, "_active", cuda_mapping.CudaTarget("cpu", 4, None))
    assert _outcomes(_explicit_devices(ours, [])) == {
        "test_cuda_without_an_accelerator": ("passed", ""),
        "test_cuda_device_object": ("passed", ""),
        "test_xla": ("skipped", "TODO: Memory availability checks for XLA?"),
        "test_hpu_callable_size": ("skipped", "Unknown device type"),
        "test_cpu_fits": ("passed", ""),
        "test_cpu_too_large": ("passed", ""),
    }

    class Mapped(unittest.TestCase):
        @ours.largeTensorTest("3GB", device="cuda:1")
        def test_too_large(self):
            pass

    assert _outcomes(Mapped) == {"test_too_large": ("skipped", "Insufficient cpu memory")}


def test_under_map_cuda_an_accelerator_row_measures_its_device(monkeypatch):
    """xpu selected: the xpu row's query, on the index the CUDA name gave (torch.xpu stood in for)."""
    asked = []
    monkeypatch.setattr(cuda_mapping, "_active", cuda_mapping.CudaTarget("xpu", 2, object()))
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda *a: torch.device("xpu"))
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: True)
    monkeypatch.setattr(torch.accelerator, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.xpu.memory, "mem_get_info", lambda device: asked.append(str(device)) or (2 * GB, 4 * GB))

    class Mapped(unittest.TestCase):
        @ours.largeTensorTest("1GB", device="cuda:1")
        def test_fits(self):
            pass

        @ours.largeTensorTest("3GB", device="cuda")
        def test_too_large(self):
            pass

    assert _outcomes(Mapped) == {"test_fits": ("passed", ""), "test_too_large": ("skipped", "Insufficient xpu memory")}
    assert asked == ["xpu:1", "xpu:0"]


def test_a_cgroup_limit_caps_host_memory_from_the_release_that_does(host_memory, monkeypatch):
    """torch 2.15 clamps psutil's answer to the cgroup's limit; 2.13 and 2.14 do not."""
    host_memory(4 * GB)
    monkeypatch.setattr(memory_checks, "_cgroup_available_memory", lambda: GB // 2)
    if hasattr(upstream, "_cgroup_available_memory"):
        monkeypatch.setattr(upstream, "_cgroup_available_memory", lambda: GB // 2)
    expected = _outcomes(_explicit_devices(upstream, []))
    assert _outcomes(_explicit_devices(ours, [])) == expected
    assert expected["test_cpu_fits"] == (("skipped", "Insufficient cpu memory") if torch.__version__ >= "2.15"
                                         else ("passed", ""))
