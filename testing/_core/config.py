"""Configuration: read once from the command line and the environment, then handed down.

A test module's own command line may carry ``--device NAME`` (and ``--backend``, ``--world-size``,
``--start-method``); they are taken out of ``sys.argv`` before unittest parses it, and written back
to the environment (``TESTING_DEVICE`` ...) so that rank processes, pytest and the runner's
subprocesses all see one selection. Upstream's variable names are honoured where upstream has them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import os
import sys
from collections.abc import Iterator, Mapping, MutableSequence, Sequence
from typing import Optional

from testing._core import devices as _devices

# flag on a module's command line -> environment variable that carries it to other processes
MODULE_FLAGS = {
    "--device": "TESTING_DEVICE",
    "--backend": "TESTING_BACKEND",
    "--world-size": "TESTING_WORLD_SIZE",
    "--start-method": "TESTING_START_METHOD",
    "--map-cuda": "TESTING_MAP_CUDA",
}
START_METHODS = ("zygote", "spawn")
SANITIZERS = ("ASAN", "DEV_DBG_ASAN", "TSAN", "UBSAN")
DEFAULT_TIMEOUT = 300


class UsageError(Exception):
    """Bad input from the user: reported as one line and a non-zero exit, never a traceback."""


# Upstream's world size for a distributed test class that does not set one (4 ranks).
DEFAULT_WORLD_SIZE = 4


@dataclasses.dataclass(frozen=True)
class Config:
    device: Optional[str] = None
    """Selected device type, or None for upstream's behaviour (whatever is present)."""
    backend: Optional[str] = None
    """Collective backend forced for every distributed test (``--backend``)."""
    world_size: Optional[int] = None
    start_method: str = "zygote"
    timeout: float = DEFAULT_TIMEOUT
    timeout_source: str = "default"
    only_for: tuple[str, ...] = ()
    except_for: tuple[str, ...] = ()
    for_custom: tuple[str, ...] = ()
    backend_overrides: Mapping[str, str] = dataclasses.field(default_factory=dict)
    print_repro: bool = True
    plugins: tuple[str, ...] = ()
    """Modules imported before the device selection is checked: they register device-table rows."""
    sanitizers: frozenset[str] = frozenset()
    """Sanitizer builds this run declares (upstream's PYTORCH_TEST_WITH_ASAN/_DEV_DBG_ASAN/_TSAN/_UBSAN):
    tests read them as TEST_WITH_* flags to skip themselves, as upstream."""

    cpu_threads: Optional[int] = None
    """``OMP_NUM_THREADS`` when the user set it: then each rank keeps torch's own reading of it."""

    show_warnings: bool = False
    """Print each warning as it happens (``-v``), besides the warnings summary (TESTING_SHOW_WARNINGS)."""

    runner: Optional[str] = None
    """How run_test.py was started (``python run_test.py``), in the processes it starts: a failure's
    repro line is then the runner's command (TESTING_RUNNER); None in a direct run."""

    max_world_size: int = 0
    """The most ranks a test may start (see `world_size_limit`); 0 when not computed."""
    map_cuda: bool = False
    """CUDA names in tests mean the selected device (``--map-cuda``, ``TESTING_MAP_CUDA=1``; see
    testing._core.cuda_mapping)."""

    redirect: bool = False
    """Upstream harness imports resolve to this harness (set by ``python -m testing`` and the runner's
    worker, inherited by spawned ranks that re-import the file)."""

    def to_environment(self) -> dict[str, str]:
        """The environment variables that give a child process (a worker, a spawned rank) this config."""
        env = {"TESTING_START_METHOD": self.start_method}
        for name, value in (("TESTING_DEVICE", self.device), ("TESTING_BACKEND", self.backend),
                            ("TESTING_WORLD_SIZE", self.world_size)):
            if value is not None:
                env[name] = str(value)
        if self.timeout_source != "default":
            env["DISTRIBUTED_TESTS_DEFAULT_TIMEOUT"] = f"{self.timeout:g}"
            env["TESTING_TIMEOUT_SOURCE"] = self.timeout_source
        if self.plugins:
            env["TESTING_DEVICE_PLUGINS"] = ",".join(self.plugins)
        if self.backend_overrides:
            env["TESTING_DEVICE_BACKENDS"] = ",".join(f"{k}={v}" for k, v in self.backend_overrides.items())
        if self.redirect:
            env["TESTING_REDIRECT"] = "1"
        if self.show_warnings:
            env["TESTING_SHOW_WARNINGS"] = "1"
        if self.runner:
            env["TESTING_RUNNER"] = self.runner
        if self.map_cuda:
            env["TESTING_MAP_CUDA"] = "1"
        return env

    @property
    def emulating(self) -> bool:
        """``--device cpu``: accelerator-only tests run on CPU ranks over gloo."""
        return self.device == "cpu"

    @property
    def rank_count(self) -> int:
        """Ranks of a test that does not fix its own world size (the devices CPU ranks emulate)."""
        return self.world_size or DEFAULT_WORLD_SIZE

    def threads_per_rank(self, world_size: int, cores: int) -> Optional[int]:
        """CPU threads for each of ``world_size`` ranks sharing ``cores``, or None to leave torch's.

        Each rank would otherwise start one intra-op thread per core, so 4 ranks on 2 cores run 8
        threads that preempt each other inside every collective-bound step; torchrun avoids the
        same by defaulting OMP_NUM_THREADS to 1. A user's OMP_NUM_THREADS wins."""
        if self.cpu_threads is not None:
            return None
        return max(1, cores // max(1, world_size))

    def backend_for(self, device: str) -> str:
        if self.backend and (self.device is None or self.device == device):
            return self.backend
        return _devices.backend_for(device, dict(self.backend_overrides))


def _split_list(value: Optional[str]) -> tuple[str, ...]:
    return tuple(x for x in (value or "").split(",") if x)


def harness_flags() -> argparse.ArgumentParser:
    """The device-selection flags shared by a module's command line and the runner's (a parent parser)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    group = parser.add_argument_group("device selection")
    group.add_argument("--device", help="device type: cpu (CPU ranks, emulating accelerators), cuda, xpu, hpu, "
                       "or a plug-in / PrivateUse1 name (case-insensitive)")
    group.add_argument("--backend", help="collective backend to use instead of the device table's")
    group.add_argument("--world-size", help="rank count for tests that do not fix their own")
    group.add_argument("--start-method", help="how rank processes start: zygote (default) or spawn")
    group.add_argument("--map-cuda", action="store_const", const="1",
                       help="CUDA names in tests (.cuda(), device=\"cuda\", torch.cuda.*) mean the selected device")
    return parser


def module_timeout_flag() -> argparse.ArgumentParser:
    """``--timeout S`` of a module's command line (the runner's own parser has its --timeout)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument_group("rank processes").add_argument(
        "--timeout", type=float, metavar="S",
        help="per-test rank timeout in seconds (overrides DISTRIBUTED_TESTS_DEFAULT_TIMEOUT; default 300)")
    return parser


class _Raising(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def pop_module_flags(argv: MutableSequence[str]) -> dict[str, str]:
    """Remove the harness's device flags from ``argv`` in place; return {ENV_NAME: value}."""
    parser = _Raising(add_help=False, allow_abbrev=False, parents=[harness_flags(), module_timeout_flag()])
    cut = argv.index("--") if "--" in argv[1:] else len(argv)
    options, rest = parser.parse_known_args(list(argv[1:cut]))
    argv[1:cut] = rest
    timeout = vars(options).pop("timeout")
    found = {MODULE_FLAGS["--" + name.replace("_", "-")]: value for name, value in vars(options).items() if value is not None}
    if timeout is not None:  # the rank timeout, as the runner's --timeout sets it
        if timeout <= 0:
            raise UsageError(f"--timeout must be positive, got {timeout:g}")
        found.update(DISTRIBUTED_TESTS_DEFAULT_TIMEOUT=f"{timeout:g}", TESTING_TIMEOUT_SOURCE="--timeout")
    return found


def from_environment(env: Mapping[str, str]) -> Config:
    """Build a Config from environment variables (after module flags were folded in)."""
    device = (env.get("TESTING_DEVICE") or "").strip().lower() or None
    world_size = env.get("TESTING_WORLD_SIZE") or None
    if world_size is not None:
        if not world_size.isdigit() or int(world_size) < 1:
            raise UsageError(f"--world-size (TESTING_WORLD_SIZE) must be a positive integer, got {world_size!r}")
        world_size = int(world_size)
    max_world_size, why = world_size_limit(env)
    if world_size is not None and world_size > max_world_size:
        raise UsageError(f"--world-size (TESTING_WORLD_SIZE) {world_size} is too many ranks: {why}")
    start_method = env.get("TESTING_START_METHOD") or "zygote"
    if start_method not in START_METHODS:
        raise UsageError(f"unknown --start-method (TESTING_START_METHOD) {start_method!r}; choose one of {', '.join(START_METHODS)}")
    raw_timeout = env.get("DISTRIBUTED_TESTS_DEFAULT_TIMEOUT")
    timeout, source = float(DEFAULT_TIMEOUT), "default"
    if raw_timeout:
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise UsageError(f"DISTRIBUTED_TESTS_DEFAULT_TIMEOUT must be a number, got {raw_timeout!r}") from None
        if timeout <= 0:
            raise UsageError(f"DISTRIBUTED_TESTS_DEFAULT_TIMEOUT must be positive, got {raw_timeout!r}")
        source = env.get("TESTING_TIMEOUT_SOURCE") or "DISTRIBUTED_TESTS_DEFAULT_TIMEOUT"
    try:
        overrides = _devices.parse_backend_overrides(env.get("TESTING_DEVICE_BACKENDS", ""))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Config(
        device=device,
        backend=env.get("TESTING_BACKEND") or None,
        world_size=world_size,
        start_method=start_method,
        timeout=timeout,
        timeout_source=source,
        only_for=_split_list(env.get("PYTORCH_TESTING_DEVICE_ONLY_FOR")),
        except_for=_split_list(env.get("PYTORCH_TESTING_DEVICE_EXCEPT_FOR")),
        for_custom=_split_list(env.get("PYTORCH_TESTING_DEVICE_FOR_CUSTOM")),
        backend_overrides=overrides,
        print_repro=env.get("PYTORCH_PRINT_REPRO_ON_FAILURE", "1") != "0",
        plugins=_split_list(env.get("TESTING_DEVICE_PLUGINS")),
        sanitizers=frozenset(name for name in SANITIZERS if env.get(f"PYTORCH_TEST_WITH_{name}", "0") == "1"),
        redirect=env.get("TESTING_REDIRECT") == "1",
        show_warnings=env.get("TESTING_SHOW_WARNINGS") == "1",
        runner=env.get("TESTING_RUNNER") or None,
        max_world_size=max_world_size,
        map_cuda=_switch(env, "TESTING_MAP_CUDA"),
        cpu_threads=_positive_int(env.get("OMP_NUM_THREADS")),
    )


DEFAULT_MAX_WORLD_SIZE = 1024
"""A sane cap on ranks per test (each rank is a process; upstream's tests use at most a few dozen).
TESTING_MAX_WORLD_SIZE changes it."""


def world_size_limit(env: Mapping[str, str]) -> tuple[int, str]:
    """(the most ranks a test may start, why that many): the cap, and below it the per-user process
    limit (RLIMIT_NPROC) less the test process and the zygote."""
    raw = (env.get("TESTING_MAX_WORLD_SIZE") or "").strip()
    if raw and (not raw.isdigit() or int(raw) < 1):
        raise UsageError(f"TESTING_MAX_WORLD_SIZE must be a positive integer, got {raw!r}")
    cap = int(raw) if raw else DEFAULT_MAX_WORLD_SIZE
    why = f"the cap is {cap} ({'set by ' if raw else ''}TESTING_MAX_WORLD_SIZE{'' if raw else ' changes it'})"
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    except (ImportError, AttributeError, OSError, ValueError):
        soft = -1
    if 0 < soft and soft != getattr(resource, "RLIM_INFINITY", -1) and soft - 2 < cap:
        return max(1, soft - 2), f"the process limit (ulimit -u) is {soft}"
    return cap, why


def enable_warning_stream() -> None:
    """``-v`` of a direct run: each warning printed as it happens, here and in the ranks started later."""
    global _config
    os.environ["TESTING_SHOW_WARNINGS"] = "1"
    if _config is not None:
        _config = dataclasses.replace(_config, show_warnings=True)


def _switch(env: Mapping[str, str], name: str) -> bool:
    value = (env.get(name) or "0").strip()
    if value not in ("0", "1"):
        raise UsageError(f"{name} must be 0 or 1, got {value!r}")
    return value == "1"


def _positive_int(value: Optional[str]) -> Optional[int]:
    # torch itself ignores an unparsable OMP_NUM_THREADS; so does the per-rank default then
    value = (value or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def load_plugins(config: Config) -> None:
    """Import the device plug-in modules (``TESTING_DEVICE_PLUGINS=pkg.mod,...``)."""
    import importlib

    for name in config.plugins:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise UsageError(f"device plug-in {name!r} failed to import: {type(exc).__name__}: {exc}") from None


def validate_device(config: Config) -> None:
    """A selected device must be known and present: never a silent fallback."""
    if config.device is None:
        if config.map_cuda:
            raise UsageError("--map-cuda (TESTING_MAP_CUDA) needs a device selection: --device NAME or TESTING_DEVICE")
        return
    row = _devices.lookup(config.device)
    if row is None:
        close = difflib.get_close_matches(config.device, list(_devices.device_table()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unknown device {config.device!r} ({_devices.describe()}){hint}")
    if not row.present():
        raise UsageError(f"device {config.device!r} is not present on this machine ({_devices.describe()})")


def _running_under_pytest(argv: list[str]) -> bool:
    if not argv:
        return False
    program = argv[0]
    return os.path.basename(program).startswith(("pytest", "py.test")) or program.endswith(
        os.path.join("pytest", "__main__.py")
    )


_config: Optional[Config] = None


def _settle(config: Config) -> None:
    """Plug-ins loaded, the device selection validated, the CUDA mapping in place when asked for."""
    load_plugins(config)
    validate_device(config)
    if config.map_cuda:  # before test modules import: their module-level torch.cuda calls are mapped too
        from testing._core import cuda_install

        cuda_install.install(config)


def get_config() -> Config:
    """The process's configuration, parsed on first use.

    The first call strips the harness flags from ``sys.argv`` (unless pytest owns it), exports them
    to the environment, and validates the device selection. Bad input exits with one line when the
    process is a test script; under pytest it raises UsageError, which pytest reports.
    """
    global _config
    if _config is not None:
        return _config
    try:
        if not _running_under_pytest(sys.argv):
            for env_name, value in pop_module_flags(sys.argv).items():
                os.environ[env_name] = value
        config = from_environment(os.environ)
        _settle(config)
    except UsageError as exc:
        if _running_under_pytest(sys.argv):
            raise
        print(f"testing: error: {exc}", file=sys.stderr)
        sys.exit(2)
    _config = config
    return config


def adopt_flags(flags: Mapping[str, object], source: str) -> Config:
    """Another command line's harness options (the pytest plugin's), keyed by this harness's flag
    names (``--device``, ``--backend``, ``--world-size``, ``--start-method``, ``--timeout``,
    ``--redirect-upstream``; None = not given). They go into this process's environment as a
    module's own flags do, so ranks, spawned interpreters and pytest-xdist workers see one
    selection; then the configuration is read and validated (UsageError on bad input)."""
    values = {k: v for k, v in flags.items() if v is not None and v is not False}
    env = {MODULE_FLAGS[k]: "1" if v is True else str(v) for k, v in values.items() if k in MODULE_FLAGS}
    if "--timeout" in values:
        if not float(values["--timeout"]) > 0:  # type: ignore[arg-type]
            raise UsageError(f"--timeout must be a positive number of seconds, got {values['--timeout']}")
        env.update(DISTRIBUTED_TESTS_DEFAULT_TIMEOUT=str(values["--timeout"]), TESTING_TIMEOUT_SOURCE=f"{source} --timeout")
    if values.get("--redirect-upstream"):
        env["TESTING_REDIRECT"] = "1"
    config = from_environment({**os.environ, **env})
    _settle(config)
    os.environ.update(env)
    reset_config(config)
    return config


def redirect_requested() -> bool:
    """Whether this process must resolve upstream harness imports here (read before any config is
    validated: a spawned rank re-importing an upstream file needs it first)."""
    return os.environ.get("TESTING_REDIRECT") == "1"


def export_redirect(placeholders: Sequence[str] = ()) -> None:
    """Mark this process, and the processes it starts, as running upstream files redirected (with
    the upstream names that import as placeholders there)."""
    global _config
    os.environ["TESTING_REDIRECT"] = "1"
    os.environ["TESTING_REDIRECT_PLACEHOLDERS"] = ",".join(placeholders)
    if _config is not None:
        _config = dataclasses.replace(_config, redirect=True)


def redirect_placeholders() -> list[str]:
    """The upstream names a redirected file imports as placeholders (set by export_redirect)."""
    return [n for n in os.environ.get("TESTING_REDIRECT_PLACEHOLDERS", "").split(",") if n]


def module_argv() -> list[str]:
    """The process's command line (after the harness flags were taken out by get_config)."""
    return list(sys.argv)


def set_module_argv(argv: list[str]) -> None:
    """``python -m testing FILE ARGS``: the upstream file sees ``FILE ARGS`` as its command line."""
    sys.argv[:] = argv


def process_environment() -> dict[str, str]:
    """A copy of this process's environment, for a child process's."""
    return dict(os.environ)


def adopt_environment(env: Mapping[str, str]) -> None:
    """A rank takes its test process's environment as it was when the rank started (what a spawned
    rank inherits upstream: setUp's TEMP_DIR, INIT_METHOD, MASTER_ADDR ... reach the ranks)."""
    if env != os.environ:
        os.environ.clear()
        os.environ.update(env)


def prepare_rank_environment(loopback: Optional[str]) -> None:
    """What every rank process sets before its test runs: C++ stacks in errors, and gloo bound to
    loopback (nothing listens beyond this machine)."""
    os.environ["TORCH_SHOW_CPP_STACKTRACES"] = "1"
    if loopback:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", loopback)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")


def env_value(name: str, default: Optional[str] = None) -> Optional[str]:
    """An environment variable that upstream's helpers read when they run, not at start-up (a test or
    a decorator may set it itself: WORLD_SIZE, BACKEND, CI, TORCH_DISTRIBUTED_DEBUG ...)."""
    return os.environ.get(name, default)


def set_env(name: str, value: Optional[str]) -> None:
    """Set (or, with None, remove) a variable for this process and the ranks it starts, as upstream's
    helpers do (TORCH_NCCL_DESYNC_DEBUG, MASTER_ADDR ...)."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@contextlib.contextmanager
def scoped_env(updates: Mapping[str, Optional[str]]) -> Iterator[None]:
    """Variables set for the duration of a block, restored after (upstream's with_* decorators)."""
    saved = {k: os.environ.get(k) for k in updates}
    for key, value in updates.items():
        set_env(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            set_env(key, value)


def become_worker(env: Mapping[str, str], argv: list[str]) -> None:
    """A worker forked from the warm runner takes its file's environment and command line, and reads
    its configuration afresh."""
    os.environ.clear()
    os.environ.update(env)
    sys.argv[:] = argv
    reset_config(None)


def reset_config(config: Optional[Config] = None) -> None:
    """Replace the cached configuration (tests of the harness; the runner after parsing flags)."""
    global _config
    _config = config
