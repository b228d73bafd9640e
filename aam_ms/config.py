"""Two-stage configuration: YAML file(s) → defaults → ``key.sub=value`` command-line overrides.

A run config names its model by registry name (``model.name: aam_tiny``) or by a model YAML
(``model.config: configs/aam_tiny.yaml``) and adds ``data``, ``train``, ``eval`` sections. A
YAML may start from another with ``base: other.yaml`` (paths relative to the including file).
Overrides are parsed as YAML scalars, so ``train.lr=1e-4`` is a float and ``data.clip_len=8``
an int; an override of a key that does not exist is refused (typos fail loudly).
"""
import copy
import os

import yaml

from .resources import config_path


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message names it."""


def _read_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def merge(base, over):
    """Recursive dict merge; values of ``over`` win, mappings merge key by key."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_yaml(path):
    """Load a YAML config, resolving a ``base:`` chain (relative to each file)."""
    path = str(config_path(path))      # a shipped config may be named without its folder
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    base_path = base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base)
    return merge(load_yaml(base_path), data)


def apply_overrides(cfg, overrides, allow_new=False):
    """Apply ``a.b.c=value`` strings in order; unknown keys are refused unless ``allow_new``."""
    cfg = copy.deepcopy(cfg)
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key.sub=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({e})") from None
        node = cfg
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                if not allow_new:
                    raise ConfigError(f"override {key!r}: no section {p!r} in the config")
                node[p] = {}
            node = node[p]
        if parts[-1] not in node and not allow_new:
            near = ", ".join(sorted(node)) or "(none)"
            raise ConfigError(f"override {key!r}: unknown key {parts[-1]!r}; known here: {near}")
        node[parts[-1]] = value
    return cfg


def load_config(path, overrides=(), defaults=None):
    """defaults ← YAML file ← overrides."""
    cfg = merge(defaults or {}, load_yaml(path))
    return apply_overrides(cfg, overrides)
