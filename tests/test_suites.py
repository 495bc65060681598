"""Upstream's test suites that ship inside torch, on this harness (testing/_fork/suites.py), and the
OpInfo-side names they stand on."""

import os
import subprocess
import sys
import unittest

import torch

import testing
from helpers import FIXTURES, clean_env, outcomes
from oracle import upstream_outcomes

from testing._fork import redirect
from testing._fork.port import port_text
from testing._fork.suites import SUITES, UPSTREAM, suite_name

TORCH_INTERNAL = os.path.join(os.path.dirname(torch.__file__), "testing", "_internal")
HARNESS = os.path.dirname(testing.__file__)


def test_the_suite_list_names_modules_of_the_installed_torch_that_testing_does_not_provide():
    for entry in SUITES:
        path = os.path.join(TORCH_INTERNAL, *entry.split("."))
        assert os.path.isfile(path + ".py") or os.path.isfile(os.path.join(path, "__init__.py")), entry
        ours = os.path.join(HARNESS, *entry.split("."))  # testing.<suite> names torch's (suite_imports)
        assert not os.path.isfile(ours + ".py") and not os.path.isdir(ours), f"{entry} is both a suite and provided"
    assert suite_name(f"{UPSTREAM}.distributed.rpc.jit.rpc_test")  # an entry covers its submodules
    assert suite_name(f"{UPSTREAM}.distributed.rpc_utils")
    assert not suite_name(f"{UPSTREAM}.distributed.rpc_utilsx")  # but not names that only start alike
    assert not suite_name(f"{UPSTREAM}.common_utils") and not suite_name(f"{UPSTREAM}.hop_db")


def test_a_file_importing_suites_is_accepted_and_other_unprovided_modules_still_refused():
    source = (
        "from torch.testing._internal.distributed.rpc_utils import generate_tests, GENERIC_TESTS\n"
        "from torch.testing._internal.distributed.rpc.tensorpipe_rpc_agent_test_fixture import X\n"
        "import torch.testing._internal.common_methods_invocations as common_ops\n"
        "from torch.testing._internal import opinfo\n"
        "from torch.testing._internal.distributed._tensor.common_dtensor import DTensorConverter\n"
        "from torch.testing._internal.common_device_type import ops, OpDTypes\n"
        "from torch.testing._internal.common_distributed import DynamoDistributedSingleProcTestCase\n"
        "import torch.testing._internal.hop_db\n"
    )
    assert redirect.missing_names(source) == ["torch.testing._internal.hop_db"]


def test_a_suite_shipped_in_torch_gives_upstreams_ids_and_outcomes():
    """distributed_test (the c10d suite behind test_distributed_spawn.py) from torch's source, on two
    gloo ranks; its harness imports are testing's (tests/test_upstream_files.py checks the module)."""
    ours = outcomes(FIXTURES / "upstream_suite_sample.py")
    assert ours == upstream_outcomes("upstream_suite_sample.py")
    assert ours["TestDistBackendWithSpawn.test_get_rank"] == ("passed", "")
    assert ours["TestDistBackendWithSpawn.test_barrier_cuda"][0] == "skipped"  # "CUDA ..." / "accelerator ..." by release


def test_a_ported_file_imports_suites_as_testing_names_and_runs_them_on_this_harness(tmp_path):
    """The port renames the suite's import to testing.distributed.distributed_test, which is torch's
    suite served on this harness (testing/_fork/suite_imports.py): the oracle's ids and outcomes."""
    ported = tmp_path / "ported_suite_sample.py"
    ported.write_text(port_text((FIXTURES / "upstream_suite_sample.py").read_text()))
    assert "from testing.distributed.distributed_test import DistributedTest" in ported.read_text()
    assert outcomes(ported) == upstream_outcomes("upstream_suite_sample.py")
    probe = ("from testing.distributed.distributed_test import TestDistBackend as T\n"
             "import testing.dist_utils\n"  # a second suite: the first stays loaded, once
             "import testing.common_distributed as ours, torch.testing._internal.distributed.distributed_test as suite\n"
             "print(issubclass(T, ours.MultiProcessTestCase), T is suite.TestDistBackend)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=clean_env(BACKEND="gloo", WORLD_SIZE="2"), timeout=300)
    assert proc.stdout.split() == ["True", "True"], proc.stderr[-2000:]


class _Op:
    """The part of an OpInfo that ``@ops`` reads."""

    def __init__(self, name, dtypes, decorators=()):
        self.name = self.full_name = name
        self.variant_test_name = ""
        self.formatted_name = name.replace(".", "_")
        self.dtypes = dtypes
        self.decorators = decorators

    def supported_dtypes(self, device_type):
        return set(self.dtypes)

    def supported_backward_dtypes(self, device_type):
        return {d for d in self.dtypes if d.is_floating_point}

    def get_decorators(self, cls_name, test_name, device, dtype, param_kwargs):
        return [d for d in self.decorators]


def _instantiate(device_type_module):
    ops, OpDTypes = device_type_module.ops, device_type_module.OpDTypes
    op_list = [_Op("nn.functional.relu", (torch.float32, torch.int64)),
               _Op("abs", (torch.float32,), (unittest.skip("op skip"),))]

    class TestSample(unittest.TestCase):
        @ops(op_list, allowed_dtypes=(torch.float32,))
        def test_op(self, device, dtype, op):
            pass

        @ops(op_list, dtypes=OpDTypes.any_one)
        def test_one(self, device, dtype, op):
            pass

        @ops(op_list, dtypes=OpDTypes.none)
        def test_none(self, device, op):
            pass

    scope = {"TestSample": TestSample}
    device_type_module.instantiate_device_type_tests(TestSample, scope, only_for=("cpu",))
    cls = scope["TestSampleCPU"]
    return {n: getattr(getattr(cls, n), "__unittest_skip__", False) for n in dir(cls) if n.startswith("test")}


def test_ops_names_and_decorates_tests_as_upstream_does():
    import torch.testing._internal.common_device_type as upstream

    import testing.common_device_type as ours

    expected = _instantiate(upstream)
    assert _instantiate(ours) == expected
    assert expected["test_op_nn_functional_relu_cpu_float32"] is False
    assert expected["test_op_abs_cpu_float32"] is True  # the OpInfo's own decorator applies
    assert "test_none_abs_cpu" in expected and "test_one_nn_functional_relu_cpu_float32" in expected


def test_dynamo_single_process_base_is_upstreams_and_runs_on_the_cpu_with_device_cpu():
    """On torch's dynamo TestCase; setUpClass errors without an accelerator, as upstream's does."""
    sample = "upstream_dynamo_single_sample.py"
    assert outcomes(FIXTURES / sample) == upstream_outcomes(sample)
    assert outcomes(FIXTURES / sample, TESTING_DEVICE="cpu") == {
        "DynamoSingle.test_world_of_one_compiles": ("passed", "")}
