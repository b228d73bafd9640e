"""CLIP text tower (OpenAI ``encode_text``), frozen in AAM.

    x = E[ids] + P[:L]
    x ← x + MHA(LN₁(x), causal);  x ← x + c_proj(QuickGELU(c_fc(LN₂(x))))   (× layers)
    t = LN_f(x)[argmax(ids)] · W_proj          (EOT pooling; not L2-normalised)

QuickGELU(u) = u·σ(1.702u). Parameter names follow the OpenAI state dict
(``transformer.resblocks.i.attn.in_proj_weight`` …), with MindSpore's ``gamma/beta`` and
``embedding_table``. ViT-L/14: width 768, 12 layers, 12 heads, 77 positions, 49408 tokens.
"""
from dataclasses import dataclass

import numpy as np
import mindspore as ms
from mindspore import nn, ops, Parameter
from mindspore.common.initializer import initializer, Normal


@dataclass(frozen=True)
class CLIPTextConfig:
    vocab_size: int = 49408
    context_length: int = 77
    width: int = 768
    layers: int = 12
    heads: int = 12
    embed_dim: int = 768
    eps: float = 1e-5


VIT_L14 = CLIPTextConfig()


class QuickGELU(nn.Cell):
    def construct(self, x):
        return x * ops.sigmoid(1.702 * x)


class MLP(nn.Cell):
    def __init__(self, width):
        super().__init__()
        self.c_fc = nn.Dense(width, 4 * width)
        self.gelu = QuickGELU()
        self.c_proj = nn.Dense(4 * width, width)

    def construct(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class ResidualAttentionBlock(nn.Cell):
    def __init__(self, width, heads, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm((width,), epsilon=eps)
        if width % heads:
            raise ValueError(f"CLIP text width {width} is not divisible by heads {heads}")
        # OpenAI CLIP's own cell is torch nn.MultiheadAttention: the same parameter names
        # (in_proj_weight = [W_q; W_k; W_v], in_proj_bias, out_proj)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm((width,), epsilon=eps)
        self.mlp = MLP(width)

    def construct(self, x, mask):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Cell):
    def __init__(self, width, layers, heads, eps):
        super().__init__()
        self.resblocks = nn.CellList([ResidualAttentionBlock(width, heads, eps)
                                      for _ in range(layers)])

    def construct(self, x, mask):
        for blk in self.resblocks:
            x = blk(x, mask)
        return x


class CLIPTextEncoder(nn.Cell):
    """ids int (B, L ≤ context_length), padded with 0 → (B, embed_dim) = ``encode_text``."""

    def __init__(self, config=VIT_L14):
        super().__init__()
        c = self.config = config
        self.token_embedding = nn.Embedding(c.vocab_size, c.width,
                                            embedding_table=Normal(0.02))
        self.positional_embedding = Parameter(
            initializer(Normal(0.01), (c.context_length, c.width)), name="positional_embedding")
        self.transformer = Transformer(c.width, c.layers, c.heads, c.eps)
        self.ln_final = nn.LayerNorm((c.width,), epsilon=c.eps)
        self.text_projection = Parameter(
            initializer(Normal(c.width ** -0.5), (c.width, c.embed_dim)), name="text_projection")
        causal = np.triu(np.full((c.context_length, c.context_length), -np.inf, np.float32), 1)
        self.causal_mask = ms.Tensor(causal)

    def construct(self, ids):
        b, n = ids.shape
        ids = ids.astype(ms.int32)
        x = self.token_embedding(ids) + self.positional_embedding[:n]
        x = self.transformer(x, self.causal_mask[:n, :n])
        x = self.ln_final(x)
        eot = ops.argmax(ids, dim=-1).reshape(b, 1, 1).broadcast_to((b, 1, x.shape[-1]))
        pooled = ops.gather_elements(x, 1, eot).reshape(b, -1)
        return ops.matmul(pooled, self.text_projection)
