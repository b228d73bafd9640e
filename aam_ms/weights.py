"""Where weights are loaded: one ``load_weights`` for every checkpoint the project reads.

``load_weights(net, path, strict=True)`` fills a cell from

* a MindSpore ``.ckpt`` with our parameter names (a training checkpoint's optimizer state is
  skipped and counted in the report);
* a ``.safetensors`` or PyTorch ``.pth`` / ``.pt`` / ``.bin`` file: with our names it is read
  as it is, otherwise it is a released state dict mapped by the converter of the cell's type
  (``CONVERTERS``: AAM, DINOv3, CLIP text, Wav2CLIP);

and returns the one ``MappingReport`` of every converter. Anything wrong with the file — absent,
empty, truncated or corrupt, Python objects in a pickle, NaN/Inf weights, a tensor of the wrong
shape, another architecture — is a ``UserError`` naming the file and what is wrong.

PyTorch files are read with ``torch.load(weights_only=True)`` only: a pickle that would build
any other Python object is refused, never retried unsafely. TorchScript archives (the OpenAI
CLIP release) are read with ``torch.jit.load``, which runs no Python pickle code.
Writers (``save_ckpt``, ``save_safetensors``) go through :func:`aam_ms.fileio.atomic_write`.
"""
import os
import zipfile
from dataclasses import dataclass
from typing import Callable

import mindspore as ms
import numpy as np

from .cli import UserError
from .convert import aam, clip, dinov3, wav2clip
from .convert.common import MappingReport, match_own_names
from .fileio import atomic_write
from .models.aam import AAM
from .models.backbones.dinov3 import DinoVisionTransformer
from .models.encoders.clip_text import CLIPTextEncoder
from .models.encoders.wav2clip import Wav2CLIP


@dataclass(frozen=True)
class Converter:
    """A released layout: the cell it fills, ``to_ms(state dict, cell) -> (params, report)``
    and, where the release is written back, ``to_torch(params, cell) -> state dict``."""
    cell: type
    to_ms: Callable
    to_torch: Callable = None


# The one table of converters; ``python -m aam_ms.convert <name>`` offers the same names.
CONVERTERS = {
    "aam": Converter(AAM, aam.torch_to_ms, aam.ms_to_torch),
    "dinov3": Converter(DinoVisionTransformer, dinov3.to_ms),
    "clip": Converter(CLIPTextEncoder, clip.to_ms),
    "wav2clip": Converter(Wav2CLIP, wav2clip.to_ms),
}


def converter_for(net):
    """The ``CONVERTERS`` entry whose cell type ``net`` is, or None."""
    return next((c for c in CONVERTERS.values() if isinstance(net, c.cell)), None)


# ---------------------------------------------------------------------------------- reading
def _check_file(path):
    if not os.path.exists(path):
        raise UserError(f"checkpoint not found: {path}")
    if not os.path.isfile(path):
        raise UserError(f"{path}: not a file")
    if os.path.getsize(path) == 0:
        raise UserError(f"{path}: empty file (0 bytes), not a checkpoint")


def _read_ckpt(path):
    try:
        params = ms.load_checkpoint(path)
    except (ValueError, RuntimeError, OSError) as e:
        raise UserError(f"{path}: not a readable MindSpore checkpoint (truncated or corrupt)") \
            from e
    if not params:
        raise UserError(f"{path}: a MindSpore checkpoint with no tensors")
    return {k: v.asnumpy() for k, v in params.items()}


def _read_safetensors(path):
    from safetensors import SafetensorError
    from safetensors.numpy import load_file
    try:
        return dict(load_file(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable safetensors file (truncated or corrupt: "
                        f"{str(e).splitlines()[0][:120]})") from e


def _numpy(v):
    v = v.detach().cpu()
    return v.float().numpy() if v.is_floating_point() else v.numpy()


def _is_torchscript(path):
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _read_torch(path):
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UserError(f"reading {path} needs torch (pip install torch==2.13.0), or convert it "
                        "to .safetensors first") from e
    try:
        if _is_torchscript(path):
            return {k: _numpy(v) for k, v in torch.jit.load(path, map_location="cpu")
                    .state_dict().items()}
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError, RuntimeError, EOFError, ... here
        if "GLOBAL" in str(e) or "global" in str(e):
            raise UserError(f"{path}: refused: the file holds Python objects besides tensors, "
                            "and loading them could run code; only plain state dicts are read") \
                from e
        raise UserError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupt)") from e
    for k in ("model", "state_dict", "module", "teacher"):
        if isinstance(obj, dict) and isinstance(obj.get(k), dict):
            obj = obj[k]
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a state dict (name → tensor), found "
                        f"{type(obj).__name__}")
    out = {k: _numpy(v) for k, v in obj.items() if hasattr(v, "detach")}
    if not out:
        raise UserError(f"{path}: the file holds no tensors")
    return out


def read_tensors(path):
    """name → numpy array of a ``.ckpt``, ``.safetensors`` or PyTorch file (see the module doc)."""
    path = os.fspath(path)
    _check_file(path)
    if path.endswith(".ckpt"):
        return _read_ckpt(path)
    if path.endswith(".safetensors"):
        return _read_safetensors(path)
    return _read_torch(path)


def check_finite(tensors, path):
    """Refuse ``tensors`` if any floating array holds NaN or ±Inf (names the first one)."""
    for name, v in tensors.items():
        v = np.asarray(v)
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            n = int(v.size - np.isfinite(v).sum())
            raise UserError(f"{path}: tensor {name} holds {n} non-finite value(s) (NaN/Inf); "
                            "refusing these weights")


# ---------------------------------------------------------------------------------- loading
def set_params(net, params, what="model"):
    """Copy converted arrays into ``net``: exactly its parameters, each with its shape."""
    names = {p.name for p in net.get_parameters()}
    if names != set(params):
        raise UserError(f"{what}: parameters differ from the checkpoint: missing "
                        f"{sorted(names - set(params))[:5]}, extra "
                        f"{sorted(set(params) - names)[:5]}")
    return _assign(net, params, what)


def _assign(net, params, what):
    """Copy the arrays of ``params`` present for ``net``'s parameters (shapes checked)."""
    for p in net.get_parameters():
        if p.name not in params:
            continue
        v = params[p.name]
        v = v if isinstance(v, ms.Tensor) else ms.Tensor(np.asarray(v, np.float32))
        if tuple(v.shape) != tuple(p.shape):
            raise UserError(f"{what} parameter {p.name}: checkpoint shape {tuple(v.shape)}, "
                            f"model {tuple(p.shape)}")
        p.set_data(v.astype(p.dtype))
    return net


def load_weights(net, path, strict=True):
    """Fill ``net`` from ``path`` (``.ckpt``, ``.safetensors`` or a released ``.pth``) and
    return the MappingReport. ``strict``: every parameter of ``net`` must be filled and every
    tensor of the file used (else nothing is loaded); ``strict=False`` loads what fits."""
    path = os.fspath(path)
    tensors = read_tensors(path)
    names = {p.name for p in net.get_parameters()}
    conv = converter_for(net)
    if path.endswith(".ckpt") or names <= set(tensors) or conv is None:
        params, report = match_own_names(tensors, net)
    else:
        params, report = conv.to_ms(tensors, net)
    kind = type(net).__name__
    if not report.mapped:
        raise UserError(f"{path}: not a checkpoint of this {kind} (none of its "
                        f"{len(names)} parameters found; {report.line()})")
    if strict and not report.ok:
        raise UserError(f"{path} does not fit the {kind}: {report.line()}")
    check_finite(params, path)
    _assign(net, params, path)
    return report


# ---------------------------------------------------------------------------------- writing
def save_ckpt(params, path):
    """name → array / Tensor as a MindSpore checkpoint, atomically (temp file + rename)."""
    items = [{"name": k, "data": v if isinstance(v, ms.Tensor) else ms.Tensor(np.asarray(v))}
             for k, v in params.items()]
    with atomic_write(path, mode=None, suffix=".ckpt") as tmp:
        ms.save_checkpoint(items, tmp)
    return path


def save_safetensors(tensors, path):
    """name → array as float32 ``.safetensors``, atomically; 0-d tensors stay 0-d."""
    from safetensors.numpy import save_file
    arrays = {k: np.array(v, dtype=np.float32, order="C") for k, v in tensors.items()}
    with atomic_write(path, mode=None, suffix=".safetensors") as tmp:
        save_file(arrays, tmp)
    return path


__all__ = ["CONVERTERS", "Converter", "MappingReport", "check_finite", "converter_for",
           "load_weights", "read_tensors", "save_ckpt", "save_safetensors", "set_params"]
