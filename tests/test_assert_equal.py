"""assertEqual: same verdict, exception type and message as torch's own TestCase (the oracle)."""

import collections

import pytest
import torch

from testing.common_utils import TestCase


def _oracle():
    from torch.testing._internal.common_utils import TestCase as UpstreamTestCase  # oracle, tests only

    return UpstreamTestCase("run")


class _Ours(TestCase):
    def runTest(self):  # noqa: N802
        pass


CASES = [
    ("a", "a", {}),
    ("a", "b", {}),
    ("a", b"a", {}),
    (1, 1.0, {}),
    (True, 1, {}),
    (1.0, 1.0 + 1e-6, {}),
    (1.0, 1.0001, {}),
    (1, 2, {"msg": "custom msg"}),
    (torch.ones(2, dtype=torch.float32), torch.ones(2, dtype=torch.float64), {}),
    (torch.ones(2, dtype=torch.int64), torch.ones(2), {"exact_dtype": False}),
    (torch.ones(3), torch.ones(4), {}),
    (torch.tensor([1.0]), torch.tensor([1.0 + 1e-3]), {}),
    (torch.tensor([1.0]), torch.tensor([1.0]), {"atol": 1e-3}),
    (torch.tensor([2.0]), 2, {}),
    (torch.tensor([2.0, 3.0]), 2, {}),
    (torch.tensor([1.0, 2.0]), [1.0, 2.0], {}),
    (float("nan"), float("nan"), {}),
    (torch.tensor([1.0], dtype=torch.bfloat16), torch.tensor([1.01], dtype=torch.bfloat16), {}),
    ({"a": 1}, {"b": 1}, {}),
    ({"step": torch.tensor(1.0)}, {"step": torch.tensor(2.0)}, {}),
    (collections.OrderedDict(a=1), {"a": 1}, {}),
    ([1, 2], (1, 2), {}),
    ([1, 2], [1], {}),
    (None, None, {}),
    (None, 0, {}),
    (torch.device("cpu"), torch.device("cpu"), {}),
    (torch.device("cpu"), torch.device("meta"), {}),
    (torch.device("cpu"), "cpu", {}),
    (type(torch.ones(1)), torch.nn.Parameter, {}),
    ({1, 2}, {2, 1}, {}),
]


def outcome(test, x, y, kwargs):
    kwargs = dict(kwargs)
    msg = kwargs.pop("msg", None)
    try:
        test.assertEqual(x, y, msg, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__, str(exc)
    return "pass", ""


@pytest.mark.parametrize("x, y, kwargs", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_assert_equal_matches_upstream(x, y, kwargs):
    assert outcome(_Ours(), x, y, kwargs) == outcome(_oracle(), x, y, kwargs)


def test_dtensor_comparisons_match_upstream():
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor

    store = dist.HashStore()
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        mesh = init_device_mesh("cpu", (1,))
        a = distribute_tensor(torch.ones(4), mesh, [Shard(0)])
        b = distribute_tensor(torch.ones(4), mesh, [Replicate()])
        for x, y in ((a, a), (a, b), (a, torch.ones(4)), (Shard(0), Shard(dim=0)), (Shard(0), Replicate()), (mesh, mesh)):
            assert outcome(_Ours(), x, y, {}) == outcome(_oracle(), x, y, {})
        assert outcome(_Ours(), a, b, {})[0] == "AssertionError"
        assert outcome(_Ours(), a, torch.ones(4), {})[0] == "TypeError"
    finally:
        dist.destroy_process_group()
