"""Wav2CLIP checkpoint (``Wav2CLIP.pt`` of descriptinc/lyrebird-wav2clip) → ``Wav2CLIP``.

Read: ``audio_encoder.*`` → ``encoder.*`` and ``audio_transform.*`` → ``transform.*`` (a
``ResNetExtractor`` state dict with ``encoder.*`` / ``transform.*`` is accepted too).
BatchNorm ``weight/bias/running_mean/running_var`` → ``gamma/beta/moving_mean/moving_variance``;
``num_batches_tracked`` is dropped; the ``spectrogram.window`` buffer is checked to be the
periodic Hann window and dropped (ours is a constant). Ignored: the image-side MLP
(``image_transform.*``) and loss temperatures (``loss_fn*``, ``logit_scale``).
"""
import re

import numpy as np

from ..models.encoders.wav2clip import Wav2CLIP, Wav2CLIPConfig
from .common import MappingReport, match_tensors

_PREFIXES = (("audio_encoder.", "encoder."), ("encoder.", "encoder."),
             ("audio_transform.", "transform."), ("transform.", "transform."))
_IGNORED = re.compile(r"^(image_transform\.|loss_fn|logit_scale)|num_batches_tracked$")
_BN = re.compile(r"^(.*(?:\.bn\d|\.downsample\.1))\.(weight|bias|running_mean|running_var)$")
_BN_NAMES = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
             "running_var": "moving_variance"}


def _rename(k):
    for src, dst in _PREFIXES:
        if k.startswith(src):
            k = dst + k[len(src):]
            break
    else:
        return None
    m = _BN.match(k)
    return f"{m.group(1)}.{_BN_NAMES[m.group(2)]}" if m else k


def config_from_state_dict(sd):
    """``Wav2CLIPConfig`` read off the shapes of a Wav2CLIP state dict."""
    return _config({k: v for k, (_, v) in _renamed(sd)[0].items()})


def _config(sd):
    if "encoder.conv1.weight" not in sd:
        raise ValueError("not a Wav2CLIP checkpoint: no audio_encoder.conv1.weight "
                         f"(first keys: {sorted(sd)[:5]})")
    widths, blocks = [], []
    for i in range(1, 5):
        idx = {int(m.group(1)) for k in sd for m in [re.match(rf"encoder\.layer{i}\.(\d+)\.", k)] if m}
        if f"encoder.layer{i}.0.conv1.weight" not in sd:
            raise ValueError(f"not a Wav2CLIP ResNet: encoder.layer{i}.0.conv1.weight is absent")
        widths.append(sd[f"encoder.layer{i}.0.conv1.weight"].shape[0])
        blocks.append(len(idx))
    dense = sorted((int(m.group(1)), v.shape) for k, v in sd.items()
                   for m in [re.match(r"transform\.sequential\.(\d+)\.weight$", k)] if m)
    units = tuple([dense[0][1][1]] + [s[0] for _, s in dense]) if dense else ()
    n_fft = sd["encoder.spectrogram.window"].shape[0] \
        if "encoder.spectrogram.window" in sd else 512
    return Wav2CLIPConfig(widths=tuple(widths), blocks=tuple(blocks), transform_units=units,
                          n_fft=n_fft)


def _renamed(sd):
    out, unexpected = {}, []
    for k, v in sd.items():
        if _IGNORED.search(k):
            continue
        ours = _rename(k)
        if ours is None:
            unexpected.append(k)
        else:
            out[ours] = (k, v)
    return out, unexpected


def convert_state_dict(sd, config=None):
    """(params name → float32 ndarray, MappingReport) for ``Wav2CLIP(config)``; ``config``
    defaults to the one read off the shapes."""
    renamed, unexpected = _renamed(sd)
    config = config or _config({k: v for k, (_, v) in renamed.items()})
    expected = {p.name: tuple(p.shape) for p in Wav2CLIP(config).get_parameters()}
    report = MappingReport(unexpected=unexpected)
    window = renamed.pop("encoder.spectrogram.window", None)
    if window is not None:          # a fixed buffer in ours: checked, not loaded
        k, v = window
        n = config.n_fft
        hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
        if v.shape != (n,) or np.abs(v - hann).max() > 1e-5:
            report.shape_mismatch.append(f"{k}: not the periodic Hann window of {n}")
    params = match_tensors(((k, ours, v) for ours, (k, v) in renamed.items()), expected, report)
    return params, report


def to_ms(sd, net):
    """(params, MappingReport) of a Wav2CLIP state dict for the ``Wav2CLIP`` ``net``."""
    return convert_state_dict(sd, net.config)


def register(subparsers):
    p = subparsers.add_parser("wav2clip", help="Wav2CLIP.pt → MindSpore ckpt")
    p.add_argument("src", help="Wav2CLIP.pt (descriptinc/lyrebird-wav2clip release)")
    p.add_argument("dst", help="output .ckpt")
    p.set_defaults(func=lambda sd, a: convert_state_dict(sd))
    return p


__all__ = ["convert_state_dict", "to_ms", "register", "config_from_state_dict"]
