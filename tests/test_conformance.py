"""Same files under torch's own harness (the oracle) and under testing: same ids, same outcomes.

The fixtures are written against upstream's import paths; the port is the mechanical import
rewrite. The naming sample runs under torch's harness live; the distributed sample's oracle outcomes
are recorded by fixtures/record_upstream.py (about 5 s a test live; TESTING_LIVE_ORACLE=1 reruns it),
one recording per torch release: every release is compared with its own harness, and the messages
that differ between releases come from testing._core.versions (as the harness's do).
"""

import pytest

from helpers import FIXTURES, outcomes, port_file
from oracle import StaleRecording, live, recorded, upstream_outcomes

from testing._core import versions
from testing._core.skips import multi_device_skip


def need_devices(n: int) -> str:
    """The installed release's "Need at least N ... devices" (CUDA up to 2.14, accelerator from 2.15)."""
    return multi_device_skip(n).message


@pytest.fixture(scope="module")
def naming_pair(tmp_path_factory):
    ported = port_file(FIXTURES / "upstream_naming_sample.py", tmp_path_factory.mktemp("port") / "ported_naming.py")
    return outcomes(FIXTURES / "upstream_naming_sample.py", upstream=True), outcomes(ported)


def test_naming_matrix_ids_equal_upstream(naming_pair):
    upstream, ours = naming_pair
    assert sorted(ours) == sorted(upstream)
    # spot checks of the rules most often gotten wrong (BEHAVIOR.md section 11)
    assert "TestDeviceCPU.test_x_offload_to_cpu_True_is_even_sharded_model_False_cpu" in ours
    assert "TestDeviceCPU.test_with_dtype_float64_n_2_cpu_float64" in ours
    assert "TestNames.test_float_f_-1_5" in ours and "TestNames.test_str_s_" in ours


def test_naming_matrix_outcomes_equal_upstream(naming_pair):
    upstream, ours = naming_pair
    assert {k: v[0] for k, v in ours.items()} == {k: v[0] for k, v in upstream.items()}
    assert ours["TestDeviceCPU.test_skipped_cpu"] == upstream["TestDeviceCPU.test_skipped_cpu"]
    assert ours["TestNames.test_subtest_skipped"] == ("skipped", "because")
    assert ours["TestNames.test_fails_for_two_n_2"][1] == upstream["TestNames.test_fails_for_two_n_2"][1]


def test_distributed_outcomes_equal_upstream(tmp_path):
    ported = port_file(FIXTURES / "upstream_dist_sample.py", tmp_path / "ported_dist.py")
    upstream = upstream_outcomes("upstream_dist_sample.py")
    for ours in (outcomes(ported), outcomes(FIXTURES / "upstream_dist_sample.py")):  # ported; unmodified
        assert sorted(ours) == sorted(upstream)
        assert {k: v[0] for k, v in ours.items()} == {k: v[0] for k, v in upstream.items()}
        skip_id = "TestDistSampleCPU.test_needs_two_gpus_cpu"
        assert ours[skip_id] == upstream[skip_id] == ("skipped", need_devices(2))
        assert ours["TestDistSampleCPU.test_rank_raises_cpu"] == upstream["TestDistSampleCPU.test_rank_raises_cpu"]


def test_op_and_continuous_bases_match_upstream():
    """DTensorOpTestBase (threads upstream) and DTensorContinuousTestBase (a pool upstream)."""
    upstream = upstream_outcomes("upstream_autocomms_sample.py")
    ours = outcomes(FIXTURES / "upstream_autocomms_sample.py")
    assert sorted(ours) == sorted(upstream)
    skip_id = "ContinuousSample.test_skips"
    assert ours[skip_id] == ("skipped", "not on this sample")
    if versions.current("continuous_rank_skip_is_skip"):
        # torch 2.14+: upstream's pool reports a rank's skipTest as a skip too: no difference left
        assert ours == upstream
    else:
        # torch 2.13, the one documented difference: upstream's pool turns a rank's skipTest into an ERROR
        assert upstream[skip_id] == ("error", "unittest.case.SkipTest: not on this sample")
        assert {k: v for k, v in ours.items() if k != skip_id} == {k: v for k, v in upstream.items() if k != skip_id}


def test_local_tensor_twins_match_upstream():
    """create_local_tensor_test_class, LocalDTensorOpTestBase: ranks in process, LocalTensorMode."""
    upstream = upstream_outcomes("upstream_local_sample.py")
    ours = outcomes(FIXTURES / "upstream_local_sample.py")
    assert ours == upstream
    assert ours["DistSampleWithLocalTensor.test_listed_as_skipped"] == ("skipped", "Skipped test")


def test_model_helpers_match_upstream():
    """ModelArgs / Transformer / RMSNormPython: names, weight tying, TP and SP plans on 2 ranks; the
    mixture-of-experts layer under TP, SP, EP and EP+TP on 4 ranks (SP fails as it does upstream)."""
    assert outcomes(FIXTURES / "upstream_model_sample.py") == upstream_outcomes("upstream_model_sample.py")


def test_helpers_beyond_the_seed_match_upstream():
    """with_temp_dir, requires_nccl/gloo/accelerator backend, sandcastle skips, a composite backend,
    assertNotWarn (callable form only, as upstream), assertWarnsOnceRegex, expectedFailure."""
    ours = outcomes(FIXTURES / "upstream_utils_sample.py")
    assert ours == upstream_outcomes("upstream_utils_sample.py")
    assert ours["TempDirSample.test_temp_dir_is_shared"] == ("passed", "")
    assert ours["HelperSample.test_not_warn_context_form_is_not_upstreams"][0] == "error"


def test_shard_order_and_rule_helpers_match_upstream():
    """generate_shard_orders / patched_distribute_tensor / redistribute / make_full_tensor,
    validate_sharding_rule_sample(_backward) and op_strategy_context on a 2-D mesh of 4 ranks."""
    assert outcomes(FIXTURES / "upstream_sharding_sample.py") == upstream_outcomes("upstream_sharding_sample.py")


def test_generate_shard_orders_lists_upstreams_orders_in_upstreams_order():
    import types

    from torch.testing._internal.distributed._tensor import common_dtensor as oracle

    from testing._helpers.sharding import generate_shard_orders, shard_order_to_placement

    for ndim in (1, 2, 3):
        mesh = types.SimpleNamespace(ndim=ndim)
        for rank in (1, 2, 3):
            ours, theirs = list(generate_shard_orders(mesh, rank)), list(oracle.generate_shard_orders(mesh, rank))
            assert ours == theirs and ours
            assert [shard_order_to_placement(o, mesh) for o in ours] == [oracle.shard_order_to_placement(o, mesh) for o in theirs]


def test_a_sample_edited_after_its_recording_fails_with_the_re_record_hint(tmp_path, monkeypatch):
    import oracle

    if live():
        pytest.skip("TESTING_LIVE_ORACLE=1: the oracle runs live and reads no recording, nothing can be stale")
    if recorded("upstream_dist_sample.py") is None:
        pytest.skip("no recording for the installed torch: the oracle runs live, nothing can be stale")
    edited = tmp_path / "upstream_dist_sample.py"
    edited.write_text((FIXTURES / "upstream_dist_sample.py").read_text() + "\n# an edit\n")
    monkeypatch.setattr(oracle, "FIXTURES", tmp_path)
    with pytest.raises(StaleRecording) as info:
        oracle.upstream_outcomes("upstream_dist_sample.py")
    assert str(info.value).endswith("re-record: python tests/fixtures/record_upstream.py upstream_dist_sample.py")
    assert "changed since its oracle outcomes were recorded for torch" in str(info.value)


def test_the_stale_recording_check_skips_under_a_live_oracle(tmp_path, monkeypatch):
    """With TESTING_LIVE_ORACLE=1 no recording is read, so there is nothing stale to report: a skip
    that says so, not a failure."""
    monkeypatch.setenv("TESTING_LIVE_ORACLE", "1")
    with pytest.raises(pytest.skip.Exception, match="TESTING_LIVE_ORACLE=1"):
        test_a_sample_edited_after_its_recording_fails_with_the_re_record_hint(tmp_path, monkeypatch)


def test_fsdp_family_matches_upstream():
    """common_fsdp: FSDPTest (FSDP v1 parity against DDP over NestedWrappedModule,
    AlwaysWrapNestedWrappedModule and TransformerWithSharedParams; fully_shard with
    check_sharded_parity and patch_all_gather / patch_reduce_scatter counting calls; run_subtests;
    a failing rank; a device skip), FSDPTestMultiThread and FSDPTestContinuous on 2 CPU ranks.
    The sample reports two devices to torch's FSDPTest (which else skips without an accelerator);
    this harness runs it as a user would on a CPU machine, with --device cpu."""
    ours = outcomes(FIXTURES / "upstream_fsdp_sample.py", TESTING_DEVICE="cpu")
    assert ours == upstream_outcomes("upstream_fsdp_sample.py")
    assert ours["FSDPSample.test_nested_wrapped_parity"] == ("passed", "")
    assert ours["FSDPSample.test_fully_shard_counts_collectives"] == ("passed", "")
    assert ours["FSDPSample.test_rank_one_fails"] == ("error", "ValueError: rank one is broken")
    assert ours["FSDPSample.test_needs_four_devices"] == ("skipped", need_devices(4))
    assert ours["FSDPThreadSample.test_fully_shard_forward"] == ("passed", "")


def test_breadth_matches_upstream():
    """ShardedTensorTestBase/with_comms (nccl default skips, gloo runs a sharded tensor, RPC's device
    map errors without an accelerator as upstream's does), common_cuda flags, long-tail decorators of
    common_utils/common_distributed/common_device_type, two_tensor, distributed_utils, TestCase members."""
    ours = outcomes(FIXTURES / "upstream_breadth_sample.py")
    assert ours == upstream_outcomes("upstream_breadth_sample.py")
    assert ours["ShardedSample.test_nccl_default_needs_devices"] == ("skipped", need_devices(2))
    assert ours["ShardedSample.test_sharded_tensor_ops_on_gloo"] == ("passed", "")
    assert ours["DeviceSampleCPU.test_only_cuda_cpu"] == ("skipped", "Only runs on cuda")
    assert ours["LongTailSample.test_requires_cuda"] == ("skipped", "Requires CUDA")


def test_release_dependent_names_and_skips_are_the_installed_harness_s():
    """testing._core.versions against torch's own harness of the installed release: TEST_SKIPS
    (keys, codes, messages), which release-dependent names exist, and their upstream meaning."""
    import unittest

    import torch.testing._internal.common_device_type as up_device_type
    import torch.testing._internal.common_distributed as up_distributed
    import torch.testing._internal.common_utils as up_utils

    import testing.common_device_type as device_type
    import testing.common_distributed as distributed
    import testing.common_utils as utils

    assert {k: tuple(v) for k, v in distributed.TEST_SKIPS.items()} == {k: tuple(v) for k, v in up_distributed.TEST_SKIPS.items()}
    pairs = {"common_utils": (utils, up_utils), "common_distributed": (distributed, up_distributed),
             "common_device_type": (device_type, up_device_type)}
    gated = [e.name[len("name:"):].split(".") for e in versions.TABLE if e.name.startswith("name:")]
    assert gated
    for module, attr in gated:
        ours, theirs = pairs[module]
        assert hasattr(ours, attr) == hasattr(theirs, attr), f"{module}.{attr} on torch {versions.release()}"
        assert (attr in ours.__all__) == hasattr(theirs, attr)
        if not hasattr(theirs, attr):
            with pytest.raises(AttributeError, match=f"upstream has it from torch {versions.entry(f'name:{module}.{attr}').since} on"):
                getattr(ours, attr)
    if hasattr(up_utils, "HardwareClassification"):
        assert [(m.name, m.value) for m in utils.HardwareClassification] == [(m.name, m.value) for m in up_utils.HardwareClassification]
    if hasattr(up_distributed, "requires_xccl"):
        assert (getattr(distributed.requires_xccl()(lambda self: None), "__unittest_skip_why__", None)
                == getattr(up_distributed.requires_xccl()(lambda self: None), "__unittest_skip_why__", None))
    if hasattr(up_device_type, "Capability"):
        for category in ("dtype", "attention"):
            up_names = {k: v for k, v in vars(getattr(up_device_type.Capability, category)).items() if not k.startswith("_")}
            assert {k: v for k, v in vars(getattr(device_type.Capability, category)).items() if not k.startswith("_")} == up_names

        device_type_module = device_type  # the class body's own device_type shadows the module

        class OnCPU(unittest.TestCase):
            device_type = "cpu"

            @device_type_module.requires_capabilities(device_type_module.Capability.attention.mem_efficient_attention)
            def test_x(self):
                pass

        result = unittest.TestResult()
        OnCPU("test_x").run(result)
        assert [why for _, why in result.skipped] == ["Device 'cpu' has unsupported capabilities: attention.mem_efficient_attention"]
    if hasattr(up_utils, "periodic"):
        assert utils.TEST_WITH_PERIODIC == up_utils.TEST_WITH_PERIODIC
        for name in ("periodic", "requires_multigpu"):
            ours_fn, theirs_fn = getattr(utils, name)(lambda self: None), getattr(up_utils, name)(lambda self: None)
            assert getattr(ours_fn, "__unittest_skip__", False) == getattr(theirs_fn, "__unittest_skip__", False)
        assert utils.requires_xpu(lambda self: None).__unittest_skip_why__ == up_utils.requires_xpu(lambda self: None).__unittest_skip_why__
