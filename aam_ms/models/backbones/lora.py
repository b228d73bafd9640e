"""LoRA (low-rank adaptation) around a frozen linear layer, as in the released ``LORA.py``.

    y = base(x) + (α / r) · B · A · dropout(x),     A: (r, in), B: (out, r)

A starts Kaiming-uniform (a = √5, i.e. U(±1/√in)), B starts at zero, so a fresh adapter
leaves the base layer unchanged; dropout is active only in training; the base layer's
parameters are frozen.

Why not ``mindpet.delta.LoRADense``: it subclasses ``nn.Dense`` (so it cannot wrap the
DINOv3 qkv layer whose K bias is masked), names its factors ``mindpet_delta_lora_a/b``
instead of the released ``lora_A.weight`` / ``lora_B.weight`` and casts to fp16 by default.
Wrapping the base layer as ``base`` keeps the released state-dict names
(``….qkv.base.weight``, ``….qkv.lora_A.weight``, ``….qkv.lora_B.weight``), so checkpoint
conversion stays a table.
"""
import math

from mindspore import nn
from mindspore.common.initializer import HeUniform


class LoRALinear(nn.Cell):
    """``base(x) + scaling · lora_B(lora_A(dropout(x)))`` with ``scaling = alpha / r``.

    ``base`` is any linear cell exposing ``in_channels`` / ``out_channels`` (``nn.Dense``
    or a subclass); its parameters get ``requires_grad = False``.
    """

    def __init__(self, base, r=32, alpha=64, dropout=0.05):
        super().__init__()
        if r <= 0:
            raise ValueError(f"LoRA rank r must be positive, got {r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"LoRA dropout must be in [0, 1), got {dropout}")
        self.base = base
        self.in_channels = base.in_channels
        self.out_channels = base.out_channels
        self.r = r
        self.alpha = alpha
        self.scaling = alpha / r
        self.dropout = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.lora_A = nn.Dense(self.in_channels, r, has_bias=False,
                               weight_init=HeUniform(negative_slope=math.sqrt(5)))
        self.lora_B = nn.Dense(r, self.out_channels, has_bias=False, weight_init="zeros")
        for p in self.base.get_parameters():
            p.requires_grad = False

    def construct(self, x):
        return self.base(x) + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling
