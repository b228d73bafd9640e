"""The blockwise backbone (one compiled block graph for every block, weights as inputs) gives
the cell path's numbers exactly, with and without LoRA, and is what the CPU GRAPH engine runs."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor

from aam_ms.models.backbones import blockwise
from aam_ms.models.backbones.dinov3 import build_dinov3


@pytest.fixture(scope="module")
def net():
    """tiny with LoRA on the last 2 of 4 blocks; LoRA B and layer scales far from their init, so
    that every branch counts."""
    ms.set_seed(0)
    n = build_dinov3("tiny", lora_last_n=2)
    rng = np.random.default_rng(0)
    for p in n.get_parameters():
        if "lora_B" in p.name:
            p.set_data(Tensor(rng.normal(0, 0.05, p.shape).astype(np.float32)))
        elif ".ls" in p.name:
            p.set_data(Tensor(rng.uniform(0.2, 1.0, p.shape).astype(np.float32)))
    n.set_train(False)
    return n


def _x(h, w, b=2, seed=1):
    return Tensor(np.random.default_rng(seed).normal(size=(b, 3, h, w)).astype(np.float32))


def _cell(net, x):
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        return [o.asnumpy() for o in ms.jit(net.get_intermediate_layers)(x, net.intermediate_idx)]
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


@pytest.mark.parametrize("hw", [(64, 64), (48, 80)])
def test_equals_the_cell_path(net, hw):
    x = _x(*hw)
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        ours = [o.asnumpy() for o in blockwise.BlockwiseBackbone(net)(x, net.intermediate_idx)]
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    eager = [o.asnumpy() for o in net.get_intermediate_layers(x, net.intermediate_idx)]
    for o, c, e in zip(ours, _cell(net, x), eager):
        np.testing.assert_array_equal(o, c)
        np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-5)
    assert [s for _, s in blockwise.BlockwiseBackbone(net).blocks] == [0.0, 0.0, 2.0, 2.0]


def test_weights_are_shared_not_copied(net):
    """The block tensors are the parameters' memory (no copy), and a backbone that is training
    is refused."""
    bw = blockwise.BlockwiseBackbone(net)
    p = net.blocks[1].mlp.fc1.bias
    w = bw.blocks[1][0][11]
    assert np.shares_memory(w.asnumpy(), p.asnumpy())
    net.set_train(True)
    try:
        with pytest.raises(RuntimeError, match="inference"):
            bw(_x(32, 32), net.intermediate_idx)
    finally:
        net.set_train(False)


def test_cpu_graph_engine_runs_blockwise():
    from aam_ms.inference import Engine
    from aam_ms.models.registry import create_model
    from aam_ms.session import INPUT_DEFAULTS, Session
    m = create_model("aam_tiny")
    m.set_train(False)
    cfg = {"input": {**INPUT_DEFAULTS, "size": [32, 32]}}
    assert Engine(Session(cfg, m), graph=True).blockwise
    assert not Engine(Session(cfg, m), graph=True, blockwise=False).blockwise
    assert not Engine(Session(cfg, m), graph=False).blockwise
