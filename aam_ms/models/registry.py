"""Model registry: ``create_model(name, **overrides)`` from ``configs/<name>.yaml``.

Overrides use flat names: ``lora_r``, ``lora_alpha``, ``lora_dropout``, ``lora_last_n``,
``intermediate_layers``, ``kernels``, ``cfl`` and any head width (``out_channels``, ``features``,
``decoder_channels``, ``se_reduction``, ``hyp_dim``, ``text_dim``, ``audio_dim``,
``fusion_hidden``, ``fpd_frames``, ``fpd_heads``). Weights are loaded separately, with
:func:`aam_ms.weights.load_weights`.
"""
from pathlib import Path

from .. import kernels
from ..config import ConfigError, load_yaml
from ..resources import config_dir
from .aam import AAM

CONFIG_DIR = config_dir()
LORA_KEYS = {"lora_r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout",
             "lora_last_n": "last_n"}
# The keys a ``model`` section may hold, with example values for the config type check.
MODEL_SCHEMA = {
    "name": "aam_tiny", "backbone": "vitl16", "intermediate_layers": [0],
    "lora": {"r": 32, "alpha": 64.0, "dropout": 0.05, "last_n": None},
    "head": {"out_channels": [0], "features": 0, "decoder_channels": [0], "se_reduction": [0],
             "hyp_dim": 0, "text_dim": 0, "audio_dim": 0, "fusion_hidden": 0,
             "fusion_dropout": 0.0, "fpd_frames": 0, "fpd_heads": 0},
    "rope_rescale": 2.0, "kernels": "auto", "cfl": False,
}
HEAD_KEYS = tuple(MODEL_SCHEMA["head"])
# Non-trainable tensors that the released state dict holds as buffers (not parameters).
BUFFER_SUFFIXES = ("rope_embed.periods", ".bias_mask")


def list_models():
    """Names of the configs in ``configs/`` that define an AAM model."""
    return sorted(p.stem for p in CONFIG_DIR.glob("aam_*.yaml"))


def model_config(name):
    """The ``model`` section of ``configs/<name>.yaml`` (or of a YAML path, e.g. a run's
    ``config.yaml``)."""
    path = Path(name) if str(name).endswith((".yaml", ".yml")) else CONFIG_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown model {name!r}: {path} not found; available: {list_models()}")
    cfg = load_yaml(path)
    if not isinstance(cfg.get("model"), dict):
        raise ConfigError(f"{path}: expected a top-level 'model' section")
    return cfg["model"]


def with_overrides(cfg, overrides):
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
            raise ConfigError(f"create_model: unknown override {k!r}")
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


def create_model(name, **overrides):
    """Build ``name`` (a config name or a YAML path with a ``model`` section), random weights."""
    return build_from_config(with_overrides(model_config(name), overrides))


def count_params(net):
    """(total, trainable) numbers of parameters, buffers excluded."""
    total = trainable = 0
    for p in net.get_parameters():
        if p.name.endswith(BUFFER_SUFFIXES):
            continue
        total += p.size
        trainable += p.size if p.requires_grad else 0
    return total, trainable
