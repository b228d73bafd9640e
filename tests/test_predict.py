"""predict CLI on the tiny AAM (random weights, 64 px, T = 4): inputs, prompts, overlays, and
outputs equal to the inference engine's maps at each input's own size."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from aam_ms import overlay as ov
from aam_ms import predict as P
from aam_ms.inference import Engine, resize_map, resolve_prompt
from test_predict_safety import (REPO, SIZE, TINY, png, run, session, summary,  # noqa: F401
                                 tree, video)


def _decode(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def test_resolve_prompt():
    from aam_ms.cli import UserError
    from aam_ms.data.prompts import GENERIC, RELEASED
    assert resolve_prompt(None) == GENERIC
    assert resolve_prompt("DHF1K") == RELEASED["DHF1K"]
    assert resolve_prompt("SALICON") == RELEASED["Salicon"]           # dataset key
    assert resolve_prompt("look at the red car") == "look at the red car"
    with pytest.raises(UserError, match="no known prompt or dataset key"):
        resolve_prompt("DHF1k")


def test_collect_inputs(tmp_path):
    (tmp_path / "clip").mkdir()
    for i in range(3):
        (tmp_path / "clip" / f"img_{i + 1:05d}.jpg").write_bytes(b"x")
    (tmp_path / "pics").mkdir()
    for name in ("a.png", "a_saliency.png", "notes.txt"):             # notes.txt: not media
        (tmp_path / "pics" / name).write_bytes(b"x")
    (tmp_path / "pics" / "b.mp4").write_bytes(b"")
    (tmp_path / "pics" / "summary.json").write_text(json.dumps(
        {"tool": P.TOOL, "written": ["a_saliency.png"]}))
    jobs, fails, skipped = P.collect_inputs([str(tmp_path / "clip"), str(tmp_path / "pics"),
                                             str(tmp_path / "nope.jpg")])
    assert [(j.kind, j.stem, len(j.frames)) for j in jobs] == [
        ("frames", "clip", 3), ("image", "a", 0), ("video", "b", 0)]
    assert skipped == [str(tmp_path / "pics" / "a_saliency.png")]     # an earlier output
    assert fails == [(str(tmp_path / "nope.jpg"), "no such file or folder")]


def test_overlay_blend():
    frame = np.full((4, 6, 3), 100, np.uint8)
    sal = np.zeros((2, 3), np.float32)
    sal[0, 0] = 1.0
    assert np.array_equal(ov.overlay(frame, sal, alpha=0.0), frame)
    out = ov.overlay(frame, np.ones((4, 6)) * 3.0)      # constant map → nothing salient
    assert np.array_equal(out, frame)
    m = np.arange(24, dtype=np.float32).reshape(4, 6)
    out = ov.overlay(frame, m, alpha=1.0)
    assert np.array_equal(out[-1, -1], ov.heatmap(m)[-1, -1])          # full weight at the max
    assert out[-1, -1, 0] > 100 and out[-1, -1, 2] < 100                 # JET max is red
    assert np.array_equal(ov.to_uint8(m)[[0, -1], [0, -1]], [0, 255])


def test_images_and_bad_files(tmp_path, run, session):
    d = tmp_path / "in"
    d.mkdir()
    png(d / "good0.png", 40, 56)
    cv2.imwrite(str(d / "good1.jpg"), np.random.default_rng(1).integers(0, 255, (72, 50, 3),
                                                                       dtype=np.uint8))
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (d / "empty.mp4").write_bytes(b"")
    out = tmp_path / "out"
    rc, stdout, err = run(d, "--out", out, "--npy", "--prompt", "MIT1003")
    assert rc == 2 and "2 of 4 input(s) failed" in err
    assert "2 input(s) done, 2 failed" in stdout
    reasons = {Path(f["path"]).name: f["reason"] for f in summary(out)["failures"]}
    assert reasons == {"broken.jpg": "truncated JPEG (no end-of-image marker)",
                       "empty.mp4": "file is empty (0 bytes)"}
    engine = Engine(session)
    text = engine.embed(resolve_prompt("MIT1003"))
    for name, shape in (("good0", (40, 56)), ("good1", (72, 50))):
        from aam_ms.data.io import load_image
        src = load_image(str(d / (name + (".png" if name == "good0" else ".jpg"))))
        want = resize_map(engine.predict_images([src], text)[0], shape)
        raw = np.load(out / f"{name}_saliency.npy")
        assert raw.shape == shape and np.abs(raw - want).max() < 1e-6
        m = cv2.imread(str(out / f"{name}_saliency.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(m, ov.to_uint8(raw)) and m.min() == 0 and m.max() == 255
        assert cv2.imread(str(out / f"{name}_overlay.jpg")).shape == shape + (3,)
    assert not [p for p in tree(out) if ".tmp" in p]


def test_video_maps_are_the_engines(tmp_path, run, session):
    src = tmp_path / "moving.avi"
    video(src, n=6)
    frames = _decode(src)
    assert len(frames) == 6
    out = tmp_path / "out"
    rc, _, err = run(src, "--out", out, "--npy", "--prompt", "DHF1K", "--clip-len", "4",
                     "--overlap", "2")
    assert rc == 0, err
    engine = Engine(session)
    want = engine.predict_video(frames, engine.embed(resolve_prompt("DHF1K")), 4, 2)
    info = summary(out)["outputs"][str(src)]
    assert info["frames"] == 6 and info["fps"] == pytest.approx(8.0)
    res = out / "moving_saliency"
    for i in range(6):
        raw = np.load(res / "maps" / f"frame_{i:05d}.npy")
        assert raw.shape == (48, 80)
        assert np.abs(raw - resize_map(want[i], (48, 80))).max() < 1e-6
        png_ = cv2.imread(str(res / "maps" / f"frame_{i:05d}.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(png_, ov.to_uint8(raw))
    ov_frames = _decode(info["overlay_video_file"])
    assert len(ov_frames) == 6 and ov_frames[0].shape == (48, 80, 3)
    assert set(summary(res)["written"]) == set(os.path.relpath(p, res) for p in
                                               map(str, res.rglob("*")) if os.path.isfile(p)
                                               and not p.endswith("summary.json"))


@pytest.mark.slow
def test_cli_subprocess_graph(tmp_path, session):
    """``python -m aam_ms.predict`` in a fresh process (GRAPH, its own session): exit 0, the
    prompt cache in $XDG_CACHE_HOME (nothing written to the working directory); a missing
    checkpoint is one line, exit 2."""
    from aam_ms.checkpoint import save_checkpoint_atomic
    ckpt = tmp_path / "tiny.ckpt"
    save_checkpoint_atomic(str(ckpt), session.model)
    png(tmp_path / "a.png")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO),
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("AAM_CACHE_DIR", None)
    cmd = [sys.executable, "-m", "aam_ms.predict", str(tmp_path / "a.png"), "--out",
           str(tmp_path / "out"), "--config", TINY, "--checkpoint", str(ckpt), "--no-progress"]
    cmd += [a for kv in SIZE for a in ("--set", kv)]
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert cv2.imread(str(tmp_path / "out" / "a_saliency.png")).shape == (40, 56, 3)
    assert os.listdir(cwd) == []
    assert list((tmp_path / "xdg" / "aam-ms" / "prompts").glob("*.npz"))
    i = cmd.index("--checkpoint")
    bad = cmd[:i + 1] + [str(tmp_path / "missing.ckpt")] + cmd[i + 2:]
    r = subprocess.run(bad, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.strip().endswith("missing.ckpt: no such file or folder")
    assert r.stderr.count("\n") == 1


def test_low_memory_flag_gives_the_same_maps(tmp_path, run, session):
    d = tmp_path / "in"
    d.mkdir()
    png(d / "a.png", 48, 40)
    outs = {}
    for name, extra in (("full", ()), ("lean", ("--low-memory",))):
        rc, _, err = run(d, "--out", tmp_path / name, "--npy", *extra)
        assert rc == 0, err
        outs[name] = np.load(tmp_path / name / "a_saliency.npy")
    assert np.abs(outs["full"] - outs["lean"]).max() < 1e-6


def test_low_memory_into_the_input_folder_keeps_every_input(tmp_path, run, session):
    """``--low-memory --out`` = the input folder, with a good, a truncated and a foreign file:
    every file that was there is byte-identical afterwards; only the tool's outputs are added."""
    d = tmp_path / "in"
    d.mkdir()
    png(d / "a.png", 48, 40)
    (d / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (d / "notes.txt").write_text("keep me")
    before = tree(d)
    rc, _, err = run(d, "--out", d, "--low-memory")
    assert rc == 2 and "cut.jpg" in err
    after = tree(d)
    assert {k: after[k] for k in before} == before
    assert set(after) - set(before) == {"a_saliency.png", "a_overlay.jpg", "summary.json"}
