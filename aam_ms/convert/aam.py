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

from .common import MappingReport, load_params, load_torch_state_dict, write_converted

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
    """MindSpore parameters → released state-dict layout, LoRA aliases included."""
    table = name_table(net)
    out = {}
    for ms_name, key in table.items():
        v = params[ms_name]
        v = v.asnumpy() if hasattr(v, "asnumpy") else np.asarray(v)
        out[key] = v
        m = re.match(r"^(.*\.attn\.(?:qkv|proj))\.base\.(weight|bias)$", key)
        if m:
            out[f"{m.group(1)}.{m.group(2)}"] = v
    return out




def load_pretrained(net, path):
    """Fill ``net`` from a MindSpore ``.ckpt`` or a released PyTorch/safetensors state dict."""
    import mindspore as ms
    if str(path).endswith(".ckpt"):
        return load_params(net, ms.load_checkpoint(str(path)))
    params, report = torch_to_ms(load_torch_state_dict(str(path)), net)
    report.raise_if_partial(str(path))
    return load_params(net, params)


def infer_model_name(torch_sd):
    """Registry name for a released state dict, from the backbone width."""
    w = torch_sd.get("backbone.patch_embed.proj.weight")
    if w is None or w.shape[0] not in _EMBED_TO_VARIANT:
        raise ValueError("cannot infer the AAM variant (backbone.patch_embed.proj.weight missing "
                         "or of unknown width); pass --model")
    return _EMBED_TO_VARIANT[w.shape[0]]


def convert(src, dst, model=None, allow_partial=False):
    """Released ``src`` → MindSpore checkpoint ``dst`` (not written on a refused partial load)."""
    from aam_ms.models.registry import create_model
    sd = load_torch_state_dict(src)
    net = create_model(model or infer_model_name(sd))
    params, report = torch_to_ms(sd, net)
    return write_converted(params, report, dst, allow_partial)


def export(src, dst, model):
    """MindSpore checkpoint ``src`` of ``model`` → released-layout ``.safetensors`` ``dst``."""
    import os
    import tempfile

    import mindspore as ms
    from safetensors.numpy import save_file

    from aam_ms.models.registry import create_model
    net = create_model(model)
    out = ms_to_torch(ms.load_checkpoint(src), net)
    d = os.path.dirname(os.path.abspath(dst))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".safetensors", dir=d)
    os.close(fd)
    try:
        save_file({k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}, tmp)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return len(out)


def _run(a):
    if a.reverse:
        if not a.model:
            raise SystemExit("aam --reverse needs --model")
        print(f"wrote {export(a.src, a.dst, a.model)} tensors to {a.dst}")
        return 0
    report = convert(a.src, a.dst, a.model, a.allow_partial)
    print(report.summary())
    return 0 if report.ok or a.allow_partial else 1


def register(subparsers):
    p = subparsers.add_parser("aam", help="released AAM (DPT) state dict ↔ MindSpore AAM ckpt")
    p.add_argument("src", help="released .pth/.pt/.safetensors (or a .ckpt with --reverse)")
    p.add_argument("dst", help="output .ckpt (or .safetensors with --reverse)")
    p.add_argument("--model", default=None, help="registry name (default: from the backbone width)")
    p.add_argument("--reverse", action="store_true", help="MindSpore .ckpt → released layout")
    p.add_argument("--allow-partial", action="store_true", help="write even if keys disagree")
    p.set_defaults(func=_run)
    return p


__all__ = ["name_table", "torch_to_ms", "ms_to_torch", "load_params", "load_pretrained",
           "convert", "export", "register", "infer_model_name"]
