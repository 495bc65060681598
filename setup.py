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
    # the torch releases whose own harness this one is checked against (bench/torch_matrix.sh)
    install_requires=["torch>=2.13,<2.16", "expecttest>=0.2", "numpy>=1.22"],
    extras_require={"test": ["pytest>=8", "junitparser>=3"]},
    entry_points={
        "console_scripts": ["testing-run=testing._runner.cli:main"],
        "pytest11": ["testing = testing._runner.pytest_plugin"],
    },
)
