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


def _per_sample(path):
    """Per-sample rows without the manifest index (it shifts when records are removed)."""
    with open(path) as f:
        return [{k: v for k, v in r.items() if k != "index"} for r in csv.DictReader(f)]


def _eval(base, manifest, out, capsys):
    argv = ["--manifest", str(base / manifest), "--config", TINY, "--checkpoint",
            str(base / "tiny.ckpt"), "--pynative", "--set", "input.size=[32,32]",
            "--set", "input.clip_len=2", "--split", "all", "--prompt-mode", "correct",
            "--baseline", "centre", "--out", str(base / out)]
    rc = cli.run(E.main, argv, prog="eval")
    err = capsys.readouterr().err
    return rc, err, json.loads((base / out / "metrics.json").read_text())


def test_bad_records_skipped_named_counted_rest_scored_as_without_them(data, capsys):
    base, root = data
    before = _tree(root)
    rc, err, bad = _eval(base, "all.jsonl", "ev_bad", capsys)
    assert _tree(root) == before                       # nothing in the dataset changed
    assert rc == 1, err
    assert "skipped 2 record(s)" in err
    assert f"{root / BAD_FRAME}: truncated PNG" in err and f"{root / BAD_MAP}: file does not exist" in err
    assert sorted((s["dataset"], s["record"], s["reason"]) for s in bad["skipped"]) == [
        ("DHF1K", BAD_FRAME, "truncated PNG (no IEND chunk)"),
        ("MIT1003", "mit/ALLSTIMULI/i1.jpeg", "file does not exist")]
    rc0, err0, ref = _eval(base, "good.jsonl", "ev_ref", capsys)
    assert rc0 == 0 and ref["skipped"] == [], err0
    rows = {(r["dataset"], r["prompt_mode"]): r for r in bad["rows"]}
    ref_rows = {(r["dataset"], r["prompt_mode"]): r for r in ref["rows"]}
    assert set(rows) == set(ref_rows) == {(d, m) for d in ("DHF1K", "MIT1003")
                                          for m in ("correct", "centre_baseline")}
    for k, r in rows.items():
        assert r["n_skipped"] == 1 and ref_rows[k]["n_skipped"] == 0
        assert r["n_frames"] == ref_rows[k]["n_frames"] == (5 if k[0] == "DHF1K" else 3)
        for m in E.METRICS:                             # the same numbers (the baseline's
            if k[1] == "centre_baseline":               # bit for bit; the model's to float
                assert r[m] == ref_rows[k][m], (k, m)   # round-off between two runs)
            else:
                assert r[m] == pytest.approx(ref_rows[k][m], rel=1e-6, abs=1e-9), (k, m)
    assert rows[("DHF1K", "correct")]["n_videos"] == 2   # the intact video is scored too
    per, per_ref = (_per_sample(base / d / "per_sample.csv") for d in ("ev_bad", "ev_ref"))
    assert [(r["record"], r["prompt_mode"]) for r in per] == \
        [(r["record"], r["prompt_mode"]) for r in per_ref]
    for a, b in zip(per, per_ref):
        assert float(a["CC"]) == pytest.approx(float(b["CC"]), rel=1e-6, abs=1e-9)
    frames = {v: sum(r["video"] == v and r["prompt_mode"] == "correct" for r in per)
              for v in ("0601", "0602")}
    assert frames == {"0601": 3, "0602": 2}
    html = (base / "ev_bad" / "report.html").read_text()
    assert 'id="skipped"' in html and BAD_FRAME in html and "2 record(s) skipped" in html


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
