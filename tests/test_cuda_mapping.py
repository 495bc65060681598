"""``--map-cuda``: tests written with CUDA names run on the selected device.

The configuration, the table's decision and the reports are checked in this process; the mode
itself (it patches torch.cuda and pushes a torch-function mode for the life of a process) only in
subprocesses: one run of the CUDA-named sample on CPU ranks with the mode (outcomes, the run's line,
JUnit, the unmappable API's one line), one without it, one on the fake plug-in device.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import torch

from helpers import FIXTURES, ROOT, clean_env, unittest_verdicts
from testing._core import config as _config
from testing._core import cuda_calls, cuda_install, cuda_mapping, notices, repro
from testing._runner import cli, junit
from testing._runner.result import TestReport as Report  # not a test class for pytest

SAMPLE = FIXTURES / "cuda_named" / "cuda_named_sample.py"
PLUGIN = FIXTURES / "plugin"
UNMAPPED = "--map-cuda: torch.cuda.memory_allocated has no equivalent on cpu"


def run(tmp_path, *args, **env):
    return subprocess.run([sys.executable, str(ROOT / "run_test.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=tmp_path, env=clean_env(**env), timeout=600)


# -- configuration and the table's decision (in process) -------------------------------------
def test_flag_and_variable_give_the_mode_and_children_inherit_it():
    argv = ["test_x.py", "--map-cuda", "--device", "cpu", "-v"]
    assert _config.pop_module_flags(argv) == {"TESTING_MAP_CUDA": "1", "TESTING_DEVICE": "cpu"}
    assert argv == ["test_x.py", "-v"]
    config = _config.from_environment({"TESTING_MAP_CUDA": "1", "TESTING_DEVICE": "cpu"})
    assert config.map_cuda and config.to_environment()["TESTING_MAP_CUDA"] == "1"
    assert not _config.from_environment({}).map_cuda
    assert "TESTING_MAP_CUDA" not in _config.from_environment({"TESTING_DEVICE": "cpu"}).to_environment()
    with pytest.raises(_config.UsageError, match="TESTING_MAP_CUDA must be 0 or 1, got 'yes'"):
        _config.from_environment({"TESTING_MAP_CUDA": "yes"})


def test_mode_without_a_device_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(_config.UsageError, match=r"--map-cuda \(TESTING_MAP_CUDA\) needs a device selection"):
        _config.validate_device(_config.Config(map_cuda=True))
    assert cli.main(["--map-cuda", str(SAMPLE)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a device selection" in err


def test_table_decides_what_cuda_means():
    cpu = cuda_mapping.target_for(_config.Config(device="cpu", map_cuda=True, world_size=3))
    assert (cpu.device_type, cpu.count, cpu.module, str(cpu.device(2))) == ("cpu", 3, None, "cpu")
    assert cuda_mapping.target_for(_config.Config(device="cpu", map_cuda=True)).count == _config.DEFAULT_WORLD_SIZE
    assert cuda_mapping.target_for(_config.Config(device="cpu")) is None  # off unless asked for
    assert cuda_mapping.target_for(_config.Config(device="cuda", map_cuda=True)) is None


def test_device_cuda_ignores_the_mode_and_says_so(monkeypatch):
    said: list[str] = []
    monkeypatch.setattr(notices, "notice", said.append)
    monkeypatch.setattr(cuda_install, "_announced_cuda", False)
    assert cuda_install.install(_config.Config(device="cuda", map_cuda=True)) is None
    assert cuda_mapping.active() is None and said == [cuda_mapping.NO_EFFECT]
    assert cuda_mapping.announcement(_config.Config(device="cuda", map_cuda=True)) == cuda_mapping.NO_EFFECT


def test_an_unmapped_stand_in_keeps_what_torch_reads_of_the_original():
    # torch._dynamo (2.14 on) reads torch.cuda.use_mem_pool.__wrapped__ when imported, as DTensor does
    original = torch.cuda.use_mem_pool
    stand_in = cuda_calls._not_mapped("use_mem_pool", "cpu", original)
    assert stand_in.__wrapped__ is original.__wrapped__
    with pytest.raises(cuda_mapping.CudaNotMapped, match="torch.cuda.use_mem_pool has no equivalent on cpu"):
        stand_in()


def test_reports_carry_the_mode(tmp_path):
    config = _config.Config(device="cpu", map_cuda=True)
    report = Report(id="A.test_b", outcome="passed", file="t.py")
    path = junit.write(tmp_path, "t", [report], 1.0, suite_properties=cuda_mapping.junit_properties(config))
    suite = ET.parse(path).getroot().find("testsuite")
    assert [(p.get("name"), p.get("value")) for p in suite.iter("property")] == [("map_cuda", "cpu")]
    assert cuda_mapping.junit_properties(_config.Config(device="cpu")) == {}
    rerun = repro.command(_config.Config(device="cpu", map_cuda=True, runner="run_test.py"), "t.py", "A.test_b")
    assert rerun == "run_test.py --device cpu --map-cuda t.py -k A.test_b"


# -- the mode in test processes and ranks (subprocesses) -------------------------------------
def test_cuda_named_sample_runs_on_cpu_ranks_and_an_unmappable_api_fails_with_one_line(tmp_path):
    proc = run(tmp_path, SAMPLE, "--device", "cpu", "--map-cuda", "--xml", "xml")
    out = proc.stdout
    said = [line for line in out.splitlines() if "mapped to" in line]  # once per run, before the files
    assert said == ['CUDA names (torch.cuda, .cuda(), device="cuda") are mapped to cpu (CPU ranks; torch.cuda.device_count() is 4)'], out
    assert out.index(said[0]) < out.index("=== ")
    for test in ("CudaControls.test_controls", "CudaTensors.test_tensors", "CudaDTensor.test_dtensor_from_cuda_tensor",
                 "CudaDecoratorsCPU.test_only_cuda_cpu", "CudaDecoratorsCPU.test_dtypes_if_cuda_cpu_float32",
                 "CudaAutocast.test_autocast_cuda"):
        assert f"PASSED   {test} " in out, out
    assert "SKIPPED  CudaDecoratorsCPU.test_skip_cuda_if_cpu" in out  # skipCUDAIf follows the mapping
    assert "ERROR    UnmappedCudaAPI.test_memory_allocated" in out and f"CudaNotMapped: {UNMAPPED}\n" in out
    assert "hint: the test calls CUDA" not in out  # the mode is on: no hint toward it
    assert "rerun: python" in out and "--device cpu --map-cuda " in out
    assert out.rstrip().splitlines()[-1] == "6 passed, 1 failed, 1 skipped"
    suite = ET.parse(tmp_path / "xml" / "cuda_named_sample.xml").getroot().find("testsuite")
    assert [(p.get("name"), p.get("value")) for p in suite.findall("properties/property")] == [("map_cuda", "cpu")]


def module(*args, **env):
    """The sample run as upstream runs a file (its own command line), in one interpreter."""
    return subprocess.run([sys.executable, str(SAMPLE), *args, "-v"], capture_output=True, text=True, cwd=ROOT,
                          env=clean_env(**env), timeout=600)


def test_without_the_mode_the_sample_fails_on_cpu_ranks():
    out = module("--device", "cpu", "-k", "CudaControls", "-k", "CudaTensors", "-k", "Decorators").stderr
    assert "mapped to" not in out
    found = unittest_verdicts(out)
    assert found["CudaControls.test_controls"] == "FAIL", out
    assert "torch.cuda.device_count() gives no world" in out
    assert found["CudaTensors.test_tensors"] == "ERROR" and "_cuda_setDevice" in out
    # the failure says where the way out is, once per failed distributed test
    assert out.count("hint: the test calls CUDA, which this run does not have; --device cpu --map-cuda "
                     "runs its CUDA names on cpu (docs/cuda-mapping.md)") >= 1, out
    assert found["CudaDecoratorsCPU.test_only_cuda_cpu"] == "skipped 'Only runs on cuda'"
    assert found["CudaDecoratorsCPU.test_dtypes_if_cuda_cpu_float64"] == "FAIL"


def test_plugin_device_gets_the_mapping_from_its_row_and_runs_the_whole_sample():
    """The fake device (a Python PrivateUse1 backend whose tensors hold CPU data) runs every test of
    the sample: torch.cuda's controls through its own module, CUDA-named tensors, a collective and
    DTensor on its tensors. The ranks' lines (printed with -v) say where the tensors were."""
    proc = module("--device", "fakedev", "--map-cuda", PYTHONPATH=f"{ROOT}:{PLUGIN}",
                  TESTING_DEVICE_PLUGINS="fake_device_plugin")
    out = proc.stderr + proc.stdout
    assert 'CUDA names (torch.cuda, .cuda(), device="cuda") are mapped to fakedev (torch.fakedev)' in out, out
    assert unittest_verdicts(proc.stderr) == {
        "CudaControls.test_controls": "ok", "CudaTensors.test_tensors": "ok",
        "CudaDTensor.test_dtensor_from_cuda_tensor": "ok",
        "CudaDecoratorsPRIVATEUSE1.test_dtypes_if_cuda_fakedev_float32": "ok",
        "CudaDecoratorsPRIVATEUSE1.test_only_cuda_fakedev": "ok",
        "CudaDecoratorsPRIVATEUSE1.test_skip_cuda_if_fakedev": "skipped 'skipCUDAIf follows the mapping'",
        "CudaAutocast.test_autocast_cuda": "ok",  # the plug-in registers its own autocast kernels
        "UnmappedCudaAPI.test_memory_allocated": "ERROR",  # fails on purpose: the plug-in has no allocator
    }, out
    for rank in (0, 1):  # all_reduce of (rank + 1) on each rank, done on the device's tensors
        line = f"rank {rank}: all_reduce of a FakeDeviceTensor on fakedev:0 gave [3.0, 3.0]; grad on fakedev:0"
        assert line in out, out
    assert "rank 0: shard of a FakeDeviceTensor on fakedev:0 holds [[0.0, 1.0], [2.0, 3.0]]" in out
    assert "rank 1: shard of a FakeDeviceTensor on fakedev:0 holds [[4.0, 5.0], [6.0, 7.0]]" in out
    assert proc.stderr.rstrip().endswith("FAILED (errors=1, skipped=1)") and proc.returncode == 1, out
    # torch.accelerator has the call, the plug-in has no allocator behind it: still the one-line reason
    assert re.search(r"CudaNotMapped: --map-cuda: torch.cuda.memory_allocated has no equivalent on fakedev "
                     r"\(torch.accelerator.memory_allocated: .+\)$", proc.stderr, re.M), out


def test_a_failure_for_calling_cuda_points_at_the_mode_only_when_it_would_help():
    """failures.failure_block (run_test.py's failures section, pytest's report) ends with the hint
    when a test failed for calling CUDA on another device without --map-cuda."""
    from testing._runner import failures

    report = Report("T.test_x", "failed", message="AssertionError: Torch not compiled with CUDA enabled",
                        details="Traceback (most recent call last):\nAssertionError: Torch not compiled with CUDA enabled")
    hint = ("hint: the test calls CUDA, which this run does not have; --device xpu --map-cuda runs its CUDA "
            "names on xpu (docs/cuda-mapping.md)")
    assert failures.failure_block(report, "short", _config.Config(device="xpu"))[-1] == hint
    for config in (_config.Config(device="xpu", map_cuda=True), _config.Config(device="cuda")):
        assert not any(line.startswith("hint:") for line in failures.failure_block(report, "short", config))
    forked = Report("T.test_z", "error", message="RuntimeError: Cannot re-initialize CUDA in forked subprocess. ...",
                    details="")  # a CUDA build: the test process probed CUDA before the ranks forked
    assert failures.failure_block(forked, "short", _config.Config(device="cpu"))[-1].startswith("hint: ")
    assert not any(line.startswith("hint:") for line in failures.failure_block(forked, "short", _config.Config()))
    other = Report("T.test_y", "failed", message="AssertionError: Scalars are not equal!", details="")
    assert not any(line.startswith("hint:") for line in failures.failure_block(other, "short", _config.Config(device="cpu")))


PLAIN_CUDA = '''import torch
from torch.testing._internal.common_utils import TestCase, run_tests


class Plain(TestCase):
    def test_plain_cuda(self):
        torch.ones(1).cuda()


if __name__ == "__main__":
    run_tests()
'''


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA: the test calls it")
def test_a_plain_test_calling_cuda_gets_the_hint_in_a_direct_run_and_under_pytest(tmp_path):
    path = tmp_path / "test_plain_cuda.py"
    path.write_text(PLAIN_CUDA)
    hint = "hint: the test calls CUDA, which this run does not have; --device cpu --map-cuda runs its CUDA names on cpu"
    direct = subprocess.run([sys.executable, "-m", "testing", str(path), "--device", "cpu"], capture_output=True,
                            text=True, cwd=ROOT, env=clean_env(), timeout=300)
    assert direct.returncode == 1 and direct.stderr.count(hint) == 1, direct.stderr
    under_pytest = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--redirect-upstream",
                                   "--device", "cpu", str(path)], capture_output=True, text=True, cwd=tmp_path,
                                  env=clean_env(), timeout=300)
    assert under_pytest.returncode == 1 and under_pytest.stdout.count(hint) == 1, under_pytest.stdout
    mapped = subprocess.run([sys.executable, "-m", "testing", str(path), "--device", "cpu", "--map-cuda"],
                            capture_output=True, text=True, cwd=ROOT, env=clean_env(), timeout=300)
    assert mapped.returncode == 0 and "hint:" not in mapped.stderr, mapped.stderr
