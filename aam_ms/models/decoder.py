"""Hyperbolic decoder of AAM: upsampling stages, skip fusion and squeeze-excitation.

Stage (in → out channels), for text t and condition point z_cond = z_txt:
  x = GN₈(ConvT₂ₓ₂(x));  [γ, β] = W SiLU(t) + b;  x = x(1 + γ) + β
  Y = spatial operator(x, z_cond);  w = scale gating(t, z_cond);  y = mix(Σ_s w_s Y_s)
  out = ReLU(x + λ y),  λ = 0.1 + 0.4·clamp(r(z_cond), 0, 1)
Skip fusion: SiLU(GN₈(Conv₁ₓ₁([d; skip]))) then SE: x · σ(W₂ ReLU(W₁ GAP(x))).
"""
from mindspore import nn, ops

from .. import kernels
from .hyperbolic import HyperbolicMultiScaleSpatialOperator, HyperbolicScaleGating
from .projections import conv2d, group_norm


class DecoderStage(nn.Cell):
    """One ×2 upsampling stage (released ``HyperbolicMultiScaleUpsampleLorentz``)."""

    def __init__(self, in_channels, out_channels, text_dim=768, hyp_dim=128, num_scales=3,
                 curv=1.0):
        super().__init__()
        self.up_conv = nn.Conv2dTranspose(in_channels, out_channels, 2, 2, pad_mode="valid",
                                          has_bias=True)
        self.norm = group_norm(8, out_channels)
        self.style_mlp = nn.SequentialCell(nn.SiLU(), nn.Dense(text_dim, 2 * out_channels))
        self.scale_gate = HyperbolicScaleGating(text_dim, num_scales, hyp_dim, curv)
        self.ms_op = HyperbolicMultiScaleSpatialOperator(out_channels, curv)

    def construct(self, x, text_emb, z_cond):
        x = self.norm(self.up_conv(x))
        gamma, beta = ops.chunk(self.style_mlp(text_emb), 2, 1)
        x = x * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None]
        y = self.ms_op(x, z_cond)
        weights, _ = self.scale_gate(text_emb, z_cond)
        y = self.ms_op.fuse(y, weights)
        r = kernels.lorentz_dist_to_origin(z_cond, self.scale_gate.map.current_curv())
        lam = (0.1 + 0.4 * ops.clamp(r, 0.0, 1.0)).reshape(-1, 1, 1, 1)
        return ops.relu(x + lam * y)


class SELayer(nn.Cell):
    """Squeeze-excitation: x · σ(W₂ ReLU(W₁ GAP(x))), hidden width C // reduction."""

    def __init__(self, channel, reduction=16):
        super().__init__()
        hidden = channel // reduction
        self.fc = nn.SequentialCell(nn.Dense(channel, hidden, has_bias=False), nn.ReLU(),
                                    nn.Dense(hidden, channel, has_bias=False), nn.Sigmoid())

    def construct(self, x):
        y = self.fc(ops.mean(x, (2, 3)))
        return x * y[:, :, None, None]


def conv_norm_act(in_ch, out_ch, groups):
    """SiLU(GN(Conv₁ₓ₁ without bias)): ``start_proj`` and ``fuse{1,2,3}``."""
    return nn.SequentialCell(conv2d(in_ch, out_ch, 1, has_bias=False), group_norm(groups, out_ch),
                             nn.SiLU())


def resize_like(skip, ref):
    """Skip map bilinearly resized (align_corners=False) to ref's spatial size when they differ."""
    if skip.shape[-2:] != ref.shape[-2:]:
        skip = ops.interpolate(skip, size=ref.shape[-2:], mode="bilinear", align_corners=False)
    return skip
