"""docs/differences.md's differences from upstream that run in one process (the rank-level ones are in
test_faults.py and test_conformance.py)."""

import unittest

import pytest

from testing._core import devices as _devices
from testing._core import versions
from testing._core.config import Config, reset_config
from testing._core.instantiate import instantiate_device_type_tests
from testing._core.skips import multi_device_skip, requires_world_size, skip_if_lt_x_gpu
from testing.common_utils import TestCase


@pytest.fixture
def cpu_only():
    reset_config(Config())
    yield
    reset_config(None)


def run_one(case_cls, name):
    result = unittest.TestResult()
    case_cls(name).run(result)
    return result


def test_skip_decorator_exit_in_plain_testcase_is_a_skip(cpu_only):
    class T(TestCase):
        @skip_if_lt_x_gpu(2)
        def test_needs_two(self):
            pass

    result = run_one(T, "test_needs_two")
    # the message is the installed release's: "Need at least 2 CUDA devices" (2.13, 2.14), "... accelerator devices" (2.15)
    assert multi_device_skip(2).message == f"Need at least 2 {versions.current('skip_device_word')} devices"
    assert result.errors == [] and [reason for _, reason in result.skipped] == [multi_device_skip(2).message]


def test_static_and_class_methods_survive_device_instantiation(cpu_only):
    class Generic(TestCase):
        @staticmethod
        def helper(x):
            return x + 1

        @classmethod
        def which(cls):
            return cls.__name__

        def test_uses_helpers(self, device):
            self.assertEqual(self.helper(1), 2)
            self.assertEqual(self.which(), "GenericCPU")

    scope = {"Generic": Generic}
    instantiate_device_type_tests(Generic, scope)
    result = run_one(scope["GenericCPU"], "test_uses_helpers_cpu")
    assert result.wasSuccessful(), result.failures + result.errors


def test_assert_raises_regex_checks_messages_on_hpu_classes(cpu_only):
    class OnHpu(TestCase):
        device_type = "hpu"

        def test_wrong_message(self):
            with self.assertRaisesRegex(RuntimeError, "expected text"):
                raise RuntimeError("something else")

    result = run_one(OnHpu, "test_wrong_message")
    assert len(result.failures) == 1 and "does not match" in result.failures[0][1]


def test_hpu_backend_comes_from_the_table():
    assert _devices.backend_for("hpu") == "hccl"
    assert Config(backend_overrides={"hpu": "fake"}).backend_for("hpu") == "fake"


def test_requires_world_size_counts_ranks_when_emulating():
    gpus = versions.current("requires_world_size_noun")  # "GPUs" up to torch 2.14, "accelerators" from 2.15
    try:
        reset_config(Config(device="cpu"))
        assert not getattr(requires_world_size(4)(lambda self: None), "__unittest_skip__", False)
        reset_config(Config(device="cpu", world_size=2))
        assert requires_world_size(4)(lambda self: None).__unittest_skip_why__ == f"requires 4 {gpus}, found 2"
        reset_config(Config())
        assert requires_world_size(2)(lambda self: None).__unittest_skip_why__ == f"requires 2 {gpus}, found 0"
    finally:
        reset_config(None)


def test_the_release_table_answers_for_every_release():
    """testing._core.versions: one table, asked by name; the installed release is parsed once."""
    assert versions.parse("2.15.0+cu132") == (2, 15, 0) and versions.parse("2.16.0a0+git1234") == (2, 16, 0)
    assert versions.installed() == versions.parse(versions.build()) and versions.release() == versions.build().split("+")[0]
    assert versions.since("2.13") and versions.since("2.14", (2, 14, 1)) and not versions.since("2.15", (2, 14, 1))
    assert [versions.current("skip_device_key", r) for r in ((2, 13, 0), (2, 14, 1), (2, 15, 0))] == ["multi-gpu", "multi-gpu", "multi-device"]
    assert [versions.current("continuous_rank_skip_is_skip", r) for r in ((2, 13, 0), (2, 14, 1), (2, 15, 0))] == [False, True, True]
    assert versions.facade_names("testing.common_utils", (2, 13, 0)) == []
    assert versions.facade_names("testing.common_utils", (2, 14, 1)) == ["HardwareClassification", "HW_CLASSIFICATION", "requires_cuda_python_bindings"]
    assert "periodic" in versions.facade_names("torch.testing._internal.common_utils", (2, 15, 0))
    with pytest.raises(KeyError, match="no release-dependent behaviour named 'nope'"):
        versions.current("nope")
