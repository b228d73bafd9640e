"""The download-free demo audio encoder keeps sounds apart: its randomly initialised tower maps
every sound to nearly one direction, and whitening over the built-in sound corpus
(``demo.demo_sounds``) spreads them, deterministically."""
import numpy as np

from aam_ms.data.synth import SR, TONE_HZ
from aam_ms.encoders import AudioEncoder
from aam_ms.models.encoders import demo


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _tone_clip(hz, frames=4):
    """The windows of a steady synthetic tone clip, as train / eval embed them (one batch)."""
    t = np.arange(2 * SR) / SR
    return np.repeat((0.5 * np.sin(2 * np.pi * hz * t))[None], frames, 0).astype(np.float32)


def test_demo_sound_corpus_is_fixed_and_varied():
    a, b = demo.demo_sounds(), demo.demo_sounds()
    assert a.shape == (45, 2 * SR) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all() and np.abs(a).max() < 2.0
    assert np.linalg.matrix_rank(a[:, :4096].astype(np.float64)) == len(a) - 1   # silence is 0


def test_demo_audio_encoder_separates_the_synthetic_tones():
    enc = AudioEncoder()
    low, high = (enc.embed_windows(_tone_clip(hz)) for hz in TONE_HZ)
    raw_low, raw_high = (enc.net.embed(_tone_clip(hz)) for hz in TONE_HZ)
    assert _cos(raw_low[0], raw_high[0]) > 0.9          # the tower alone: nearly one direction
    assert abs(_cos(low[0], high[0])) < 0.2              # whitened: nearly orthogonal
    np.testing.assert_allclose(low[0], low[-1], atol=1e-5)  # a steady tone: same every frame
    again = AudioEncoder().embed_windows(_tone_clip(TONE_HZ[0]))
    np.testing.assert_allclose(again, low, rtol=0, atol=1e-4)   # the whitening is fixed
