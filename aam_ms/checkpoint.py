"""Training checkpoints: model + optimizer state + run state, written atomically, verified.

Layout of a run directory::

    ckpt/step_000200.ckpt   model parameters and optimizer state (moments, step counters),
                            with MindSpore's embedded CRC (``crc_check``)
    ckpt/step_000200.json   {"step", "file", "state", "size", "crc32"}: the record of that file
    ckpt/latest.json        the record of the newest checkpoint

Every file goes through :func:`aam_ms.fileio.atomic_write`, and a record is written only after
its checkpoint is complete, so a run killed at any moment leaves intact checkpoints behind.
:func:`newest_intact` checks each candidate (size, CRC-32 of the bytes, loadable with the
embedded CRC) newest first, so a truncated or corrupted latest file falls back to the one before.
"""
import json
import os
import zlib

import mindspore as ms

from .cli import UserError
from .fileio import atomic_write, write_text
from .weights import load_weights


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


def file_crc32(path, chunk=1 << 20):
    """CRC-32 (zlib) of a file's bytes."""
    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            crc = zlib.crc32(block, crc)
    return crc & 0xFFFFFFFF


def save_checkpoint_atomic(path, *cells, params=None):
    """Save the parameters of ``cells`` (deduplicated by name) through a temp file + rename,
    with the CRC embedded; returns {"size", "crc32"} of the file."""
    with atomic_write(path, mode=None, suffix=".ckpt") as tmp:   # save_checkpoint wants .ckpt
        ms.save_checkpoint(params if params is not None else _param_list(*cells), tmp,
                           crc_check=True)
        info = {"size": os.path.getsize(tmp), "crc32": file_crc32(tmp)}
    return info


def save_train_state(ckpt_dir, step, net, optimizer, state, keep=3):
    """Write ``step_<n>.ckpt`` and its record, then point ``latest.json`` at it; keep the
    newest ``keep`` checkpoints (and their records)."""
    name = f"step_{step:06d}.ckpt"
    info = save_checkpoint_atomic(os.path.join(ckpt_dir, name), net, optimizer)
    record = json.dumps({"step": step, "file": name, "state": state, **info}, indent=1)
    write_text(os.path.join(ckpt_dir, name[:-len(".ckpt")] + ".json"), record)
    write_text(os.path.join(ckpt_dir, "latest.json"), record)
    old = sorted(f for f in os.listdir(ckpt_dir) if f.startswith("step_") and f.endswith(".ckpt"))
    for f in old[:-keep]:
        for victim in (f, f[:-len(".ckpt")] + ".json"):
            if os.path.exists(os.path.join(ckpt_dir, victim)):
                os.remove(os.path.join(ckpt_dir, victim))
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


def verify(record, ckpt_dir):
    """Why the checkpoint of ``record`` is not intact (a short reason), or None if it is:
    present, of the recorded size and CRC-32, and loadable with its embedded CRC."""
    path = os.path.join(ckpt_dir, record["file"])
    if not os.path.isfile(path):
        return "file missing"
    size = os.path.getsize(path)
    if "size" in record and size != record["size"]:
        return f"size {size} bytes, recorded {record['size']} (truncated?)"
    if "crc32" in record and file_crc32(path) != record["crc32"]:
        return "CRC-32 mismatch (corrupted)"
    try:
        ms.load_checkpoint(path, crc_check="crc32" in record)
    except (ValueError, RuntimeError, OSError) as e:
        return f"not loadable ({str(e).splitlines()[0][:120]})"
    return None


def _records(ckpt_dir):
    out = []
    if not os.path.isdir(ckpt_dir):
        return out
    for f in os.listdir(ckpt_dir):
        if f.startswith("step_") and f.endswith(".json"):
            try:
                with open(os.path.join(ckpt_dir, f), encoding="utf-8") as fh:
                    r = json.load(fh)
                out.append(r)
            except (OSError, ValueError):
                continue
    latest_path = os.path.join(ckpt_dir, "latest.json")
    if not out and os.path.isfile(latest_path):           # a run from before the records
        try:
            with open(latest_path, encoding="utf-8") as fh:
                out.append(json.load(fh))
        except (OSError, ValueError):
            pass
    return sorted(out, key=lambda r: -int(r["step"]))


def newest_intact(ckpt_dir):
    """(record of the newest intact checkpoint or None, [(file, reason)] of the newer ones
    skipped). The record gains ``path``."""
    skipped = []
    for r in _records(ckpt_dir):
        reason = verify(r, ckpt_dir)
        if reason is None:
            r["path"] = os.path.join(ckpt_dir, r["file"])
            return r, skipped
        skipped.append((r["file"], reason))
    return None, skipped


def load_into(path, *cells, strict=True):
    """Load a training checkpoint into cells (model, optimizer) with
    :func:`aam_ms.weights.load_weights`; with ``strict`` every parameter of every cell must be
    found with its shape (the file holds the other cells' tensors too)."""
    for cell in cells:
        if cell is None:
            continue
        report = load_weights(cell, path, strict=False)
        if strict and (report.missing or report.shape_mismatch):
            raise UserError(f"{path} does not fit the {type(cell).__name__}: {report.line()}")
