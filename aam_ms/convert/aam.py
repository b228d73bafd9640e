"""Released AAM (``DPT``) state dict ↔ MindSpore ``AAM`` parameters.

The MindSpore cells mirror the released module paths, so the table is a rename rule:
* LayerNorm / GroupNorm ``weight``/``bias`` → ``gamma``/``beta`` (detected from the cell type);
* LoRA wrappers hold their frozen layer twice in the released state dict
  (``attn.qkv.weight`` is ``attn.qkv.base.weight``): the ``.base.`` key is read, the alias is
  checked to be identical and reported as mapped, and written back on export;
* buffers (``rope_embed.periods``, ``attn.qkv.base.bias_mask``) map like parameters;
* every other tensor keeps its name and layout (Linear = Dense (out, in); Conv2d and
  ConvTranspose2d (in, out, kh, kw) are identical in both frameworks).
"""
import re

import numpy as np
from mindspore import nn

from ..models.registry import create_model
from .common import MappingReport, match_own_names

_ALIAS = re.compile(r"^(.*\.attn\.(?:qkv|proj))\.(weight|bias)$")
_NORMS = (nn.LayerNorm, nn.GroupNorm)
_EMBED_TO_VARIANT = {384: "aam_vits16", 768: "aam_vitb16", 1024: "aam_vitl16", 64: "aam_tiny"}


def name_table(net):
    """{MindSpore parameter name: released state-dict key} for every parameter of ``net``."""
    table = {}
    for cell_name, cell in net.cells_and_names():
        prefix = cell_name + "." if cell_name else ""
        for p_name, _ in cell.parameters_and_names(expand=False):
            leaf = p_name.rsplit(".", 1)[-1]
            torch_leaf = {"gamma": "weight", "beta": "bias"}[leaf] \
                if isinstance(cell, _NORMS) and leaf in ("gamma", "beta") else leaf
            table[prefix + leaf] = prefix + torch_leaf
    names = {p.name for p in net.get_parameters()}
    if set(table) != names:
        raise RuntimeError(f"name_table: cell walk disagrees with parameters: "
                           f"{sorted(names ^ set(table))[:5]}")
    return table


def _alias_of(key, torch_sd):
    """The ``.base.`` key of which ``key`` is the LoRA-wrapper alias, or None."""
    m = _ALIAS.match(key)
    if m and ".base." not in key:
        base = f"{m.group(1)}.base.{m.group(2)}"
        if base in torch_sd:
            return base
    return None


def torch_to_ms(torch_sd, net):
    """Released state dict → ({MindSpore name: float32 array}, MappingReport) for ``net``."""
    table = name_table(net)
    shapes = {p.name: tuple(p.shape) for p in net.get_parameters()}
    inverse = {k: ms_name for ms_name, k in table.items()}
    report, params, used = MappingReport(), {}, set()
    for ms_name, key in table.items():
        src = key
        if src not in torch_sd:
            m = re.match(r"^(.*)\.base\.(weight|bias)$", key)
            src = f"{m.group(1)}.{m.group(2)}" if m and f"{m.group(1)}.{m.group(2)}" in torch_sd \
                else None
        if src is None:
            report.missing.append(ms_name)
            continue
        v = np.asarray(torch_sd[src], np.float32)
        used.add(src)
        if v.shape != shapes[ms_name]:
            report.shape_mismatch.append((src, v.shape, ms_name, shapes[ms_name]))
            continue
        params[ms_name] = v
        report.mapped.append((src, ms_name))
    for key in torch_sd:
        if key in used:
            continue
        base = _alias_of(key, torch_sd)
        if base is not None and base in used and np.array_equal(torch_sd[key], torch_sd[base]):
            report.mapped.append((key, inverse[base]))
        else:
            report.unexpected.append(key)
    return params, report


def ms_to_torch(params, net):
    """MindSpore parameters → released state-dict layout, LoRA aliases included; every tensor
    keeps the shape of its parameter (0-d stays 0-d)."""
    table = name_table(net)
    shapes = {p.name: tuple(p.shape) for p in net.get_parameters()}
    out = {}
    for ms_name, key in table.items():
        v = params[ms_name]
        v = (v.asnumpy() if hasattr(v, "asnumpy") else np.asarray(v)).reshape(shapes[ms_name])
        out[key] = v
        m = re.match(r"^(.*\.attn\.(?:qkv|proj))\.base\.(weight|bias)$", key)
        if m:
            out[f"{m.group(1)}.{m.group(2)}"] = v
    return out


def infer_model_name(sd):
    """Registry name for a released state dict or one of our checkpoints, from the backbone
    width (``backbone.patch_embed.proj.weight`` has the same name in both)."""
    w = sd.get("backbone.patch_embed.proj.weight")
    if w is None or w.shape[0] not in _EMBED_TO_VARIANT:
        raise ValueError("cannot infer the AAM variant (backbone.patch_embed.proj.weight missing "
                         "or of unknown width); pass --model")
    return _EMBED_TO_VARIANT[w.shape[0]]


def _cli(sd, a):
    """``convert aam``: released → ours, or with ``--reverse`` ours → released."""
    net = create_model(a.model or infer_model_name(sd))
    if not a.reverse:
        return torch_to_ms(sd, net)
    params, report = match_own_names(sd, net)
    if not report.ok:           # the released layout needs every parameter
        raise ValueError(f"not a checkpoint of {a.model or infer_model_name(sd)} "
                         f"({report.line()}); pass the --model it was trained as")
    return ms_to_torch(params, net), report


def register(subparsers):
    p = subparsers.add_parser("aam", help="released AAM (DPT) state dict ↔ MindSpore AAM ckpt")
    p.add_argument("src", help="released .pth/.pt/.safetensors (or our .ckpt with --reverse)")
    p.add_argument("dst", help="output .ckpt (or .safetensors with --reverse)")
    p.add_argument("--model", default=None, help="registry name or a config YAML with a model "
                   "section, e.g. a run's config.yaml (default: from the backbone width)")
    p.add_argument("--reverse", action="store_true", help="MindSpore .ckpt → released layout")
    p.set_defaults(func=_cli)
    return p


__all__ = ["name_table", "torch_to_ms", "ms_to_torch", "infer_model_name", "register"]
