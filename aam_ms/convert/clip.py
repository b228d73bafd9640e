"""CLIP text tower → ``CLIPTextEncoder`` parameters.

Sources: an OpenAI CLIP state dict (``ViT-L-14.pt``: a TorchScript archive or a plain state
dict) or a HF ``CLIPModel`` / ``CLIPTextModelWithProjection`` state dict (``.bin`` or
``.safetensors``). Only text-tower keys are read; the image tower, ``logit_scale`` and HF
``position_ids`` buffers are ignored. HF names are first rewritten to OpenAI names
(q/k/v stacked into ``in_proj``, ``text_projection.weight`` transposed), then OpenAI names map
one-to-one onto ours (LayerNorm ``weight/bias`` → ``gamma/beta``, ``token_embedding.weight`` →
``embedding_table``).
"""
import re

import numpy as np

from ..models.encoders.clip_text import CLIPTextConfig, CLIPTextEncoder
from .common import MappingReport, match_tensors

_IGNORED = re.compile(r"^(visual\.|vision_model\.|visual_projection\.|logit_scale$|"
                      r"input_resolution$|context_length$|vocab_size$|"
                      r"text_model\.embeddings\.position_ids$)")
_HF_RENAMES = (
    (r"^text_model\.embeddings\.token_embedding\.weight$", "token_embedding.weight"),
    (r"^text_model\.embeddings\.position_embedding\.weight$", "positional_embedding"),
    (r"^text_model\.encoder\.layers\.(\d+)\.self_attn\.out_proj\.", r"transformer.resblocks.\1.attn.out_proj."),
    (r"^text_model\.encoder\.layers\.(\d+)\.layer_norm1\.", r"transformer.resblocks.\1.ln_1."),
    (r"^text_model\.encoder\.layers\.(\d+)\.layer_norm2\.", r"transformer.resblocks.\1.ln_2."),
    (r"^text_model\.encoder\.layers\.(\d+)\.mlp\.fc1\.", r"transformer.resblocks.\1.mlp.c_fc."),
    (r"^text_model\.encoder\.layers\.(\d+)\.mlp\.fc2\.", r"transformer.resblocks.\1.mlp.c_proj."),
    (r"^text_model\.final_layer_norm\.", "ln_final."),
)
_QKV = re.compile(r"^text_model\.encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(weight|bias)$")
_LN = re.compile(r"(^|\.)(ln_\d|ln_final)\.(weight|bias)$")


def hf_to_openai(sd):
    """Rewrite HF CLIP text keys to OpenAI names; other keys are passed through unchanged."""
    out, qkv = {}, {}
    for k, v in sd.items():
        m = _QKV.match(k)
        if m:
            qkv.setdefault((int(m.group(1)), m.group(3)), {})[m.group(2)] = v
            continue
        if k == "text_projection.weight":
            out["text_projection"] = np.ascontiguousarray(v.T)
            continue
        for pat, rep in _HF_RENAMES:
            if re.match(pat, k):
                k = re.sub(pat, rep, k)
                break
        out[k] = v
    for (i, kind), parts in qkv.items():
        name = f"transformer.resblocks.{i}.attn.in_proj_{kind}"
        if set(parts) != {"q", "k", "v"}:
            out[name + ".incomplete(" + "".join(sorted(parts)) + ")"] = next(iter(parts.values()))
            continue
        out[name] = np.concatenate([parts["q"], parts["k"], parts["v"]], axis=0)
    return out


def text_tower_keys(sd):
    """Drop the keys that belong to other towers (kept out of the report on purpose)."""
    return {k: v for k, v in sd.items() if not _IGNORED.match(k)}


def config_from_state_dict(sd, heads=None):
    """``CLIPTextConfig`` read off OpenAI-named shapes; heads default to width // 64 (OpenAI)."""
    for key in ("token_embedding.weight", "positional_embedding", "text_projection"):
        if key not in sd:
            raise ValueError(f"not a CLIP text-tower state dict: key {key!r} is absent "
                             f"(first keys: {sorted(sd)[:5]})")
    vocab, width = sd["token_embedding.weight"].shape
    layers = len({int(m.group(1)) for k in sd
                  for m in [re.match(r"transformer\.resblocks\.(\d+)\.", k)] if m})
    return CLIPTextConfig(vocab_size=vocab, context_length=sd["positional_embedding"].shape[0],
                          width=width, layers=layers, heads=heads or max(width // 64, 1),
                          embed_dim=sd["text_projection"].shape[1])


def _our_name(k):
    if k == "token_embedding.weight":
        return "token_embedding.embedding_table"
    m = _LN.search(k)
    if m:
        return k[:m.end(2)] + (".gamma" if m.group(3) == "weight" else ".beta")
    return k


def _prepare(sd, config, heads):
    sd = text_tower_keys(sd)
    if any(k.startswith("text_model.") for k in sd):
        sd = hf_to_openai(sd)
    return sd, config or config_from_state_dict(sd, heads)


def convert_state_dict(sd, config=None, heads=None):
    """(params name → float32 ndarray, MappingReport) for ``CLIPTextEncoder(config)``.

    ``config`` defaults to the one read off the shapes (``heads`` as given, else width // 64).
    """
    sd, config = _prepare(sd, config, heads)
    expected = {p.name: tuple(p.shape) for p in CLIPTextEncoder(config).get_parameters()}
    report = MappingReport()
    params = match_tensors(((k, _our_name(k), v) for k, v in sd.items()), expected, report)
    return params, report



def to_ms(sd, net):
    """(params, MappingReport) of a CLIP state dict for the ``CLIPTextEncoder`` ``net``."""
    return convert_state_dict(sd, net.config)


def register(subparsers):
    p = subparsers.add_parser("clip", help="CLIP text tower (OpenAI .pt or HF) → MindSpore ckpt")
    p.add_argument("src", help="OpenAI ViT-L-14.pt, HF pytorch_model.bin or model.safetensors")
    p.add_argument("dst", help="output .ckpt")
    p.add_argument("--heads", type=int, default=None, help="attention heads (default width/64)")
    p.set_defaults(func=lambda sd, a: convert_state_dict(sd, heads=a.heads))
    return p


__all__ = ["convert_state_dict", "to_ms", "register", "hf_to_openai", "config_from_state_dict"]
