"""Lorentz maps and hyperbolic gates of the AAM decoder (curvature −c).

* ``lorentz_sanitize``: NaN → 0, ±inf → ±1e6, index 0 of the **last axis** clamped to
  ≥ 1/√c + 1e-4 (a time coordinate in the released code's intent; on (B,C,H,W) maps it is the
  first width column, a released quirk that trained weights depend on), then clamp to ±1e6.
* ``PixelLorentzMap``: per-pixel channel vectors v ↦ exp₀(clip₈(e^α v)) and back by log₀.
* ``GlobalLorentzMap``: vectors (N, D) ↦ exp₀(clip₈(e^α v)).
* ``HyperbolicConditionGate``: g = σ(MLP(r(z_cond))) per channel, r = distance to origin.
* ``HyperbolicScaleGating``: w = softplus(MLP(text)) · (1 + softmax(−d(z_cond, anchors))).
* ``HyperbolicMultiScaleSpatialOperator``: three operators (depthwise 3×3, dilated 3×3,
  global pool) on the pixel tangent map, fused by ``mix`` with the scale weights.

Every curvature is exp(clamp(log c, log 0.1, log 10)), every log-scale α is clamped ≤ 0.
Distances go through ``aam_ms.kernels``.
"""
import math

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from .. import kernels
from ..geometry import lorentz
from .projections import conv2d, layer_norm

SANITIZE_EPS = 1e-4      # time-coordinate floor above 1/√c
SANITIZE_MAX = 1e6       # value clamp (and replacement of ±inf)
MAP_NORM_FLOOR = 1e-6    # tangent norms are clamped ≥ this before a clip
MAP_MAX_NORM = 8.0       # tangent-norm clip of Pixel/Global maps
OPERATOR_MAX_NORM = 10.0  # tangent-norm clip inside the spatial operator (over the last axis)


def _scalar_param(value, requires_grad=True):
    return Parameter(Tensor(np.array(value, np.float32)), requires_grad=requires_grad)


def lorentz_sanitize(z, curv, eps=SANITIZE_EPS, max_val=SANITIZE_MAX):
    """nan→0, ±inf→±max; z[..., 0] ≥ 1/√c + ε; clamp to [−max, max]."""
    z = ops.nan_to_num(z.astype(ms.float32), 0.0, max_val, -max_val)
    t_min = 1.0 / ops.sqrt(curv) + eps
    z0 = ops.maximum(z[..., :1], t_min)
    z = ops.concat((z0, z[..., 1:]), -1)
    return ops.clamp(z, -max_val, max_val)


def _clip_norm(x, max_norm):
    """x · min(‖x‖, max)/‖x‖ over the last axis, ‖x‖ floored at 1e-6."""
    n = ops.clamp(lorentz.norm(x, True), min=MAP_NORM_FLOOR)
    return x * (ops.clamp(n, max=max_norm) / n)


class _LorentzMapBase(nn.Cell):
    def __init__(self, dim, curv=1.0, max_norm=MAP_MAX_NORM):
        super().__init__()
        # learn_curv=False in the released constructor, but train.py's keyword rule
        # ('head' in the name) turns these on; they train, so they are trainable here too.
        self.curv = _scalar_param(math.log(curv))
        self.alpha = _scalar_param(math.log(dim ** -0.5))
        self.max_norm = max_norm

    def current_curv(self):
        return lorentz.clamp_log_curv(self.curv)


class GlobalLorentzMap(_LorentzMapBase):
    """(N, D) tangent vectors → Lorentz points exp₀(clip₈(e^α v))."""

    def to_hyp(self, x_tan):
        x = _clip_norm(x_tan * lorentz.clamp_alpha(self.alpha), self.max_norm)
        return lorentz.exp_map0(x, self.current_curv())


class PixelLorentzMap(_LorentzMapBase):
    """(B, C, H, W) maps: each pixel's C-vector mapped as in :class:`GlobalLorentzMap`."""

    def to_hyp(self, x_euc):
        x = ops.transpose(x_euc, (0, 2, 3, 1))
        x = _clip_norm(x * lorentz.clamp_alpha(self.alpha), self.max_norm)
        return ops.transpose(lorentz.exp_map0(x, self.current_curv()), (0, 3, 1, 2))

    def to_tan(self, z_hyp):
        z = ops.transpose(z_hyp, (0, 2, 3, 1))
        return ops.transpose(lorentz.log_map0(z, self.current_curv()), (0, 3, 1, 2))


class HyperbolicConditionGate(nn.Cell):
    """g = σ(W₂ SiLU(W₁ r(z) + b₁) + b₂) ∈ (0,1)^C, returned as (B, C, 1, 1)."""

    def __init__(self, channels, hidden=64):
        super().__init__()
        self.mlp = nn.SequentialCell(nn.Dense(1, hidden), nn.SiLU(), nn.Dense(hidden, channels),
                                     nn.Sigmoid())

    def construct(self, z_cond, curv):
        r = kernels.lorentz_dist_to_origin(z_cond, curv).reshape(-1, 1)
        return self.mlp(r)[:, :, None, None]


class HyperbolicScaleGating(nn.Cell):
    """Scale weights softplus(MLP(t)) · (1 + w_hyp), w_hyp = softmax(−d(z_cond, exp₀(anchors)))."""

    def __init__(self, text_dim, num_scales, hyp_dim, curv=1.0, hidden=128):
        super().__init__()
        self.map = GlobalLorentzMap(hyp_dim, curv)
        self.scale_mlp = nn.SequentialCell(layer_norm(text_dim), nn.Dense(text_dim, hidden),
                                           nn.GELU(approximate=False), nn.Dense(hidden, num_scales))
        init = np.random.default_rng(0).standard_normal((num_scales, hyp_dim)) * hyp_dim ** -0.5
        self.scale_anchors_tan = Parameter(Tensor(init.astype(np.float32)))

    def construct(self, text_emb, z_cond):
        base = ops.softplus(self.scale_mlp(text_emb))
        anchors = self.map.to_hyp(self.scale_anchors_tan)
        d = kernels.lorentz_pairwise_dist(z_cond, anchors, self.map.current_curv())
        w_hyp = ops.softmax(-d, -1)
        return base * (1.0 + w_hyp), w_hyp


class _GlobalPool(nn.Cell):
    """Adaptive average pool to 1×1 (parameter-free slot 0 of ``op2_proj``)."""

    def construct(self, x):
        return ops.mean(x, (2, 3), True)


class HyperbolicMultiScaleSpatialOperator(nn.Cell):
    """Y = [op₀(u), op₁(u), op₂(u)] stacked on axis 1, u the condition-gated pixel tangent map.

    z = sanitize(exp₀ map of x); u = log₀ z clipped to norm 10 over the last axis (width,
    released quirk), scaled by 1 + ½·tanh(g(z_cond)); z = sanitize(exp₀ map of u); u = log₀ z.
    """

    def __init__(self, channels, curv=1.0):
        super().__init__()
        self.map = PixelLorentzMap(channels, curv)
        self.cond_gate = HyperbolicConditionGate(channels)
        self.op0 = nn.SequentialCell(conv2d(channels, channels, 3, padding=1, group=channels,
                                            has_bias=False),
                                     conv2d(channels, channels, 1), nn.SiLU())
        self.op1 = nn.SequentialCell(conv2d(channels, channels, 3, padding=2, dilation=2,
                                            group=channels, has_bias=False),
                                     conv2d(channels, channels, 1), nn.SiLU())
        self.op2_proj = nn.SequentialCell(_GlobalPool(), conv2d(channels, channels, 1), nn.SiLU())
        self.mix = conv2d(channels, channels, 1)

    def construct(self, x_euc, z_cond):
        curv = self.map.current_curv()
        z_pix = lorentz_sanitize(self.map.to_hyp(x_euc), curv)
        gate = 0.5 * ops.tanh(self.cond_gate(z_cond, curv))
        x_tan = self.map.to_tan(z_pix)
        n = ops.clamp(lorentz.norm(x_tan, True), min=MAP_NORM_FLOOR)
        x_tan = x_tan * ops.clamp(OPERATOR_MAX_NORM / n, max=1.0)
        x_tan = x_tan * (1.0 + gate)
        z_pix = lorentz_sanitize(self.map.to_hyp(x_tan), curv)
        x_tan = self.map.to_tan(z_pix)
        pooled = ops.broadcast_to(self.op2_proj(x_tan), x_tan.shape)
        return ops.stack((self.op0(x_tan), self.op1(x_tan), pooled), 1)

    def fuse(self, y, weights):
        """mix(Σ_s w_s · Y_s)."""
        return self.mix(ops.sum(y * weights[:, :, None, None, None], 1))
