"""Upstream TestCase members beyond unittest's that tests call, and a clear error for the rest.

`UpstreamMembers` is a mixin of TestCase: expect files (``assertExpected``), subprocess helpers
(``run_process_no_exception``, ``_attempt_load_from_subprocess``), sparse generators, comparison
helpers and the device memory-leak check, with upstream's semantics. ``UPSTREAM_MEMBERS`` lists
every member upstream 2.13's ``common_utils.TestCase`` adds to unittest's; one of them that this
harness does not provide raises "unsupported upstream API: common_utils.TestCase.NAME", never a
bare AttributeError.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import re
import subprocess
import sys
import unittest
import unittest.mock
import warnings
from collections.abc import Iterable
from typing import Any, Callable, Optional

import expecttest
import numpy as np
import torch

from testing._core.config import process_environment
from testing._core import devices as _devices

# Members of upstream 2.13's common_utils.TestCase that unittest.TestCase lacks (its own __dict__,
# dunders left out), as data: the reference for the unsupported-member message.
UPSTREAM_MEMBERS = (
    "_precision", "_rel_tol", "_default_dtype_check_enabled", "_prev_torch_function_mode_stack_len",
    "_prev_torch_function_state", "_should_stop_test_suite", "precision", "rel_tol",
    "_do_cuda_memory_leak_check", "_do_cuda_non_default_stream", "_ignore_not_implemented_error",
    "assertLeaksNoCudaTensors", "before_cuda_memory_leak_check", "enforceNonDefaultStream",
    "_remove_ansi_escape", "remove_comment_lines", "remove_empty_lines", "assertExpectedInline",
    "assertExpectedInlineMunged", "wrap_with_cuda_policy", "wrap_with_policy", "wrap_method_with_policy",
    "wrap_with_cuda_memory_check", "_dynamo_test_key", "compile_fn", "_run_custom", "_make_crow_indices",
    "genSparseCompressedTensor", "genSparseCSRTensor", "genSparseCSCTensor", "genSparseBSRTensor",
    "genSparseBSCTensor", "genSparseTensor", "generate_simple_inputs", "safeToDense",
    "compare_with_reference", "compare_with_numpy", "assertEqualIgnoreType", "assertEqualBroadcasting",
    "assertEqualTypeString", "assertObjectIn", "assertNoUnraisable", "assertExpectedRaises",
    "assertNotWarn", "assertWarnsOnceRegex", "assertExpected", "assertExpectedStripMangled",
    "assertGreaterAlmostEqual", "assertAtenOp", "check_nondeterministic_alert", "run_process_no_exception",
    "runWithPytorchAPIUsageStderr", "_attempt_load_from_subprocess", "_classSetupFailed", "_class_cleanups",
)
_UPSTREAM_MEMBER_SET = frozenset(UPSTREAM_MEMBERS)


def unsupported_member_message(name: str) -> str:
    """The message for an upstream TestCase member this harness lacks (wording of redirect's report)."""
    return (f"unsupported upstream API: common_utils.TestCase.{name} (not provided by testing; see "
            "docs/differences.md, 'Names it does not provide')")


def missing_member(owner: object, name: str) -> AttributeError:
    """The AttributeError for a failed lookup of ``name``: the unsupported message for upstream members."""
    if name in _UPSTREAM_MEMBER_SET:
        return AttributeError(unsupported_member_message(name), name=name, obj=owner)
    return AttributeError(f"{type(owner).__name__!r} object has no attribute {name!r}", name=name, obj=owner)


def _numpy_dtype(dtype: torch.dtype) -> Any:
    return np.float32 if dtype is torch.bfloat16 else torch.empty((), dtype=dtype).numpy().dtype


class DeviceMemoryLeakCheck:
    """Upstream's CudaMemoryLeakCheck over every accelerator of the device table with an allocator
    (``memory_allocated``); nothing to check where there is none (CPU ranks)."""

    def __init__(self, testcase: Any, name: Optional[str] = None) -> None:
        self.name = testcase.id() if name is None else name
        self.testcase = testcase
        self.modules = []
        from testing._core.config import get_config

        if not get_config().emulating and not any(row.present() for row in _devices.accelerators()):
            # upstream's initialize_cuda_context_rng; CPU ranks (--device cpu) have nothing to check
            raise AssertionError("CUDA must be available when calling initialize_cuda_context_rng")
        for row in _devices.accelerators():
            module = getattr(torch, row.name, None)
            if row.present() and module is not None and hasattr(module, "memory_allocated"):
                self.modules.append((row.name, module, row.count()))
        for device, _module, count in self.modules:  # context and RNG first, so they do not read as leaks
            for i in range(count):
                torch.randn(1, device=torch.device(device, i))

    def _allocated(self) -> list[list[int]]:
        return [[module.memory_allocated(i) for i in range(count)] for _, module, count in self.modules]

    def __enter__(self) -> DeviceMemoryLeakCheck:
        gc.collect()
        for _, module, _count in self.modules:
            module.empty_cache()
        self.befores = self._allocated()
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is not None:
            return
        self.testcase.before_cuda_memory_leak_check()
        gc.collect()
        for _, module, _count in self.modules:
            module.empty_cache()
        for (device, _module, _count), before, after in zip(self.modules, self.befores, self._allocated()):
            for i, (b, a) in enumerate(zip(before, after)):
                if a > b:
                    raise RuntimeError(
                        f"{device.upper()} caching allocator reports a memory leak in {self.name}! "
                        f"Caching allocator allocated memory was {b} and is now reported as {a} on device {i}.")


class DeterministicGuard:
    """Set torch's deterministic-algorithms mode for a block, restoring it afterwards."""

    def __init__(self, deterministic: bool, *, warn_only: bool = False, fill_uninitialized_memory: bool = True) -> None:
        self.deterministic = deterministic
        self.warn_only = warn_only
        self.fill_uninitialized_memory = fill_uninitialized_memory

    @classmethod
    def _current_state(cls) -> DeterministicGuard:
        return cls(torch.are_deterministic_algorithms_enabled(),
                   warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
                   fill_uninitialized_memory=torch.utils.deterministic.fill_uninitialized_memory)

    def _update(self) -> None:
        torch.use_deterministic_algorithms(self.deterministic, warn_only=self.warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = self.fill_uninitialized_memory

    def __enter__(self) -> None:
        self._restore = self._current_state()
        self._update()

    def __exit__(self, *exc: Any) -> None:
        self._restore._update()



class UpstreamMembers:
    """Upstream TestCase members that distributed tests call (see the module docstring)."""

    _default_dtype_check_enabled = False
    _do_cuda_memory_leak_check = False
    _do_cuda_non_default_stream = False
    _ignore_not_implemented_error = False

    def __getattr__(self, name: str) -> Any:
        raise missing_member(self, name)

    # -- device memory ---------------------------------------------------------------------------
    def assertLeaksNoCudaTensors(self, name: Optional[str] = None) -> DeviceMemoryLeakCheck:  # noqa: N802
        return DeviceMemoryLeakCheck(self, name)

    def before_cuda_memory_leak_check(self) -> None:
        pass

    # -- strings ---------------------------------------------------------------------------------
    def _remove_ansi_escape(self, input: str) -> str:
        return re.sub(r"\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])", "", input)

    def remove_comment_lines(self, input_string: str) -> str:
        return "\n".join(line for line in input_string.split("\n") if not line.strip().startswith("#"))

    def remove_empty_lines(self, input_string: str) -> str:
        return "\n".join(line for line in input_string.split("\n") if line.strip() != "")

    # -- sparse ----------------------------------------------------------------------------------
    def genSparseTensor(self, size: Any, sparse_dim: int, nnz: int, is_uncoalesced: bool, device: Any, dtype: torch.dtype) -> tuple:  # noqa: N802
        if not (all(size[d] > 0 for d in range(sparse_dim)) or nnz == 0):
            raise AssertionError(f"invalid arguments: size={size}, sparse_dim={sparse_dim}, nnz={nnz}")
        v_size = [nnz] + list(size[sparse_dim:])
        v = torch.testing.make_tensor(v_size, device=device, dtype=dtype, low=-1, high=1)
        i = torch.rand(sparse_dim, nnz, device=device)
        i.mul_(torch.tensor(size[:sparse_dim]).unsqueeze(1).to(i))
        i = i.to(torch.long)
        if is_uncoalesced:
            i = torch.cat([i[:, : (nnz // 2), ...], i[:, : ((nnz + 1) // 2), ...]], 1)
        x = torch.sparse_coo_tensor(i, v, torch.Size(size), dtype=dtype, device=device)
        x = x.detach().clone()._coalesced_(False) if is_uncoalesced else x.coalesce()
        return x, x._indices().clone(), x._values().clone()

    def safeToDense(self, t: torch.Tensor) -> torch.Tensor:  # noqa: N802
        return (t.coalesce() if t.layout == torch.sparse_coo else t).to_dense()

    # -- comparisons -----------------------------------------------------------------------------
    def compare_with_reference(self, torch_fn: Callable, ref_fn: Callable, sample_input: Any, **kwargs: Any) -> None:
        numpy_sample = sample_input.numpy()
        actual = torch_fn(sample_input.input, *sample_input.args, **sample_input.kwargs)
        expected = ref_fn(numpy_sample.input, *numpy_sample.args, **numpy_sample.kwargs)
        self.assertEqual(actual, expected, exact_device=False, **kwargs)

    def compare_with_numpy(self, torch_fn: Callable, np_fn: Callable, tensor_like: Any,
                           device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        if isinstance(tensor_like, torch.Tensor):
            if device is not None:
                raise AssertionError("device must be None when tensor_like is a Tensor")
            if dtype is not None:
                raise AssertionError("dtype must be None when tensor_like is a Tensor")
            t_cpu = tensor_like.detach().cpu()
            a = (t_cpu.float() if t_cpu.dtype is torch.bfloat16 else t_cpu).numpy()
            t = tensor_like
        else:
            a = np.array(tensor_like, dtype=_numpy_dtype(dtype))
            t = torch.tensor(tensor_like, device=device, dtype=dtype)
        np_result = np_fn(a)
        torch_result = torch_fn(t).cpu()
        if isinstance(np_result, np.ndarray):
            try:
                np_result = torch.from_numpy(np_result)
            except Exception:
                np_result = torch.from_numpy(np_result.copy())
            if t.dtype is torch.bfloat16 and torch_result.dtype is torch.bfloat16 and np_result.dtype is torch.float:
                torch_result = torch_result.to(torch.float)
        self.assertEqual(np_result, torch_result, **kwargs)

    def assertEqualBroadcasting(self, x: Any, y: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        if not isinstance(y, Iterable):
            y = torch.ones_like(x) * y
        if not isinstance(y, torch.Tensor):
            y = torch.ones_like(x) * torch.tensor(y)
        return self.assertEqual(x, y, *args, **kwargs)

    def assertEqualTypeString(self, x: torch.Tensor, y: torch.Tensor) -> None:  # noqa: N802
        self.assertEqual(x.device, y.device)
        self.assertEqual(x.dtype, y.dtype)
        self.assertEqual(x.is_sparse, y.is_sparse)

    def assertObjectIn(self, obj: Any, iterable: Iterable[Any]) -> None:  # noqa: N802
        if not any(id(obj) == id(elem) for elem in iterable):
            raise AssertionError("object not found in iterable")

    def assertGreaterAlmostEqual(self, first: Any, second: Any, places: Optional[int] = None, msg: Any = None, delta: Any = None) -> None:  # noqa: N802
        if delta is not None and places is not None:
            raise TypeError("specify delta or places not both")
        if first >= second:
            return
        diff = second - first
        if delta is not None:
            if diff <= delta:
                return
            standard = f"{first} not greater than or equal to {second} within {delta} delta"
        else:
            places = 7 if places is None else places
            if round(diff, places) == 0:
                return
            standard = f"{first} not greater than or equal to {second} within {places} places"
        raise self.failureException(self._formatMessage(msg, standard))

    def assertNoUnraisable(self, callable: Callable, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        raised = None

        def record_unraisable(unraisable: Any) -> None:
            nonlocal raised
            raised = unraisable

        enabled = gc.isenabled()
        gc.disable()  # no collection inside the callable: it would make the check flaky
        try:
            with unittest.mock.patch("sys.unraisablehook", record_unraisable):
                callable(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()
        self.assertIsNone(raised)

    # -- expect files ----------------------------------------------------------------------------
    def assertExpected(self, s: str, subname: Optional[str] = None) -> None:  # noqa: N802
        """``s`` must equal ``expect/<test id>[-subname].expect`` beside the test file (``--accept`` writes it)."""
        if not isinstance(s, str):
            raise TypeError("assertExpected is strings only")
        module_id = self.__class__.__module__
        munged_id = self.id()[len(module_id) + 1:] if self.id().startswith(module_id + ".") else self.id()
        test_file = os.path.realpath(sys.modules[module_id].__file__)
        expected_file = os.path.join(os.path.dirname(test_file), "expect", munged_id)
        subname_output = ""
        if subname:
            expected_file += "-" + subname
            subname_output = f" ({subname})"
        expected_file += ".expect"

        def accept_output(update_type: str) -> None:
            print(f"Accepting {update_type} for {munged_id}{subname_output}:\n\n{s}")
            os.makedirs(os.path.dirname(expected_file), exist_ok=True)
            with open(expected_file, "w") as f:
                f.write(re.sub(r'(producer_version): "[0-9.]*"', r'\1: "CURRENT_VERSION"', s))

        try:
            with open(expected_file) as f:
                expected = f.read()
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
            if expecttest.ACCEPT:
                return accept_output("output")
            main = getattr(sys.modules.get("__main__"), "__file__", test_file)
            raise RuntimeError(
                f"I got this output for {munged_id}{subname_output}:\n\n{s}\n\n"
                "No expect file exists; to accept the current output, run:\n"
                f"python {main} {munged_id} --accept") from None
        if sys.platform == "win32":
            expected = re.sub(r"CppOp\[(.+?)\]", "CppOp[]", expected)
            s = re.sub(r"CppOp\[(.+?)\]", "CppOp[]", s)
        if 'producer_version: "CURRENT_VERSION"' in expected:
            expected = expected.replace('producer_version: "CURRENT_VERSION"',
                                        f'producer_version: "{torch.onnx.producer_version}"')
        if expecttest.ACCEPT:
            if expected != s:
                return accept_output("updated output")
        else:
            self.assertMultiLineEqual(expected, s)

    def assertExpectedStripMangled(self, s: str, subname: Optional[str] = None) -> None:  # noqa: N802
        self.assertExpected(re.sub(r"__torch__[^ ]+", "", s), subname)

    def assertExpectedRaises(self, exc_type: type, callable: Callable, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        subname = kwargs.pop("subname", None)
        try:
            callable(*args, **kwargs)
        except exc_type as e:
            self.assertExpected(str(e), subname)
            return
        self.fail(msg="Did not raise when expected to")

    # -- subprocesses ----------------------------------------------------------------------------
    @staticmethod
    def run_process_no_exception(code: str, env: Optional[dict] = None) -> tuple[bytes, bytes]:
        with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as p:
            return p.communicate()

    @staticmethod
    def runWithPytorchAPIUsageStderr(code: str) -> str:  # noqa: N802
        env = process_environment()
        env["PYTORCH_API_USAGE_STDERR"] = "1"
        env.pop("CI", None)  # the wrapped process is not the CI job
        env.pop("TEST_SHOWLOCALS", None)
        _stdout, stderr = UpstreamMembers.run_process_no_exception(code, env=env)
        return stderr.decode("ascii")

    def _attempt_load_from_subprocess(self, file: Any, import_string: str, expected_failure_message: Optional[str] = None) -> None:
        """``torch.load(file, weights_only=True)`` in a fresh interpreter, after ``import_string``."""
        script = f"import torch;{import_string}torch.load(r'{file}', weights_only=True)"
        cm = (self.assertRaisesRegex(RuntimeError, re.escape(expected_failure_message))
              if expected_failure_message else contextlib.nullcontext())
        with cm:
            try:
                subprocess.check_output([sys.executable, "-c", script], cwd=os.path.dirname(os.path.realpath(__file__)),
                                        stderr=subprocess.STDOUT)
            except subprocess.CalledProcessError as e:
                raise RuntimeError(e.output.decode("utf-8")) from None

    def check_nondeterministic_alert(self, fn: Callable, caller_name: str, should_alert: bool = True) -> None:
        alert_message = caller_name + " does not have a deterministic implementation, but you set"
        with DeterministicGuard(True):
            if should_alert:
                with self.assertRaisesRegex(RuntimeError, alert_message,
                                            msg="expected a non-deterministic error, but it was not raised"):
                    fn()
            else:
                try:
                    fn()
                except RuntimeError as e:
                    if "does not have a deterministic implementation" in str(e):
                        self.fail("did not expect non-deterministic error message, but got one anyway: \"" + str(e) + "\"")
                    raise
        with DeterministicGuard(True, warn_only=True):
            if should_alert:
                with self.assertWarnsRegex(UserWarning, alert_message):
                    fn()
            else:
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    fn()
                    for warning in w:
                        if isinstance(warning, UserWarning):
                            self.assertTrue(re.search(alert_message, str(warning)) is None)
