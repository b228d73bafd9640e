"""Kernel selection for AAM's two hot spots: the Lorentz distance and the FP diffusion stencil.

Every place of the model where the spec's distance or stencil formula appears calls one of
the functions below. ``set_kernel_mode`` picks the implementation:

* ``native``: the pure-MindSpore composition (portable; what MindIR exports use),
* ``custom``: the custom operator (AscendC on Ascend, the C++ CPU twin elsewhere),
* ``auto``:   custom where it is available (AscendC on Ascend with the op package
  installed, the C++ twin on CPU when g++ builds it), native otherwise.

The choice is made when a graph is built; shapes the custom ops do not cover (pairwise
inputs that are not 2-D, paired inputs of different shapes, a tensor Δt) use native.
"""
import mindspore as ms
from mindspore import ops
from mindspore.ops.primitive import constexpr

from ..geometry import lorentz
from . import custom_ops

_MODE = {"value": "native"}
MODES = ("auto", "custom", "native")


def set_kernel_mode(mode):
    """Select ``auto`` | ``custom`` | ``native`` for every following graph build."""
    if mode not in MODES:
        raise ValueError(f"kernels must be one of {MODES}, got {mode!r}")
    _MODE["value"] = mode


def kernel_mode():
    return _MODE["value"]


@constexpr
def _use_custom():
    return custom_ops.prepare(_MODE["value"])


def _curv1(curv):
    """Curvature as a float32 tensor of shape (1,) (python number or scalar tensor)."""
    if isinstance(curv, (int, float)):
        return ms.Tensor([float(curv)], ms.float32)
    return curv.astype(ms.float32).reshape((1,))


def _rows(x):
    """(..., D) float32 → (N, D)."""
    return x.astype(ms.float32).reshape((-1, x.shape[-1]))


def lorentz_pairwise_dist(x, y, curv, eps=lorentz.DIST_EPS):
    """Pairwise Lorentz distance (N, D) × (M, D) → (N, M)."""
    if _use_custom() and len(x.shape) == 2 and len(y.shape) == 2:
        return custom_ops.lorentz("pairwise", _rows(x), _rows(y), _curv1(curv), eps)
    return lorentz.pairwise_dist(x, y, curv, eps)


def lorentz_paired_dist(x, y, curv, eps=lorentz.DIST_EPS):
    """Row-wise Lorentz distance (..., D) × (..., D) → (...)."""
    if _use_custom() and x.shape == y.shape:
        d = custom_ops.lorentz("paired", _rows(x), _rows(y), _curv1(curv), eps)
        return d.reshape(x.shape[:-1])
    return lorentz.paired_dist(x, y, curv, eps)


def lorentz_dist_to_origin(x, curv):
    """Distance of each point (..., D) to the hyperboloid vertex → (...)."""
    if _use_custom():
        rows = _rows(x)
        return custom_ops.lorentz("origin", rows, rows, _curv1(curv), 0.0).reshape(x.shape[:-1])
    return lorentz.dist_to_origin(x, curv)


def fp_diffusion(rho, nu, dt=1.0, cfl=False):
    """FP diffusion stencil over the last axis of ρ, ν: (L, T).

    ρ_t ← ρ_t + Δt·ν_t·(ρ_{t−1} − 2ρ_t + ρ_{t+1}) for interior t (1 ≤ t ≤ T−2); the two
    boundary frames are left unchanged; T < 3 returns ρ unchanged. With ``cfl`` the
    coefficient Δt·ν is clamped to ≤ ½, which keeps the update positivity-preserving.
    """
    t = rho.shape[-1]
    if t < 3:
        return rho
    if _use_custom() and isinstance(dt, (int, float)) and rho.shape == nu.shape:
        out = custom_ops.stencil(rho.astype(ms.float32).reshape((-1, t)),
                                 nu.astype(ms.float32).reshape((-1, t)), float(dt), bool(cfl))
        return out.reshape(rho.shape).astype(rho.dtype)
    coef = dt * nu[..., 1:-1]
    if cfl:
        coef = ops.clamp(coef, max=0.5)
    lap = rho[..., :-2] - 2.0 * rho[..., 1:-1] + rho[..., 2:]
    mid = rho[..., 1:-1] + coef * lap
    return ops.concat((rho[..., :1], mid, rho[..., -1:]), -1)
