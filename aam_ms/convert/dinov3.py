"""DINOv3 ViT weights → ``aam_ms.models.backbones.dinov3`` parameter names.

Accepted sources (PyTorch layout, numpy arrays; torch only for reading ``.pth``):

* Meta's released DINOv3 state dicts (``blocks.{i}.attn.qkv.weight``, ``ls1.gamma``,
  ``storage_tokens``, ``rope_embed.periods``, ``blocks.{i}.attn.qkv.bias_mask`` …), and the
  AAM-released naming, where LoRA wraps qkv / proj (``….qkv.base.weight`` plus its alias
  ``….qkv.weight``, ``….qkv.lora_A.weight``, ``….qkv.lora_B.weight``), optionally under a
  prefix such as ``backbone.`` (keys outside the prefix belong to other converters).
* transformers ``DINOv3ViTModel`` (``embeddings.register_tokens``, ``layer.{i}.attention.
  {q,k,v,o}_proj``, ``layer_scale{1,2}.lambda1``, ``mlp.{up,down}_proj``): q/k/v are fused
  into one qkv matrix; the absent K bias becomes zeros; ``bias_mask`` and ``rope_embed.
  periods`` (not stored by transformers) are generated from the config.

Rules: LayerNorm ``weight/bias`` → ``gamma/beta``; ``mask_token`` (1, 1, C) → (1, C); alias
pairs must hold identical tensors; ``periods`` / ``bias_mask`` must equal the values the
config implies; ``local_cls_norm.*`` (only used for DINOv3's own local-crop training) is
dropped and reported.  When the source has no LoRA factors at all, the adapters get the
training-start initialisation (A ~ U(±1/√in) from a fixed seed, B = 0: the branch adds
exactly zero) and are reported as initialised.  Anything else that does not fit — a
stray key, a missing tensor, a shape — lands in the ``MappingReport``; ``convert`` refuses
to write a partial checkpoint.
"""
import re
import zlib

import numpy as np

from ..models.backbones.dinov3 import (DinoV3Config, k_bias_mask, make_config, param_shapes,
                                       rope_periods)
from .common import MappingReport

PREFIXES = ("backbone.", "module.backbone.", "module.", "model.", "dinov3_vit.", "encoder.")
DROPPED = ("local_cls_norm.weight", "local_cls_norm.bias")
_NORM = re.compile(r"^(.*(?:^|\.)(?:norm1|norm2|norm))\.(weight|bias)$")
_LINEAR = re.compile(r"^blocks\.(\d+)\.attn\.(qkv|proj)\.(?:base\.)?(weight|bias|bias_mask)$")
_LORA = re.compile(r"^blocks\.(\d+)\.attn\.(qkv|proj)\.(lora_[AB])\.weight$")
_HF_LAYER = re.compile(r"^layer\.(\d+)\.(.+)$")
_HF_RENAME = {
    "embeddings.cls_token": "cls_token",
    "embeddings.mask_token": "mask_token",
    "embeddings.register_tokens": "storage_tokens",
    "embeddings.patch_embeddings.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.bias": "patch_embed.proj.bias",
    "norm.weight": "norm.weight",
    "norm.bias": "norm.bias",
}
_HF_BLOCK_RENAME = {
    "norm1.weight": "norm1.weight", "norm1.bias": "norm1.bias",
    "norm2.weight": "norm2.weight", "norm2.bias": "norm2.bias",
    "attention.o_proj.weight": "attn.proj.weight", "attention.o_proj.bias": "attn.proj.bias",
    "layer_scale1.lambda1": "ls1.gamma", "layer_scale2.lambda1": "ls2.gamma",
    "mlp.up_proj.weight": "mlp.fc1.weight", "mlp.up_proj.bias": "mlp.fc1.bias",
    "mlp.down_proj.weight": "mlp.fc2.weight", "mlp.down_proj.bias": "mlp.fc2.bias",
}


def resolve_config(cfg):
    """A ``DinoV3Config`` from a config or a variant name (LoRA on all blocks)."""
    return cfg if isinstance(cfg, DinoV3Config) else make_config(cfg)


def detect_prefix(sd):
    """'' or the prefix (``backbone.`` …) under which the backbone's ``cls_token`` lives."""
    for p in ("",) + PREFIXES:
        if p + "cls_token" in sd or p + "embeddings.cls_token" in sd:
            return p
    raise ValueError("no DINOv3 backbone in this state dict: no 'cls_token' or "
                     "'embeddings.cls_token' key under any of the prefixes "
                     f"{('',) + PREFIXES}")


def is_hf(sd):
    """True for transformers ``DINOv3ViTModel`` naming."""
    return any(k.startswith(("embeddings.", "layer.")) for k in sd)


def _fuse_hf(sd, cfg, report):
    """transformers names → released DINOv3 names (q/k/v fused, K bias checked to be 0)."""
    out, used = {}, set()
    for k, v in sd.items():
        if k in _HF_RENAME:
            out[_HF_RENAME[k]] = v
            used.add(k)
        elif k == "rope_embeddings.inv_freq":  # 1 / periods (normally not stored): a check
            used.add(k)
            if not np.allclose(1.0 / np.asarray(v, np.float64), rope_periods(cfg), rtol=1e-5):
                report.shape_mismatch.append((k, "RoPE frequencies differ from base "
                                              f"{cfg.rope_base}"))
        else:
            m = _HF_LAYER.match(k)
            if m and m.group(2) in _HF_BLOCK_RENAME:
                out[f"blocks.{m.group(1)}.{_HF_BLOCK_RENAME[m.group(2)]}"] = v
                used.add(k)
    layers = sorted({int(m.group(1)) for m in map(_HF_LAYER.match, sd) if m})
    for i in layers:
        a = f"layer.{i}.attention."
        wq, wk, wv = (sd.get(a + n + "_proj.weight") for n in "qkv")
        if wq is None or wk is None or wv is None:
            report.missing.extend(a + n + "_proj.weight" for n, w in zip("qkv", (wq, wk, wv))
                                  if w is None)
            continue
        out[f"blocks.{i}.attn.qkv.weight"] = np.concatenate([wq, wk, wv], axis=0)
        used.update(a + n + "_proj.weight" for n in "qkv")
        bq, bk, bv = (sd.get(a + n + "_proj.bias") for n in "qkv")
        if bk is not None:
            used.add(a + "k_proj.bias")
            if np.any(np.asarray(bk) != 0):
                report.shape_mismatch.append((a + "k_proj.bias", "non-zero K bias: the fused "
                                              "DINOv3 qkv masks the K bias, results would differ"))
        if bq is None or bv is None:
            report.missing.extend(a + n + "_proj.bias" for n, b in (("q", bq), ("v", bv))
                                  if b is None)
            continue
        used.update((a + "q_proj.bias", a + "v_proj.bias"))
        out[f"blocks.{i}.attn.qkv.bias"] = np.concatenate([bq, np.zeros_like(bq), bv])
        out[f"blocks.{i}.attn.qkv.bias_mask"] = k_bias_mask(bq.shape[0])
    report.unexpected.extend(k for k in sd if k not in used)
    return out


def _target_name(k, lora_blocks, cfg):
    """Our parameter name for a released-naming key, or None if it has no counterpart."""
    m = _LINEAR.match(k)
    if m:
        i, layer, leaf = int(m.group(1)), m.group(2), m.group(3)
        wrapped = i in lora_blocks and f"attn.{layer}" in cfg.lora_target
        return f"blocks.{i}.attn.{layer}" + (".base." if wrapped else ".") + leaf
    if _LORA.match(k):
        return k
    m = _NORM.match(k)
    if m:
        return m.group(1) + (".gamma" if m.group(2) == "weight" else ".beta")
    return k


def _lora_init(name, shape):
    """Training-start LoRA factors: A ~ U(±1/√in) (seeded by the name), B = 0."""
    if ".lora_B." in name:
        return np.zeros(shape, np.float32)
    rng = np.random.default_rng(zlib.crc32(name.encode("utf-8")))
    bound = 1.0 / np.sqrt(shape[1])
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def convert_state_dict(sd, cfg, prefix=None):
    """(params: our name → float32 ndarray, MappingReport) for a DINOv3 state dict.

    ``cfg``: ``DinoV3Config`` or variant name; ``prefix``: the key prefix of the backbone
    (None = detect: '' or one of ``PREFIXES``); keys outside it are not looked at.
    """
    cfg = resolve_config(cfg)
    prefix = detect_prefix(sd) if prefix is None else prefix
    sd = {k[len(prefix):]: np.asarray(v) for k, v in sd.items() if k.startswith(prefix)}
    report = MappingReport()
    if is_hf(sd):
        src = _fuse_hf(sd, cfg, report)
    else:
        src = dict(sd)
    expected = param_shapes(cfg)
    lora_blocks = set(cfg.lora_blocks())
    params, origin = {}, {}
    for k, v in src.items():
        if k in DROPPED:
            report.mapped.append((k, None))
            continue
        t = _target_name(k, lora_blocks, cfg)
        if t not in expected:
            report.unexpected.append(k)
            continue
        v = np.asarray(v, np.float32)
        if t == "mask_token" and v.size == np.prod(expected[t]):
            v = v.reshape(expected[t])
        if tuple(v.shape) != expected[t]:
            report.shape_mismatch.append((k, tuple(v.shape), t, expected[t]))
            continue
        if t in params:
            if not np.array_equal(params[t], v):
                report.shape_mismatch.append((k, f"alias of {origin[t]} with different values"))
            report.mapped.append((k, t))
            continue
        params[t], origin[t] = v, k
        report.mapped.append((k, t))
    for t in list(params):
        want = None
        if t == "rope_embed.periods":
            want = rope_periods(cfg)
        elif t.endswith("bias_mask"):
            want = k_bias_mask(cfg.embed_dim)
        if want is not None and not np.allclose(params[t], want, rtol=1e-5, atol=0):
            report.shape_mismatch.append((origin[t], "values differ from the ones the config "
                                          "implies (different RoPE base / K-bias mask)"))
    if "rope_embed.periods" not in params and is_hf(sd):
        params["rope_embed.periods"] = rope_periods(cfg)
        report.mapped.append(("<generated>", "rope_embed.periods"))
    lora_names = [n for n in expected if ".lora_" in n]
    if lora_names and not any(".lora_" in n for n in params):
        for n in lora_names:
            params[n] = _lora_init(n, expected[n])
            report.mapped.append(("<lora init>", n))
    report.missing.extend(n for n in expected if n not in params)
    return params, report



def to_ms(sd, net):
    """(params, MappingReport) of a DINOv3 state dict for the ``DinoVisionTransformer`` ``net``."""
    return convert_state_dict(sd, net.cfg)


def _cli(sd, a):
    cfg = make_config(a.variant, lora_r=a.lora_r, lora_alpha=a.lora_alpha,
                      lora_last_n=a.lora_last_n)
    return convert_state_dict(sd, cfg, a.prefix)


def register(subparsers):
    """Add the ``dinov3`` subcommand: ``python -m aam_ms.convert dinov3 SRC DST --variant vitl16``."""
    p = subparsers.add_parser("dinov3", help="DINOv3 ViT (Meta .pth, AAM release or HF) → "
                                             "MindSpore ckpt")
    p.add_argument("src", help="Meta dinov3_*.pth, an AAM checkpoint (backbone.* keys) or HF "
                               "model.safetensors")
    p.add_argument("dst", help="output .ckpt")
    p.add_argument("--variant", required=True, help="vits16 | vitb16 | vitl16 (or s / b / l)")
    p.add_argument("--lora-last-n", type=int, default=None,
                   help="LoRA on the last N blocks (default all, 0 = no LoRA)")
    p.add_argument("--lora-r", type=int, default=32)
    p.add_argument("--lora-alpha", type=float, default=64.0)
    p.add_argument("--prefix", default=None, help="key prefix of the backbone (default: detect)")
    p.set_defaults(func=_cli)
    return p


__all__ = ["convert_state_dict", "to_ms", "register", "detect_prefix", "is_hf"]
