"""Shared pieces of the converters: safe loading, mapping reports, atomic saving."""
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np


def load_torch_state_dict(path):
    """name → float32/int ndarray from ``.safetensors`` or a torch file, never unpickling objects.

    torch is imported here only (``weights_only=True``); nested ``{"model": ...}`` /
    ``{"state_dict": ...}`` containers are unwrapped.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.endswith(".safetensors"):
        from safetensors.numpy import load_file
        return dict(load_file(path))
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError(f"reading {path} needs torch (pip install torch); or convert it to "
                           ".safetensors first") from e
    obj = torch.load(path, map_location="cpu", weights_only=True)
    for k in ("model", "state_dict", "module", "teacher"):
        if isinstance(obj, dict) and k in obj and isinstance(obj[k], dict):
            obj = obj[k]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a state dict, found {type(obj).__name__}")
    out = {}
    for k, v in obj.items():
        if hasattr(v, "detach"):
            v = v.detach().cpu()
            out[k] = v.float().numpy() if v.is_floating_point() else v.numpy()
    return out


@dataclass
class MappingReport:
    """What a conversion did: mapped pairs, source keys left over, target keys not filled."""
    mapped: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    shape_mismatch: list = field(default_factory=list)

    @property
    def ok(self):
        return not (self.unexpected or self.missing or self.shape_mismatch)

    def summary(self):
        lines = [f"mapped {len(self.mapped)}, unexpected {len(self.unexpected)}, "
                 f"missing {len(self.missing)}, shape mismatches {len(self.shape_mismatch)}"]
        for name, items in (("unexpected", self.unexpected), ("missing", self.missing),
                            ("shape mismatch", self.shape_mismatch)):
            for it in items[:20]:
                lines.append(f"  {name}: {it}")
            if len(items) > 20:
                lines.append(f"  ... {len(items) - 20} more {name}")
        return "\n".join(lines)

    def raise_if_partial(self, what="checkpoint"):
        if not self.ok:
            raise ValueError(f"refusing a partial load of {what}:\n{self.summary()}")


def match_tensors(pairs, expected, report):
    """Fill ``report`` and return {our name: float32 array} for ``pairs`` of
    (source key, our name, array) against ``expected`` {our name: shape}: names we lack are
    unexpected, wrong shapes are mismatches, expected names never seen are missing."""
    params, seen = {}, set()
    for key, ours, v in pairs:
        if ours not in expected:
            report.unexpected.append(key)
            continue
        seen.add(ours)
        if tuple(v.shape) != tuple(expected[ours]):
            report.shape_mismatch.append(f"{key}: checkpoint {tuple(v.shape)} vs model "
                                         f"{tuple(expected[ours])}")
        else:
            params[ours] = np.asarray(v, np.float32)
            report.mapped.append((key, ours))
    report.missing = [n for n in expected if n not in seen]
    return params


def load_params(cell, params, what="model"):
    """Copy converted arrays into ``cell``: exactly its parameters, each with its shape."""
    import mindspore as ms
    names = {p.name for p in cell.get_parameters()}
    if names != set(params):
        raise ValueError(f"{what}: parameters differ from the checkpoint: missing "
                         f"{sorted(names - set(params))[:5]}, extra {sorted(set(params) - names)[:5]}")
    for p in cell.get_parameters():
        v = params[p.name]
        v = v if isinstance(v, ms.Tensor) else ms.Tensor(np.asarray(v, np.float32))
        if tuple(v.shape) != tuple(p.shape):
            raise ValueError(f"{what} parameter {p.name}: checkpoint shape {tuple(v.shape)}, "
                             f"model {tuple(p.shape)}")
        p.set_data(v.astype(p.dtype))
    return cell


def write_converted(params, report, dst, allow_partial=False):
    """Write the converted checkpoint unless the report shows a partial load (then nothing is
    written, unless ``allow_partial``); returns the report."""
    if report.ok or allow_partial:
        atomic_save_checkpoint(params, dst)
    return report


def atomic_save_checkpoint(params, path):
    """Save name → ndarray/Tensor as a MindSpore checkpoint through a temp file + rename."""
    import mindspore as ms
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    items = [{"name": k, "data": v if isinstance(v, ms.Tensor) else ms.Tensor(np.asarray(v))}
             for k, v in params.items()]
    fd, tmp = tempfile.mkstemp(suffix=".ckpt", dir=d)
    os.close(fd)
    try:
        ms.save_checkpoint(items, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
