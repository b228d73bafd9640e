"""Download-free stand-ins for the two frozen encoders, used by the demo and the tiny configs.

``clip_demo`` and ``wav2clip_demo`` (see :mod:`aam_ms.encoders`) are the real architectures at
small width with weights drawn by a fixed rule, so that they need no download:

* :func:`train_bpe` learns CLIP-style BPE merges from a handful of prompt texts;
* :func:`seeded_init` fills a cell deterministically from its parameter names;
* :func:`whitening` spreads the embeddings of a randomly initialised tower apart, over the
  built-in prompts (text) and :func:`demo_sounds` (audio).

They keep prompts apart and audio windows apart, which is all the synthetic demo needs; they
carry no pretrained knowledge.
"""
import hashlib

import mindspore as ms
import numpy as np

from ...text.tokenizer import EOT, SOT, CLIPTokenizer, bytes_to_unicode, clean_text, split_words
from .clip_text import CLIPTextConfig

DEMO_MERGES = 1500
DEMO_CLIP = CLIPTextConfig(vocab_size=514 + DEMO_MERGES, width=128, layers=2, heads=2,
                           embed_dim=768)
DEMO_WAV2CLIP = dict(widths=(16, 32, 64, 128), transform_units=(128, 256, 512))


def train_bpe(texts, n_merges=DEMO_MERGES):
    """CLIP tokenizer whose BPE merges are learned from ``texts``.

    Byte symbols (2·256, with and without ``</w>``) + start/end, then greedy BPE: repeatedly
    merge the most frequent adjacent pair (ties broken by the pair itself) over the corpus
    words, as CLIP's vocabulary was made, at a scale the demo needs.
    """
    byte_map = bytes_to_unicode()
    words = {}
    for text in texts:
        for w in split_words(clean_text(text)):
            sym = "".join(byte_map[b] for b in w.encode("utf-8"))
            parts = tuple(sym[:-1]) + (sym[-1] + "</w>",)
            words[parts] = words.get(parts, 0) + 1
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for parts, n in words.items():
            for pair in zip(parts, parts[1:]):
                pairs[pair] = pairs.get(pair, 0) + n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = {}
        for parts, n in words.items():
            out, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    out.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + n
        words = merged
    base = list(byte_map.values())
    tokens = base + [b + "</w>" for b in base] + ["".join(m) for m in merges] + [SOT, EOT]
    return CLIPTokenizer({t: i for i, t in enumerate(tokens)}, merges)


def seeded_init(cell, tag):
    """Deterministic weights from parameter names: N(0, 1/fan_in) for matrices and kernels,
    1 for norm scales (gamma), 0 for biases and shifts; seeded by sha256(tag:name)."""
    for p in cell.get_parameters():
        seed = int.from_bytes(hashlib.sha256(f"{tag}:{p.name}".encode()).digest()[:8], "little")
        shape = tuple(p.shape)
        if p.name.endswith(("gamma", "moving_variance")):
            v = np.ones(shape, np.float32)
        elif len(shape) < 2:
            v = np.zeros(shape, np.float32)
        else:
            fan_in = int(np.prod(shape[1:]))
            v = np.random.default_rng(seed).normal(0.0, fan_in ** -0.5, shape).astype(np.float32)
        p.set_data(ms.Tensor(v))
    return cell


def whitening(corpus_emb, rel_tol=1e-5):
    """(μ, W) with W = V diag(√n / s) Vᵀ over the principal directions of the centred corpus
    X = U diag(s) Vᵀ: the corpus prompts become equal-norm and nearly orthogonal.

    A randomly initialised tower keeps prompts apart only by small differences on top of a large
    common part; whitening on the built-in prompts turns those differences into directions a
    small model learns from quickly. Used by the demo encoders only (real CLIP and Wav2CLIP are
    used as released).
    """
    x = np.asarray(corpus_emb, np.float64)
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    keep = s > rel_tol * s[0]
    v = vt[keep].T
    w = (v * (np.sqrt(len(x)) / s[keep])) @ v.T
    return mean.astype(np.float32), w.astype(np.float32)


def whiten(emb, stats):
    """(emb − μ)·W in float32, for ``stats = (μ, W)`` from :func:`whitening`."""
    mean, w = stats
    return ((emb - mean) @ w).astype(np.float32)


def demo_sounds(sample_rate=16000, seconds=2.0):
    """The built-in sound corpus of ``wav2clip_demo``'s whitening: (45, L) float32, 2 s each —
    sines from 60 Hz to 7 kHz (log-spaced, the synthetic clips' 200 Hz and 3 kHz among them),
    square waves, amplitude-modulated tones, chirps, white / low-pass / high-pass noise, click
    trains and silence; noise drawn from fixed seeds."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    sines = [0.5 * np.sin(2 * np.pi * f * t)
             for f in sorted(set(np.geomspace(60, 7000, 22).round()) | {200.0, 3000.0})]
    squares = [0.4 * np.sign(np.sin(2 * np.pi * f * t)) for f in (110, 300, 800, 2000)]
    am = [0.5 * np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * r * t))
          for f, r in ((250, 3), (1000, 4), (2500, 6), (5000, 8))]
    chirps = [0.5 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * seconds)))
              for f0, f1 in ((100, 4000), (6000, 300))]
    rng = np.random.default_rng(20261201)
    white = [0.3 * rng.standard_normal(t.size) for _ in range(2)]
    box = np.ones(16) / 16
    low = [np.convolve(w, box, "same") * 3 for w in white]
    high = [w - np.convolve(w, box, "same") for w in white]
    clicks = [0.8 * (np.arange(t.size) % int(sample_rate / r) < 32) for r in (2, 5, 10, 20)]
    return np.stack(sines + squares + am + chirps + white + low + high + clicks
                    + [np.zeros(t.size)]).astype(np.float32)
