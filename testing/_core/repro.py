"""The one command that reruns a failed test on this harness, with the device and flags of the run.

Built from the configuration in one place for every way a run starts:

* under run_test.py: ``python3 run_test.py --device cpu FILE -k Class.test`` (the runner's ``rerun:``);
* a module run directly: ``python3 FILE --device cpu Class.test`` (upstream's repro hint, which
  upstream prints without the harness's flags, always with ``python``);
* an unmodified upstream file through the redirect: ``python -m testing FILE --device cpu Class.test``.

Upstream's ``PYTORCH_PRINT_REPRO_ON_FAILURE=0`` turns the line off (`Config.print_repro`).
"""

from __future__ import annotations

import os
import shlex
import sys

from testing._core.config import Config

HINT_SUFFIX = "This message can be suppressed by setting PYTORCH_PRINT_REPRO_ON_FAILURE=0"


def python_command() -> str:
    """The interpreter as the user typed it (``python3`` from a venv or a system without ``python``):
    the printed command must run when pasted; upstream always prints ``python``."""
    return os.path.basename(sys.executable) or "python"


def run_flags(config: Config) -> list[str]:
    """The harness flags that made this run's selection (``--device cpu --world-size 2`` ...)."""
    flags: list[str] = []
    for flag, value in (("--device", config.device), ("--backend", config.backend),
                        ("--world-size", config.world_size)):
        if value is not None:
            flags += [flag, str(value)]
    if config.start_method != Config.start_method:
        flags += ["--start-method", config.start_method]
    if config.map_cuda:
        flags.append("--map-cuda")
    return flags


def env_prefix(config: Config) -> list[str]:
    """Upstream's prefix of non-default test-environment flags (the sanitizer builds declared)."""
    return [f"PYTORCH_TEST_WITH_{name}=1" for name in sorted(config.sanitizers)]


def display_path(path: str) -> str:
    """The file as a command run from here names it."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith(os.pardir + os.sep) else relative


def command(config: Config, file: str, test_id: str) -> str:
    """The command that reruns ``test_id`` (``Class.test``) of ``file`` as this run ran it."""
    flags = run_flags(config)
    if config.runner:
        if config.timeout_source == "--timeout":
            flags += ["--timeout", f"{config.timeout:g}"]
        parts = [*env_prefix(config), config.runner, *flags, display_path(file), "-k", test_id]
    else:
        program = [python_command(), "-m", "testing"] if config.redirect else [python_command()]
        parts = [*env_prefix(config), *program, display_path(file), *flags, test_id]
    return " ".join(part if part == config.runner else shlex.quote(part) for part in parts)


def upstream_path(path: str) -> str:
    """Upstream's form: relative to the directory above the first ``test`` component."""
    parts = os.path.abspath(path).split(os.sep)
    return os.sep.join(parts[parts.index("test"):]) if "test" in parts else os.path.basename(path)


def hint(config: Config, file: str, test_id: str) -> str:
    """Upstream's repro hint (appended to a failing test's exception), naming this harness's command."""
    where = ("from the base repo dir" if display_path(file) == upstream_path(file)
             else f"from {os.getcwd()}")
    return (f"\n\nTo execute this test, run the following {where}:\n"
            f"    {command(config, file, test_id)}\n\n{HINT_SUFFIX}")
