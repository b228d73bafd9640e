"""Files the package ships beside its code (the configs, the C++ sources of the CPU kernels)
and the one user cache folder everything it builds lives in (:func:`cache_root`).

In a checkout they live at the top level (``configs/``, ``ascend_kernels/cpu/``). An installed
package carries them as package data, ``aam_ms/configs`` and ``aam_ms/kernel_sources``
(``setup.py`` maps the two folders there). Both are found through ``importlib.resources``; the
checkout's folders are the fallback when the package is run from source.
"""
import os
from importlib import resources
from pathlib import Path

# package-data folder -> the same folder in a checkout, relative to its root
_CHECKOUT_DIRS = {"configs": "configs", "kernel_sources": "ascend_kernels/cpu"}


def data_dir(kind):
    """The folder of ``kind`` (``configs`` | ``kernel_sources``): packaged, else the checkout's."""
    packaged = resources.files("aam_ms").joinpath(kind)
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / _CHECKOUT_DIRS[kind]


def config_dir():
    """Folder of the shipped configs (``aam_*.yaml`` models, ``train_*.yaml`` runs)."""
    return data_dir("configs")


def config_path(name):
    """A config given as a path, or as a shipped config's name.

    An existing file is returned as given. Otherwise ``aam_tiny``, ``aam_tiny.yaml`` and
    ``configs/aam_tiny.yaml`` (the README's spelling, from any working directory) name the
    shipped file. Anything else is returned unchanged, so that the caller's error names it.
    """
    path = Path(name)
    if path.is_file():
        return path
    if path.parent in (Path("."), Path("configs")):
        stem = path.name if path.suffix in (".yaml", ".yml") else path.name + ".yaml"
        shipped = config_dir() / stem
        if shipped.is_file():
            return shipped
    return path


def kernel_source(name):
    """Path of the CPU-twin source ``<name>.cc`` (it may not exist; the builder reports that)."""
    return data_dir("kernel_sources") / f"{name}.cc"


def cache_root():
    """``$AAM_CACHE_DIR``, else ``$XDG_CACHE_HOME/aam-ms``, else ``~/.cache/aam-ms``: prompt
    embeddings, built CPU kernels, compiled graphs and MindSpore's failure dumps, never the
    current directory."""
    if os.environ.get("AAM_CACHE_DIR"):
        return os.path.abspath(os.path.expanduser(os.environ["AAM_CACHE_DIR"]))
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "aam-ms")
