"""Same files under torch's own harness (the oracle) and under testing: same ids, same outcomes.

The fixtures are written against upstream's import paths; the port is the mechanical import
rewrite. The distributed sample runs upstream's harness at world size 2 (about 5 s a test).
"""

import pytest

from helpers import FIXTURES, outcomes, port_file


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
    upstream = outcomes(FIXTURES / "upstream_dist_sample.py", upstream=True)
    for ours in (outcomes(ported), outcomes(FIXTURES / "upstream_dist_sample.py")):  # ported; unmodified
        assert sorted(ours) == sorted(upstream)
        assert {k: v[0] for k, v in ours.items()} == {k: v[0] for k, v in upstream.items()}
        skip_id = "TestDistSampleCPU.test_needs_two_gpus_cpu"
        assert ours[skip_id] == upstream[skip_id] == ("skipped", "Need at least 2 CUDA devices")
        assert ours["TestDistSampleCPU.test_rank_raises_cpu"] == ("error", "ValueError: rank one is broken")
