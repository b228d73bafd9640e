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

from .config import apply_overrides, load_yaml, merge

INPUT_DEFAULTS = {"size": [448, 448], "clip_len": 16, "mean": [0.485, 0.456, 0.406],
                  "std": [0.229, 0.224, 0.225]}


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


def resolve_config(run=None, config=None, overrides=()):
    """The config dict of a run directory or a YAML file, with defaults and overrides."""
    if run:
        path = os.path.join(run, "config.yaml")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{run} is not a training run (no config.yaml)")
    elif config:
        path = config
    else:
        raise ValueError("give --run DIR or --config FILE")
    cfg = merge({"input": INPUT_DEFAULTS}, load_yaml(path))
    if "model" not in cfg:
        raise ValueError(f"{path}: no 'model' section")
    return apply_overrides(cfg, overrides)


def run_checkpoint(run):
    """The newest complete checkpoint of a run (final model if present, else the latest step)."""
    final = os.path.join(run, "model_final.ckpt")
    if os.path.isfile(final):
        return final
    from .checkpoint import latest
    info = latest(os.path.join(run, "ckpt"))
    if info is None:
        raise FileNotFoundError(f"{run}: no checkpoint yet (no model_final.ckpt or ckpt/latest.json)")
    return info["path"]


def load_session(run=None, config=None, checkpoint=None, overrides=(), encoders=True,
                 allow_random=False):
    """Build the network and load weights; ``checkpoint`` may be a MindSpore ``.ckpt`` or a
    released PyTorch AAM state dict. Without weights the call fails unless ``allow_random``."""
    from .models.registry import build_from_config
    cfg = resolve_config(run, config, overrides)
    model = build_from_config(cfg["model"])
    if checkpoint is None and run:
        checkpoint = run_checkpoint(run)
    if checkpoint is not None:
        if checkpoint.endswith((".pth", ".pt", ".safetensors", ".bin")):
            from .convert.aam import load_pretrained
            load_pretrained(model, checkpoint)
        else:
            from .checkpoint import load_into
            load_into(checkpoint, model)
    elif not allow_random:
        raise ValueError("no weights: pass --checkpoint (a .ckpt or the released AAM .pth) or "
                         "--run DIR of a training run")
    model.set_train(False)
    text = audio = None
    if encoders:
        from .encoders import build_encoders
        text, audio = build_encoders(cfg)
        from .data.prompts import RELEASED
        model.set_none_prompt(text.embed([RELEASED["None"]]))
    return Session(cfg, model, text, audio, checkpoint)


def save_config(cfg, path):
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
