"""Upstream path: common_utils of torch's private testing package (same public names)."""

from testing._core.case import SEED, TestCase, set_rng_seed
from testing._upstream_api.flags import (
    IS_FBCODE,
    IS_LINUX,
    IS_MACOS,
    IS_SANDCASTLE,
    IS_WINDOWS,
    NATIVE_DEVICES,
    TEST_CUDA,
    TEST_HPU,
    TEST_MPS,
    TEST_MULTIGPU,
    TEST_PRIVATEUSE1_DEVICE_TYPE,
    TEST_WITH_ASAN,
    TEST_WITH_DEV_DBG_ASAN,
    TEST_WITH_ROCM,
    TEST_WITH_TSAN,
    TEST_WITH_UBSAN,
    TEST_XPU,
    skipIfHpu,
)
from testing._core.instantiate import instantiate_parametrized_tests
from testing._core.naming import compose_parametrize_fns, dtype_name, parametrize, subtest
from testing._core.skips import skip_but_pass_in_sandcastle, skip_but_pass_in_sandcastle_if
from testing._runner.module_cli import run_tests
from testing._core.lazyval import LazyVal
from testing._upstream_api.upstream_utils import (
    ACCELERATOR_TYPE,
    ADDRESS_IN_USE,
    CONNECT_TIMEOUT,
    FILE_SCHEMA,
    IS_CI,
    MI300_ARCH,
    MI350_ARCH,
    NO_MULTIPROCESSING_SPAWN,
    TEST_ACCELERATOR,
    TEST_MULTIACCELERATOR,
    TEST_WITH_SLOW,
    TEST_WITH_TORCHDYNAMO,
    TEST_WITH_TORCHINDUCTOR,
    DeterministicGuard,
    SwapTensorsGuard,
    find_free_port,
    get_cycles_per_ms,
    getRocmArchName,
    getRocmVersion,
    isRocmArchAnyOf,
    lazy_skip_if,
    load_tests,
    requires_cuda,
    requires_cuda_p2p_access,
    retry_on_connect_failures,
    runOnRocmArch,
    skipIfRocm,
    skipIfRocmArch,
    skipIfRocmVersionLessThan,
    skipIfTorchDynamo,
    skipIfWindows,
    skipIfXpu,
    suppress_warnings,
    wrapSwapTensorsTest,
    xfailIf,
    xfailIfTorchDynamo,
)
from testing._upstream_api.opinfo_support import (
    GRADCHECK_NONDET_TOL,
    IS_ARM64,
    MI200_ARCH,
    TEST_CUDA_PYTHON_BINDINGS,
    TEST_NVMATH,
    skipIfNoNvmath,
    IS_PPC,
    MACOS_VERSION,
    OPINFO_SAMPLE_INPUT_INDEX,
    TEST_SCIPY,
    TEST_WITH_CROSSREF,
    TemporaryFileName,
    TrackedInputIter,
    USE_PYTEST,
    clear_tracked_input,
    extract_test_fn,
    get_tracked_input,
    is_iterable_of_tensors,
    markDynamoStrictTest,
    numpy_to_torch_dtype,
    numpy_to_torch_dtype_dict,
    skipIfNoCuteDSL,
    skipIfNoTritonDSL,
    skipIfSlowGradcheckEnv,
    slowTest,
    torch_to_numpy_dtype_dict,
)
from testing._upstream_api.test_matrices import (
    make_fullrank_matrices_with_distinct_singular_values,
    noncontiguous_like,
    random_hermitian_pd_matrix,
    random_symmetric_pd_matrix,
    random_well_conditioned_matrix,
)

__all__ = [
    "SEED", "TestCase", "run_tests", "parametrize", "subtest", "instantiate_parametrized_tests",
    "set_rng_seed", "compose_parametrize_fns", "dtype_name", "TEST_CUDA", "TEST_XPU", "TEST_HPU",
    "TEST_MPS", "TEST_MULTIGPU", "TEST_PRIVATEUSE1_DEVICE_TYPE", "IS_LINUX", "IS_WINDOWS", "IS_MACOS",
    "IS_FBCODE", "NATIVE_DEVICES", "skipIfHpu", "TEST_WITH_ASAN", "TEST_WITH_DEV_DBG_ASAN",
    "TEST_WITH_TSAN", "TEST_WITH_UBSAN", "TEST_WITH_ROCM", "IS_SANDCASTLE", "skip_but_pass_in_sandcastle",
    "skip_but_pass_in_sandcastle_if",
    "LazyVal", "ACCELERATOR_TYPE", "ADDRESS_IN_USE", "CONNECT_TIMEOUT", "FILE_SCHEMA", "IS_CI", "MI300_ARCH",
    "MI350_ARCH", "NO_MULTIPROCESSING_SPAWN", "TEST_ACCELERATOR", "TEST_MULTIACCELERATOR", "TEST_WITH_SLOW",
    "TEST_WITH_TORCHDYNAMO", "TEST_WITH_TORCHINDUCTOR", "DeterministicGuard", "SwapTensorsGuard", "find_free_port",
    "get_cycles_per_ms", "getRocmArchName", "getRocmVersion", "isRocmArchAnyOf", "lazy_skip_if", "load_tests",
    "requires_cuda", "requires_cuda_p2p_access", "retry_on_connect_failures", "runOnRocmArch", "skipIfRocm",
    "skipIfRocmArch", "skipIfRocmVersionLessThan", "skipIfTorchDynamo", "skipIfWindows", "skipIfXpu",
    "suppress_warnings", "wrapSwapTensorsTest", "xfailIf", "xfailIfTorchDynamo",
    "GRADCHECK_NONDET_TOL", "IS_ARM64", "MI200_ARCH", "TEST_CUDA_PYTHON_BINDINGS", "TEST_NVMATH", "skipIfNoNvmath", "IS_PPC", "MACOS_VERSION", "OPINFO_SAMPLE_INPUT_INDEX", "TEST_SCIPY",
    "TEST_WITH_CROSSREF", "TemporaryFileName", "TrackedInputIter", "USE_PYTEST", "clear_tracked_input",
    "extract_test_fn", "get_tracked_input", "is_iterable_of_tensors", "markDynamoStrictTest", "numpy_to_torch_dtype",
    "numpy_to_torch_dtype_dict", "skipIfNoCuteDSL", "skipIfNoTritonDSL", "skipIfSlowGradcheckEnv", "slowTest",
    "torch_to_numpy_dtype_dict", "make_fullrank_matrices_with_distinct_singular_values", "noncontiguous_like",
    "random_hermitian_pd_matrix", "random_symmetric_pd_matrix", "random_well_conditioned_matrix",
]

# names upstream's common_utils has only from a torch release on (testing/_core/versions.py): present
# on the releases that have them, AttributeError on the others
from testing._upstream_api.release_names import facade_getattr, facade_names  # noqa: E402

__getattr__ = facade_getattr(__name__)
__all__ += facade_names(__name__)
