"""The part of the build that pyproject.toml cannot say: the top-level ``configs/`` and
``ascend_kernels/cpu/`` folders ship inside the package as ``aam_ms/configs`` and
``aam_ms/kernel_sources`` (found at run time by :mod:`aam_ms.resources`)."""
from setuptools import find_packages, setup

DATA = {"aam_ms.configs": ("configs", "*.yaml"),
        "aam_ms.kernel_sources": ("ascend_kernels/cpu", "*.cc")}

setup(
    packages=find_packages(include=["aam_ms", "aam_ms.*"]) + list(DATA),
    package_dir={pkg: folder for pkg, (folder, _) in DATA.items()},
    package_data={pkg: [pattern] for pkg, (_, pattern) in DATA.items()},
)
