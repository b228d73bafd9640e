"""A ready-to-run AAM: config + network + weights + prompt/audio encoders, from a run or a config.

Every user-facing tool (train, eval, predict, export) starts from a config YAML whose sections
are ``model`` (see ``configs/aam_*.yaml``), ``text_encoder`` / ``audio_encoder``
(:mod:`aam_ms.encoders`), ``input`` (``size: [H, W]``, ``clip_len``), and for training ``data``,
``train``, ``eval``. A training run directory holds its resolved ``config.yaml`` and
``ckpt/``; ``--run DIR`` picks both up.
"""
import os
from dataclasses import dataclass

import numpy as np
import yaml

from .cli import UserError
from .checkpoint import latest
from .config import ConfigError, Open, load_config, merge
from .data.prompts import RELEASED
from .encoders import AUDIO_DEFAULTS, TEXT_DEFAULTS, build_encoders
from .fileio import write_text
from .models.backbones.dinov3 import make_config
from .models.registry import MODEL_SCHEMA, build_from_config
from .weights import load_weights

INPUT_DEFAULTS = {"size": [448, 448], "clip_len": 16, "mean": [0.485, 0.456, 0.406],
                  "std": [0.229, 0.224, 0.225]}
# Every section a run config may hold; train checks ``data`` / ``train`` itself.
RUN_SCHEMA = {"input": INPUT_DEFAULTS, "model": MODEL_SCHEMA, "text_encoder": TEXT_DEFAULTS,
              "audio_encoder": AUDIO_DEFAULTS, "data": Open(), "train": Open(), "eval": Open(),
              "device": "cpu", "seed": 0}


@dataclass
class Session:
    cfg: dict
    model: object
    text: object = None
    audio: object = None
    checkpoint: str = None

    @property
    def size(self):
        return tuple(self.cfg["input"]["size"])

    def normalise(self, rgb_uint8):
        """uint8 (..., H, W, 3) RGB → float32 (..., 3, H, W), ImageNet mean/std."""
        x = rgb_uint8.astype(np.float32) / 255.0
        mean = np.asarray(self.cfg["input"]["mean"], np.float32)
        std = np.asarray(self.cfg["input"]["std"], np.float32)
        x = (x - mean) / std
        return np.moveaxis(x, -1, -3).copy()


def check_run_config(cfg, path):
    """Values the key/type check cannot judge: a model section, the input size (two positive
    multiples of the backbone's patch size), a positive clip length, 3-channel mean/std."""
    if not isinstance(cfg.get("model"), dict) or "backbone" not in cfg["model"]:
        raise ConfigError(f"{path}: no 'model' section with a backbone")
    try:
        patch = make_config(cfg["model"]["backbone"]).patch_size
    except (KeyError, ValueError) as e:
        raise ConfigError(f"{path}: model.backbone {cfg['model']['backbone']!r} is unknown "
                          f"({e})") from None
    inp = cfg["input"]
    size = inp["size"]
    if len(size) != 2 or not all(isinstance(v, int) and v > 0 and v % patch == 0 for v in size):
        raise ConfigError(f"input.size {size}: must be [H, W], two positive multiples of the "
                          f"patch size {patch}, e.g. [128, 128] (config {path})")
    if not (isinstance(inp["clip_len"], int) and inp["clip_len"] >= 1):
        raise ConfigError(f"input.clip_len {inp['clip_len']}: must be an integer ≥ 1 "
                          f"(config {path})")
    for k in ("mean", "std"):
        if len(inp[k]) != 3 or (k == "std" and min(inp[k]) <= 0):
            raise ConfigError(f"input.{k} {inp[k]}: must be 3 per-channel values"
                              + (" > 0" if k == "std" else "") + f" (config {path})")
    return cfg


def resolve_config(run=None, config=None, overrides=(), defaults=None, schema=None):
    """The checked config dict of a run directory or a YAML file, with defaults and overrides
    (``defaults`` / ``schema`` extend the run defaults and ``RUN_SCHEMA``, e.g. for training)."""
    if run:
        path = os.path.join(run, "config.yaml")
        if not os.path.isfile(path):
            raise UserError(f"{run} is not a training run (no config.yaml)")
    elif config:
        path = config
    else:
        raise UserError("give --run DIR or --config FILE")
    cfg = load_config(path, overrides, merge({"input": INPUT_DEFAULTS}, defaults or {}),
                      merge(RUN_SCHEMA, schema or {}))
    return check_run_config(cfg, path)


def run_checkpoint(run):
    """The newest complete checkpoint of a run (final model if present, else the latest step)."""
    final = os.path.join(run, "model_final.ckpt")
    if os.path.isfile(final):
        return final
    info = latest(os.path.join(run, "ckpt"))
    if info is None:
        raise UserError(f"{run}: no checkpoint yet (no model_final.ckpt or ckpt/latest.json)")
    return info["path"]


def load_session(run=None, config=None, checkpoint=None, overrides=(), encoders=True,
                 allow_random=False):
    """Build the network and load weights; ``checkpoint`` may be a MindSpore ``.ckpt`` or a
    released PyTorch AAM state dict. Without weights the call fails unless ``allow_random``."""
    cfg = resolve_config(run, config, overrides)
    model = build_from_config(cfg["model"])
    if checkpoint is None and run:
        checkpoint = run_checkpoint(run)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    elif not allow_random:
        raise UserError("no weights: pass --checkpoint (a .ckpt or the released AAM .pth) or "
                        "--run DIR of a training run")
    model.set_train(False)
    text = audio = None
    if encoders:
        text, audio = build_encoders(cfg)
        model.set_none_prompt(text.embed([RELEASED["None"]]))
    return Session(cfg, model, text, audio, checkpoint)


def save_config(cfg, path):
    """Write a resolved config as YAML (atomically)."""
    write_text(path, yaml.safe_dump(cfg, sort_keys=False))
