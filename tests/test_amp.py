"""The Ascend mixed-precision policy (aam_ms.amp): cast plan on CPU, no-op off Ascend."""
import pytest

from aam_ms import amp
from aam_ms.models.registry import build_from_config
from aam_ms.config import load_yaml


@pytest.fixture(scope="module")
def tiny():
    cfg = load_yaml("configs/aam_tiny.yaml")
    return build_from_config(cfg["model"])


def test_cast_plan_bf16_keeps_norms_softmax_hyperbolic_in_fp32(tiny):
    plan = amp.cast_plan(tiny, "bf16")
    import mindspore.nn as nn
    cells = dict(tiny.cells_and_names())
    kinds = {}
    for name, c in cells.items():
        kinds.setdefault(type(c).__name__, set()).add(plan["cells"][name])
    assert kinds["GroupNorm"] == {"fp32"}
    assert kinds.get("LayerNorm", {"fp32"}) == {"fp32"}
    hyp = [n for n, c in cells.items() if type(c).__module__ == "aam_ms.models.hyperbolic"]
    assert hyp and all(plan["cells"][n] == "fp32" for n in hyp)
    # everything inside a pinned hyperbolic cell is fp32 too (its Dense layers included)
    inner = [n for n in cells if any(n.startswith(h + ".") for h in hyp)]
    assert inner and all(plan["cells"][n] == "fp32" for n in inner)
    dense = [n for n, c in cells.items() if isinstance(c, (nn.Dense, nn.Conv2d)) and
             not any(n.startswith(h + ".") for h in hyp)]
    assert dense and all(plan["cells"][n] == "bf16-ops" for n in dense)
    for op in ("Exp", "Log", "Sinh", "Acosh", "ACos", "Softmax", "GroupNorm", "LayerNorm"):
        assert op in plan["fp32_ops"], op
    for op in ("MatMul", "BatchMatMul", "Conv2D", "Dense"):
        assert op in plan["bf16_ops"] and op not in plan["fp32_ops"], op


def test_apply_amp_is_noop_on_cpu_and_fp32(tiny):
    assert amp.apply_amp(tiny, "bf16", "CPU") is tiny
    assert amp.apply_amp(tiny, "fp32", "Ascend") is tiny
    assert not hasattr(tiny, "amp_strategy")
    assert all(getattr(c, "mixed_precision_type", None) in (None,) or
               str(c.mixed_precision_type).endswith("NOTSET")
               for _, c in tiny.cells_and_names())
    assert amp.cast_plan(tiny, "fp32")["bf16_ops"] == []


def test_apply_amp_on_ascend_pins_the_planned_cells():
    cfg = load_yaml("configs/aam_tiny.yaml")
    net = build_from_config(cfg["model"])
    plan = amp.cast_plan(net, "bf16")
    amp.apply_amp(net, "bf16", "Ascend")      # only sets flags and the strategy; runs nothing
    assert amp.strategy(net) is not None
    for name, c in net.cells_and_names():
        pinned = str(getattr(c, "mixed_precision_type", "")).endswith("FP32")
        assert pinned == (plan["cells"][name] == "fp32"), name


def test_resolve():
    assert amp.resolve("auto", "Ascend") == "bf16" and amp.resolve("auto", "CPU") == "fp32"
    with pytest.raises(ValueError, match="bf16"):
        amp.resolve("bf16", "CPU")
    with pytest.raises(ValueError, match="precision"):
        amp.resolve("fp16", "Ascend")
