"""The DINOv3 backbone in inference as one compiled block graph called once per block.

A compiled MindSpore graph keeps the memory of every intermediate it computes after the call
(on CPU; ``docs/PERFORMANCE.md``), so the whole-backbone graph of ViT-L/16 at 448² holds the
block intermediates of all 24 blocks (≈ 3.8 GiB) and takes ≈ 50 s to compile. Every block has
the same function and shapes, only the weights differ, so here one graph computes

    x ← x + ls1 ⊙ Attn(LN₁(x)),   x ← x + ls2 ⊙ MLP(LN₂(x))

with the block's weights as *inputs*: it compiles once (twice when only some blocks carry
LoRA) and holds the intermediates of one block. The weights are passed as tensors that share
the parameters' host memory (no copy), so the result is the cell path's
(:class:`~aam_ms.models.backbones.dinov3.SelfAttentionBlock` in ``set_train(False)``): same
operators in the same order. Patch embedding, RoPE tables and the final norms run eagerly
(a few cheap operators). Inference only: no dropout, no RoPE rescale, no gradient.
"""
import mindspore as ms
from mindspore import Tensor, ops

from .cpu_ops import gelu, layer_norm_inference
from .dinov3 import rope_apply, rope_pad
from .lora import LoRALinear

_MATMUL_T = ops.MatMul(transpose_b=True)
_BIAS_ADD = ops.BiasAdd()
_QK = ops.BatchMatMul(transpose_b=True)


def _dense(x, w, b):
    """``nn.Dense`` (weight (out, in), bias) on (…, in): the same MatMul + BiasAdd."""
    shape = x.shape
    y = _BIAS_ADD(_MATMUL_T(x.reshape(-1, shape[-1]), w), b)
    return y.reshape(shape[:-1] + (y.shape[-1],))


def _lora(x, a, b, scaling):
    """``lora_B(lora_A(x))·scaling`` (no dropout in inference)."""
    shape = x.shape
    h = _MATMUL_T(_MATMUL_T(x.reshape(-1, shape[-1]), a), b)
    return h.reshape(shape[:-1] + (h.shape[-1],)) * scaling


def _block(x, sin, cos, heads, eps, scaling, w):
    """One pre-norm DINOv3 block on tokens x (B, N, C); ``w`` from :func:`block_weights`."""
    b, n, c = x.shape
    hd = c // heads
    h = layer_norm_inference(x, w[0], w[1], eps)
    qkv = ops.dense(h, w[2], w[3] * w[4])
    if scaling:
        qkv = qkv + _lora(h, w[15], w[16], scaling)
    qkv = qkv.reshape(b, n, 3, heads, hd).transpose(2, 0, 3, 1, 4)
    q, k, v = ops.unstack(qkv, 0)
    logits = _QK(rope_apply(q, sin, cos) * (hd ** -0.5), rope_apply(k, sin, cos))
    attn = ops.softmax(logits.astype(ms.float32), axis=-1).astype(qkv.dtype)
    out = ops.matmul(attn, v).transpose(0, 2, 1, 3).reshape(b, n, c)
    proj = _dense(out, w[5], w[6])
    if scaling:
        proj = proj + _lora(out, w[17], w[18], scaling)
    x = x + proj * w[7]
    h = layer_norm_inference(x, w[8], w[9], eps)
    return x + _dense(gelu(_dense(h, w[10], w[11])), w[12], w[13]) * w[14]


@ms.jit
def _block_graph(x, sin, cos, heads, eps, scaling, *w):
    # the weights as separate arguments: a tuple argument of ms.jit would be a constant
    return _block(x, sin, cos, heads, eps, scaling, w)


def _shared(p):
    """A tensor on the parameter's host memory (CPU): no copy, sees later in-place updates."""
    return Tensor.from_numpy(p.asnumpy())


def _linear_parts(cell):
    """(base linear cell, (lora_A, lora_B) weights or ()) of a possibly LoRA-wrapped linear."""
    if isinstance(cell, LoRALinear):
        return cell.base, (cell.lora_A.weight, cell.lora_B.weight)
    return cell, ()


def block_weights(blk):
    """(tensors of one block in :func:`_block`'s order, LoRA scaling α/r or 0 without LoRA)."""
    qkv, qkv_lora = _linear_parts(blk.attn.qkv)
    proj, proj_lora = _linear_parts(blk.attn.proj)
    if bool(qkv_lora) != bool(proj_lora):
        raise ValueError("blockwise backbone: LoRA on only one of attn.qkv / attn.proj is not "
                         "supported; use the cell path")
    params = [blk.norm1.gamma, blk.norm1.beta, qkv.weight, qkv.bias, qkv.bias_mask,
              proj.weight, proj.bias, blk.ls1.gamma, blk.norm2.gamma, blk.norm2.beta,
              blk.mlp.fc1.weight, blk.mlp.fc1.bias, blk.mlp.fc2.weight, blk.mlp.fc2.bias,
              blk.ls2.gamma, *qkv_lora, *proj_lora]
    scaling = float(blk.attn.qkv.scaling) if qkv_lora else 0.0
    return tuple(_shared(p) for p in params), scaling


class BlockwiseBackbone:
    """``__call__(x, idx)`` = ``backbone.get_intermediate_layers(x, idx)`` of a DINOv3 cell in
    inference, through one compiled block graph. The weight tensors share the parameters'
    memory, so loading new weights with ``set_data`` needs a new instance (``refresh``)."""

    def __init__(self, backbone):
        self.net = backbone
        self.refresh()

    def refresh(self):
        self.blocks = [block_weights(blk) for blk in self.net.blocks]

    def __call__(self, x, idx):
        net = self.net
        if net.training:
            raise RuntimeError("BlockwiseBackbone is for inference; call set_train(False)")
        h, w = net.grid_size(x)
        tokens = net.prepare_tokens(x)
        sin, cos = rope_pad(*net.rope_embed(h, w), tokens.shape[1])
        eps, heads = float(net.norm.epsilon), int(net.cfg.num_heads)
        outs = ()
        for i, (weights, scaling) in enumerate(self.blocks):
            tokens = _block_graph(tokens, sin, cos, heads, eps, scaling, *weights)
            if i in idx:
                outs = outs + (net.norm(tokens[:, net.n_prefix:]),)
        return outs
