"""Lorentz model of hyperbolic space (curvature -c, c > 0), as used by AAM.

A point is stored by its space part x̃ ∈ Rⁿ; its time part is x₀ = sqrt(1/c + ‖x̃‖²).
Every function is a short pure function of MindSpore tensors, usable in GRAPH and PYNATIVE
mode; inputs of any float dtype are computed in float32 and returned in float32.

The numeric guards are named constants. Their values are those of the released AAM code
(the trained weights were fitted with them, and the golden outputs depend on them); where
the spec writes a generic ε the constant below says which value the released code uses.
"""
import math

import mindspore as ms
from mindspore import ops

# --- named clamps -----------------------------------------------------------------------
EXP_EPS = 1e-8                      # exp₀: lower clamp of r = √c‖v‖ (and of the divisor)
SINH_MAX = math.asinh(2.0 ** 15)    # exp₀: upper clamp of r, sinh(r) ≤ 2¹⁵
LOG_EPS = 1e-4                      # log₀: acosh argument ≥ 1+LOG_EPS, divisor ≥ LOG_EPS
DIST_EPS = 1e-4                     # pairwise/paired distance: acosh argument ≥ 1+DIST_EPS
ORIGIN_EPS = 1e-8                   # distance to origin: acosh argument ≥ 1+ORIGIN_EPS
APERTURE_EPS = 1e-4                 # half-aperture: denominator +ε, asin input in ±(1-ε)
APERTURE_MIN_RADIUS = 0.1           # half-aperture: K, radius of the undefined neighbourhood
ANGLE_EPS = 1e-8                    # exterior angle: sqrt(max(·,ε)), denominator +ε, ±(1-ε)
ACOS_GRAD_LIMIT = 1.0 - 2.0 ** -24  # exterior angle: largest float32 < 1, bounds acos' (grad only)
NORM_SQ_FLOOR = 1e-30               # ‖x‖ = sqrt(max(Σx², floor)): finite gradient at x = 0
LOG_CURV_MIN = math.log(0.1)        # learnable log-curvature range [log 0.1, log 10]
LOG_CURV_MAX = math.log(10.0)
ALPHA_MAX = 0.0                     # learnable log-scales α are clamped ≤ 0


def _f32(x):
    return x.astype(ms.float32) if x.dtype != ms.float32 else x


def _sq_norm(x, keepdims=False):
    return ops.sum(x * x, -1, keepdims)


def norm(x, keepdims=False):
    """‖x‖ over the last axis, with a gradient that stays finite (zero) at x = 0."""
    return ops.sqrt(ops.clamp(_sq_norm(x, keepdims), min=NORM_SQ_FLOOR))


def time_component(x, curv):
    """x₀ = sqrt(1/c + ‖x̃‖²), shape (..., 1)."""
    x = _f32(x)
    return ops.sqrt(1.0 / curv + _sq_norm(x, True))


def inner(x, y, curv):
    """Paired Lorentz inner product ⟨x,y⟩_L = ⟨x̃,ỹ⟩ − x₀y₀ over the last axis, shape (...)."""
    x, y = _f32(x), _f32(y)
    return ops.sum(x * y, -1) - (time_component(x, curv) * time_component(y, curv)).squeeze(-1)


def pairwise_inner(x, y, curv):
    """Pairwise ⟨x_i, y_j⟩_L for x: (N, D), y: (M, D) → (N, M)."""
    x, y = _f32(x), _f32(y)
    return ops.matmul(x, y.T) - ops.matmul(time_component(x, curv), time_component(y, curv).T)


def pairwise_dist(x, y, curv, eps=DIST_EPS):
    """d(x_i, y_j) = acosh(max(−c⟨x_i,y_j⟩_L, 1+ε)) / √c, (N, D) × (M, D) → (N, M)."""
    c_xyl = -curv * pairwise_inner(x, y, curv)
    return ops.acosh(ops.clamp(c_xyl, min=1.0 + eps)) / ops.sqrt(curv)


def paired_dist(x, y, curv, eps=DIST_EPS):
    """d(x_i, y_i) for x, y: (..., D) → (...); the diagonal of :func:`pairwise_dist`."""
    c_xyl = -curv * inner(x, y, curv)
    return ops.acosh(ops.clamp(c_xyl, min=1.0 + eps)) / ops.sqrt(curv)


def dist_to_origin(x, curv):
    """r(x) = acosh(max(√c·x₀, 1+ε)) / √c, shape (...).

    Evaluated as asinh(√c‖x̃‖)/√c, which equals acosh(√c·x₀) (√c·x₀ = sqrt(1+c‖x̃‖²)) wherever
    the clamp does not bind, keeps float32 precision near the origin, and has a finite gradient
    at x̃ = 0 (acosh' is infinite at 1). The released ε = ORIGIN_EPS = 1e-8 binds only for
    ‖x̃‖ < ~1.4e-4, and in float32 1 + 1e-8 == 1, so the released code never clamps either.
    """
    x = _f32(x)
    sqrt_c = ops.sqrt(curv)
    return ops.asinh(sqrt_c * norm(x)) / sqrt_c


def exp_map0(v, curv, eps=EXP_EPS):
    """exp₀(v) = sinh(r)/r · v, r = √c‖v‖ clamped to [ε, asinh(2¹⁵)] (divisor clamped ≥ ε)."""
    v = _f32(v)
    r = ops.sqrt(curv) * norm(v, True)
    return ops.sinh(ops.clamp(r, min=eps, max=SINH_MAX)) * v / ops.clamp(r, min=eps)


def log_map0(x, curv, eps=LOG_EPS):
    """log₀(x) = acosh(max(√c·x₀, 1+ε)) / max(√c‖x̃‖, ε) · x̃."""
    x = _f32(x)
    rc_time = ops.sqrt(1.0 + curv * _sq_norm(x, True))
    dist0 = ops.acosh(ops.clamp(rc_time, min=1.0 + eps))
    return dist0 * x / ops.clamp(ops.sqrt(curv) * norm(x, True), min=eps)


def half_aperture(x, curv, min_radius=APERTURE_MIN_RADIUS, eps=APERTURE_EPS):
    """aper(x) = asin(clamp(2K / (√c‖x̃‖ + ε), −1+ε, 1−ε)), K = ``min_radius``; shape (...)."""
    x = _f32(x)
    asin_in = 2.0 * min_radius / (norm(x) * ops.sqrt(curv) + eps)
    return ops.asin(ops.clamp(asin_in, min=-1.0 + eps, max=1.0 - eps))


def oxy_angle(x, y, curv, eps=ANGLE_EPS):
    """Exterior angle at x of the triangle (O, x, y), paired over the leading axes:

    ext(x,y) = acos(clamp((y₀ + x₀·c⟨x,y⟩_L) / (‖x̃‖·sqrt(max((c⟨x,y⟩_L)² − 1, ε)) + ε), ±(1−ε))).
    """
    x, y = _f32(x), _f32(y)
    x_time = ops.sqrt(1.0 / curv + _sq_norm(x))
    y_time = ops.sqrt(1.0 / curv + _sq_norm(y))
    c_xyl = curv * (ops.sum(x * y, -1) - x_time * y_time)
    numer = y_time + c_xyl * x_time
    denom = ops.sqrt(ops.clamp(c_xyl * c_xyl - 1.0, min=eps))
    acos_in = numer / (norm(x) * denom + eps)
    return _acos_clamped(acos_in, eps)


def _acos_clamped(t, eps):
    """acos(clamp(t, −1+ε, 1−ε)) with a finite gradient everywhere.

    In float32, 1 − ε rounds to 1 for ε < 2⁻²⁴ (the released ε = 1e-8 does), so the clamp
    alone leaves acos' = ∞ at t = ±1 (collinear points). The value is the released one; the
    gradient is that of acos clamped to ±ACOS_GRAD_LIMIT (zero where that clamp binds).
    """
    value = ops.acos(ops.clamp(t, min=-1.0 + eps, max=1.0 - eps))
    safe = ops.acos(ops.clamp(t, min=-ACOS_GRAD_LIMIT, max=ACOS_GRAD_LIMIT))
    return safe + ops.stop_gradient(value - safe)


def _clamp_data(x, lo=None, hi=None):
    """clamp(x) in value with the identity gradient: the released code clamps ``.data`` in
    place before the forward, so autograd sees the clamped parameter itself (no clamp op).
    Training applies that in-place clamp first (:class:`aam_ms.train.TrainStep`)."""
    x = _f32(x)
    return x + ops.stop_gradient(ops.clamp(x, lo, hi) - x)


def clamp_log_curv(log_curv):
    """Learnable log-curvature clamped to [log 0.1, log 10]; returns the curvature c = exp(·)."""
    return ops.exp(_clamp_data(log_curv, LOG_CURV_MIN, LOG_CURV_MAX))


def clamp_alpha(alpha):
    """Learnable log-scale α clamped ≤ 0; returns the scale exp(α) ≤ 1."""
    return ops.exp(_clamp_data(alpha, None, ALPHA_MAX))


def encode(feats, alpha, curv):
    """Encoding into the manifold: z = exp₀(exp(min(α, 0)) · e) for tangent features e."""
    return exp_map0(_f32(feats) * clamp_alpha(alpha), curv)
