"""Per-level 1×1 projections of the backbone maps, and the small conv/norm builders of the head.

Level i of the backbone (C channels, stride 16) → ``out_channels[i]`` channels:
P_i(x) = W_i x + b_i. Builders return MindSpore cells whose parameter names mirror the
released PyTorch modules (``weight``/``bias``; norms ``gamma``/``beta``).
"""
from mindspore import nn

GROUPNORM_EPS = 1e-5      # torch.nn.GroupNorm default, used by every GroupNorm of the head
LAYERNORM_EPS = 1e-5      # torch.nn.LayerNorm default (MindSpore's default is 1e-7)


def conv2d(in_ch, out_ch, kernel_size=1, padding=0, dilation=1, group=1, has_bias=True):
    """Conv2d with explicit zero padding, stride 1 (torch ``nn.Conv2d`` semantics)."""
    pad_mode = "pad" if padding else "valid"
    return nn.Conv2d(in_ch, out_ch, kernel_size, stride=1, pad_mode=pad_mode, padding=padding,
                     dilation=dilation, group=group, has_bias=has_bias)


def group_norm(groups, channels):
    return nn.GroupNorm(groups, channels, eps=GROUPNORM_EPS)


def layer_norm(dim):
    return nn.LayerNorm((dim,), epsilon=LAYERNORM_EPS)


def build_projections(in_channels, out_channels):
    """``projects``: one 1×1 conv (with bias) per backbone level, in → out_channels[i]."""
    return nn.CellList([conv2d(in_channels, oc, 1) for oc in out_channels])
