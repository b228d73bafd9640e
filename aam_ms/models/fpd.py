"""Fokker–Planck dynamics (FPD): one Lie–Trotter step of a per-location attention density over time.

For features x of shape (B, C, T, h, w) and ρ_t the density of frame t over the h·w grid:

* x ← x + E_T (time embedding, 64 slots linearly interpolated to T); x̂ = LN(x) per token (b, y, x).
* temporal self-attention on x̂ (8 heads, logits·d^-½ / τ, τ = 2); A = head mean (gradient stopped).
* ρ_obs,t = softmax_{h·w}(Conv1×1(x_t)).
* drift      ρ ← ρ + Δt(Aρ − ρ)
* diffusion  ρ_t ← ρ_t + Δt·ν_t(ρ_{t−1} − 2ρ_t + ρ_{t+1}), ν = softplus(Linear(x̂)), interior t
             (``aam_ms.kernels.fp_diffusion``; no interior frame when T < 3)
* correction ρ ← ρ + Δt·λ(ρ_obs − ρ), λ = σ(Linear(x̂))
* projection ρ ← max(ρ, 0) / (Σ_{B·h·w} + ε) per frame, then ρ / (Σ_{h·w} + ε) per frame and sample
* coupling   x ← x + a·ρ·x, a = a_max·σ(fp_alpha_logit)
* features   x ← x + s₁·Dense(attn out); x ← x + s₂·FFN(LN(x)); x ← x + GELU(Conv1×1(DWConv3×3(x)))

For T = 1 the attention matrix is [[1]] and the stencil has no interior frame, so the same code is
the static path. Parameter names mirror ``StreamFormerTemporalBlock`` of the released code.
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops, Parameter, Tensor
from mindspore.common.initializer import TruncatedNormal, initializer

from .. import kernels

EPS = 1e-6


class TemporalSelfAttention(nn.Cell):
    """Multi-head self-attention over the token axis, returning the attention weights too.

    softmax(q kᵀ · d^-½ / τ) v → Dense; names ``qkv`` (3C, C) and ``proj`` as released.
    """

    def __init__(self, dim, num_heads=8, temperature=1.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"TemporalSelfAttention: dim={dim} not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.temperature = float(temperature)
        self.qkv = nn.Dense(dim, 3 * dim)
        self.proj = nn.Dense(dim, dim)

    def construct(self, x):
        n, t, c = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, self.head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        logits = ops.matmul(q, k.swapaxes(-2, -1)) * self.scale
        if self.temperature != 1.0:
            logits = logits / self.temperature
        attn = ops.softmax(logits, -1)
        out = ops.matmul(attn, v).transpose(0, 2, 1, 3).reshape(n, t, c)
        return self.proj(out), attn


class LightFFN(nn.Cell):
    """Dense(C→rC) → GELU(erf) → Dense(rC→C)."""

    def __init__(self, dim, mlp_ratio=4.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.fc1 = nn.Dense(dim, hidden)
        self.act = nn.GELU(approximate=False)
        self.fc2 = nn.Dense(hidden, dim)

    def construct(self, x):
        return self.fc2(self.act(self.fc1(x)))


def time_embedding_weights(num_slots, t):
    """Indices (i0, i1) and weight of i1 for 1-D linear interpolation num_slots → t.

    align_corners=False: src = max((i + ½)·num_slots/t − ½, 0), computed in float32 like torch.
    """
    scale = Tensor(np.float32(num_slots) / np.float32(t), ms.float32)
    src = (ops.arange(t).astype(ms.float32) + 0.5) * scale - 0.5
    src = ops.clamp(src, min=0.0)
    i0 = ops.floor(src)
    lam = src - i0
    i0 = i0.astype(ms.int32)
    i1 = ops.clamp(i0 + 1, max=num_slots - 1)
    return i0, i1, lam


class FokkerPlanckDynamics(nn.Cell):
    """FPD block (released ``StreamFormerTemporalBlock``) on (B, C, T, h, w) → (B, C, T, h, w).

    Args:
        in_channels: C.
        num_frames: time-embedding slots (64 as released).
        num_heads: temporal attention heads (8).
        mlp_ratio: FFN ratio (4).
        init_scale_temporal: s₁, s₂ initial value (1e-3).
        fp_dt: Δt (1.0).
        fp_attn_temperature: τ of the temporal attention (2.0).
        fp_alpha_init: initial coupling logit (0.0).
        fp_alpha_max: a_max (0.5 in the released DPT head).
        fp_cfl: clamp Δt·ν ≤ ½ in the diffusion stencil (positivity-preserving; off as released).

    ``construct(x, return_density=False)``; with ``return_density`` it returns
    ``(out, (rho_obs, rho_drift, rho_diffusion, rho_correction, rho))``, each (B, T, h, w):
    the observation density, the state after each Lie–Trotter sub-step and the projected density
    that couples into the features.
    """

    def __init__(self, in_channels, num_frames=64, num_heads=8, mlp_ratio=4.0,
                 init_scale_temporal=1e-3, fp_dt=1.0, fp_attn_temperature=2.0,
                 fp_alpha_init=0.0, fp_alpha_max=0.5, fp_cfl=False):
        super().__init__()
        c = in_channels
        self.num_frames = num_frames
        self.fp_dt = float(fp_dt)
        self.fp_alpha_max = float(fp_alpha_max)
        self.fp_cfl = bool(fp_cfl)

        self.temporal_norm = nn.LayerNorm((c,), epsilon=1e-5)
        self.temporal_attn = TemporalSelfAttention(c, num_heads, fp_attn_temperature)
        self.temporal_dense = nn.Dense(c, c)
        self.temporal_attention_scale = Parameter(
            Tensor(np.full((1,), init_scale_temporal, np.float32)), name="temporal_attention_scale")
        self.temporal_ffn_norm = nn.LayerNorm((c,), epsilon=1e-5)
        self.temporal_ffn = LightFFN(c, mlp_ratio)
        self.temporal_ffn_scale = Parameter(
            Tensor(np.full((1,), init_scale_temporal, np.float32)), name="temporal_ffn_scale")
        self.spatial_mixer = nn.SequentialCell([
            nn.Conv2d(c, c, 3, pad_mode="pad", padding=1, group=c, has_bias=False),
            nn.Conv2d(c, c, 1, has_bias=True),
            nn.GELU(approximate=False),
        ])
        self.time_embedding = Parameter(
            initializer(TruncatedNormal(sigma=0.02), (1, num_frames, c), ms.float32), name="time_embedding")
        self.sal_obs_head = nn.Conv2d(c, 1, 1, has_bias=True)
        self.nu_head = nn.Dense(c, 1)
        self.lam_head = nn.Dense(c, 1)
        self.fp_alpha_logit = Parameter(Tensor(np.float32(fp_alpha_init)), name="fp_alpha_logit")

    def time_embed(self, t):
        """(1, T, C): the 64 learned slots, linearly interpolated (align_corners=False) when T ≠ 64."""
        if t == self.num_frames:
            return self.time_embedding
        i0, i1, lam = time_embedding_weights(self.num_frames, t)
        e0 = ops.gather(self.time_embedding, i0, 1)
        e1 = ops.gather(self.time_embedding, i1, 1)
        lam = lam.reshape(1, t, 1)
        return (1.0 - lam) * e0 + lam * e1

    def construct(self, x, return_density=False):
        if x.ndim != 5:
            raise ValueError(f"FokkerPlanckDynamics: x must be (B, C, T, h, w), got shape {x.shape}")
        b, c, t, h, w = x.shape
        n = b * h * w
        x_bt = x.transpose(0, 2, 3, 4, 1)                                   # (B, T, h, w, C)
        x_bt = x_bt + self.time_embed(t).reshape(1, t, 1, 1, c)

        tokens = x_bt.transpose(0, 2, 3, 1, 4).reshape(n, t, c)              # (B·h·w, T, C)
        tokens_n = self.temporal_norm(tokens)
        attn_out, attn = self.temporal_attn(tokens_n)

        # observation density: spatial softmax of a 1×1-conv logit, per frame and sample
        logit = self.sal_obs_head(x_bt.transpose(0, 1, 4, 2, 3).reshape(b * t, c, h, w))
        rho_obs = ops.softmax(logit.reshape(b * t, h * w), -1).reshape(b, t, h, w)
        rho_obs_tok = rho_obs.transpose(0, 2, 3, 1).reshape(n, t, 1)

        # drift with the head-mean attention kernel (row-stochastic, gradient stopped)
        a_mat = ops.stop_gradient(attn.mean(1))                              # (B·h·w, T, T)
        rho = rho_obs_tok + self.fp_dt * (ops.matmul(a_mat, rho_obs_tok) - rho_obs_tok)
        rho_drift = rho

        # diffusion stencil over time
        nu = ops.softplus(self.nu_head(tokens_n))
        rho = kernels.fp_diffusion(rho.reshape(n, t), nu.reshape(n, t), self.fp_dt, self.fp_cfl)
        rho = rho.reshape(n, t, 1)
        rho_diff = rho

        # correction towards the observation
        lam = ops.sigmoid(self.lam_head(tokens_n))
        rho = rho + self.fp_dt * lam * (rho_obs_tok - rho)
        rho_corr = rho

        # projection onto the simplex: per frame over B·h·w (as released), then per frame and sample
        rho = ops.clamp(rho, min=0.0)
        rho = rho / (rho.sum(0, keepdims=True) + EPS)
        rho = rho.reshape(b, h, w, t).transpose(0, 3, 1, 2)                 # (B, T, h, w)
        rho = ops.clamp(rho, min=0.0)
        rho = (rho.reshape(b, t, h * w) / (rho.reshape(b, t, h * w).sum(-1, keepdims=True) + EPS)
               ).reshape(b, t, h, w)

        # density-gated feature coupling
        alpha = self.fp_alpha_max * ops.sigmoid(self.fp_alpha_logit)
        x_bt = x_bt + alpha * rho.reshape(b, t, h, w, 1) * x_bt
        tokens = x_bt.transpose(0, 2, 3, 1, 4).reshape(n, t, c)

        # feature path: temporal attention output (pre-coupling) + FFN, then the spatial mixer
        tokens = tokens + self.temporal_attention_scale * self.temporal_dense(attn_out)
        tokens = tokens + self.temporal_ffn_scale * self.temporal_ffn(self.temporal_ffn_norm(tokens))
        frames = tokens.reshape(b, h, w, t, c).transpose(0, 3, 4, 1, 2).reshape(b * t, c, h, w)
        frames = frames + self.spatial_mixer(frames)
        out = frames.reshape(b, t, c, h, w).transpose(0, 2, 1, 3, 4)

        if return_density:
            states = (rho_obs,
                      rho_drift.reshape(b, h, w, t).transpose(0, 3, 1, 2),
                      rho_diff.reshape(b, h, w, t).transpose(0, 3, 1, 2),
                      rho_corr.reshape(b, h, w, t).transpose(0, 3, 1, 2),
                      rho)
            return out, states
        return out
