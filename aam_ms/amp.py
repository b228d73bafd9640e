"""Ascend mixed precision like the released ``torch.autocast(bfloat16)``.

Policy (one for training, validation, eval, predict and export on Ascend):
- matmul / conv / dense primitives compute in bf16 (torch autocast's lower-precision list =
  MindSpore's ``auto`` white list);
- norms (GroupNorm, LayerNorm), softmax, exp / log / pow / sinh / cosh / acos / acosh / asinh /
  atanh, reductions and the losses run in fp32 (torch autocast's fp32 list = MindSpore's
  ``auto`` black list, extended by the inverse hyperbolic functions the Lorentz geometry uses);
- every other primitive runs in the dtype of its inputs (as autocast);
- the hyperbolic cells (``aam_ms.models.hyperbolic``) and norm / softmax cells are pinned to
  fp32 with ``Cell.to_float``, as the released code wraps its hyperbolic blocks in
  fp32 autocast regions (``dpt.py``, ``utils.py``); the network outputs are cast to fp32 before
  the losses (the released ``.float()`` on ``z_*``).

The op-level part is MindSpore's ``amp_level="auto"`` strategy built with the extended black
list; it is attached as ``amp_strategy`` to the network (PyNative and a Cell's own graph) and
must be attached to any ``ms.jit`` function that calls the network (see :func:`strategy`).
On CPU and for ``fp32`` nothing changes.
"""
from mindspore import nn
from mindspore.ops import auto_generate as gen
from mindspore.ops import operations as prims

# primitives added to MindSpore's auto black list (fp32): the Lorentz functions
EXTRA_FP32_PRIMS = [prims.Acosh, prims.Asinh, prims.Atanh, prims.Sinh, prims.Cosh, gen.ACos,
                    prims.Exp, gen.Log]
FP32_CELL_TYPES = (nn.GroupNorm, nn.LayerNorm, nn.Softmax, nn.LogSoftmax, nn.BatchNorm1d,
                   nn.BatchNorm2d, nn.BatchNorm3d)
BF16_CELL_TYPES = (nn.Dense, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Conv1dTranspose,
                   nn.Conv2dTranspose, nn.Conv3dTranspose)
PRECISIONS = ("fp32", "bf16")


def _hyperbolic_cell_types():
    from .models import hyperbolic
    return tuple(v for v in vars(hyperbolic).values()
                 if isinstance(v, type) and issubclass(v, nn.Cell) and v.__module__ == hyperbolic.__name__)


def _prim_lists():
    from mindspore.train import amp as msamp
    white = list(msamp.AMP_AUTO_WHITE_LIST)
    black = list(msamp.AMP_AUTO_BLACK_LIST)
    black += [p for p in EXTRA_FP32_PRIMS if p not in black]
    return white, black


def _check(precision):
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")


def cast_plan(net, precision):
    """What :func:`apply_amp` does on Ascend: ``{"precision", "bf16_ops", "fp32_ops",
    "cells": {cell name: "fp32" | "bf16-ops" | "inherit"}}``. Cells marked ``fp32`` are pinned
    (inputs cast to fp32, and so every op inside them); ``bf16-ops`` cells are the dense / conv
    cells whose matmul runs in bf16; ``inherit`` cells follow the op lists."""
    _check(precision)
    if precision == "fp32":
        return {"precision": "fp32", "bf16_ops": [], "fp32_ops": ["*"],
                "cells": {name: "fp32" for name, _ in net.cells_and_names()}}
    white, black = _prim_lists()
    pinned = FP32_CELL_TYPES + _hyperbolic_cell_types()
    cells, fp32_prefixes = {}, []
    for name, cell in net.cells_and_names():
        inside = any(name.startswith(p + ".") for p in fp32_prefixes)
        if inside or isinstance(cell, pinned):
            cells[name] = "fp32"
            if not inside and name:
                fp32_prefixes.append(name)
        elif isinstance(cell, BF16_CELL_TYPES):
            cells[name] = "bf16-ops"
        else:
            cells[name] = "inherit"
    return {"precision": "bf16", "bf16_ops": sorted(p.__name__ for p in white),
            "fp32_ops": sorted({p.__name__ for p in black}), "cells": cells}


def apply_amp(net, precision, device_target):
    """The network under the mixed-precision policy (in place; returns ``net``). No-op for
    ``fp32`` or off Ascend. ``precision``: ``fp32`` | ``bf16``."""
    _check(precision)
    if precision == "fp32" or device_target != "Ascend":
        return net
    import mindspore as ms
    from mindspore._c_expression.amp import AmpLevel, create_amp_strategy
    from mindspore.train.amp import AMP_PRIM_ARG_TABLE, _set_amp_decorator
    plan = cast_plan(net, precision)
    roots = [n for n, v in plan["cells"].items() if v == "fp32"
             and not any(n.startswith(r + ".") for r in plan["cells"] if plan["cells"][r] == "fp32" and r)]
    cells = dict(net.cells_and_names())
    for name in roots:
        cells[name].to_float(ms.float32)      # recursive: the cell and everything inside it
    white, black = _prim_lists()
    white = [(p.__name__, AMP_PRIM_ARG_TABLE[p]) for p in white]
    black = [(p.__name__, AMP_PRIM_ARG_TABLE[p]) for p in black]
    net.amp_strategy = create_amp_strategy(AmpLevel.AmpAuto, ms.bfloat16, white, black)
    _set_amp_decorator(net, AmpLevel.AmpAuto, ms.bfloat16, white, black)
    net._amp_level = "auto"
    return net


def strategy(net):
    """The ``amp_strategy`` :func:`apply_amp` attached to ``net`` (None if none): set it as the
    ``amp_strategy`` attribute of an ``ms.jit`` function that calls the network so its graph
    is compiled under the policy."""
    return getattr(net, "amp_strategy", None)


def resolve(precision, device_target):
    """``auto`` → bf16 on Ascend, fp32 elsewhere; bf16 off Ascend is refused (CPU MindSpore has
    no bf16 matmul)."""
    if precision == "auto":
        return "bf16" if device_target == "Ascend" else "fp32"
    _check(precision)
    if precision == "bf16" and device_target == "CPU":
        raise ValueError("precision bf16: CPU MindSpore has no bf16 matmul; use fp32")
    return precision
