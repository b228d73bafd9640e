"""Configuration: YAML file(s) → defaults → ``key.sub=value`` overrides, every key checked.

``load_config(path, overrides, defaults, schema)`` is the one way a tool reads its config.
A YAML may start from another with ``base: other.yaml`` (relative to the including file).
Every key of every file and every override must exist in the tool's ``schema`` (nested dicts
whose leaves are example values; ``None`` = any value; ``Open()`` = a section another tool
checks); a near miss gets a "did you mean" hint (``inptu`` → ``input``). Values are type
checked against the current value or the schema's example (an int where an int is expected,
a number where a float is, a list where a list is), so ``train.lr=fast`` fails with one line.
Overrides are parsed as YAML scalars; where a number is expected, ``1e-4`` is one. Relative
data paths of a file (``PATH_KEYS``) resolve against that file's folder, so a run config works
from any working directory; paths given with ``--set`` are relative to the working directory.
"""
import copy
import difflib
import os

import yaml

from .cli import UserError
from .resources import config_path

# Input files named by a config; a relative value in a YAML file is relative to that file.
PATH_KEYS = ("data.train", "data.val", "data.root", "text_encoder.checkpoint",
             "text_encoder.tokenizer", "audio_encoder.checkpoint")


class ConfigError(UserError, ValueError):
    """A configuration file or override is invalid; the message names it."""


class Open:
    """Schema marker: a section whose keys another tool checks."""


def _read_yaml(path):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a YAML text file (not UTF-8; binary?)") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{path}: not valid YAML{at} ({getattr(e, 'problem', None) or e})") \
            from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
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


def _hint(key, known):
    near = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(map(str, known))}"


def _coerce(value, ref):
    """YAML reads ``1e-4`` (no dot) as a string; where a number is expected it is one."""
    if isinstance(ref, float) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def _type_error(key, value, ref):
    """None if ``value`` may replace ``ref`` (the current value / schema example), else why."""
    if ref is None or isinstance(ref, Open):
        return None
    if isinstance(ref, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(ref, int):
        ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(ref, float):
        ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(ref, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(ref, (list, tuple)):
        ok, want = isinstance(value, (list, tuple)), f"a list like {list(ref)}"
        if ok and ref:
            return next((f"{key}: element {v!r} — {why.split(': ', 1)[1]}" for v in value
                         for why in [_type_error(key, v, ref[0])] if why), None)
    elif isinstance(ref, dict):
        ok, want = isinstance(value, dict), "a mapping (section)"
    else:
        return None
    return None if ok else f"{key}: expected {want}, got {value!r}"


def check_keys(data, schema, path, prefix=""):
    """Refuse any key of ``data`` that ``schema`` lacks (with a hint) or a value of the wrong
    type; recursive over sections."""
    for k, v in data.items():
        key = prefix + str(k)
        if k not in schema:
            raise ConfigError(f"{path}: unknown key {key!r}{_hint(k, list(schema))}")
        ref = schema[k]
        if isinstance(ref, Open):
            continue
        if isinstance(ref, dict):
            if not isinstance(v, dict):
                raise ConfigError(f"{path}: {key} must be a section (a mapping), got {v!r}")
            check_keys(v, ref, path, key + ".")
            continue
        data[k] = v = _coerce(v, ref)
        why = _type_error(key, v, ref)
        if why:
            raise ConfigError(f"{path}: {why}")


def _resolve_paths(data, path):
    folder = os.path.dirname(os.path.abspath(path))
    for dotted in PATH_KEYS:
        section, key = dotted.split(".")
        node = data.get(section)
        if isinstance(node, dict) and isinstance(node.get(key), str) and node[key] \
                and not os.path.isabs(os.path.expanduser(node[key])):
            node[key] = os.path.normpath(os.path.join(folder, node[key]))
    return data


def load_yaml(path, schema=None):
    """One YAML config with its ``base:`` chain (relative to each file), keys checked against
    ``schema`` per file, relative ``PATH_KEYS`` resolved against each file's folder."""
    path = str(config_path(path))      # a shipped config may be named without its folder
    data = _read_yaml(path)
    base = data.pop("base", None)
    if schema is not None:
        check_keys(data, schema, path)
    data = _resolve_paths(data, path)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base must be a file name, got {base!r}")
    base_path = base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base)
    return merge(load_yaml(base_path, schema), data)


def _schema_at(schema, parts):
    node = schema
    for p in parts:
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def _known(schema, parts):
    """True if ``schema`` has the dotted key ``parts`` or it lies in an ``Open`` section."""
    node = schema
    for p in parts:
        if isinstance(node, Open):
            return True
        if not isinstance(node, dict) or p not in node:
            return False
        node = node[p]
    return True


def apply_overrides(cfg, overrides, schema=None):
    """Apply ``a.b.c=value`` strings in order: each key must exist in ``cfg`` or ``schema``,
    each value must have the type of the value it replaces (see the module doc)."""
    cfg = copy.deepcopy(cfg)
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key.sub=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: the value is not valid YAML") from None
        node = cfg
        for i, p in enumerate(parts[:-1]):
            if not isinstance(node.get(p), dict):
                if p in node or not _known(schema, parts[:i + 1]):
                    sections = [k for k in node if isinstance(node[k], dict)] or ["(none)"]
                    raise ConfigError(f"override {key!r}: no section {p!r}{_hint(p, sections)}")
                node[p] = {}
            node = node[p]
        leaf = parts[-1]
        if leaf not in node and not _known(schema, parts):
            raise ConfigError(f"override {key!r}: unknown key {leaf!r}"
                              f"{_hint(leaf, list(node) or ['(none)'])}")
        ref_schema = _schema_at(schema, parts)
        ref = node.get(leaf, ref_schema)
        value = _coerce(value, ref)
        why = _type_error(key, value, ref)
        if why:
            raise ConfigError(f"override {item!r}: {why.split(': ', 1)[1]}")
        node[leaf] = value
    return cfg


def load_config(path, overrides=(), defaults=None, schema=None):
    """defaults ← YAML file (checked against ``schema``, default: the keys of ``defaults``)
    ← overrides (checked the same way)."""
    schema = schema if schema is not None else defaults
    cfg = merge(defaults or {}, load_yaml(path, schema))
    return apply_overrides(cfg, overrides, schema)
