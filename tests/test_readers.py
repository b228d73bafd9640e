"""Readers index their fixture layouts; load_sample decodes good records and names bad files."""
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from fixtures_datasets import FIXTURES, H, W, make_csv256, make_dhf1k_official  # noqa: E402

from aam_ms.data import io, prompts, readers  # noqa: E402
from aam_ms.data.index import main as index_main  # noqa: E402
from aam_ms.data.manifest import counts, read_manifest  # noqa: E402

MODALITY = {**{k: "image" for k in readers.IMAGE}, **{k: "video" for k in readers.VIDEO},
            **{k: "audio_visual" for k in readers.AUDIO_VISUAL}}
CASES = [(k, FIXTURES[k]) for k in FIXTURES] + [("DHF1K", make_dhf1k_official), ("OSIE", make_csv256)]


@pytest.mark.parametrize("name,make", CASES, ids=[f"{k}-{m.__name__ if hasattr(m, '__name__') else k}-{i}"
                                                   for i, (k, m) in enumerate(CASES)])
def test_reader_fixture(tmp_path, name, make):
    root = str(tmp_path)
    exp = make(root)
    skipped = []
    recs = readers.index(name, root, None, skipped)
    got = {s: n for (_, _, s), n in counts(recs).items()}
    assert got == exp["counts"]
    assert len(skipped) == exp.get("skipped", 0), skipped
    assert {r.modality for r in recs} == {MODALITY[name]}
    assert {r.prompt_key for r in recs} == {prompts.DATASET_PROMPT_KEY[name]}
    bad = [r for r in recs if exp["bad"] in (r.stimulus, r.density, r.fixation, r.audio)]
    good = [r for r in recs if r not in bad]
    assert bad and good
    for r in good:
        s = io.load_sample(r, root)
        assert s["image"].shape == (H, W, 3) and s["image"].dtype == np.uint8
        if r.density is not None:
            assert s["density"].shape == (H, W) and s["density"].dtype == np.float32
        if s["fixation"] is not None:
            assert s["fixation"].shape == (H, W) and set(np.unique(s["fixation"])) <= {0, 1}
        if r.audio:
            assert s["audio"].shape == (32000,) and s["audio"].dtype == np.float32
    for r in bad:
        with pytest.raises(io.SampleError) as e:
            io.load_sample(r, root)
        assert exp["bad"] in e.value.path.replace(os.sep, "/")
    bad_paths = sorted(p.replace(os.sep, "/") for _, p, _ in readers.validate(recs, root))
    assert bad_paths == [os.path.join(root, exp["bad"]).replace(os.sep, "/")] * len(bad)
    one = readers.index(name, root, sorted(exp["counts"])[0])
    assert len(one) == exp["counts"][sorted(exp["counts"])[0]]


def test_salicon_points_xy_one_based(tmp_path):
    FIXTURES["SALICON"](str(tmp_path))
    r = [r for r in readers.index("SALICON", str(tmp_path), "train")][0]
    fx = io.load_fixations(r, str(tmp_path))
    assert fx.shape == (H, W) and fx.sum() == 2
    assert fx[5, 7] == 1 and fx[20, 30] == 1          # [x=8, y=6] → row 5, col 7


def test_ledov_demo_rule(tmp_path):
    FIXTURES["LEDOV"](str(tmp_path))
    recs = readers.index("LEDOV", str(tmp_path), "train")
    pts = [r.fixation_points for r in recs]
    # centre fixation dropped; (x=10, y=5) for 40..100 ms at 25 fps → frames 1..3; (40, 25) 130..190 ms → 4..5
    assert pts == [[[4.0, 9.0]], [[4.0, 9.0]], [[4.0, 9.0]], [[24.0, 39.0]], [[24.0, 39.0]]]
    from aam_ms.data.readers.ledov import fixations_per_frame
    # first fixation off-centre in x only: `&&` drops it (the release `or` would keep it,
    # and it would then cover frame 1 only); the second (40, 3) covers frames 1..2
    fix = np.array([[1, 0, 30, 40, H / 2], [1, 40, 30, 40, 3]], float)
    assert fixations_per_frame(fix, 25.0, 3, W, H) == [[[2.0, 39.0]], [[2.0, 39.0]], []]


def test_stavis_audio_window(tmp_path):
    FIXTURES["Coutrot-1"](str(tmp_path))
    recs = readers.index("Coutrot-1", str(tmp_path), "train_1")
    assert [r.audio_window for r in recs] == [[-1.0, 1.0], [-0.96, 1.04], [-0.92, 1.08]]
    a = io.load_sample(recs[0], str(tmp_path))["audio"]
    # file starts at 0 s (the sinc resampler leaves < 1e-6 before it)
    assert np.abs(a[:15900]).max() < 1e-6 and np.abs(a[16100:]).max() > 0.5


def test_index_cli(tmp_path, capsys):
    root = tmp_path / "sal"
    FIXTURES["SALICON"](str(root))
    out = tmp_path / "m.jsonl"
    before = _tree(root)
    assert index_main(["salicon2017", str(root), "--out", str(out), "--validate"]) == 1
    text = capsys.readouterr().out
    assert "SALICON\timage\ttrain\t2" in text and "SALICON\timage\ttest\t1" in text
    assert "total\t5" in text and "skipped 1 while indexing:" in text and "unreadable 1:" in text
    header, recs = read_manifest(str(out))
    bad = "images/val/COCO_val2014_000000000001.jpg"
    assert header["dataset"] == "SALICON" and len(recs) == 4      # the unreadable one left out
    assert bad not in {r.stimulus for r in recs}
    rej = [json.loads(line) for line in open(tmp_path / "m.rejects.jsonl")]
    assert [(x["stage"], x["record"] is None) for x in rej] == [("index", True), ("validate", False)]
    assert rej[0]["path"].endswith("COCO_train2014_999999999999.jpg") and "no density map" in rej[0]["reason"]
    assert rej[1]["record"]["stimulus"] == bad and "truncated JPEG" in rej[1]["reason"]
    assert f"left out 2: {tmp_path / 'm.rejects.jsonl'}" in text
    assert _tree(root) == before                                  # the dataset is untouched
    # without --validate the same root: structural skip only, manifest of 5, exit 1
    assert index_main(["SALICON", str(root), "--out", str(tmp_path / "n.jsonl")]) == 1
    assert len(read_manifest(str(tmp_path / "n.jsonl"))[1]) == 5


def _tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", ["missing", "empty", "wrong"])
def test_index_cli_explains_the_layout(tmp_path, case, capsys):
    from aam_ms import cli
    root = tmp_path / "root"
    if case != "missing":
        root.mkdir()
    if case == "wrong":                                # a SALICON tree given as DHF1K
        FIXTURES["SALICON"](str(root))
    rc = cli.run(index_main, ["DHF1K", str(root), "--out", str(tmp_path / "m.jsonl")], prog="idx")
    err = capsys.readouterr().err
    assert rc == 2 and not (tmp_path / "m.jsonl").exists()
    if case == "missing":
        assert err.startswith(f"idx: error: {root}: no such folder")
        return
    assert f"no DHF1K records found under {root}" in err
    assert ("is empty" in err) if case == "empty" else ("holds: fixations, images, maps" in err)
    assert "root/video/<NNN>.AVI" in err and "root/{train,val,test}/<v>/{images,maps,fixation}/" in err


def test_io_errors(tmp_path):
    with pytest.raises(io.SampleError, match="does not exist"):
        io.load_image(str(tmp_path / "nope.jpg"))
    p = tmp_path / "x.mat"
    p.write_bytes(b"not a mat file at all")
    with pytest.raises(io.SampleError, match="x.mat"):
        io.load_map(str(p), "I")
    with pytest.raises(io.SampleError, match="empty audio window"):
        io.load_audio(str(p), 1.0, 1.0)
