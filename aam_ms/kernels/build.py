"""Compile-on-first-use of the C++ CPU twins (``ascend_kernels/cpu/*.cc``) with g++.

The sources are package data (:func:`aam_ms.resources.kernel_source`), so an installed package
builds them too; the libraries go to a user cache, never into the package folder. A twin
``<name>.cc`` is compiled to ``<cache>/<name>-<hash>.so``, where ``hash`` covers the source
text and the compiler command; the cache is ``$AAM_KERNEL_CACHE`` or
``<cache_root>/kernels``. Concurrent builds (several ranks or test workers) serialise on a
file lock and publish the library by an atomic rename, so a reader never sees half a file.
OpenMP is used when the compiler supports it, otherwise the build falls back to serial code.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..resources import cache_root, kernel_source

BASE_FLAGS = ("-O3", "-shared", "-fPIC", "-std=c++17", "-ffp-contract=off")
OPENMP_FLAGS = ("-fopenmp",)


class KernelBuildError(RuntimeError):
    """The CPU twin could not be compiled (no g++, compiler error, unwritable cache)."""


def cache_dir():
    """``$AAM_KERNEL_CACHE`` or ``<cache_root>/kernels`` (:func:`aam_ms.resources.cache_root`)."""
    env = os.environ.get("AAM_KERNEL_CACHE")
    return Path(env).expanduser() if env else Path(cache_root()) / "kernels"


def _compiler():
    cxx = os.environ.get("CXX") or shutil.which("g++")
    if not cxx:
        raise KernelBuildError("no C++ compiler: install g++ or set CXX to build the CPU kernels")
    return cxx


def _compile(cxx, src, dst, flags):
    cmd = [cxx, *flags, str(src), "-o", str(dst)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def library_path(name):
    """Path of the compiled twin ``ascend_kernels/cpu/<name>.cc``, building it if needed."""
    src = kernel_source(name)
    if not src.is_file():
        raise KernelBuildError(f"CPU kernel source {src} is missing")
    cxx = _compiler()
    digest = hashlib.sha256()
    digest.update(src.read_bytes())
    digest.update(" ".join((cxx, *BASE_FLAGS, *OPENMP_FLAGS)).encode())
    out_dir = cache_dir()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise KernelBuildError(f"kernel cache {out_dir} is not writable: {err}") from err
    lib = out_dir / f"{name}-{digest.hexdigest()[:16]}.so"
    if lib.is_file():
        return lib
    with open(out_dir / f"{name}.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if lib.is_file():
            return lib
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=out_dir)
        os.close(fd)
        try:
            res = _compile(cxx, src, tmp, (*BASE_FLAGS, *OPENMP_FLAGS))
            if res.returncode != 0:
                res = _compile(cxx, src, tmp, BASE_FLAGS)
            if res.returncode != 0:
                raise KernelBuildError(f"g++ failed on {src}:\n{res.stderr.strip()}")
            os.replace(tmp, lib)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return lib
