"""Audio resampling = torchaudio's sinc resampler (``T.Resample`` defaults: Hann window,
lowpass_filter_width 6, rolloff 0.99), against a numpy transcription of its algorithm
(``_get_sinc_resample_kernel`` + ``_apply_sinc_resample_kernel``, float64)."""
import math

import numpy as np
import pytest

from aam_ms.audio.features import resample


def torchaudio_sinc_resample(w, orig, new, lowpass_filter_width=6, rolloff=0.99):
    g = math.gcd(orig, new)
    orig, new = orig // g, new // g
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None] / orig
    t = np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx
    t = np.clip(t * base, -lowpass_filter_width, lowpass_filter_width)
    window = np.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    t = t * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        kernel = np.where(t == 0, 1.0, np.sin(t) / t) * window * (base / orig)   # (new, K)
    n = w.shape[-1]
    x = np.pad(w.astype(np.float64), [(0, 0)] * (w.ndim - 1) + [(width, width + orig)])
    frames = (x.shape[-1] - kernel.shape[1]) // orig + 1
    cols = np.stack([x[..., f * orig: f * orig + kernel.shape[1]] for f in range(frames)], -2)
    out = (cols @ kernel.T).reshape(*w.shape[:-1], -1)      # conv1d stride orig, interleaved
    return out[..., :math.ceil(new * n / orig)]


@pytest.mark.parametrize("orig,new", [(48000, 16000), (44100, 16000), (8000, 16000),
                                      (22050, 16000)])
def test_resample_matches_torchaudio_algorithm(orig, new):
    rng = np.random.default_rng(orig)
    t = np.arange(orig) / orig
    w = (0.5 * np.sin(2 * np.pi * 440 * t) + rng.normal(0, 0.1, orig)).astype(np.float32)
    w = np.stack([w, -w[::-1]])
    ours = resample(w, orig, new)
    ref = torchaudio_sinc_resample(w, orig, new)
    assert ours.shape == ref.shape == (2, new)         # one second in, one second out
    assert ours.dtype == np.float32
    assert np.abs(ours - ref).max() < 5e-5 * np.abs(ref).max()


def test_resample_keeps_a_band_limited_tone_and_is_not_polyphase():
    sr = 48000
    t = np.arange(sr) / sr
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    y = resample(tone, sr, 16000)
    want = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    assert np.abs(y[200:-200] - want[200:-200]).max() < 2e-3      # passband kept
    from scipy.signal import resample_poly
    poly = resample_poly(tone, 1, 3)
    assert np.abs(y - poly).max() > 1e-4                          # another filter than before
    assert resample(tone, sr, sr) is not None and resample(tone, sr, sr).shape == tone.shape
    with pytest.raises(ValueError, match="positive integers"):
        resample(tone, 0, 16000)
