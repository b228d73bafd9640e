"""Relevance-gated audio-visual fusion (paper appendix E.2; released ``SelectiveAudioVisualFusion``).

Per frame, with visual tokens x (N tokens × C) and one audio embedding a:

    q = Linear(x)                 k = v = Linear(a)                 (hidden E = 256)
    g = σ(MLP([mean_tokens q; k]))                                  (last Linear bias init −1)
    y = MHA(q, k, v)              (8 heads, ``nn.MultiheadAttention(batch_first=True)``, the
                                  released torch cell's semantics; dropout in training)
    γ̃, β = MLP(y) (zero-initialised last layer),  γ = tanh(γ̃)
    fused = q·(1 + g·γ) + g·β
    out = LayerNorm(Linear(fused) + x)

:func:`negative_sample_attack` replaces the audio of random training samples by Gaussian noise and
returns the mask on which the gate-sparsity loss (``aam_ms.losses``) penalises the gate.
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops, Tensor
from mindspore.common.initializer import initializer


class SelectiveAudioVisualFusion(nn.Cell):
    """Fuse one audio embedding per frame into that frame's visual map.

    ``construct(x_visual (N, C, h, w), x_audio (N, D_a))`` → ``(out (N, C, h, w), gate (N, 1, 1))``,
    N = frames (B·T flattened; the released code passes one clip, N = T). Every operation is per
    frame, so the flattening order does not matter as long as x and audio share it.
    """

    def __init__(self, visual_dim=768, audio_dim=512, hidden_dim=256, num_heads=8, dropout=0.1):
        super().__init__()
        self.visual_dim = visual_dim
        self.audio_dim = audio_dim
        self.visual_proj = nn.Dense(visual_dim, hidden_dim)
        self.audio_proj = nn.Dense(audio_dim, hidden_dim)
        # parameter names as the released torch cell: in_proj_weight = [W_q; W_k; W_v],
        # in_proj_bias, out_proj.{weight,bias}; out_proj bias zero at init, as torch's
        self.cross_attn = nn.MultiheadAttention(hidden_dim, num_heads, dropout=dropout,
                                                batch_first=True)
        self.cross_attn.out_proj.bias.set_data(initializer("zeros", (hidden_dim,), ms.float32))
        self.film_generator = nn.SequentialCell([
            nn.Dense(hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Dense(hidden_dim, 2 * hidden_dim, weight_init="zeros", bias_init="zeros"),
        ])
        self.relevance_selector = nn.SequentialCell([
            nn.Dense(2 * hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Dense(hidden_dim, 1, bias_init=Tensor(np.full((1,), -1.0, np.float32))),
            nn.Sigmoid(),
        ])
        self.out_proj = nn.Dense(hidden_dim, visual_dim)
        self.norm = nn.LayerNorm((visual_dim,), epsilon=1e-5)

    def construct(self, x_visual, x_audio):
        if x_visual.ndim != 4 or x_visual.shape[1] != self.visual_dim:
            raise ValueError(f"SelectiveAudioVisualFusion: x_visual must be (N, {self.visual_dim}, h, w), "
                             f"got {x_visual.shape}")
        if x_audio.ndim != 2 or x_audio.shape[0] != x_visual.shape[0] or x_audio.shape[1] != self.audio_dim:
            raise ValueError(f"SelectiveAudioVisualFusion: x_audio must be (N={x_visual.shape[0]}, "
                             f"{self.audio_dim}), got {x_audio.shape}")
        n, c, h, w = x_visual.shape
        x_tok = x_visual.transpose(0, 2, 3, 1).reshape(n, h * w, c)
        q = self.visual_proj(x_tok)                                   # (N, hw, E)
        k = self.audio_proj(x_audio.reshape(n, 1, self.audio_dim))    # (N, 1, E)

        gate = self.relevance_selector(ops.concat((q.mean(1), k.reshape(n, -1)), -1)).reshape(n, 1, 1)

        y = self.cross_attn(q, k, k, need_weights=False)[0]
        gamma_raw, beta = ops.split(self.film_generator(y), y.shape[-1], -1)
        fused = q * (1 + gate * ops.tanh(gamma_raw)) + gate * beta
        out = self.norm(self.out_proj(fused) + x_tok)
        return out.reshape(n, h, w, c).transpose(0, 3, 1, 2), gate


def negative_sample_attack(audio_emb, p, rng, noise_std=1.0):
    """Negative sample attack (paper E.2), applied to a training batch on the host.

    Each sample of ``audio_emb`` (B, ...) is replaced, with probability ``p``, by
    N(0, noise_std²) noise (all its frames). Returns ``(audio', negative)``, ``negative`` (B,)
    float32 in {0, 1}: the samples on which the gate-sparsity loss pushes the relevance gate to 0.
    Drawing from a generator the caller seeds per step keeps resumed runs identical.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"negative_sample_attack: p must be in [0, 1], got {p}")
    audio_emb = np.asarray(audio_emb, np.float32)
    negative = rng.random(audio_emb.shape[0]) < p
    noise = (rng.standard_normal(audio_emb.shape) * noise_std).astype(np.float32)
    mask = negative.reshape((-1,) + (1,) * (audio_emb.ndim - 1))
    return np.where(mask, noise, audio_emb), negative.astype(np.float32)
