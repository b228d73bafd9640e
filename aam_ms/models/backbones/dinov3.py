"""DINOv3 vision transformer (the AAM backbone), as released in the vendored ``dinov3/`` code.

Tokens ``[cls, 4 storage (register) tokens, h·w patches]`` run through pre-norm blocks

    x ← x + ls1 ⊙ Attn(LN₁(x)),   x ← x + ls2 ⊙ MLP(LN₂(x))        (LN eps 1e-5, exact GELU)

Attention uses a fused qkv layer whose K bias is masked (``bias ⊙ bias_mask``), scale
D_head^-½, softmax in fp32, and 2-D RoPE on the patch tokens only: patch (i, j) has
coordinates (2(i+½)/h − 1, 2(j+½)/w − 1) ("separate" normalisation), angles
2π·coord / periods with periods = base^(4k/D_head), k < D_head/4, base 100; each of the
two coordinates fills D_head/4 angles, tiled twice, applied as x·cos + rotate_half(x)·sin.
In training the released configuration rescales the coordinates by one log-uniform factor
in [1/2, 2] per block call (``rope_rescale_coords``); evaluation uses them as they are.

``get_intermediate_layers(x, idx)`` returns the outputs of blocks ``idx`` after the final
norm, patch tokens only, (B, h·w, C) each.  The released ``get_intermediate_layers`` also
takes ``text_emb``; with ``use_moe=False`` (the AAM configuration) every block's ``moe`` is
None and ``text_emb`` is never read, so this port has no such argument.

Parameter names mirror the released state dict (``blocks.{i}.attn.qkv.base.weight``,
``blocks.{i}.ls1.gamma``, ``storage_tokens``, ``rope_embed.periods`` …) except for the
MindSpore LayerNorm names ``gamma`` / ``beta``; ``rope_embed.periods`` and ``*.bias_mask``
(torch buffers) are non-trainable parameters.
"""
import math
from dataclasses import dataclass, replace

import numpy as np
import mindspore as ms
from mindspore import Parameter, Tensor, nn, ops
from mindspore.common.initializer import Normal, TruncatedNormal, Uniform, initializer

from .cpu_ops import GELU, LayerNorm
from .lora import LoRALinear


@dataclass(frozen=True)
class DinoV3Config:
    """Architecture of one DINOv3 ViT plus its LoRA adapters (``lora_last_n`` 0 = none)."""
    embed_dim: int
    depth: int
    num_heads: int
    ffn_ratio: float = 4.0
    patch_size: int = 16
    in_chans: int = 3
    n_storage_tokens: int = 4
    rope_base: float = 100.0
    rope_rescale_coords: float = 2.0
    layerscale_init: float = 1e-5
    norm_eps: float = 1e-5
    lora_r: int = 32
    lora_alpha: float = 64.0
    lora_dropout: float = 0.05
    lora_last_n: int = 0
    lora_target: tuple = ("attn.qkv", "attn.proj")

    @property
    def head_dim(self):
        return self.embed_dim // self.num_heads

    @property
    def hidden_dim(self):
        return int(self.embed_dim * self.ffn_ratio)

    def lora_blocks(self):
        """Indices of the blocks whose targets carry LoRA (the last ``lora_last_n``)."""
        n = min(max(self.lora_last_n, 0), self.depth)
        return tuple(range(self.depth - n, self.depth))


VARIANTS = {
    "tiny": DinoV3Config(embed_dim=64, depth=4, num_heads=2),
    "vits16": DinoV3Config(embed_dim=384, depth=12, num_heads=6),
    "vitb16": DinoV3Config(embed_dim=768, depth=12, num_heads=12),
    "vitl16": DinoV3Config(embed_dim=1024, depth=24, num_heads=16),
}

# Blocks fed to the AAM head (released ``DPT.intermediate_layer_idx``).
INTERMEDIATE_LAYERS = {
    "tiny": (0, 1, 2, 3),
    "vits16": (2, 5, 8, 11),
    "vitb16": (2, 5, 8, 11),
    "vitl16": (5, 11, 17, 23),
}

_ALIASES = {"s": "vits16", "b": "vitb16", "l": "vitl16", "small": "vits16",
            "base": "vitb16", "large": "vitl16", "vits": "vits16", "vitb": "vitb16",
            "vitl": "vitl16"}


def canonical_variant(variant):
    """``'vitl16'`` for ``'l'`` / ``'large'`` / ``'vitl16'`` …; ValueError for unknown names."""
    v = _ALIASES.get(str(variant).lower(), str(variant).lower())
    if v not in VARIANTS:
        raise ValueError(f"unknown DINOv3 variant {variant!r}; choose one of {sorted(VARIANTS)}")
    return v


def make_config(variant, lora_r=32, lora_alpha=64, lora_dropout=0.05, lora_last_n=None):
    """Config of ``variant`` with LoRA on the last ``lora_last_n`` blocks (None = all, 0 = none)."""
    base = VARIANTS[canonical_variant(variant)]
    n = base.depth if lora_last_n is None else int(lora_last_n)
    if not 0 <= n <= base.depth:
        raise ValueError(f"lora_last_n must be in [0, {base.depth}] for {variant}, got {lora_last_n}")
    return replace(base, lora_r=lora_r, lora_alpha=float(lora_alpha),
                   lora_dropout=lora_dropout, lora_last_n=n)


def rope_periods(cfg):
    """periods_k = base^(2k / (D_head/2)), k = 0 … D_head/4 − 1, rounded like torch float32 pow."""
    k = np.arange(cfg.head_dim // 4, dtype=np.float32)
    return np.power(np.float32(cfg.rope_base), (2 * k / np.float32(cfg.head_dim // 2))).astype(np.float32)


def k_bias_mask(dim):
    """Ones of length 3·dim with the K third [dim, 2·dim) set to zero."""
    m = np.ones(3 * dim, np.float32)
    m[dim:2 * dim] = 0.0
    return m


def param_shapes(cfg):
    """name → shape of every parameter of ``DinoVisionTransformer(cfg)``, in cell order."""
    c, hd = cfg.embed_dim, cfg.hidden_dim
    shapes = {
        "cls_token": (1, 1, c),
        "storage_tokens": (1, cfg.n_storage_tokens, c),
        "mask_token": (1, c),
        "patch_embed.proj.weight": (c, cfg.in_chans, cfg.patch_size, cfg.patch_size),
        "patch_embed.proj.bias": (c,),
        "rope_embed.periods": (cfg.head_dim // 4,),
    }
    lora = set(cfg.lora_blocks())
    for i in range(cfg.depth):
        b = f"blocks.{i}."
        shapes[b + "norm1.gamma"] = (c,)
        shapes[b + "norm1.beta"] = (c,)
        for name, out, masked in (("attn.qkv", 3 * c, True), ("attn.proj", c, False)):
            wrapped = i in lora and name in cfg.lora_target
            p = b + name + (".base." if wrapped else ".")
            shapes[p + "weight"] = (out, c)
            shapes[p + "bias"] = (out,)
            if masked:
                shapes[p + "bias_mask"] = (out,)
            if wrapped:
                shapes[b + name + ".lora_A.weight"] = (cfg.lora_r, c)
                shapes[b + name + ".lora_B.weight"] = (out, cfg.lora_r)
        shapes[b + "ls1.gamma"] = (c,)
        shapes[b + "norm2.gamma"] = (c,)
        shapes[b + "norm2.beta"] = (c,)
        shapes[b + "mlp.fc1.weight"] = (hd, c)
        shapes[b + "mlp.fc1.bias"] = (hd,)
        shapes[b + "mlp.fc2.weight"] = (c, hd)
        shapes[b + "mlp.fc2.bias"] = (c,)
        shapes[b + "ls2.gamma"] = (c,)
    shapes["norm.gamma"] = (c,)
    shapes["norm.beta"] = (c,)
    return shapes


def _dense(cin, cout, cls=nn.Dense):
    return cls(cin, cout, weight_init=TruncatedNormal(0.02), bias_init="zeros")


class LinearKMaskedBias(nn.Dense):
    """Fused qkv projection y = x·Wᵀ + b ⊙ bias_mask; the mask zeroes the K third of b."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__(in_channels, out_channels, **kwargs)
        if out_channels % 3:
            raise ValueError(f"fused qkv needs out_channels divisible by 3, got {out_channels}")
        self.bias_mask = Parameter(Tensor(k_bias_mask(out_channels // 3)), name="bias_mask",
                                   requires_grad=False)

    def construct(self, x):
        return ops.dense(x, self.weight, self.bias * self.bias_mask)


def rope_rotate_half(x):
    """[x₁, x₂] → [−x₂, x₁] over the last axis (halves). ``Split``, not two slices: MindSpore's
    CPU StridedSlice of the half axes took ≈ 28 ms each on ViT-L's (16, 789, 64) heads."""
    x1, x2 = ops.split(x, x.shape[-1] // 2, axis=-1)
    return ops.cat((-x2, x1), axis=-1)


def rope_apply(x, sin, cos):
    """x·cos + rotate_half(x)·sin, in the tables' dtype (fp32, as released), back in x's."""
    dt = x.dtype
    x = x.astype(sin.dtype)
    return (x * cos + rope_rotate_half(x) * sin).astype(dt)


def rope_pad(sin, cos, n):
    """Tables of the h·w patch tokens → tables of all n tokens: the n − h·w prefix rows get
    sin = 0, cos = 1, so that :func:`rope_apply` leaves the prefix tokens unchanged."""
    prefix = n - sin.shape[0]
    d = sin.shape[-1]
    return (ops.cat((ops.zeros((prefix, d), sin.dtype), sin), axis=0),
            ops.cat((ops.ones((prefix, d), cos.dtype), cos), axis=0))


class RopePositionEmbedding(nn.Cell):
    """2-D axial RoPE tables (sin, cos), each (h·w, D_head), for an h×w patch grid."""

    def __init__(self, cfg):
        super().__init__()
        if cfg.embed_dim % (4 * cfg.num_heads):
            raise ValueError(f"RoPE needs embed_dim divisible by 4·num_heads, got "
                             f"{cfg.embed_dim} and {cfg.num_heads} heads")
        self.periods = Parameter(Tensor(rope_periods(cfg)), name="periods", requires_grad=False)
        self.rescale = cfg.rope_rescale_coords
        self.log_rescale = math.log(cfg.rope_rescale_coords) if cfg.rope_rescale_coords else 0.0

    def construct(self, h, w):
        ch = (ops.arange(h).astype(ms.float32) + 0.5) / h
        cw = (ops.arange(w).astype(ms.float32) + 0.5) / w
        coords = ops.stack((ops.broadcast_to(ch.reshape(h, 1), (h, w)),
                            ops.broadcast_to(cw.reshape(1, w), (h, w))), axis=-1)
        coords = 2.0 * coords.reshape(h * w, 2) - 1.0
        if self.training and self.rescale:
            lo = Tensor([-self.log_rescale], ms.float32)
            hi = Tensor([self.log_rescale], ms.float32)
            coords = coords * ops.exp(ops.uniform((1,), lo, hi))
        angles = (2 * math.pi * coords).reshape(h * w, 2, 1) / self.periods.reshape(1, 1, -1)
        angles = ops.tile(angles.reshape(h * w, -1), (1, 2))
        return ops.sin(angles), ops.cos(angles)


class PatchEmbed(nn.Cell):
    """Conv p×p stride p: (B, 3, H, W) → (B, H/p, W/p, C)."""

    def __init__(self, cfg):
        super().__init__()
        p, k = cfg.patch_size, 1.0 / math.sqrt(cfg.in_chans * cfg.patch_size ** 2)
        self.proj = nn.Conv2d(cfg.in_chans, cfg.embed_dim, p, stride=p, pad_mode="valid",
                              has_bias=True, weight_init=Uniform(k), bias_init=Uniform(k))

    def construct(self, x):
        return self.proj(x).transpose(0, 2, 3, 1)


class SelfAttention(nn.Cell):
    """Multi-head self-attention with fused qkv (K bias masked) and RoPE on patch tokens.

    ``sin`` / ``cos``: RoPE tables of the patch tokens (h·w, D_head) or of all N tokens
    (:func:`rope_pad`: the prefix rows sin 0, cos 1 leave the class / register tokens as they
    are, exactly). The scale D_head^-½ multiplies Q before
    Q·Kᵀ (N·D_head products instead of N², exact for D_head = 64); Kᵀ is read by the batched
    matmul (``transpose_b``), not copied."""

    def __init__(self, cfg, lora):
        super().__init__()
        c = cfg.embed_dim
        self.num_heads = cfg.num_heads
        self.head_dim = cfg.head_dim
        self.scale = cfg.head_dim ** -0.5
        qkv = _dense(c, 3 * c, LinearKMaskedBias)
        proj = _dense(c, c)
        if lora and "attn.qkv" in cfg.lora_target:
            qkv = LoRALinear(qkv, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
        if lora and "attn.proj" in cfg.lora_target:
            proj = LoRALinear(proj, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
        self.qkv = qkv
        self.proj = proj
        self.qk_matmul = ops.BatchMatMul(transpose_b=True)

    def construct(self, x, sin, cos):
        b, n, c = x.shape
        if sin.shape[0] != n:
            sin, cos = rope_pad(sin, cos, n)
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = ops.unstack(qkv, 0)       # not qkv[i]: CPU StridedSlice is slow here
        logits = self.qk_matmul(rope_apply(q, sin, cos) * self.scale, rope_apply(k, sin, cos))
        attn = ops.softmax(logits.astype(ms.float32), axis=-1).astype(qkv.dtype)
        out = ops.matmul(attn, v).transpose(0, 2, 1, 3).reshape(b, n, c)
        return self.proj(out)


class LayerScale(nn.Cell):
    """x ⊙ γ, γ initialised to ``init``."""

    def __init__(self, dim, init):
        super().__init__()
        self.gamma = Parameter(initializer(init, (dim,), ms.float32), name="gamma")

    def construct(self, x):
        return x * self.gamma


class Mlp(nn.Cell):
    """fc2(GELU_erf(fc1(x)))."""

    def __init__(self, cfg):
        super().__init__()
        self.fc1 = _dense(cfg.embed_dim, cfg.hidden_dim)
        self.act = GELU()
        self.fc2 = _dense(cfg.hidden_dim, cfg.embed_dim)

    def construct(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SelfAttentionBlock(nn.Cell):
    """Pre-norm transformer block with LayerScale on both residual branches."""

    def __init__(self, cfg, lora):
        super().__init__()
        c = cfg.embed_dim
        self.norm1 = LayerNorm((c,), epsilon=cfg.norm_eps)
        self.attn = SelfAttention(cfg, lora)
        self.ls1 = LayerScale(c, cfg.layerscale_init)
        self.norm2 = LayerNorm((c,), epsilon=cfg.norm_eps)
        self.mlp = Mlp(cfg)
        self.ls2 = LayerScale(c, cfg.layerscale_init)

    def construct(self, x, sin, cos):
        x = x + self.ls1(self.attn(self.norm1(x), sin, cos))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoVisionTransformer(nn.Cell):
    """DINOv3 ViT; ``construct(x)`` = ``get_intermediate_layers(x, self.intermediate_idx)``."""

    def __init__(self, cfg, intermediate_idx=None):
        super().__init__()
        self.cfg = cfg
        c = cfg.embed_dim
        self.embed_dim = c
        self.depth = cfg.depth
        self.patch_size = cfg.patch_size
        self.n_prefix = 1 + cfg.n_storage_tokens
        self.intermediate_idx = tuple(intermediate_idx) if intermediate_idx is not None \
            else (cfg.depth - 1,)
        self.patch_embed = PatchEmbed(cfg)
        self.cls_token = Parameter(initializer(Normal(0.02), (1, 1, c), ms.float32), name="cls_token")
        self.storage_tokens = Parameter(initializer(Normal(0.02), (1, cfg.n_storage_tokens, c),
                                                    ms.float32), name="storage_tokens")
        self.mask_token = Parameter(initializer("zeros", (1, c), ms.float32), name="mask_token")
        self.rope_embed = RopePositionEmbedding(cfg)
        lora = set(cfg.lora_blocks())
        self.blocks = nn.CellList([SelfAttentionBlock(cfg, i in lora) for i in range(cfg.depth)])
        self.norm = LayerNorm((c,), epsilon=cfg.norm_eps)

    def grid_size(self, x):
        """(h, w) patch grid of an image batch; ValueError unless H and W are multiples of p."""
        if x.ndim != 4 or x.shape[1] != self.cfg.in_chans:
            raise ValueError("DINOv3 backbone: expected images of shape (B, "
                             + str(self.cfg.in_chans) + ", H, W), got " + str(x.shape))
        hh, ww = x.shape[2], x.shape[3]
        p = self.patch_size
        if hh % p != 0 or ww % p != 0:
            raise ValueError("DINOv3 backbone: image height and width must be multiples of "
                             + str(p) + ", got H=" + str(hh) + ", W=" + str(ww))
        return hh // p, ww // p

    def prepare_tokens(self, x):
        """[cls, storage tokens, patch tokens]: (B, 1 + n_storage + h·w, C)."""
        patches = self.patch_embed(x)
        b, h, w, c = patches.shape
        return ops.cat((ops.broadcast_to(self.cls_token, (b, 1, c)),
                        ops.broadcast_to(self.storage_tokens, (b, self.n_prefix - 1, c)),
                        patches.reshape(b, h * w, c)), axis=1)

    def get_intermediate_layers(self, x, idx):
        """norm(output of block i)[:, patch tokens] for i in ``idx`` (ascending): (B, h·w, C) each."""
        h, w = self.grid_size(x)
        for i in idx:
            if i < 0 or i >= self.depth:
                raise ValueError("DINOv3 backbone: block index " + str(i) + " out of range [0, "
                                 + str(self.depth) + ")")
        tokens = self.prepare_tokens(x)
        n = tokens.shape[1]
        sin0, cos0 = self.rope_embed(h, w)
        sin0, cos0 = rope_pad(sin0, cos0, n)
        outs = ()
        for i, blk in enumerate(self.blocks):
            sin, cos = sin0, cos0
            if self.training:  # the RoPE coordinates are rescaled afresh per block call (released)
                sin, cos = self.rope_embed(h, w)
                sin, cos = rope_pad(sin, cos, n)
            tokens = blk(tokens, sin, cos)
            if i in idx:
                outs = outs + (self.norm(tokens[:, self.n_prefix:]),)
        return outs

    def construct(self, x):
        return self.get_intermediate_layers(x, self.intermediate_idx)


def build_dinov3(variant, lora_r=32, lora_alpha=64, lora_dropout=0.05, lora_last_n=None,
                 rope_rescale=2.0):
    """DINOv3 ``variant`` ('vits16' | 'vitb16' | 'vitl16' | 'tiny') with LoRA on the last
    ``lora_last_n`` blocks (None = all, 0 = none); everything but the LoRA factors is frozen.
    ``rope_rescale``: training-time RoPE coordinate rescale range (released 2.0; 0 = off).
    ``construct(x)`` returns the layers of ``INTERMEDIATE_LAYERS[variant]``."""
    v = canonical_variant(variant)
    cfg = replace(make_config(v, lora_r, lora_alpha, lora_dropout, lora_last_n),
                  rope_rescale_coords=float(rope_rescale))
    net = DinoVisionTransformer(cfg, INTERMEDIATE_LAYERS[v])
    for p in net.get_parameters():
        p.requires_grad = ".lora_A." in p.name or ".lora_B." in p.name
    return net
