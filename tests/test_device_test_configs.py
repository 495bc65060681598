"""The hooks upstream's common_device_type gives out-of-tree backends (PrivateUse1TestBase,
set_test_configs, test_exclusions, op_allowlist, op_overrides, bypass_device_restrictions),
checked side by side with the installed torch's own harness, in-process."""

import types
import unittest

import pytest

import testing.common_device_type as ours
import testing.common_utils as ours_utils

upstream = pytest.importorskip("torch.testing._internal.common_device_type")
import torch.testing._internal.common_utils as upstream_utils  # noqa: E402

HARNESSES = [(ours, ours_utils), (upstream, upstream_utils)]


def _instantiated(cdt, utils, configs):
    """{class name: sorted tests} that instantiate_device_type_tests makes on CPU under ``configs``."""
    made = {}
    try:
        cdt.CPUTestBase.set_test_configs(**configs)
        for name in ("TestKept", "TestGone"):
            generic = type(name, (utils.TestCase,), {"test_a": lambda self: None, "test_b": lambda self: None})
            scope = {name: generic}
            cdt.instantiate_device_type_tests(generic, scope, only_for="cpu")
            made.update({k: sorted(m for m in vars(v) if m.startswith("test")) for k, v in scope.items()})
    finally:
        cdt.CPUTestBase.set_test_configs()
    return made


def test_test_exclusions_leave_out_tests_and_classes_as_upstreams():
    configs = {"test_exclusions": {"TestKept": ["test_a"], "TestGone": "*"}}
    made = [_instantiated(cdt, utils, configs) for cdt, utils in HARNESSES]
    assert made[0] == made[1] == {"TestKeptCPU": ["test_b_cpu"]}
    assert ours.CPUTestBase.test_exclusions is None  # set_test_configs() with no argument resets
    assert [_instantiated(cdt, utils, {}) for cdt, utils in HARNESSES][0] == {
        "TestKeptCPU": ["test_a_cpu", "test_b_cpu"], "TestGoneCPU": ["test_a_cpu", "test_b_cpu"]}


def _ops():
    op = lambda name: types.SimpleNamespace(full_name=name, decorators=())  # noqa: E731
    return types.SimpleNamespace(op_list=[op("add"), op("mul"), op("linalg.norm")])


def test_op_allowlist_and_op_overrides_shape_an_ops_list_as_upstreams():
    seen = []
    for cdt, _ in HARNESSES:
        decorate = types.SimpleNamespace(device_type=None)
        ops = _ops()
        try:
            cdt.CPUTestBase.set_test_configs(op_allowlist=["add", "linalg.norm"], op_overrides={"add": [decorate], "sub": []})
            cdt.CPUTestBase._apply_op_allowlist(ops)
            cdt.CPUTestBase._apply_op_overrides(ops)
        finally:
            cdt.CPUTestBase.set_test_configs()
        seen.append([(op.full_name, [d.device_type for d in op.decorators]) for op in ops.op_list])
    assert seen[0] == seen[1] == [("add", ["cpu"]), ("linalg.norm", [])]


def test_bypass_device_restrictions_lets_only_on_tests_run_as_upstreams():
    for cdt, _ in HARNESSES:
        ran = []
        gated = cdt.onlyOn("mps")(lambda self: ran.append(self.device_type))
        with pytest.raises(unittest.SkipTest, match="Only runs on mps"):
            gated(types.SimpleNamespace(device_type="cpu", bypass_device_restrictions=cdt.CPUTestBase.bypass_device_restrictions))
        gated(types.SimpleNamespace(device_type="cpu", bypass_device_restrictions=True))
        assert ran == ["cpu"]


def test_privateuse1_test_base_has_upstreams_members():
    wanted = {name for name in vars(upstream.PrivateUse1TestBase) if not name.startswith("__")}
    assert wanted <= {name for name in dir(ours.PrivateUse1TestBase)}
    assert ours.PrivateUse1TestBase.device_type == upstream.PrivateUse1TestBase.device_type == "privateuse1"
    for member in ("set_test_configs", "op_overrides", "op_allowlist", "test_exclusions", "bypass_device_restrictions"):
        assert getattr(ours.DeviceTypeTestBase, member, "missing") == getattr(upstream.DeviceTypeTestBase, member) or callable(
            getattr(ours.DeviceTypeTestBase, member))
    with pytest.raises(AssertionError, match="torch has no module of `privateuseone`"):
        type("Probe", (ours.PrivateUse1TestBase,), {}).setUpClass()


def test_surface_census_counts_these_members_and_the_run_tests_flags():
    import importlib.util

    from helpers import ROOT

    spec = importlib.util.spec_from_file_location("surface", ROOT / "bench" / "surface.py")
    surface = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(surface)
    hooks = {"set_test_configs", "op_allowlist", "op_overrides", "test_exclusions", "bypass_device_restrictions"}
    for side in ("upstream", "testing"):
        members = surface.class_members(side)
        assert hooks <= set(members["common_device_type:DeviceTypeTestBase"]), side
        assert hooks <= set(members["common_device_type:PrivateUse1TestBase"]), side
    assert surface.run_tests_flags("testing") == surface.run_tests_flags("upstream")
