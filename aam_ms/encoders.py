"""The frozen prompt and audio encoders behind one interface, for train / eval / predict.

Config sections (run YAML)::

    text_encoder:  {name: clip_vitl14 | clip_demo, checkpoint: null, tokenizer: null,
                    cache_dir: null}   # null: the user cache folder (text.prompt_cache)
    audio_encoder: {name: wav2clip | wav2clip_demo, checkpoint: null, normalisation: batch}

``clip_vitl14`` / ``wav2clip`` are the encoders of the paper and need the converted weights
(``python -m aam_ms.convert clip|wav2clip``) and, for CLIP, its tokenizer file. The ``*_demo``
encoders need no download (:mod:`aam_ms.models.encoders.demo`): the same architectures at small
width with weights drawn by a fixed rule, the CLIP tokenizer with merges learned from the
built-in prompts, text embeddings whitened over those prompts and audio embeddings whitened
over a built-in sound corpus (``demo.demo_sounds``).
"""
import mindspore as ms
import numpy as np

from .audio.features import SAMPLE_RATE
from .data.prompts import GENERIC, PARAPHRASES, RELEASED
from .data.synth import PROMPTS as SYNTH
from .models.encoders import demo
from .models.encoders.clip_text import VIT_L14, CLIPTextEncoder
from .models.encoders.wav2clip import Wav2CLIP, Wav2CLIPConfig
from .text.prompt_cache import PromptCache, weights_fingerprint
from .text.tokenizer import CLIPTokenizer
from .weights import load_weights

TEXT_DEFAULTS = {"name": "clip_demo", "checkpoint": None, "tokenizer": None,
                 "cache_dir": None}
AUDIO_DEFAULTS = {"name": "wav2clip_demo", "checkpoint": None, "normalisation": "batch"}


def _demo_corpus():
    """The built-in prompt texts: the demo tokenizer's training text and whitening corpus."""
    texts = list(RELEASED.values()) + list(SYNTH.values()) + [GENERIC]
    texts += [t for v in PARAPHRASES.values() for t in v]
    return texts


def _load_weights(cell, path, what):
    if not path:
        raise ValueError(f"{what} needs a converted checkpoint (text_encoder/audio_encoder."
                         "checkpoint); see README 'Using real weights'")
    load_weights(cell, path)


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
            self.tokenizer = demo.train_bpe(_demo_corpus())
            self.net = demo.seeded_init(CLIPTextEncoder(demo.DEMO_CLIP), "clip_demo")
        else:
            raise ValueError(f"text_encoder.name must be clip_vitl14 or clip_demo, got {name!r}")
        self.net.set_train(False)
        self.cache = PromptCache(lambda ids: self.net(ms.Tensor(ids)).asnumpy(), self.tokenizer,
                                 cfg["cache_dir"], fingerprint=_fingerprint(self.net, name),
                                 truncate=True)
        self.dim = self.net.text_projection.shape[-1]
        self.whiten = demo.whitening(self.cache(_demo_corpus())) if name == "clip_demo" else None

    def embed(self, prompts):
        e = self.cache(list(prompts))
        return e if self.whiten is None else demo.whiten(e, self.whiten)


class AudioEncoder:
    """``embed_windows(waves (N, 2 s at 16 kHz)) -> float32 (N, 512)`` (Wav2CLIP, frozen)."""

    def __init__(self, cfg=None):
        cfg = {**AUDIO_DEFAULTS, **(cfg or {})}
        name = cfg["name"]
        if name == "wav2clip":
            self.net = Wav2CLIP(Wav2CLIPConfig(normalisation=cfg["normalisation"]))
            _load_weights(self.net, cfg["checkpoint"], "audio_encoder wav2clip")
        elif name == "wav2clip_demo":
            self.net = demo.seeded_init(Wav2CLIP(Wav2CLIPConfig(
                normalisation=cfg["normalisation"], **demo.DEMO_WAV2CLIP)), "wav2clip_demo")
        else:
            raise ValueError(f"audio_encoder.name must be wav2clip or wav2clip_demo, got {name!r}")
        self.net.set_train(False)
        self.sample_rate = SAMPLE_RATE
        self.whiten = None
        if name == "wav2clip_demo":   # each built-in sound alone, as a steady clip's windows
            self.whiten = demo.whitening(np.concatenate(
                [self.net.embed(w[None]) for w in demo.demo_sounds(SAMPLE_RATE)], 0))

    def embed_windows(self, waves, batch=64):
        waves = np.asarray(waves, np.float32)
        if waves.ndim != 2 or waves.shape[0] == 0:
            raise ValueError(f"audio windows must be (N, samples) with N > 0, got {waves.shape}")
        e = np.concatenate([self.net.embed(waves[i:i + batch])
                            for i in range(0, len(waves), batch)], 0)
        return e if self.whiten is None else demo.whiten(e, self.whiten)


def _fingerprint(cell, name):
    return f"{name}:{weights_fingerprint(cell)}"


def build_encoders(cfg):
    """(TextEncoder, AudioEncoder) from a run config's ``text_encoder`` / ``audio_encoder``."""
    return TextEncoder(cfg.get("text_encoder")), AudioEncoder(cfg.get("audio_encoder"))
