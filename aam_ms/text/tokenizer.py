"""CLIP byte-level BPE tokenizer (the one of OpenAI ``clip.tokenize``), read offline.

Pipeline per string: clean (ftfy ``fix_text`` if installed, else the minimal subset below;
HTML unescape twice; whitespace runs → one space; strip) → lower-case → split into words
(contractions, letter runs, single digits, other-symbol runs) → bytes → unicode alphabet →
BPE merges by rank, the last symbol of a word carrying ``</w>`` → ids.
Row layout: ``[<|startoftext|>, ids..., <|endoftext|>, 0, ...]`` of ``context_length``;
an over-long row is cut to ``context_length`` with ``<|endoftext|>`` kept as its last id.

Vocabulary sources (no network): HF ``tokenizer.json``, HF ``vocab.json`` + ``merges.txt``,
or OpenAI ``bpe_simple_vocab_16e6.txt.gz`` (vocabulary rebuilt as OpenAI does).
"""
import gzip
import hashlib
import html
import json
import os
import re
import unicodedata
import warnings
from functools import lru_cache

import numpy as np

SOT = "<|startoftext|>"
EOT = "<|endoftext|>"
CONTEXT_LENGTH = 77
_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
# OpenAI keeps merges[1 : 49152 - 256 - 2 + 1] of its gz file (line 0 is a version header).
_OPENAI_MERGE_LIMIT = 49152 - 256 - 2 + 1


@lru_cache()
def bytes_to_unicode():
    """Byte → printable unicode char: printable Latin-1 bytes map to themselves, the rest to 256+n."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
           "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'}
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
              "\ufb05": "st", "\ufb06": "st", "\u0132": "IJ", "\u0133": "ij", "\u01c7": "LJ",
              "\u01c8": "Lj", "\u01c9": "lj", "\u01ca": "NJ", "\u01cb": "Nj", "\u01cc": "nj"}
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _minimal_fix_text(text):
    """Subset of ``ftfy.fix_text`` used when ftfy is absent: drop control chars, uncurl quotes,
    expand Latin ligatures, full-width → ASCII (NFKC on U+FF01..FF5E, U+3000), then NFC.
    Mojibake repair (re-decoding mis-encoded UTF-8) is not attempted."""
    text = _CONTROL.sub("", text)
    text = "".join(_QUOTES.get(c, _LIGATURES.get(c, c)) for c in text)
    text = "".join(unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" or c == "\u3000"
                   else c for c in text)
    return unicodedata.normalize("NFC", text)


try:
    from ftfy import fix_text as _fix_text
except ImportError:  # ftfy is optional
    _fix_text = _minimal_fix_text


def clean_text(text):
    """ftfy fix → HTML unescape (twice, as OpenAI) → whitespace runs to one space → strip → lower."""
    text = html.unescape(html.unescape(_fix_text(text))).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def _kind(ch):
    if ch.isspace():
        return "s"
    cat = unicodedata.category(ch)[0]
    return cat if cat in ("L", "N") else "o"


def split_words(text):
    """Regex-free twin of CLIP's ``<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|
    [\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+`` (leftmost alternative wins, whitespace skipped)."""
    words, i, n = [], 0, len(text)
    while i < n:
        for lit in (SOT, EOT) + _CONTRACTIONS:
            if text.startswith(lit, i):
                words.append(lit)
                i += len(lit)
                break
        else:
            k = _kind(text[i])
            if k == "s":
                i += 1
                continue
            if k == "N":
                words.append(text[i])
                i += 1
                continue
            j = i + 1
            while j < n and _kind(text[j]) == k:
                j += 1
            words.append(text[i:j])
            i = j
    return words


class CLIPTokenizer:
    """CLIP BPE: ``tokenizer(texts) -> int32 (N, context_length)`` padded with 0."""

    def __init__(self, vocab, merges, context_length=CONTEXT_LENGTH):
        for tok in (SOT, EOT):
            if tok not in vocab:
                raise ValueError(f"CLIP vocabulary lacks the special token {tok}")
        self.encoder = dict(vocab)
        self.bpe_ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.context_length = int(context_length)
        self.sot_id = self.encoder[SOT]
        self.eot_id = self.encoder[EOT]
        self._cache = {SOT: SOT, EOT: EOT}

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path, context_length=CONTEXT_LENGTH):
        """``tokenizer.json`` | ``bpe_simple_vocab_16e6.txt.gz`` | a directory holding either,
        or ``vocab.json`` + ``merges.txt``."""
        if os.path.isdir(path):
            for name in ("tokenizer.json", "vocab.json", "bpe_simple_vocab_16e6.txt.gz"):
                if os.path.isfile(os.path.join(path, name)):
                    return cls.from_file(os.path.join(path, name), context_length)
            raise FileNotFoundError(f"{path}: no tokenizer.json, vocab.json+merges.txt or "
                                    "bpe_simple_vocab_16e6.txt.gz in this directory")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"tokenizer file not found: {path}")
        if path.endswith(".gz"):
            return cls._from_openai_bpe(path, context_length)
        if os.path.basename(path) == "vocab.json":
            merges = os.path.join(os.path.dirname(path), "merges.txt")
            return cls.from_vocab_merges(path, merges, context_length)
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
        model = obj.get("model") if isinstance(obj, dict) else None
        if not (isinstance(model, dict) and model.get("type") == "BPE"):
            raise ValueError(f"{path}: not a BPE tokenizer.json (model.type must be 'BPE')")
        merges = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
        return cls(model["vocab"], merges, context_length)

    @classmethod
    def from_vocab_merges(cls, vocab_path, merges_path, context_length=CONTEXT_LENGTH):
        """HF files: ``vocab.json`` (token → id) and ``merges.txt`` (``#version`` header line)."""
        if not os.path.isfile(merges_path):
            raise FileNotFoundError(f"merges file not found next to {vocab_path}: {merges_path}")
        with open(vocab_path, encoding="utf-8") as f:
            vocab = json.load(f)
        with open(merges_path, encoding="utf-8") as f:
            lines = f.read().strip().split("\n")
        merges = [ln.split() for ln in lines if ln and not ln.startswith("#version")]
        return cls(vocab, merges, context_length)

    @classmethod
    def _from_openai_bpe(cls, path, context_length):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")[1:_OPENAI_MERGE_LIMIT]
        merges = [ln.split() for ln in lines if ln.strip()]
        base = list(bytes_to_unicode().values())
        tokens = base + [b + "</w>" for b in base] + ["".join(m) for m in merges] + [SOT, EOT]
        return cls({t: i for i, t in enumerate(tokens)}, merges, context_length)

    # ---- encoding ------------------------------------------------------------------------
    def _bpe(self, word):
        if word in self._cache:
            return self._cache[word]
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = {(a, b) for a, b in zip(parts, parts[1:])}
            best = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if best not in self.bpe_ranks:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        out = " ".join(parts)
        self._cache[word] = out
        return out

    def encode(self, text):
        """Token ids of one string, without the start/end tokens."""
        ids = []
        for word in split_words(clean_text(text)):
            word = "".join(self.byte_encoder[b] for b in word.encode("utf-8"))
            for piece in self._bpe(word).split(" "):
                if piece not in self.encoder:
                    raise ValueError(f"BPE piece {piece!r} is not in the vocabulary "
                                     "(vocabulary and merges files disagree)")
                ids.append(self.encoder[piece])
        return ids

    def n_tokens(self, text):
        """Row length the string needs, start and end tokens included."""
        return len(self.encode(text)) + 2

    def __call__(self, texts, truncate=True):
        """int32 (N, context_length). Over-long rows: cut keeping the end token (with a warning)
        when ``truncate``, else ``ValueError`` naming the string."""
        if isinstance(texts, str):
            texts = [texts]
        out = np.zeros((len(texts), self.context_length), dtype=np.int32)
        for row, text in enumerate(texts):
            ids = [self.sot_id] + self.encode(text) + [self.eot_id]
            if len(ids) > self.context_length:
                msg = (f"prompt of {len(ids)} tokens exceeds the CLIP context of "
                       f"{self.context_length}: {text[:60]!r}...")
                if not truncate:
                    raise ValueError(msg)
                warnings.warn(msg + " (truncated, end token kept)", stacklevel=2)
                ids = ids[:self.context_length]
                ids[-1] = self.eot_id
            out[row, :len(ids)] = ids
        return out

    def fingerprint(self):
        """Stable string identifying vocabulary, merges and context length."""
        h = hashlib.sha256()
        h.update(json.dumps(sorted(self.encoder.items()), ensure_ascii=False).encode("utf-8"))
        h.update(json.dumps(sorted(self.bpe_ranks.items(), key=lambda kv: kv[1]),
                            ensure_ascii=False).encode("utf-8"))
        h.update(str(self.context_length).encode())
        return h.hexdigest()
