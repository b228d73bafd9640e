"""WR-1: the documented weight rule of the golden reference set (shared/golden/README.md).

Every tensor of the released network's ``state_dict`` is generated from its own name:
seed = first 8 bytes (little endian) of sha256(name); PCG64; float64 draws, one rounding to
float32. Shapes are in the PyTorch layout. ``generate(keys_json)`` returns a complete state
dict (numpy, PyTorch names and layouts), including aliases, 0-dim constructor values and the
deterministic buffers, and can verify each tensor against the stored sha256.
"""
import hashlib
import json
import math

import numpy as np


def wr1(key, shape):
    """The rule for one tensor; ``None`` for 0-dim tensors (they keep constructor values)."""
    seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    if len(shape) == 0:
        return None
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        v = rng.uniform(-1.0, 1.0, size=shape) / math.sqrt(fan_in)
    elif key.endswith(".weight"):
        v = 1.0 + 0.1 * rng.uniform(-1.0, 1.0, size=shape)
    else:
        v = 0.1 * rng.uniform(-1.0, 1.0, size=shape)
    return v.astype(np.float32)


def _buffer(key, shape):
    if key.endswith("rope_embed.periods"):
        # base**(2i / (D_head/2)) with the exponent in float32, the power correctly rounded
        n = shape[0]
        expo = (2 * np.arange(n, dtype=np.float32) / np.float32(2 * n)).astype(np.float32)
        return (100.0 ** expo.astype(np.float64)).astype(np.float32)
    if key.endswith("bias_mask"):
        m = np.ones(shape, np.float32)
        third = shape[0] // 3
        m[third:2 * third] = 0.0
        return m
    raise KeyError(f"no rule for buffer {key}")


def sha256_f32(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def load_keys(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def generate(keys_json, verify=True):
    """State dict (name → float32 ndarray, PyTorch layout) for a golden ``keys.json``."""
    spec = load_keys(keys_json) if isinstance(keys_json, str) else keys_json
    out = {}
    for e in spec["keys"]:
        key, shape = e["key"], tuple(e["shape"])
        if e["kind"] == "buffer":
            v = _buffer(key, shape)
        elif len(shape) == 0:
            v = np.asarray(e["value"], np.float32)
        else:
            v = wr1(e.get("seed_key") or key, shape)
        if verify and e.get("sha256_f32le") and sha256_f32(v) != e["sha256_f32le"]:
            raise ValueError(f"WR-1 mismatch for {key}: regenerated tensor differs from keys.json")
        out[key] = v
    return out
