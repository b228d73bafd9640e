"""Audio front end of Wav2CLIP: input checks, resampling, framing, log power spectrogram.

Spectrogram (torchaudio ``Spectrogram`` defaults, as Wav2CLIP uses them): periodic Hann
window of n_fft, centred frames (reflect padding of n_fft//2 each side), hop ``hop_length``,
one-sided power |X_k|² with X_k = Σ_n w[n]·x[n]·e^{-2πikn/N} (no normalisation), then
    S' = log(S + 1e-7),   Ŝ = (S' − mean) / (std + 1e-9)   (std with N − 1)
where the statistics are taken over the **whole batch tensor** in the original
("batch": an embedding then depends on the other clips in the batch) or per clip ("clip").
"""
import math

import numpy as np
import mindspore as ms
from mindspore import nn, ops

SAMPLE_RATE = 16000
NORMALISATIONS = ("batch", "clip")


def as_batch(wave, name="audio", min_length=1):
    """(L,), (B, L) or (B, 1, L) → float32 (B, L); clear errors for empty/odd/non-finite input."""
    a = np.asarray(wave.asnumpy() if hasattr(wave, "asnumpy") else wave)
    if a.ndim == 3 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a mono waveform of shape (L,), (B, L) or (B, 1, L), "
                         f"got shape {a.shape}")
    if a.size == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: empty audio (shape {a.shape})")
    if a.shape[1] < min_length:
        raise ValueError(f"{name}: {a.shape[1]} samples is too short (need ≥ {min_length})")
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{name}: audio must be numeric, got dtype {a.dtype}")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: audio contains NaN or Inf")
    return a


def resample(wave, orig_sr, target_sr=SAMPLE_RATE):
    """Band-limited sinc resampling along the last axis, torchaudio's ``T.Resample`` algorithm
    (as the Wav2CLIP reference uses it): Hann-windowed sinc, ``lowpass_filter_width`` 6,
    ``rolloff`` 0.99, by the reduced ratio; output length ⌈L·target/orig⌉. Computed by
    ``mindspore.dataset.audio.Resample`` (the same kernel formula)."""
    if orig_sr <= 0 or target_sr <= 0 or int(orig_sr) != orig_sr or int(target_sr) != target_sr:
        raise ValueError(f"sample rates must be positive integers, got {orig_sr} → {target_sr}")
    wave = np.asarray(wave, np.float32)
    if orig_sr == target_sr:
        return wave
    from mindspore.dataset import audio
    op = audio.Resample(float(orig_sr), float(target_sr), lowpass_filter_width=6, rolloff=0.99)
    return np.asarray(op(np.ascontiguousarray(wave)), np.float32)


def frame_signal(wave, frame_length, hop_length):
    """(B, L) → (B, n, frame_length), n = 1 + (L − frame_length) // hop (no padding; the framing
    of Wav2CLIP's frame mode)."""
    wave = as_batch(wave, min_length=frame_length)
    n = 1 + (wave.shape[1] - frame_length) // hop_length
    idx = np.arange(frame_length)[None] + hop_length * np.arange(n)[:, None]
    return wave[:, idx]


def centred_windows(wave, sample_rate, times, context_sec=2.0):
    """(L,) → (T, W) windows of W = 2·⌊context·sr/2⌋ samples centred on ⌊t·sr⌋ for each t in
    ``times`` (seconds), zero outside the signal (AAM's frame-aligned audio)."""
    wave = as_batch(wave)
    if wave.shape[0] != 1:
        raise ValueError(f"centred_windows takes one waveform, got a batch of {wave.shape[0]}")
    half = int(context_sec * sample_rate / 2)
    if half < 1:
        raise ValueError(f"context_sec={context_sec} gives an empty window at {sample_rate} Hz")
    centres = (np.asarray(times, np.float64) * sample_rate).astype(np.int64)
    padded = np.pad(wave[0], (2 * half, 2 * half))
    idx = centres[:, None] + np.arange(-half, half)[None] + 2 * half
    out = np.zeros((len(centres), 2 * half), np.float32)
    ok = (idx >= 0) & (idx < padded.shape[0])
    out[ok] = padded[idx[ok]]
    return out


class LogSpectrogram(nn.Cell):
    """(B, L) → normalised log power spectrogram (B, 1, n_fft//2 + 1, 1 + L // hop).

    The DFT is a strided convolution with fixed window·cos / window·sin kernels. Hand-written
    on purpose, not ``ops.stft``: it stays real-valued and inside the graph (GRAPH mode, MindIR
    export, Ascend), where complex tensors are not an option for every backend."""

    def __init__(self, n_fft=512, hop_length=353, normalisation="batch"):
        super().__init__()
        if normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}")
        self.n_fft, self.hop_length = n_fft, hop_length
        self.per_clip = normalisation == "clip"
        n = np.arange(n_fft)
        window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)
        k = np.arange(n_fft // 2 + 1)[:, None]
        ang = 2 * np.pi * k * n[None] / n_fft
        kernel = np.concatenate([window * np.cos(ang), window * np.sin(ang)], axis=0)
        self.n_bins = n_fft // 2 + 1
        self.kernel = ms.Tensor(kernel[:, None, None, :].astype(np.float32))

    def construct(self, x):
        b = x.shape[0]
        pad = self.n_fft // 2
        x = ops.pad(x.reshape(b, 1, -1), (pad, pad), mode="reflect").reshape(b, 1, 1, -1)
        spec = ops.conv2d(x, self.kernel, stride=(1, self.hop_length))  # (B, 2F, 1, N)
        re, im = spec[:, :self.n_bins, 0], spec[:, self.n_bins:, 0]
        s = ops.log(re * re + im * im + 1e-7).reshape(b, 1, self.n_bins, -1)
        axes = (1, 2, 3) if self.per_clip else (0, 1, 2, 3)
        count = s.size // b if self.per_clip else s.size
        mean = s.mean(axis=axes, keep_dims=True)
        std = ops.sqrt(((s - mean) ** 2).sum(axis=axes, keepdims=True) / (count - 1))
        return (s - mean) / (std + 1e-9)
