"""CLIP byte-level BPE tokenizer (the one of OpenAI ``clip.tokenize``), read offline.

Pipeline per string: clean (ftfy ``fix_text`` if installed, else the minimal subset below;
HTML unescape twice; whitespace runs → one space; strip) → lower-case, here; then, in the
``tokenizers`` library: split into words (contractions, letter runs, single digits,
other-symbol runs) → bytes → unicode alphabet → BPE merges by rank, the last symbol of a word
carrying ``</w>`` → ids.
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
from tokenizers import Regex, Tokenizer, models, pre_tokenizers

SOT = "<|startoftext|>"
EOT = "<|endoftext|>"
CONTEXT_LENGTH = 77
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


# CLIP's word pattern (OpenAI ``clip.simple_tokenizer``; HF ``CLIPTokenizerFast`` uses the same).
WORD_PATTERN = (r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]"
                r"|[^\s\p{L}\p{N}]+")
_SPLIT = pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="removed", invert=True)


def split_words(text):
    """CLIP's words of a cleaned string (the pattern above; whitespace dropped)."""
    return [w for w, _ in _SPLIT.pre_tokenize_str(text)]


class CLIPTokenizer:
    """CLIP BPE: ``tokenizer(texts) -> int32 (N, context_length)`` padded with 0.

    Cleaning (:func:`clean_text`) runs here; word split, byte mapping and the rank-ordered BPE
    merges (the last symbol of a word carrying ``</w>``) run in the ``tokenizers`` library, set up
    as HF ``CLIPTokenizerFast``.
    """

    def __init__(self, vocab, merges, context_length=CONTEXT_LENGTH):
        for tok in (SOT, EOT):
            if tok not in vocab:
                raise ValueError(f"CLIP vocabulary lacks the special token {tok}")
        self.encoder = dict(vocab)
        missing = [b for b in bytes_to_unicode().values() if b not in vocab or b + "</w>" not in vocab]
        if missing:
            raise ValueError(f"CLIP vocabulary lacks {len(missing)} byte symbols, e.g. {missing[0]!r}")
        self.merges = [tuple(m) for m in merges]
        for a, b in self.merges:
            if a + b not in self.encoder:
                raise ValueError(f"BPE merge {a!r} {b!r} makes {a + b!r}, which is not in the "
                                 "vocabulary (vocabulary and merges files disagree)")
        self.context_length = int(context_length)
        self.sot_id = self.encoder[SOT]
        self.eot_id = self.encoder[EOT]
        bpe = models.BPE(self.encoder, self.merges, end_of_word_suffix="</w>", fuse_unk=False)
        self._tok = Tokenizer(bpe)
        self._tok.pre_tokenizer = pre_tokenizers.Sequence(
            [_SPLIT, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        self._tok.add_special_tokens([SOT, EOT])

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
    def encode(self, text):
        """Token ids of one string, without the start/end tokens."""
        return self._tok.encode(clean_text(text), add_special_tokens=False).ids

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
        h.update(json.dumps([[list(m), r] for r, m in enumerate(self.merges)],
                            ensure_ascii=False).encode("utf-8"))
        h.update(str(self.context_length).encode())
        return h.hexdigest()
