"""Manifest → MindRecord: round trip, verification, resume, bad samples, CLI."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aam_ms.data import io, synth
from aam_ms.data import to_mindrecord as tm
from aam_ms.data.manifest import read_manifest, write_manifest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_manifest(tmp_path_factory):
    """40 images + one track video + one audio-visual video of the tiny corpus."""
    out = tmp_path_factory.mktemp("synth")
    synth.generate(str(out), "tiny", seed=1)
    _, recs = read_manifest(str(out / "manifest.jsonl"))
    keep = [r for r in recs if r.modality == "image"][:40]
    keep += [r for r in recs if r.video in ("track_000", "flicker_000")]
    path = out / "small.jsonl"
    write_manifest(str(path), keep, str(out))
    return str(path), str(out), keep


def _read_all(prefix):
    from mindspore.mindrecord import FileReader
    rows = []
    for f in tm.shard_files(prefix):
        r = FileReader(f)
        rows += list(r.get_next())
        r.close()
    return rows


def test_round_trip_equal_bytes_and_arrays(small_manifest, tmp_path):
    manifest, root, recs = small_manifest
    state = tm.convert(manifest, str(tmp_path / "mr"), 3, log=lambda *_: None)
    assert state["complete"] and state["rows"] == len(recs) and not state["skipped"]
    rows = _read_all(str(tmp_path / "mr"))
    assert [int(r["manifest_index"]) for r in rows] == list(range(len(recs)))
    for row, rec in zip(rows, recs):
        with open(rec.resolve(root, "stimulus"), "rb") as f:
            assert row["stimulus"] == f.read()
        with open(rec.resolve(root, "density"), "rb") as f:
            assert row["density"] == f.read()
        assert (row["dataset"], row["split"], row["prompt_key"]) == (rec.dataset, rec.split, rec.prompt_key)
        assert row["video"] == (rec.video or "")
        assert int(row["frame_index"]) == (-1 if rec.frame_index is None else rec.frame_index)
        dec = tm.decode_row(row)
        ref = io.load_sample(rec, root)
        np.testing.assert_array_equal(dec["image"], ref["image"])
        np.testing.assert_array_equal(dec["density"], ref["density"])
        np.testing.assert_array_equal(dec["fixation"], ref["fixation"])
        if rec.audio:
            assert dec["audio"].shape == (32000,)
            np.testing.assert_array_equal(dec["audio"], ref["audio"])
        else:
            assert dec["audio"] is None


def test_verify_counts_and_detects_tampering(small_manifest, tmp_path):
    manifest, _, recs = small_manifest
    prefix = str(tmp_path / "mr")
    tm.convert(manifest, prefix, 2, log=lambda *_: None)
    report = tm.verify(prefix)
    want = {}
    for r in recs:
        want[r.dataset] = want.get(r.dataset, 0) + 1
    assert report["ok"] and report["rows"] == len(recs) and report["counts"] == dict(sorted(want.items()))
    meta = tm.meta_path(prefix)
    with open(meta) as f:
        state = json.load(f)
    state["completed"]["1"]["sha256_rows"][3] = "0" * 64
    with open(meta, "w") as f:
        json.dump(state, f)
    report = tm.verify(prefix)
    assert not report["ok"] and len(report["mismatches"]) == 1 and "checksum" in report["mismatches"][0]


def test_resume_after_interruption_gives_identical_output(small_manifest, tmp_path):
    manifest, _, _ = small_manifest
    clean = str(tmp_path / "clean" / "mr")
    tm.convert(manifest, clean, 3, log=lambda *_: None)
    part = str(tmp_path / "part" / "mr")
    state = tm.convert(manifest, part, 3, max_shards=1, log=lambda *_: None)   # "interrupted"
    assert not state["complete"] and list(state["completed"]) == ["0"]
    with pytest.raises(ValueError, match="unfinished"):
        tm.shard_files(part)
    # a crash in the middle of shard 1 leaves a partial folder and no final file
    os.makedirs(tm.shard_path(part, 1, 3) + ".partial")
    with open(os.path.join(tm.shard_path(part, 1, 3) + ".partial", "junk"), "wb") as f:
        f.write(b"half a shard")
    lines = []
    state = tm.convert(manifest, part, 3, resume=True, log=lines.append)
    assert lines[0] == "shard 0: complete, skipped" and state["complete"]
    assert not os.path.exists(tm.shard_path(part, 1, 3) + ".partial")
    for k in range(3):
        for suffix in ("", ".db"):
            a = Path(tm.shard_path(clean, k, 3) + suffix).read_bytes()
            b = Path(tm.shard_path(part, k, 3) + suffix).read_bytes()
            assert a == b
    with open(tm.meta_path(clean)) as f, open(tm.meta_path(part)) as g:
        sa, sb = json.load(f), json.load(g)
    assert sa["completed"] == sb["completed"] and sa["counts"] == sb["counts"]
    with pytest.raises(ValueError, match="another manifest or shard count"):
        tm.convert(manifest, part, 4, resume=True, log=lambda *_: None)


def test_bad_sample_is_skipped_and_listed(small_manifest, tmp_path):
    manifest, root, recs = small_manifest
    data = tmp_path / "data"
    shutil.copytree(root, data, ignore=shutil.ignore_patterns("true"))
    bad = recs[5]
    p = data / bad.stimulus
    p.write_bytes(p.read_bytes()[:200])                                   # truncated JPEG
    state = tm.convert(manifest, str(tmp_path / "mr"), 2, root=str(data), log=lambda *_: None)
    hit = [i for i, r in enumerate(recs) if r.stimulus == bad.stimulus]     # scene shared by 3 tasks
    assert len(hit) == 3 and state["rows"] == len(recs) - 3
    assert [(s["index"], s["reason"]) for s in state["skipped"]] == [
        (i, "truncated JPEG (no end-of-image marker)") for i in hit]
    assert tm.verify(str(tmp_path / "mr"))["ok"]
    assert not set(hit) & {int(r["manifest_index"]) for r in _read_all(str(tmp_path / "mr"))}


def test_cli_end_to_end(small_manifest, tmp_path):
    manifest, _, recs = small_manifest
    env = dict(os.environ, PYTHONPATH=str(REPO), GLOG_v="3")
    cmd = [sys.executable, "-m", "aam_ms.data.to_mindrecord", manifest, str(tmp_path / "mr"),
           "--shards", "2", "--verify"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert summary["rows"] == len(recs) and summary["verify"] == {"ok": True, "mismatches": []}
    p = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0 and "shard 1: complete, skipped" in p.stdout
    p = subprocess.run(cmd[:5] + ["--shards", "0"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode != 0 and "--shards must be" in p.stderr
