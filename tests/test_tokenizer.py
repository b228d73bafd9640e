"""CLIP BPE tokenizer: identical ids to HF CLIPTokenizer (slow, with ftfy) and CLIPTokenizerFast
on a vocabulary trained here, offline; all three file formats give the same ids."""
import gzip
import json
import warnings
from collections import Counter

import numpy as np
import pytest

from aam_ms.text.tokenizer import (CLIPTokenizer, EOT, SOT, _minimal_fix_text, bytes_to_unicode,
                                   clean_text, split_words)

CORPUS = ("a photo of a cat on the mat . the dog is running in the park with a red ball "
          "static natural image free - viewing eye tracking with strong center bias , attention "
          "to faces , people , text and animals . don't it's we'll they've café naïve "
          "emoji party 2024 hello world video audio sound speaker")

BATTERY = [
    "a photo of a cat", "Hello, World!", "don't stop believing", "It's we'll they've I'm she'd",
    "naïve café résumé", "Ünïcödé STRASSE straße", "emoji 😀🎉 party 👍🏽", "日本語のテキスト",
    "numbers 12345 and 3.14159", "punctuation!!! ??? ... ;-) (x)", "  multiple   spaces\tand\nnewlines ",
    "", "CAPS Lock MiXeD", "hyphen-ated under_score", "$100 #tag @user 50%", "Ω≈ç√∫ ½ ² ³",
    "Static natural photograph with strong photographer-style center framing; free-viewing.",
    "o'clock rock'n'roll ''quoted''", "x" * 120, " ".join(["viewing"] * 100),
]


def _train_merges(words, n_merges):
    """Greedy byte-level BPE on a word list (most frequent pair first), skipping merges whose
    product already exists so every vocabulary entry is unique."""
    enc = bytes_to_unicode()
    seqs = Counter()
    for w in words:
        chars = [enc[b] for b in w.encode("utf-8")]
        seqs[tuple(chars[:-1] + [chars[-1] + "</w>"])] += 1
    known = set(enc.values()) | {c + "</w>" for c in enc.values()}
    merges = []
    while len(merges) < n_merges:
        pairs = Counter()
        for seq, n in seqs.items():
            for p in zip(seq, seq[1:]):
                pairs[p] += n
        pairs = [p for p, _ in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
                 if "".join(p) not in known]
        if not pairs:
            break
        best = pairs[0]
        merges.append(best)
        known.add("".join(best))
        new = Counter()
        for seq, n in seqs.items():
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and (seq[i], seq[i + 1]) == best:
                    out.append(seq[i] + seq[i + 1])
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            new[tuple(out)] += n
        seqs = new
    return merges


def build_vocab_files(directory):
    """vocab.json + merges.txt (HF) and bpe_simple_vocab_16e6.txt.gz (OpenAI) of one vocabulary."""
    directory.mkdir(parents=True, exist_ok=True)
    words = split_words(clean_text(CORPUS + " " + " ".join(BATTERY[:18])))
    merges = _train_merges(words, 300)
    base = list(bytes_to_unicode().values())
    tokens = base + [b + "</w>" for b in base] + ["".join(m) for m in merges] + [SOT, EOT]
    vocab = {t: i for i, t in enumerate(tokens)}
    assert len(vocab) == len(tokens)
    paths = {"vocab": directory / "vocab.json", "merges": directory / "merges.txt",
             "gz": directory / "bpe_simple_vocab_16e6.txt.gz"}
    paths["vocab"].write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    paths["merges"].write_text(lines, encoding="utf-8")
    with gzip.open(paths["gz"], "wt", encoding="utf-8") as f:
        f.write(lines)
    return paths


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return build_vocab_files(tmp_path_factory.mktemp("clip_bpe"))


def _ours(tok, text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tok([text])[0]


def _check_row(row, ref_ids, eot):
    """Our padded row vs a reference's full id list (start … end)."""
    if len(ref_ids) <= 77:
        n = len(ref_ids)
        assert row[:n].tolist() == ref_ids and not row[n:].any()
    else:
        assert row[:76].tolist() == ref_ids[:76] and row[76] == eot


def test_matches_hf_slow_and_fast(files, tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("ftfy")
    tok = CLIPTokenizer.from_vocab_merges(str(files["vocab"]), str(files["merges"]))
    slow = transformers.CLIPTokenizer(str(files["vocab"]), str(files["merges"]))
    assert slow.fix_text is not None  # the ftfy path, as OpenAI's
    fast = transformers.CLIPTokenizerFast(vocab_file=str(files["vocab"]),
                                          merges_file=str(files["merges"]))
    for text in BATTERY:
        row = _ours(tok, text)
        ref_slow = slow(text)["input_ids"]
        ref_fast = fast(text)["input_ids"]
        _check_row(row, ref_slow, tok.eot_id)
        _check_row(row, ref_fast, tok.eot_id)
    # the vocabulary is small: most words are split into several pieces, so merges are exercised
    assert sum(len(tok.encode(t)) for t in BATTERY[:5]) > 25
    fast.save_pretrained(str(tmp_path / "hf"))
    from_json = CLIPTokenizer.from_file(str(tmp_path / "hf" / "tokenizer.json"))
    for text in BATTERY:
        assert np.array_equal(_ours(from_json, text), _ours(tok, text)), text


def test_file_formats_agree_and_layout(files):
    a = CLIPTokenizer.from_file(str(files["vocab"]))
    b = CLIPTokenizer.from_file(str(files["gz"]))
    c = CLIPTokenizer.from_file(str(files["vocab"].parent))
    assert a.fingerprint() == b.fingerprint() == c.fingerprint()
    rows = a(BATTERY[:-2])
    assert rows.dtype == np.int32 and rows.shape == (len(BATTERY) - 2, 77)
    assert np.array_equal(rows, b(BATTERY[:-2]))
    empty = a("")[0]
    assert empty[:2].tolist() == [a.sot_id, a.eot_id] and not empty[2:].any()
    assert a.eot_id == len(a.encoder) - 1 and a.sot_id == len(a.encoder) - 2
    # end token is the argmax of every row (EOT pooling relies on it)
    assert (rows.argmax(-1) == (rows != 0).sum(-1) - 1).all()
    with pytest.warns(UserWarning, match="truncated"):
        long = a(BATTERY[-1])[0]
    assert long[-1] == a.eot_id and (long != 0).all()
    with pytest.raises(ValueError, match="exceeds the CLIP context"):
        a(BATTERY[-1], truncate=False)
    # HTML entities are unescaped (twice) as in OpenAI clip
    assert np.array_equal(a("fish &amp;amp; chips"), a("fish & chips"))


def test_split_words_and_cleaning():
    assert split_words("don't it's a1b2 ...hi!! 😀") == \
        ["don", "'t", "it", "'s", "a", "1", "b", "2", "...", "hi", "!!", "😀"]
    assert split_words("½²") == ["½", "²"]  # \p{N}: one numeric char per word
    assert clean_text("  Hello\t\n WORLD  ") == "hello world"
    ftfy = pytest.importorskip("ftfy")
    for s in ["don\u2019t \u201cquote\u201d", "\ufb01ne \ufb02ow", "\uff21\uff22\uff23\u3000x",
              "cafe\u0301", "tab\x07bell"]:
        assert _minimal_fix_text(s) == ftfy.fix_text(s), s


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenizer file not found"):
        CLIPTokenizer.from_file(str(tmp_path / "nope.json"))
    with pytest.raises(FileNotFoundError, match="no tokenizer.json"):
        CLIPTokenizer.from_file(str(tmp_path))
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps({"model": {"type": "WordPiece", "vocab": {}}}))
    with pytest.raises(ValueError, match="not a BPE tokenizer.json"):
        CLIPTokenizer.from_file(str(bad))
    with pytest.raises(ValueError, match="lacks the special token"):
        CLIPTokenizer({"a": 0}, [])
