"""Device, graph mode, seeds, threads and (optionally) data-parallel communication."""
import random
from dataclasses import dataclass

import numpy as np

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
    (MindSpore refuses ``set_device`` once its runtime has started, even to the same target)."""
    import mindspore as ms
    if ms.get_context("device_target") != target:
        ms.set_device(target)


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
