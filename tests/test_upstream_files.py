"""Unmodified upstream files run on the harness: import redirection and the unsupported-API report."""

import subprocess
import sys

from helpers import FIXTURES, ROOT, clean_env, reports


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=clean_env(), timeout=300)


def test_redirected_imports_resolve_to_the_harness_and_never_fall_back():
    result = reports(FIXTURES / "upstream_runtime_import.py")
    assert result["TestRuntimeImports.test_provided_module_is_the_harness"]["outcome"] == "passed"
    assert result["TestRuntimeImports.test_torch_library_modules_still_load"]["outcome"] == "passed"
    assert result["TestRuntimeImports.test_suite_module_loads_from_torch_on_the_harness"]["outcome"] == "passed"
    refused = result["TestRuntimeImports.test_unprovided_module_is_refused"]
    assert refused["outcome"] == "error"
    assert refused["message"] == ("testing._fork.redirect.UnsupportedUpstreamAPI: unsupported upstream API: module "
                                  "torch.testing._internal.hop_db is not provided by testing")


EXPECTED_MISSING = ("unsupported upstream API: torch.testing._internal.common_distributed.NoSuchTestCase, "
                    "torch.testing._internal.common_utils.skipIfNoSuchThing, torch.testing._internal.hop_db")


def test_unsupported_api_is_one_error_entry_naming_every_missing_symbol(tmp_path):
    proc = run(ROOT / "run_test.py", FIXTURES / "upstream_unsupported.py", "--xml", tmp_path / "xml", cwd=tmp_path)
    assert proc.returncode == 1
    assert EXPECTED_MISSING in proc.stdout
    assert "ERROR    <" in proc.stdout and "upstream_unsupported.py>" in proc.stdout
    xml = next((tmp_path / "xml").iterdir()).read_text()
    assert "<error" in xml and "torch.testing._internal.hop_db" in xml


def test_python_m_testing_runs_an_upstream_file_and_refuses_unsupported_ones():
    ok = run("-m", "testing", FIXTURES / "upstream_dist_sample.py", "-k", "all_reduce")
    assert ok.returncode == 0 and "Ran 2 tests" in ok.stderr
    bad = run("-m", "testing", FIXTURES / "upstream_unsupported.py")
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"testing: error: {EXPECTED_MISSING} (not provided by testing; see docs/differences.md, 'Names it does not provide')"
    missing = run("-m", "testing", "no/such/file.py")
    assert missing.returncode == 2 and missing.stderr.strip() == "testing: error: no such file: no/such/file.py"


def test_unmodified_seed_module_runs_on_cpu_ranks():
    upstream = ROOT / "upstream/test/distributed/fsdp/test_fsdp_dtensor_state_dict.py"
    result = reports(upstream, TESTING_DEVICE="cpu")
    expected = (ROOT / "upstream/test/distributed/fsdp/test_fsdp_dtensor_state_dict.ids_cpu.txt").read_text().split()
    assert sorted(result) == sorted(expected)
    assert {r["outcome"] for r in result.values()} == {"passed"}


def test_harness_imports_nothing_from_torchs_private_harness():
    """Beyond what ``import torch`` and torch's FSDP package themselves load (common_dtype,
    logging_tensor, distributed.fake_pg), importing every
    module of testing/ adds no torch.testing._internal module."""
    code = (
        "import sys, torch, torch.distributed.fsdp  # torch's own FSDP package loads its fake_pg\n"
        "before = {k for k in sys.modules if k.startswith('torch.testing._internal')}\n"
        "import testing.common_utils, testing.common_device_type, testing.common_distributed\n"
        "import testing.common_fsdp, testing.distributed._tensor.common_dtensor\n"
        "import testing._runner.cli, testing._runner.worker, testing.port, testing._fork.redirect, testing._fork.expectations\n"
        "import testing._ranks.emulation, testing._ranks.engine, testing._ranks.zygote\n"
        "print(sorted(k for k in sys.modules if k.startswith('torch.testing._internal') and k not in before))\n"
    )
    proc = run("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_helpers_sample_on_cpu_ranks_runs_composite_backends_and_leaves_no_temp_dir(tmp_path):
    """--device cpu: a class's composite backend keeps its CPU part (gloo), backend build checks
    still skip, and with_temp_dir's directory goes with the test's work directory."""
    result = reports(FIXTURES / "upstream_utils_sample.py", TESTING_DEVICE="cpu", TMPDIR=str(tmp_path))
    assert result["CompositeBackendSample.test_composite_backend"]["outcome"] == "passed"
    assert result["TempDirSample.test_temp_dir_is_shared"]["outcome"] == "passed"
    import torch.distributed as dist

    if dist.is_nccl_available():  # a CUDA build (2.14.1+cu130, 2.15.0+cu132): the build check passes, the CPU ranks' group is gloo
        assert result["TempDirSample.test_requires_nccl"]["outcome"] == "error"
        assert result["TempDirSample.test_requires_nccl"]["message"].endswith("'gloo' != 'nccl'")
    else:  # a CPU build (2.13.0+cpu): skipped, as upstream
        assert result["TempDirSample.test_requires_nccl"]["outcome"] == "skipped"
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("torchinductor_")] == []


def test_with_temp_dir_waits_for_every_rank_before_removing(tmp_path):
    """Difference from upstream up to torch 2.14: its rank 0 removes the directory as soon as its own
    test body returns, so a slower rank finds it gone; here the ranks meet first. torch 2.15's
    with_temp_dir has the barrier too: there upstream passes as well."""
    from testing._core import versions

    ours = reports(FIXTURES / "tempdir_slow_rank.py", TMPDIR=str(tmp_path))
    assert ours["SlowReader.test_late_read"]["outcome"] == "passed"
    upstream = reports(FIXTURES / "tempdir_slow_rank.py", upstream=True)
    if versions.current("with_temp_dir_waits_for_ranks"):
        assert upstream["SlowReader.test_late_read"]["outcome"] == "passed"
    else:
        # upstream: rank 1's check fails, or gloo reports rank 0 leaving first; either way not a pass
        assert upstream["SlowReader.test_late_read"]["outcome"] in ("failed", "error")


def test_a_32_rank_world_with_a_3d_mesh_runs_unmodified():
    """world_size up to 32: an upstream-style class on 32 CPU ranks, a (2, 4, 4) mesh."""
    result = reports(FIXTURES / "upstream_large_world.py")
    assert result["LargeWorld.test_three_dim_mesh_collectives"]["outcome"] == "passed", result
