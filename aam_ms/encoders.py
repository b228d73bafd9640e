"""The frozen prompt and audio encoders behind one interface, for train / eval / predict.

Config sections (run YAML)::

    text_encoder:  {name: clip_vitl14 | clip_demo, checkpoint: null, tokenizer: null,
                    cache_dir: null}   # null: the user cache folder (text.prompt_cache)
    audio_encoder: {name: wav2clip | wav2clip_demo, checkpoint: null, normalisation: batch}

``clip_vitl14`` / ``wav2clip`` are the encoders of the paper and need the converted weights
(``python -m aam_ms.convert clip|wav2clip``) and, for CLIP, its tokenizer file. The ``*_demo``
encoders need no download: the same architectures at small width with weights drawn by a fixed
rule (seeded per parameter name), the CLIP tokenizer with merges learned from the built-in
prompts, and text embeddings whitened over those prompts. They keep prompts apart and audio
windows apart, which is all the synthetic demo needs; they carry no pretrained knowledge.
"""
import hashlib

import mindspore as ms
import numpy as np

from .audio.features import SAMPLE_RATE
from .models.encoders.clip_text import VIT_L14, CLIPTextConfig, CLIPTextEncoder
from .models.encoders.wav2clip import Wav2CLIP, Wav2CLIPConfig
from .text.prompt_cache import PromptCache
from .text.tokenizer import EOT, SOT, CLIPTokenizer, bytes_to_unicode, clean_text, split_words

TEXT_DEFAULTS = {"name": "clip_demo", "checkpoint": None, "tokenizer": None,
                 "cache_dir": None}
AUDIO_DEFAULTS = {"name": "wav2clip_demo", "checkpoint": None, "normalisation": "batch"}

DEMO_MERGES = 1500
DEMO_CLIP = CLIPTextConfig(vocab_size=514 + DEMO_MERGES, width=128, layers=2, heads=2,
                           embed_dim=768)
DEMO_WAV2CLIP = dict(widths=(16, 32, 64, 128), transform_units=(128, 256, 512))


def _demo_corpus():
    from .data.prompts import GENERIC, PARAPHRASES, RELEASED
    from .data.synth import PROMPTS as SYNTH
    texts = list(RELEASED.values()) + list(SYNTH.values()) + [GENERIC]
    texts += [t for v in PARAPHRASES.values() for t in v]
    return texts


def demo_tokenizer(n_merges=DEMO_MERGES):
    """CLIP tokenizer whose BPE merges are learned from the built-in prompt texts.

    Byte symbols (2·256, with and without ``</w>``) + start/end, then greedy BPE: repeatedly
    merge the most frequent adjacent pair (ties broken by the pair itself) over the corpus
    words, as CLIP's vocabulary was made, at a scale the demo needs.
    """
    byte_map = bytes_to_unicode()
    words = {}
    for text in _demo_corpus():
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


def _load_weights(cell, path, what):
    from .checkpoint import load_into
    if not path:
        raise ValueError(f"{what} needs a converted checkpoint (text_encoder/audio_encoder."
                         "checkpoint); see README 'Using real weights'")
    load_into(path, cell)


class TextEncoder:
    """``embed(prompts) -> float32 (N, 768)``: CLIP ``encode_text``, cached per prompt on disk."""

    def __init__(self, cfg=None):
        cfg = {**TEXT_DEFAULTS, **(cfg or {})}
        name = cfg["name"]
        if name == "clip_vitl14":
            if not cfg["tokenizer"]:
                raise ValueError("text_encoder.tokenizer: path of the CLIP tokenizer.json / "
                                 "bpe_simple_vocab_16e6.txt.gz is required for clip_vitl14")
            self.tokenizer = CLIPTokenizer.from_file(cfg["tokenizer"])
            self.net = CLIPTextEncoder(VIT_L14)
            _load_weights(self.net, cfg["checkpoint"], "text_encoder clip_vitl14")
        elif name == "clip_demo":
            self.tokenizer = demo_tokenizer()
            self.net = seeded_init(CLIPTextEncoder(DEMO_CLIP), "clip_demo")
        else:
            raise ValueError(f"text_encoder.name must be clip_vitl14 or clip_demo, got {name!r}")
        self.net.set_train(False)
        self.cache = PromptCache(lambda ids: self.net(ms.Tensor(ids)).asnumpy(), self.tokenizer,
                                 cfg["cache_dir"], fingerprint=_fingerprint(self.net, name),
                                 truncate=True)
        self.dim = self.net.text_projection.shape[-1]
        self.whiten = _whitening(self.cache(_demo_corpus())) if name == "clip_demo" else None

    def embed(self, prompts):
        e = self.cache(list(prompts))
        if self.whiten is not None:
            mean, w = self.whiten
            e = ((e - mean) @ w).astype(np.float32)
        return e


def _whitening(corpus_emb, rel_tol=1e-5):
    """(μ, W) with W = V diag(√n / s) Vᵀ over the principal directions of the centred corpus
    X = U diag(s) Vᵀ: the corpus prompts become equal-norm and nearly orthogonal.

    A randomly initialised tower keeps prompts apart only by small differences on top of a large
    common part; whitening on the built-in prompts turns those differences into directions a
    small model learns from quickly. Used by ``clip_demo`` only (real CLIP is used as released).
    """
    x = np.asarray(corpus_emb, np.float64)
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    keep = s > rel_tol * s[0]
    v = vt[keep].T
    w = (v * (np.sqrt(len(x)) / s[keep])) @ v.T
    return mean.astype(np.float32), w.astype(np.float32)


class AudioEncoder:
    """``embed_windows(waves (N, 2 s at 16 kHz)) -> float32 (N, 512)`` (Wav2CLIP, frozen)."""

    def __init__(self, cfg=None):
        cfg = {**AUDIO_DEFAULTS, **(cfg or {})}
        name = cfg["name"]
        if name == "wav2clip":
            self.net = Wav2CLIP(Wav2CLIPConfig(normalisation=cfg["normalisation"]))
            _load_weights(self.net, cfg["checkpoint"], "audio_encoder wav2clip")
        elif name == "wav2clip_demo":
            self.net = seeded_init(Wav2CLIP(Wav2CLIPConfig(
                normalisation=cfg["normalisation"], **DEMO_WAV2CLIP)), "wav2clip_demo")
        else:
            raise ValueError(f"audio_encoder.name must be wav2clip or wav2clip_demo, got {name!r}")
        self.net.set_train(False)
        self.sample_rate = SAMPLE_RATE

    def embed_windows(self, waves, batch=64):
        waves = np.asarray(waves, np.float32)
        if waves.ndim != 2 or waves.shape[0] == 0:
            raise ValueError(f"audio windows must be (N, samples) with N > 0, got {waves.shape}")
        return np.concatenate([self.net.embed(waves[i:i + batch])
                               for i in range(0, len(waves), batch)], 0)


def _fingerprint(cell, name):
    from .text.prompt_cache import weights_fingerprint
    return f"{name}:{weights_fingerprint(cell)}"


def build_encoders(cfg):
    """(TextEncoder, AudioEncoder) from a run config's ``text_encoder`` / ``audio_encoder``."""
    return TextEncoder(cfg.get("text_encoder")), AudioEncoder(cfg.get("audio_encoder"))
