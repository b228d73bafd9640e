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
from aam_ms import report
from aam_ms.data import synth
from aam_ms.data.io import load_fixations, load_map
from aam_ms.data.manifest import read_manifest
from aam_ms.data.pipeline import plan_eval
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
    plan = plan_eval(records, header["root"], "test", ["synth_freeview"])
    [row] = E.evaluate(None, plan)
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


def _first_videos_frames(records, ds, n):
    """Frames of the first ``n`` test videos of ``ds`` (what ``--max-items n`` keeps)."""
    vids = list(dict.fromkeys(r.video for r in records if r.dataset == ds and r.split == "test"))
    return sum(r.dataset == ds and r.split == "test" and r.video in vids[:n] for r in records)


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
           "--audio-mode", "correct,none,swapped", "--baseline", "centre", "--out", str(out)]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=1200,
                       env={**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr[-3000:]
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    got = {(x["dataset"], x["prompt_mode"], x["audio_mode"]) for x in rows}
    assert got == {(ds, m, "-") for ds in ("synth_search_red", "synth_video_track")
                   for m in ("correct", "wrong", "paraphrase", "centre_baseline")} | {
        ("synth_av_pitch", m, a) for m in ("correct", "wrong", "paraphrase")
        for a in E.AUDIO_MODES} | {("synth_av_pitch", "centre_baseline", "-")}
    js = json.loads((out / "metrics.json").read_text())
    assert js["skipped"] == [] and js["format"] == E.FORMAT
    _, _, records = corpus
    n_track, n_av = (_first_videos_frames(records, ds, 3) for ds in ("synth_video_track",
                                                                      "synth_av_pitch"))
    by = {(x["dataset"], x["prompt_mode"]): x for x in js["rows"] if x["audio_mode"] in ("-", "correct")}
    for a in ("none", "swapped"):
        row = next(x for x in js["rows"] if x["dataset"] == "synth_av_pitch"
                   and x["prompt_mode"] == "correct" and x["audio_mode"] == a)
        assert row["n_frames"] == n_av and all(np.isfinite(row[m]) for m in E.METRICS)
    for ds, n, protocol in (("synth_search_red", 3, "image"), ("synth_video_track", n_track, "dhf1k"),
                            ("synth_av_pitch", n_av, "stavis")):
        for mode in ("correct", "wrong", "centre_baseline"):
            row = by[(ds, mode)]
            assert row["n_frames"] == n and row["protocol"] == protocol
            assert all(np.isfinite(row[m]) for m in E.METRICS), row
            assert 0.0 <= row["AUC_J"] <= 1.0 and row["KLD"] >= 0.0 and -1 <= row["CC"] <= 1
        assert by[(ds, "correct")]["CC"] != by[(ds, "wrong")]["CC"]    # the prompt matters
        assert by[(ds, "paraphrase")]["CC"] is None and "no paraphrase" in by[(ds, "paraphrase")]["note"]
    md = (out / "metrics.md").read_text().splitlines()
    assert md[0].startswith("| dataset | prompt_mode | audio_mode |") and len(md) == 2 + len(rows)
    _check_report(out, js)


# ----------------------------------------------------------------------------- report

def _html_table(html, table_id):
    import re
    from html import unescape
    body = html.split(f'<table id="{table_id}">', 1)[1].split("</table>", 1)[0]
    cells = [[unescape(c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", tr)]
             for tr in re.findall(r"<tr>(.*?)</tr>", body)]
    return cells[0], cells[1:]


def _images(html):
    import base64
    import re

    import cv2
    out = []
    for mime, data in re.findall(r'src="data:image/(png|jpeg);base64,([^"]+)"', html):
        img = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        out.append(img)
    return out


def _check_report(out, js):
    """report.html: its table equals metrics.json cell for cell; every chart decodes and is
    not blank; the best / worst samples are the extremes of per_sample.csv."""
    html = (out / "report.html").read_text()
    head, cells = _html_table(html, "metrics")
    assert tuple(head) == E.MD_COLUMNS and len(cells) == len(js["rows"])
    md = (out / "metrics.md").read_text().splitlines()[2:]
    for row, tr, line in zip(js["rows"], cells, md):
        assert tr == [report.cell(row, c) for c in E.MD_COLUMNS]
        assert tr[head.index("CC")] == ("nan" if row["CC"] is None else f"{row['CC']:.4f}")
        assert tr == [c.strip() for c in line.strip("|").split(" | ")]   # = metrics.md
    imgs = _images(html)
    charts = sorted(p.name for p in (out / "charts").iterdir())
    assert len(imgs) == len(charts) and "metrics.png" in charts
    for img in imgs:
        assert img is not None and img.shape[0] > 200 and img.shape[1] > 200
        assert img.std() > 10 and len(np.unique(img.reshape(-1, 3), axis=0)) > 20   # not blank
    per = list(csv.DictReader(open(out / "per_sample.csv")))
    ext = js["extremes"]
    for ds in {e["dataset"] for e in ext}:
        run = js["tracked"][ds]
        cc = sorted((float(r["CC"]) for r in per if r["dataset"] == ds and r["prompt_index"] == "0"
                     and [r["prompt_mode"], r["audio_mode"]] == run), reverse=True)
        best = [e["CC"] for e in ext if e["dataset"] == ds and e["kind"] == "best"]
        worst = [e["CC"] for e in ext if e["dataset"] == ds and e["kind"] == "worst"]
        assert best == pytest.approx(cc[:len(best)]) and best == sorted(best, reverse=True)
        assert worst == pytest.approx(cc[::-1][:len(worst)]) and min(best) >= max(worst)
        assert len(best) == min(E.N_EXTREMES, (len(cc) + 1) // 2)
        assert len(worst) == min(E.N_EXTREMES, len(cc) - len(best))
        for e in ext:
            assert (out / e["pred"]).is_file() and (out / e["gt"]).is_file()
    return html


class _StubEngine:
    """Stand-in for the inference engine (no MindSpore): a map that depends on the frame, the
    prompt text and the audio waveform each frame is given, so every ablation changes it."""

    def __init__(self, sample_rate=16000):
        from types import SimpleNamespace
        self.session = SimpleNamespace(cfg={"input": {"clip_len": 4}},
                                       audio=SimpleNamespace(sample_rate=sample_rate))
        self.audio_calls = []

    @staticmethod
    def _map(im, text):
        import cv2
        m = cv2.resize(im.astype(np.float32).mean(axis=2), (24, 24))
        return m + (hash(text) % 7) * np.linspace(0, 20, 24, dtype=np.float32)[None, :]

    def predict_images(self, images, text=None, batch=1):
        return [self._map(im, text) for im in images]

    def stream(self, frames, text=None, clip_len=4, overlap=2, audio_window=None):
        for i, f in enumerate(frames):
            m = self._map(f, text)
            if audio_window is not None:
                w = audio_window(i)
                self.audio_calls.append(w)
                m = m + 40 * float(np.abs(w[:4000]).mean()) * np.linspace(1, 0, 24)[:, None]
            yield i, f, m.astype(np.float32)


def test_audio_modes_pair_clips_deterministically(corpus):
    from aam_ms.data.io import load_audio
    _, header, records = corpus
    plan = plan_eval(records, header["root"], "test,val", ["synth_av_pitch"])
    es = plan.sets["synth_av_pitch"]
    vids = [records[g[0]].video for g in es.groups]
    order = sorted(range(len(vids)), key=lambda k: (records[es.groups[k][0]].split, vids[k]))
    partners = E.swap_partners(plan, es)
    assert len(vids) >= 2 and partners == {k: order[(j + 1) % len(order)] for j, k in enumerate(order)}
    assert sorted(partners.values()) == list(range(len(vids)))      # a permutation
    assert all(partners[k] != k for k in partners)                  # never its own sound
    eng = _StubEngine()
    rows = E.evaluate(eng, plan, "correct", E.AUDIO_MODES)
    assert [r["audio_mode"] for r in rows] == list(E.AUDIO_MODES)
    assert len({r["CC"] for r in rows}) == 3                          # the sound changes the map
    n = sum(map(len, es.groups))
    assert len(eng.audio_calls) == 2 * n                              # none: no audio at all
    # swapped: frame t of clip k hears clip partner(k) over frame t's own window
    k = 0
    g, src = es.groups[k], es.groups[partners[k]][0]
    r0 = records[g[1]]
    want = load_audio(records[src].resolve(plan.root, "audio"), *r0.audio_window, 16000)
    np.testing.assert_array_equal(eng.audio_calls[n + 1], want)
    own = load_audio(r0.resolve(plan.root, "audio"), *r0.audio_window, 16000)
    np.testing.assert_array_equal(eng.audio_calls[1], own)
    one = plan_eval(records, header["root"], "test", ["synth_av_pitch"], max_items=1)
    [_, _, sw] = E.evaluate(_StubEngine(), one, "correct", E.AUDIO_MODES)
    assert sw["CC"] != sw["CC"] and "at least 2 clips" in sw["note"]


def test_report_from_a_stub_engine(corpus, tmp_path):
    """The full output set through write_outputs: tables = metrics.json, charts for the
    baseline, prompt and audio ablations, best / worst grid ordered by per-sample CC."""
    _, header, records = corpus
    plan = plan_eval(records, header["root"], "test",
                     ["synth_search_red", "synth_freeview", "synth_av_pitch"], max_items=4)
    eng, log, rows = _StubEngine(), E.SampleLog(), []
    for mode in ("correct", "generic", "wrong", "G1", "G4"):
        rows += E.evaluate(eng, plan, mode, E.AUDIO_MODES, log=log)
    rows += E.evaluate(None, plan, log=log)
    E.write_outputs(str(tmp_path), plan, rows, log, {"prompt_modes": ["correct"],
                                                     "audio_modes": list(E.AUDIO_MODES)})
    js = json.loads((tmp_path / "metrics.json").read_text())
    html = _check_report(tmp_path, js)
    charts = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert charts == ["audio.png", "granularity.png", "metrics.png", "prompts.png",
                      "samples_synth_av_pitch.jpg", "samples_synth_freeview.jpg",
                      "samples_synth_search_red.jpg"]
    assert {e["dataset"] for e in js["extremes"]} == {"synth_search_red", "synth_freeview",
                                                     "synth_av_pitch"}
    assert js["tracked"]["synth_av_pitch"] == ["correct", "correct"]
    assert 'id="skipped"' not in html
    # an out folder of this tool is reused; one holding a user's files is refused
    E.check_out(str(tmp_path))
    user = tmp_path / "u"
    user.mkdir()
    (user / "samples").mkdir()
    with pytest.raises(E.cli.UserError, match="holds samples not written by aam_ms.eval"):
        E.check_out(str(user))


def test_report_merges_ablation_folders(corpus, tmp_path, capsys):
    from aam_ms import cli
    _, header, records = corpus
    plan = plan_eval(records, header["root"], "test", ["synth_search_red"], max_items=3)
    eng = _StubEngine()
    main, abl = tmp_path / "eval", tmp_path / "ablation"
    log = E.SampleLog()
    E.write_outputs(str(main), plan, E.evaluate(eng, plan, "correct", log=log)
                    + E.evaluate(None, plan, log=log), log, {"prompt_modes": ["correct"]})
    assert not (main / "charts" / "prompts.png").exists()        # one condition: no ablation chart
    log = E.SampleLog()
    rows = [r for m in ("correct", "generic", "wrong") for r in E.evaluate(eng, plan, m, log=log)]
    E.write_outputs(str(abl), plan, rows, log, {"prompt_modes": ["correct", "generic", "wrong"]},
                    report=False)
    assert cli.run(report.main, [str(main), "--with", str(abl)], prog="report") == 0
    html = (main / "report.html").read_text()
    _, cells = _html_table(html, "metrics")
    assert [(c[0], c[1]) for c in cells] == [("synth_search_red", m) for m in
                                             ("correct", "centre_baseline", "generic", "wrong")]
    want = json.loads((abl / "metrics.json").read_text())["rows"][2]
    assert cells[3] == [report.cell(want, c) for c in E.MD_COLUMNS]
    assert (main / "charts" / "prompts.png").is_file()
    assert cli.run(report.main, [str(tmp_path / "nope")], prog="report") == 2
    assert "report: error: " in capsys.readouterr().err
