"""eval: prompt modes, centre baseline, and the CLI on a tiny SynthAttention corpus."""
import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aam_ms import eval as E
from aam_ms.data import synth
from aam_ms.data.io import load_fixations, load_map
from aam_ms.data.manifest import read_manifest
from aam_ms.data.prompts import GENERIC, RELEASED
from aam_ms.metrics.protocols import image_protocol

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "aam_tiny.yaml")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    synth.generate(str(d), "tiny", seed=0)
    header, records = read_manifest(str(d / "manifest.jsonl"))
    return d, header, records


def _first(records, ds):
    return next(r for r in records if r.dataset == ds)


def test_centre_bias_map():
    m = E.centre_bias_map(5, 9)
    assert m.shape == (5, 9) and m.dtype == np.float32
    assert m[2, 4] == pytest.approx(1.0) and m.argmax() == 2 * 9 + 4
    assert np.allclose(m, m[::-1, ::-1])
    # σ = 0.25·W = 100 px along x, centre at 199.5: pixel 100 is 99.5 px away
    w = E.centre_bias_map(1, 400)
    assert w[0, 100] == pytest.approx(math.exp(-0.5 * (99.5 / 100) ** 2), rel=1e-6)


def test_prompt_modes_give_different_prompts(corpus):
    _, _, records = corpus
    red = _first(records, "synth_search_red")
    texts = {m: E.prompt_texts(red, m) for m in E.PROMPT_MODES}
    assert texts["correct"] == [synth.PROMPTS["synth_search_red"]]
    assert texts["wrong"] == [synth.PROMPTS["synth_search_blue"]]
    assert texts["generic"] == [GENERIC]
    assert texts["paraphrase"] == []                    # the synthetic corpus has none
    single = [texts[m][0] for m in ("correct", "generic", "wrong", "G1", "G2", "G3", "G4")]
    assert len(set(single)) == len(single)
    assert "red" in texts["G4"][0] and "red" not in texts["G2"][0]
    # a released dataset: wrong = another task's prompt, 3 paraphrases all distinct
    from aam_ms.data.manifest import Record
    r = Record(dataset="DHF1K", modality="video", split="val", prompt_key="DHF1K",
               stimulus="x.jpg")
    assert E.prompt_texts(r, "wrong") == [RELEASED["Hollywood"]]
    para = E.prompt_texts(r, "paraphrase")
    assert len(para) == 3 and len(set(para)) == 3 and RELEASED["DHF1K"] not in para
    assert all(E.wrong_prompt_key(k) != k for k in RELEASED)
    bad = Record(dataset="X", modality="image", split="val", prompt_key="nokey", stimulus="x")
    with pytest.raises(ValueError, match="unknown prompt key 'nokey'"):
        E.prompt_texts(bad, "correct")


def test_centre_baseline_equals_direct_protocol(corpus):
    d, header, records = corpus
    res = E.evaluate(None, records, header["root"], split="test", datasets=["synth_freeview"])
    row = res["synth_freeview"]
    recs = [r for r in records if r.split == "test" and r.dataset == "synth_freeview"]
    cb = E.centre_bias_map(*recs[0].size)
    samples = []
    for r in recs:
        den = load_map(r.resolve(header["root"], "density"))
        samples.append((cb, den, load_fixations(r, header["root"], den.shape)))
    want = image_protocol(samples, E.METRICS)
    assert row["n_frames"] == len(recs) == 12
    for m in E.METRICS:
        assert row[m] == pytest.approx(want[m], abs=1e-12)
    assert row["CC"] > 0.1 and row["AUC_J"] > 0.6     # the free-view task has a centre bias


def test_cli_metrics_files(corpus, tmp_path):
    import mindspore as ms
    from aam_ms.checkpoint import save_checkpoint_atomic
    from aam_ms.session import load_session
    ms.set_context(mode=ms.GRAPH_MODE)
    d, _, _ = corpus
    s = load_session(config=TINY, allow_random=True, encoders=False)
    ckpt = tmp_path / "tiny.ckpt"
    save_checkpoint_atomic(str(ckpt), s.model)
    out = tmp_path / "ev"
    cmd = [sys.executable, "-m", "aam_ms.eval", "--manifest", str(d / "manifest.jsonl"),
           "--config", TINY, "--checkpoint", str(ckpt), "--set", "input.size=[64,64]",
           "--set", "input.clip_len=4", "--split", "test",
           "--datasets", "synth_search_red,synth_video_track,synth_av_pitch",
           "--max-items", "3", "--prompt-mode", "correct,wrong,paraphrase",
           "--baseline", "centre", "--out", str(out)]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=1200,
                       env={**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr[-3000:]
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    got = {(x["dataset"], x["prompt_mode"]) for x in rows}
    assert got == {(ds, m) for ds in ("synth_search_red", "synth_video_track", "synth_av_pitch")
                   for m in ("correct", "wrong", "paraphrase", "centre_baseline")}
    js = json.loads((out / "metrics.json").read_text())
    by = {(x["dataset"], x["prompt_mode"]): x for x in js["rows"]}
    for ds, n, protocol in (("synth_search_red", 3, "image"), ("synth_video_track", 16, "dhf1k"),
                            ("synth_av_pitch", 16, "stavis")):
        for mode in ("correct", "wrong", "centre_baseline"):
            row = by[(ds, mode)]
            assert row["n_frames"] == n and row["protocol"] == protocol
            assert all(np.isfinite(row[m]) for m in E.METRICS), row
            assert 0.0 <= row["AUC_J"] <= 1.0 and row["KLD"] >= 0.0 and -1 <= row["CC"] <= 1
        assert by[(ds, "correct")]["CC"] != by[(ds, "wrong")]["CC"]    # the prompt matters
        assert by[(ds, "paraphrase")]["CC"] is None and "no paraphrase" in by[(ds, "paraphrase")]["note"]
    md = (out / "metrics.md").read_text().splitlines()
    assert md[0].startswith("| dataset | prompt_mode |") and len(md) == 2 + len(rows)
