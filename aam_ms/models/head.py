"""Gaussian-bias saliency head (released ``HyperbolicMultiScaleBiasHeadLorentzJointAmp``).

For decoder features x (B, C, H, W), text t and condition point z_cond = z_txt:
  s = Conv₃ₓ₃(x)                                               (spatial logits)
  (cx, cy, sx, sy)_g = (σ, σ, 0.05 + ½σ, 0.05 + ½σ)(MLP(t)),  g = 1..G
  z_img = exp₀(clip₈(e^α W GAP(x)))                            (separate from the DPT-level z_img)
  amp = σ(MLP([log₀ z_img, log₀ z_cond, d(z_img, z_cond), r(z_img), r(z_cond)]))
  bias = Σ_g amp_g exp(−(u − cx)²/(2sx²) − (v − cy)²/(2sy²)),  u, v ∈ linspace(0, 1)
  logits = s + ½·bias + (0.2 + 0.5·clamp(r(z_cond), 0, 1)) · mix(Σ_k w_k Y_k(s))
"""
import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from .. import kernels
from ..geometry import lorentz
from .hyperbolic import (GlobalLorentzMap, HyperbolicMultiScaleSpatialOperator,
                         HyperbolicScaleGating)
from .projections import conv2d, layer_norm


class GaussianBiasHead(nn.Cell):
    """Decoder output head → logits (B, nclass, H, W)."""

    def __init__(self, in_channels, nclass=1, text_dim=768, num_gaussians=6, num_scales=3,
                 hyp_dim=128, curv=1.0):
        super().__init__()
        self.num_gaussians = num_gaussians
        self.final_conv = conv2d(in_channels, nclass, 3, padding=1)
        self.shape_predictor = nn.SequentialCell(nn.Dense(text_dim, 128), nn.ReLU(),
                                                 nn.Dense(128, 4 * num_gaussians))
        self.img_to_hyp_tan = nn.Dense(in_channels, hyp_dim, has_bias=False)
        self.global_map = GlobalLorentzMap(hyp_dim, curv)
        joint = 2 * hyp_dim + 3
        self.amp_mlp = nn.SequentialCell(layer_norm(joint), nn.Dense(joint, 256),
                                         nn.GELU(approximate=False), nn.Dense(256, num_gaussians))
        # Built but never read by the released forward; kept so released checkpoints load.
        init = np.random.default_rng(1).standard_normal((num_gaussians, hyp_dim)) * hyp_dim ** -0.5
        self.gauss_anchors_tan = Parameter(Tensor(init.astype(np.float32)))
        self.ms_op = HyperbolicMultiScaleSpatialOperator(nclass, curv)
        self.scale_gate = HyperbolicScaleGating(text_dim, num_scales, hyp_dim, curv)

    def construct(self, x, text_emb, z_cond):
        b, _, h, w = x.shape
        curv = self.global_map.current_curv()
        spatial = self.final_conv(x)
        shp = self.shape_predictor(text_emb).reshape(b, self.num_gaussians, 4)
        shp = ops.sigmoid(shp)
        cx, cy = shp[..., 0, None, None], shp[..., 1, None, None]
        sx = shp[..., 2, None, None] * 0.5 + 0.05
        sy = shp[..., 3, None, None] * 0.5 + 0.05

        z_img = self.global_map.to_hyp(self.img_to_hyp_tan(ops.mean(x, (2, 3))))
        d_it = kernels.lorentz_paired_dist(z_img, z_cond, curv).reshape(-1, 1)
        r_img = kernels.lorentz_dist_to_origin(z_img, curv).reshape(-1, 1)
        r_cond = kernels.lorentz_dist_to_origin(z_cond, curv).reshape(-1, 1)
        joint = ops.concat((lorentz.log_map0(z_img, curv), lorentz.log_map0(z_cond, curv),
                            d_it, r_img, r_cond), -1)
        amp = ops.sigmoid(self.amp_mlp(joint))[:, :, None, None]

        yy = ops.linspace(0.0, 1.0, h).reshape(1, 1, h, 1)
        xx = ops.linspace(0.0, 1.0, w).reshape(1, 1, 1, w)
        g = ops.exp(-((xx - cx) ** 2 / (2.0 * sx ** 2) + (yy - cy) ** 2 / (2.0 * sy ** 2)))
        bias = ops.sum(g * amp, 1, True)

        y = self.ms_op(spatial, z_cond)
        weights, _ = self.scale_gate(text_emb, z_cond)
        struct = self.ms_op.fuse(y, weights)
        lam = (0.2 + 0.5 * ops.clamp(r_cond, 0.0, 1.0)).reshape(-1, 1, 1, 1)
        return spatial + 0.5 * bias + lam * struct
