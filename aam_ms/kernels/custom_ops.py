"""``ops.Custom(func_type="aot")`` definitions of LorentzDistance and FPDiffusionStencil.

Two backends share one calling convention in this module:

* ``cpu``: the C++ twins ``ascend_kernels/cpu/*.cc`` (built by :mod:`.build`); scalar
  attributes travel as a small float32 tensor ``attrs`` (mode/eps, dt/cfl),
* ``ascend``: the AscendC operators of the installed custom op package
  (``ascend_kernels/``), with the same scalars as operator attributes.

Every forward op carries an explicit ``bprop`` that calls the analytic backward kernel
(itself an aot op): ∂/∂x, ∂/∂y, ∂/∂c for the distance (per-row curvature terms summed here),
∂/∂ρ, ∂/∂ν for the stencil; zero where a clamp binds, as autodiff of the native formula.
"""
import os
import warnings
from pathlib import Path

import mindspore as ms
from mindspore import ops
from mindspore.ops import CustomRegOp, DataType
from mindspore.ops.primitive import constexpr

from .build import KernelBuildError, library_path

LORENTZ_KINDS = {"pairwise": 0, "paired": 1, "origin": 2}
PACKAGE_VENDOR = "aam_ms"
PACKAGE_HEADERS = ("aclnn_lorentz_distance.h", "aclnn_fp_diffusion_stencil.h")

OPS = {}                       # name -> Custom primitive, filled by ``prepare``
BACKEND = {"value": None}      # "cpu" | "ascend" once ``prepare`` succeeded
_FAILED = {}                   # backend -> reason it is unavailable


def ascend_package_installed():
    """True when an ``ASCEND_CUSTOM_OPP_PATH`` entry (or ``$ASCEND_OPP_PATH/vendors/aam_ms``)
    holds this project's op package (its aclnn headers)."""
    roots = [p for p in os.environ.get("ASCEND_CUSTOM_OPP_PATH", "").split(":") if p]
    if os.environ.get("ASCEND_OPP_PATH"):
        roots.append(os.path.join(os.environ["ASCEND_OPP_PATH"], "vendors", PACKAGE_VENDOR))
    for root in roots:
        inc = Path(root) / "op_api" / "include"
        if all((inc / h).is_file() for h in PACKAGE_HEADERS):
            return True
    return False


# --- CPU twins ----------------------------------------------------------------------------
def _cpu_lorentz(lib, kind):
    fwd_shape = (lambda x, y, c, a: (x[0], y[0])) if kind == "pairwise" else (lambda x, y, c, a: (x[0],))
    name = "LorentzDistance" + kind.capitalize()
    grad = ops.Custom(f"{lib}:{name}Grad", out_shape=lambda x, y, c, a, g: (x, y, [x[0]]),
                      out_dtype=lambda x, y, c, a, g: (x, x, x), func_type="aot")

    def bprop(x, y, curv, attrs, out, dout):
        dx, dy, dc_rows = grad(x, y, curv, attrs, dout)
        return dx, dy, ops.reduce_sum(dc_rows).reshape(curv.shape), ops.zeros_like(attrs)

    return ops.Custom(f"{lib}:{name}", out_shape=fwd_shape, out_dtype=lambda x, y, c, a: x,
                      func_type="aot", bprop=bprop)


def _cpu_stencil(lib):
    grad = ops.Custom(f"{lib}:FPDiffusionStencilGrad", out_shape=lambda g, r, n, a: (r, r),
                      out_dtype=lambda g, r, n, a: (r, r), func_type="aot")

    def bprop(rho, nu, attrs, out, dout):
        drho, dnu = grad(dout, rho, nu, attrs)
        return drho, dnu, ops.zeros_like(attrs)

    return ops.Custom(f"{lib}:FPDiffusionStencil", out_shape=lambda r, n, a: r,
                      out_dtype=lambda r, n, a: r, func_type="aot", bprop=bprop)


def _build_cpu():
    lorentz = library_path("lorentz_distance_cpu")
    stencil = library_path("fp_diffusion_stencil_cpu")
    built = {f"lorentz_{k}": _cpu_lorentz(lorentz, k) for k in LORENTZ_KINDS}
    built["fp_stencil"] = _cpu_stencil(stencil)
    return built


# --- AscendC package ----------------------------------------------------------------------
def _reg(name, inputs, outputs, attrs):
    reg = CustomRegOp(name)
    for i, n in enumerate(inputs):
        reg = reg.input(i, n, "required")
    for n, kind in attrs:
        reg = reg.attr(n, "required", kind)
    for i, n in enumerate(outputs):
        reg = reg.output(i, n, "required")
    return reg.dtype_format(*([DataType.F32_Default] * (len(inputs) + len(outputs)))) \
        .target("Ascend").get_op_info()


def _ascend_lorentz(kind):
    attrs = (("mode", "int"), ("eps", "float"))
    grad = ops.Custom("LorentzDistanceGrad", out_shape=lambda x, y, c, g, m, e: (x, y, [x[0]]),
                      out_dtype=lambda x, y, c, g, m, e: (x, x, x), func_type="aot",
                      reg_info=_reg("LorentzDistanceGrad", ("x", "y", "curv", "dout"),
                                    ("dx", "dy", "dcurv_rows"), attrs))

    def bprop(x, y, curv, mode, eps, out, dout):
        dx, dy, dc_rows = grad(x, y, curv, dout, mode, eps)
        return dx, dy, ops.reduce_sum(dc_rows).reshape(curv.shape), 0, 0.0

    if kind == "pairwise":
        def fwd_shape(x, y, c, m, e):
            return (x[0], y[0])
    else:
        def fwd_shape(x, y, c, m, e):
            return (x[0],)
    return ops.Custom("LorentzDistance", out_shape=fwd_shape, out_dtype=lambda x, y, c, m, e: x,
                      func_type="aot", bprop=bprop,
                      reg_info=_reg("LorentzDistance", ("x", "y", "curv"), ("z",), attrs))


def _ascend_stencil():
    attrs = (("dt", "float"), ("cfl", "bool"))
    grad = ops.Custom("FPDiffusionStencilGrad", out_shape=lambda g, r, n, dt, cfl: (r, r),
                      out_dtype=lambda g, r, n, dt, cfl: (r, r), func_type="aot",
                      reg_info=_reg("FPDiffusionStencilGrad", ("dout", "rho", "nu"), ("drho", "dnu"), attrs))

    def bprop(rho, nu, dt, cfl, out, dout):
        drho, dnu = grad(dout, rho, nu, dt, cfl)
        return drho, dnu, 0.0, False

    return ops.Custom("FPDiffusionStencil", out_shape=lambda r, n, dt, cfl: r,
                      out_dtype=lambda r, n, dt, cfl: r, func_type="aot", bprop=bprop,
                      reg_info=_reg("FPDiffusionStencil", ("rho", "nu"), ("out",), attrs))


def _build_ascend():
    built = {f"lorentz_{k}": _ascend_lorentz(k) for k in LORENTZ_KINDS}
    built["fp_stencil"] = _ascend_stencil()
    return built


@constexpr
def _backend():
    return BACKEND["value"]


@constexpr
def _attrs(a, b):
    return ms.Tensor([float(a), float(b)], ms.float32)


def lorentz(kind, x, y, curv, eps):
    """Custom LorentzDistance of ``kind``; x, y: (N, D) float32, curv: (1,) float32."""
    if _backend() == "ascend":
        return OPS["lorentz_" + kind](x, y, curv, LORENTZ_KINDS[kind], eps)
    return OPS["lorentz_" + kind](x, y, curv, _attrs(LORENTZ_KINDS[kind], eps))


def stencil(rho, nu, dt, cfl):
    """Custom FPDiffusionStencil; rho, nu: (L, T) float32, T ≥ 3."""
    if _backend() == "ascend":
        return OPS["fp_stencil"](rho, nu, dt, cfl)
    return OPS["fp_stencil"](rho, nu, _attrs(dt, 1.0 if cfl else 0.0))


def prepare(mode):
    """Build the custom ops for the current device; True when ``OPS`` can be used.

    ``mode`` is ``auto`` (fall back silently to native when unavailable) or ``custom``
    (raise with the reason)."""
    if mode == "native":
        return False
    target = ms.get_context("device_target")
    backend = {"CPU": "cpu", "Ascend": "ascend"}.get(target)
    if BACKEND["value"] == backend and OPS:
        return True
    reason = _FAILED.get(backend)
    if backend is None:
        reason = f"no custom kernels for device target {target}"
    elif backend == "ascend" and not ascend_package_installed():
        reason = ("the AscendC op package is not installed: build and install ascend_kernels/ "
                  "(see ascend_kernels/README.md) so that ASCEND_CUSTOM_OPP_PATH lists it")
    if reason is None:
        try:
            OPS.clear()
            OPS.update(_build_cpu() if backend == "cpu" else _build_ascend())
            BACKEND["value"] = backend
            return True
        except KernelBuildError as err:
            reason = str(err)
            _FAILED[backend] = reason
    if mode == "custom":
        raise RuntimeError(f"kernels='custom' is unavailable: {reason}")
    warnings.warn(f"custom kernels unavailable, using native MindSpore ops: {reason}", stacklevel=2)
    return False
