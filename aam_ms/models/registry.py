"""Model registry: ``create_model(name, pretrained=None, **overrides)`` from ``configs/<name>.yaml``.

Overrides use flat names: ``lora_r``, ``lora_alpha``, ``lora_dropout``, ``lora_last_n``,
``intermediate_layers``, ``kernels``, ``cfl`` and any head width (``out_channels``, ``features``,
``decoder_channels``, ``se_reduction``, ``hyp_dim``, ``text_dim``, ``audio_dim``,
``fusion_hidden``, ``fpd_frames``, ``fpd_heads``).
"""
from pathlib import Path

import yaml

from .. import kernels
from ..resources import config_dir
from .aam import AAM

CONFIG_DIR = config_dir()
HEAD_KEYS = ("out_channels", "features", "decoder_channels", "se_reduction", "hyp_dim", "text_dim",
             "audio_dim", "fusion_hidden", "fusion_dropout", "fpd_frames", "fpd_heads")
LORA_KEYS = {"lora_r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout",
             "lora_last_n": "last_n"}
# Non-trainable tensors that the released state dict holds as buffers (not parameters).
BUFFER_SUFFIXES = ("rope_embed.periods", ".bias_mask")
# train.py: a parameter trains iff its name contains one of these.
TRAINABLE_KEYWORDS = ("motion_module", "head", "lora", "router")


def list_models():
    """Names of the configs in ``configs/`` that define an AAM model."""
    return sorted(p.stem for p in CONFIG_DIR.glob("aam_*.yaml"))


def load_config(name):
    """The ``model`` section of ``configs/<name>.yaml`` (or of a YAML path)."""
    path = Path(name) if str(name).endswith((".yaml", ".yml")) else CONFIG_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown model {name!r}: {path} not found; available: {list_models()}")
    with open(path, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict) or "model" not in cfg:
        raise ValueError(f"{path}: expected a top-level 'model' section")
    return cfg["model"]


def apply_overrides(cfg, overrides):
    """Copy of a model config with flat ``overrides`` applied (unknown names → ValueError)."""
    cfg = {**cfg, "lora": dict(cfg.get("lora", {})), "head": dict(cfg.get("head", {}))}
    for k, v in overrides.items():
        if k in LORA_KEYS:
            cfg["lora"][LORA_KEYS[k]] = v
        elif k in HEAD_KEYS:
            cfg["head"][k] = v
        elif k in ("intermediate_layers", "kernels", "cfl", "backbone", "rope_rescale"):
            cfg[k] = v
        else:
            raise ValueError(f"create_model: unknown override {k!r}")
    return cfg


def build_from_config(cfg):
    """An ``AAM`` cell for a model config dict (sets the kernel mode as a side effect)."""
    kernels.set_kernel_mode(cfg.get("kernels", "auto"))
    lora = cfg.get("lora", {})
    head = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.get("head", {}).items()}
    unknown = set(head) - set(HEAD_KEYS)
    if unknown:
        raise ValueError(f"model config {cfg.get('name')}: unknown head keys {sorted(unknown)}")
    return AAM(cfg["backbone"], lora_r=lora.get("r", 32), lora_alpha=lora.get("alpha", 64),
               lora_dropout=lora.get("dropout", 0.05), lora_last_n=lora.get("last_n"),
               intermediate_layers=cfg.get("intermediate_layers"), fp_cfl=bool(cfg.get("cfl", False)),
               rope_rescale=float(cfg.get("rope_rescale", 2.0)),
               **head)


def create_model(name, pretrained=None, **overrides):
    """Build ``name`` (a config name or YAML path); ``pretrained``: a MindSpore ``.ckpt`` of this
    model or a released PyTorch AAM state dict (converted on the fly, partial loads refused)."""
    net = build_from_config(apply_overrides(load_config(name), overrides))
    if pretrained is not None:
        from ..convert.aam import load_pretrained
        load_pretrained(net, pretrained)
    return net


def count_params(net):
    """(total, trainable) numbers of parameters, buffers excluded."""
    total = trainable = 0
    for p in net.get_parameters():
        if p.name.endswith(BUFFER_SUFFIXES):
            continue
        total += p.size
        trainable += p.size if p.requires_grad else 0
    return total, trainable
