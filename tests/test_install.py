"""Installing into an environment that has its own torch (docs/pytest.md, "Install into your own
torch"): setup.py accepts every torch from 2.13 on, pre-release and local builds included, so pip
keeps a fork's build; the version table maps a development build to the nearest release it knows."""

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from helpers import ROOT


def install_requires() -> list[str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no install_requires")


def torch_requirement() -> Requirement:
    (found,) = [Requirement(r) for r in install_requires() if Requirement(r).name == "torch"]
    return found


def test_torch_requirement_accepts_fork_nightly_and_local_builds():
    spec = torch_requirement().specifier
    for version in ("2.13.0a0+gitabcdef0", "2.16.0a0+git1a2b3c4", "2.15.0+xpu", "2.13.0.dev20260101",
                    "2.13.0", "2.14.1", "2.15.0+cu132", "2.17.0"):
        assert spec.contains(version), version  # prereleases: as pip asks (the specifier names one)
    assert not spec.contains("2.12.1")
    pins = (ROOT / "constraints.txt").read_text().splitlines()
    assert any(line.startswith("torch==") for line in pins), pins  # CI keeps its pin


def test_pip_keeps_an_installed_local_build_of_torch(tmp_path):
    """A stand-in torch 2.16.0a0+gitabc (its dist-info alone) is what pip sees installed; resolving
    the package offline must install nothing but the package itself."""
    for needed, why in (("pip", "the check asks pip"), ("setuptools", "pip builds the package's metadata with it, offline")):
        if importlib.util.find_spec(needed) is None:  # not imported: setuptools would replace distutils here
            pytest.skip(f"{needed} is not installed in this environment ({why})")
    standin = tmp_path / "site" / "torch-2.16.0a0+gitabc.dist-info"
    standin.mkdir(parents=True)
    (standin / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.16.0a0+gitabc\n")
    source = tmp_path / "src"  # a copy: pip writes build metadata next to setup.py
    shutil.copytree(ROOT / "testing", source / "testing", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "run_test.py"):
        shutil.copy(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}  # this machine's pip set-up
    env.update(PIP_CONFIG_FILE=os.devnull, PYTHONPATH=str(tmp_path / "site"))
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--no-build-isolation",
                           "--report", str(report), "-q", "-e", f"{source}[test]"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    would_install = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    assert would_install == ["testing"], would_install


def test_a_development_build_follows_the_nearest_known_release_and_says_so_once(monkeypatch):
    from testing._core import notices, versions

    assert versions.follows("2.16.0a0+git1a2b3c4") == (2, 15, 0)
    assert versions.follows("2.13.0a0+gitabcdef0") == (2, 13, 0)
    assert versions.follows("2.14.1") == (2, 14, 1) and versions.follows("2.15.0+xpu") == (2, 15, 0)
    assert versions.is_final("2.15.0+xpu") and not versions.is_final("2.16.0a0+git1a2b3c4")
    monkeypatch.setattr(notices, "_notices", [])  # other tests' notices stay as they were
    monkeypatch.setattr(versions, "build", lambda: "2.16.0a0+git1a2b3c4")
    versions.installed.cache_clear()
    try:
        assert versions.installed() == versions.installed() == (2, 15, 0)
        assert versions.current("skip_device_key") == "multi-device"  # 2.15's behaviour
        said = notices.collected()
        assert said == ["torch 2.16.0a0+git1a2b3c4 is a development build; the harness follows torch 2.15's "
                        "harness (the nearest release it knows: 2.13, 2.14, 2.15)"], said
    finally:
        versions.installed.cache_clear()
