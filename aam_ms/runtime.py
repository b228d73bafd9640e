"""Device, graph mode, seeds, threads, the compile cache and (optionally) data-parallel
communication."""
import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .resources import cache_root

DEVICES = {"cpu": "CPU", "ascend": "Ascend", "gpu": "GPU"}
BACKENDS = {"CPU": "mccl", "Ascend": "hccl", "GPU": "nccl"}


@dataclass
class Runtime:
    device: str          # MindSpore device target: CPU | Ascend | GPU
    rank: int = 0
    group_size: int = 1

    @property
    def distributed(self):
        return self.group_size > 1

    @property
    def is_main(self):
        return self.rank == 0


def use_device(target):
    """Select the MindSpore device target; a no-op when it is already the current one
    (MindSpore refuses ``set_device`` once its runtime has started, even to the same target).
    On CPU it also sizes the operator thread pool (:func:`set_cpu_threads`)."""
    import mindspore as ms
    if ms.get_context("device_target") != target:
        ms.set_device(target)
    if target == "CPU":
        set_cpu_threads()


def set_cpu_threads(n=None):
    """Threads of MindSpore's CPU operators and of the project's CPU kernels: ``n`` or every
    core. (MindSpore's default is 25 operator threads whatever the machine.) MindSpore accepts
    this once per process, before the first kernel runs; later calls only report it. → n."""
    import mindspore as ms
    from mindspore._c_expression import RuntimeConf
    n = int(n or os.cpu_count() or 1)
    if not RuntimeConf.get_instance().is_op_threads_num_configured():
        ms.device_context.cpu.op_tuning.threads_num(n)
        os.environ["AAM_KERNEL_THREADS"] = str(n)
    return n


def compile_cache_dir(*key):
    """``$AAM_COMPILE_CACHE`` (or ``<cache_root>/graphs``) / a hash of ``key`` and the
    MindSpore version."""
    import mindspore as ms
    root = os.environ.get("AAM_COMPILE_CACHE")
    root = Path(root).expanduser() if root else Path(cache_root()) / "graphs"
    digest = hashlib.sha256(repr((key, ms.__version__)).encode()).hexdigest()[:16]
    return root / digest


def enable_compile_cache(*key):
    """Load / save this process's compiled graphs in :func:`compile_cache_dir` ``(key)``
    (MindSpore's ``MS_COMPILER_CACHE_*``), so a second identical run does not recompile.

    MindSpore reads the setting once, at the first compile, and stores the graphs by their
    order of compilation; it checks the Python sources the graphs depend on, but not the
    input shapes. ``key`` must therefore determine every graph the process compiles and their
    order (model config, kernel mode, input sizes, batch and clip lengths, ...): a run with
    other shapes under the same key would get the cached graph of another shape. Call it
    before the first graph is compiled. → the folder."""
    path = compile_cache_dir(*key)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["MS_COMPILER_CACHE_ENABLE"] = "1"
    os.environ["MS_COMPILER_CACHE_PATH"] = str(path)
    return path


def setup(device="cpu", mode="graph", seed=0, distributed=False):
    """Select the device and execution mode, seed every RNG, and join the communication group.

    ``distributed`` initialises HCCL on Ascend and MCCL on CPU (ranks started by ``msrun``
    or with RANK_ID/RANK_SIZE exported) and sets DATA_PARALLEL with gradient mean. Every rank
    uses the same ``seed`` (identical initial weights); data sharding gives each its own batch.
    """
    import mindspore as ms
    target = DEVICES.get(str(device).lower())
    if target is None:
        raise ValueError(f"device must be one of {sorted(DEVICES)}, got {device!r}")
    use_device(target)
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    rank, size = 0, 1
    if distributed:
        from mindspore.communication import get_group_size, get_rank, init
        init(BACKENDS[target])
        rank, size = get_rank(), get_group_size()
        ms.reset_auto_parallel_context()
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL,
                                     gradients_mean=True, device_num=size)
    ms.set_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    return Runtime(target, rank, size)
