"""Multi-threaded, vectorised CPU kernels for the backbone's exact GELU and LayerNorm.

MindSpore 2.7's CPU ``GeLU`` and ``LayerNorm`` kernels run on one thread without SIMD; on the
ViT-L/16 448² shapes they take 8–17× torch's time and ≈ 30 % of the backbone
(``docs/PERFORMANCE.md``). ``ascend_kernels/cpu/vit_cpu.cc`` computes the same functions,

    GELU(x) = x·Φ(x),  Φ(x) = ½(1 + erf(x/√2))     (exact GELU, not the tanh form; erf
                                                    rounded to float32 as native / torch)
    LN(x)   = (x − μ)/√(σ² + ε)·γ + β              (last axis)

as ``ops.Custom(func_type="aot")`` operators built on first use with g++ (``aam_ms.kernels.
build``). GELU has an analytic bprop (``GeluErfGrad``); LayerNorm's custom kernel serves
inference only (its bprop would need the saved statistics), so cells use it when not training.
They are chosen like the project's other custom kernels: ``kernels`` mode ``auto`` / ``custom``
on a CPU target; ``native`` (and every other target, and MindIR export) keeps MindSpore's ops.
"""
import warnings

import mindspore as ms
from mindspore import nn, ops
from mindspore.ops.primitive import constexpr

from ... import kernels
from ...kernels.build import KernelBuildError, library_path

_OPS = {}
_FAILED = {}


def _build():
    lib = library_path("vit_cpu")
    grad = ops.Custom(f"{lib}:GeluErfGrad", out_shape=lambda x, dy: x,
                      out_dtype=lambda x, dy: x, func_type="aot")

    def gelu_bprop(x, out, dout):
        return (grad(x, dout),)

    return {
        "gelu": ops.Custom(f"{lib}:GeluErf", out_shape=lambda x: x, out_dtype=lambda x: x,
                           func_type="aot", bprop=gelu_bprop),
        "layer_norm": ops.Custom(f"{lib}:LayerNorm", out_shape=lambda x, g, b, e: x,
                                 out_dtype=lambda x, g, b, e: x, func_type="aot"),
    }


def available():
    """True when the kernels mode allows custom kernels, the target is CPU and they build."""
    mode = kernels.kernel_mode()
    if mode == "native" or ms.get_context("device_target") != "CPU":
        return False
    if _OPS:
        return True
    if "cpu" not in _FAILED:
        try:
            _OPS.update(_build())
            return True
        except KernelBuildError as err:
            _FAILED["cpu"] = str(err)
    if mode == "custom":
        raise RuntimeError(f"kernels='custom' is unavailable: {_FAILED['cpu']}")
    warnings.warn(f"backbone CPU kernels unavailable, using native ops: {_FAILED['cpu']}",
                  stacklevel=2)
    return False


@constexpr
def _use_custom():
    return available()


@constexpr
def _eps_tensor(eps):
    return ms.Tensor([float(eps)], ms.float32)


def gelu(x):
    """Exact GELU x·Φ(x): the custom kernel on CPU (train and eval), ``ops.gelu`` otherwise."""
    if _use_custom() and x.dtype == ms.float32:
        return _OPS["gelu"](x)
    return ops.gelu(x, approximate="none")


def layer_norm_inference(x, gamma, beta, epsilon):
    """LN over the last axis with the custom kernel where available, else MindSpore's op."""
    if _use_custom() and x.dtype == ms.float32:
        return _OPS["layer_norm"](x, gamma, beta, _eps_tensor(epsilon))
    return ops.LayerNorm(begin_norm_axis=-1, begin_params_axis=-1, epsilon=epsilon)(x, gamma, beta)[0]


class GELU(nn.Cell):
    """:func:`gelu` as a cell."""

    def construct(self, x):
        return gelu(x)


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` over the last axis (same parameters ``gamma`` / ``beta``); inference on
    CPU runs the custom kernel, training the MindSpore op (which has the gradient)."""

    def construct(self, x):
        if not self.training and _use_custom() and x.dtype == ms.float32:
            return layer_norm_inference(x, self.gamma, self.beta, self.epsilon)
        return super().construct(x)
