from setuptools import find_packages, setup

setup(
    name="testing",
    version="0.1.0",
    description="A standalone, device-agnostic port of PyTorch's internal distributed test harness",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["testing", "testing.*"]),
    py_modules=["run_test"],
    python_requires=">=3.10",
    install_requires=["torch>=2.10", "expecttest>=0.2", "numpy>=1.22"],
    entry_points={"console_scripts": ["testing-run=testing._runner.cli:main"]},
)
