from pathlib import Path

from setuptools import find_packages, setup

README = Path(__file__).with_name("README.md")

setup(
    name="testing",
    version="0.2.0",
    description="A standalone, device-agnostic port of PyTorch's internal distributed test harness",
    long_description=README.read_text(encoding="utf-8") if README.exists() else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["testing", "testing.*"]),
    py_modules=["run_test"],
    python_requires=">=3.10",
    # Any torch from 2.13 on, pre-release and local builds included, so that pip keeps the torch a
    # fork or backend team built (2.13.0a0+git..., 2.16.0a0+git..., 2.15.0+xpu, nightlies
    # 2.13.0.devYYYYMMDD): ".dev0" is the lowest 2.13 version, and a specifier naming a pre-release
    # admits pre-releases (PEP 440); no upper bound; specifiers ignore local labels. A newer torch
    # gets the newest checked release's behaviour (testing/_core/versions.py); CI pins its torch in
    # constraints.txt.
    install_requires=["torch>=2.13.0.dev0", "expecttest>=0.2", "numpy>=1.22"],
    extras_require={"test": ["pytest>=8", "junitparser>=3"]},
    entry_points={
        "console_scripts": ["testing-run=testing._runner.cli:main"],
        "pytest11": ["testing = testing._runner.pytest_plugin"],
    },
)
