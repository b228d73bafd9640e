"""eval survives bad records: a truncated video frame and a missing density map are skipped,
named with their reason and counted (exit 1); every other record (the intact video, the
damaged video's other frames, the other images) is scored exactly as if the bad records were
not in the manifest; the dataset tree is byte-identical afterwards."""
import csv
import hashlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from fixtures_datasets import _fixmap, _img, _truncate  # noqa: E402

from aam_ms import cli  # noqa: E402
from aam_ms import eval as E  # noqa: E402
from aam_ms.data import readers  # noqa: E402
from aam_ms.data.manifest import write_manifest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "aam_tiny.yaml")
BAD_FRAME = "dhf1k/val/0602/images/0002.png"
BAD_MAP = "mit/ALLFIXATIONMAPS/i1_fixMap.jpg"


def _tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def _layouts(root):
    """DHF1K frame layout (2 val videos × 3 frames) + MIT1003 (4 images), one root."""
    for v in ("0601", "0602"):
        for i in range(1, 4):
            n = f"{i:04d}.png"
            _img(f"{root}/dhf1k/val/{v}/images/{n}")
            _img(f"{root}/dhf1k/val/{v}/maps/{n}", gray=True)
            _fixmap(f"{root}/dhf1k/val/{v}/fixation/{n}")
    for i in range(4):
        _img(f"{root}/mit/ALLSTIMULI/i{i}.jpeg")
        _img(f"{root}/mit/ALLFIXATIONMAPS/i{i}_fixMap.jpg", gray=True)
        _fixmap(f"{root}/mit/ALLFIXATIONMAPS/i{i}_fixPts.png")
    recs = []
    for name, sub in (("DHF1K", "dhf1k"), ("MIT1003", "mit")):
        for r in readers.index(name, f"{root}/{sub}"):
            recs.append(replace(r, **{k: f"{sub}/{getattr(r, k)}" for k in
                                      ("stimulus", "density", "fixation") if getattr(r, k)}))
    return recs


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import mindspore as ms
    from aam_ms.checkpoint import save_checkpoint_atomic
    from aam_ms.session import load_session
    base = tmp_path_factory.mktemp("safety")
    root = base / "data"
    recs = _layouts(str(root))
    assert len(recs) == 10
    write_manifest(str(base / "all.jsonl"), recs, str(root))
    good = [r for r in recs if BAD_FRAME != r.stimulus and BAD_MAP != r.density]
    assert len(good) == 8
    write_manifest(str(base / "good.jsonl"), good, str(root))
    _truncate(str(root / BAD_FRAME))
    os.remove(root / BAD_MAP)
    ms.set_context(mode=ms.PYNATIVE_MODE)
    s = load_session(config=TINY, allow_random=True, encoders=False)
    save_checkpoint_atomic(str(base / "tiny.ckpt"), s.model)
    return base, root


def _per_sample(path, mode=None):
    """Per-sample rows without the manifest index (it shifts when records are removed)."""
    with open(path) as f:
        return [{k: v for k, v in r.items() if k != "index"} for r in csv.DictReader(f)
                if mode is None or r["prompt_mode"] == mode]


def _eval(base, manifest, out, capsys, model=True):
    argv = ["--manifest", str(base / manifest), "--split", "all", "--baseline", "centre",
            "--out", str(base / out)]
    if model:
        argv += ["--config", TINY, "--checkpoint", str(base / "tiny.ckpt"),
                 "--set", "input.size=[32,32]", "--set", "input.clip_len=2"]
    rc = cli.run(E.main, argv, prog="eval")
    err = capsys.readouterr().err
    return rc, err, json.loads((base / out / "metrics.json").read_text())


@pytest.mark.slow
def test_cli_skips_names_and_counts_bad_records(data, capsys):
    """The tiny model on the damaged manifest: exit 1, both bad files named with their
    reason, counted per dataset, listed in the report; the rest scored; the tree unchanged.
    The centre baseline equals, bit for bit, a run on the manifest without the bad records."""
    base, root = data
    before = _tree(root)
    rc, err, bad = _eval(base, "all.jsonl", "ev_bad", capsys)
    assert _tree(root) == before                       # nothing in the dataset changed
    assert rc == 1, err
    assert "skipped 2 record(s)" in err
    assert f"{root / BAD_FRAME}: truncated PNG" in err
    assert f"{root / BAD_MAP}: file does not exist" in err
    assert sorted((s["dataset"], s["record"], s["reason"]) for s in bad["skipped"]) == [
        ("DHF1K", BAD_FRAME, "truncated PNG (no IEND chunk)"),
        ("MIT1003", "mit/ALLSTIMULI/i1.jpeg", "file does not exist")]
    rows = {(r["dataset"], r["prompt_mode"]): r for r in bad["rows"]}
    assert set(rows) == {(d, m) for d in ("DHF1K", "MIT1003") for m in ("correct", "centre_baseline")}
    for k, r in rows.items():
        assert r["n_skipped"] == 1 and r["n_frames"] == (5 if k[0] == "DHF1K" else 3)
        assert all(r[m] is not None and abs(r[m]) < 100 for m in E.METRICS), r
    assert rows[("DHF1K", "correct")]["n_videos"] == 2   # the intact video is scored too
    per = _per_sample(base / "ev_bad" / "per_sample.csv", "correct")
    assert {v: sum(r["video"] == v for r in per) for v in ("0601", "0602")} == {"0601": 3, "0602": 2}
    html = (base / "ev_bad" / "report.html").read_text()
    assert 'id="skipped"' in html and BAD_FRAME in html and "2 record(s) skipped" in html

    rc0, err0, ref = _eval(base, "good.jsonl", "ev_ref", capsys, model=False)
    assert rc0 == 0 and ref["skipped"] == [], err0
    for r in ref["rows"]:
        got = rows[(r["dataset"], "centre_baseline")]
        assert r["n_skipped"] == 0 and {m: got[m] for m in E.METRICS} == {m: r[m] for m in E.METRICS}
    assert _per_sample(base / "ev_bad" / "per_sample.csv", "centre_baseline") == \
        _per_sample(base / "ev_ref" / "per_sample.csv")


class _FrameEngine:
    """A deterministic stand-in for the inference engine whose map depends on the frame's
    pixels and, for video, on the previous frame of the stream (temporal context)."""

    def __init__(self):
        from types import SimpleNamespace
        self.session = SimpleNamespace(cfg={"input": {"clip_len": 2}}, audio=None)

    @staticmethod
    def _map(im):
        import cv2
        return cv2.resize(im.astype("float32").mean(axis=2), (16, 16))

    def predict_images(self, images, text=None, batch=1):
        return [self._map(im) + len(text) for im in images]

    def stream(self, frames, text=None, clip_len=2, overlap=1, audio_window=None):
        prev = None
        for i, f in enumerate(frames):
            m = self._map(f)
            yield i, f, m if prev is None else m + 0.5 * prev
            prev = m


def test_intact_records_score_as_without_the_bad_ones(data):
    """Model path (a frame-dependent stand-in engine): rows and per-sample scores of the
    damaged manifest equal those of the manifest without the bad records, exactly."""
    from aam_ms.data.manifest import read_manifest
    from aam_ms.data.pipeline import plan_eval
    base, _ = data
    out = {}
    for name in ("all", "good"):
        header, recs = read_manifest(str(base / f"{name}.jsonl"))
        plan = plan_eval(recs, header["root"])
        log = E.SampleLog()
        rows = E.evaluate(_FrameEngine(), plan, "correct", log=log)
        out[name] = (plan, rows, [{k: v for k, v in r.items() if k != "index"} for r in log.rows])
    (plan, rows, per), (plan0, rows0, per0) = out["all"], out["good"]
    assert len(plan.skipped) == 2 and plan0.skipped == []
    assert [len(g) for g in plan.sets["DHF1K"].groups] == [3, 2]
    assert per == per0 and len(per) == 8
    for r, r0 in zip(rows, rows0):
        assert r["n_skipped"] == 1 and r0["n_skipped"] == 0
        assert {k: v for k, v in r.items() if k != "n_skipped"} == \
            {k: v for k, v in r0.items() if k != "n_skipped"}


def test_bad_root_and_flags_are_one_line_errors(data, tmp_path, capsys):
    base, _ = data
    cases = [(["--manifest", str(tmp_path / "nope.jsonl"), "--baseline", "centre"], "no such file"),
             (["--manifest", str(base / "all.jsonl"), "--baseline", "centre", "--audio-mode",
               "loud"], "--audio-mode: unknown ['loud']"),
             (["--manifest", str(base / "all.jsonl"), "--baseline", "centre", "--split", "test"],
              "no records in split 'test' (splits in the manifest: ['all', 'val'])")]
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "metrics.csv").write_text("mine")
    cases.append((["--manifest", str(base / "all.jsonl"), "--baseline", "centre", "--out",
                   str(tmp_path / "user")], "holds metrics.csv not written by aam_ms.eval"))
    for argv, msg in cases:
        if "--out" not in argv:
            argv = argv + ["--out", str(tmp_path / "o")]
        assert cli.run(E.main, argv, prog="eval") == 2
        err = capsys.readouterr().err
        assert err.startswith("eval: error: ") and msg in err and len(err.splitlines()) == 1, err
    assert (tmp_path / "user" / "metrics.csv").read_text() == "mine"
    assert not (tmp_path / "o").exists()
