"""Training checkpoints: model + optimizer state + run state, written atomically, resumable.

Layout of a run directory::

    ckpt/step_000200.ckpt   model parameters and optimizer state (moments, step counter)
    ckpt/latest.json        {"step": 200, "file": "step_000200.ckpt", "state": {...}}

``latest.json`` is replaced (temp file + rename) only after its checkpoint is complete, so a
run killed at any moment resumes from the last complete checkpoint.
"""
import json
import os
import tempfile

import mindspore as ms


def _atomic_write_text(path, text):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _param_list(*cells):
    seen, out = set(), []
    for cell in cells:
        if cell is None:
            continue
        for p in cell.get_parameters():
            if p.name not in seen:
                seen.add(p.name)
                out.append({"name": p.name, "data": p})
    return out


def save_checkpoint_atomic(path, *cells, params=None):
    """Save the parameters of ``cells`` (deduplicated by name) through a temp file + rename."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp.ckpt")   # save_checkpoint appends .ckpt otherwise
    os.close(fd)
    try:
        ms.save_checkpoint(params if params is not None else _param_list(*cells), tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_train_state(ckpt_dir, step, net, optimizer, state, keep=3):
    """Write ``step_<n>.ckpt`` and then point ``latest.json`` at it; keep the newest ``keep``."""
    name = f"step_{step:06d}.ckpt"
    save_checkpoint_atomic(os.path.join(ckpt_dir, name), net, optimizer)
    _atomic_write_text(os.path.join(ckpt_dir, "latest.json"),
                       json.dumps({"step": step, "file": name, "state": state}, indent=1))
    old = sorted(f for f in os.listdir(ckpt_dir) if f.startswith("step_") and f.endswith(".ckpt"))
    for f in old[:-keep]:
        os.remove(os.path.join(ckpt_dir, f))
    return os.path.join(ckpt_dir, name)


def latest(ckpt_dir):
    """The parsed ``latest.json`` of a run, or None when the run has no checkpoint yet."""
    path = os.path.join(ckpt_dir, "latest.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        info = json.load(f)
    info["path"] = os.path.join(ckpt_dir, info["file"])
    if not os.path.isfile(info["path"]):
        raise FileNotFoundError(f"{path} points at a missing checkpoint {info['path']}")
    return info


def load_into(path, *cells, strict=True):
    """Load a checkpoint into cells; with ``strict`` every parameter of every cell must be found."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    params = ms.load_checkpoint(path)
    for cell in cells:
        if cell is None:
            continue
        missing, _ = ms.load_param_into_net(cell, params, strict_load=False)
        if strict and missing:
            raise ValueError(f"{path} does not match the model: {len(missing)} parameter(s) "
                             f"missing, e.g. {missing[:5]}")
    return params
