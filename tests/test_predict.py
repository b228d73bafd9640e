"""predict CLI and frame-wise video inference on the tiny AAM (random weights, 64 px, T = 4)."""
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

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "aam_tiny.yaml")
SIZE = ["input.size=[64,64]", "input.clip_len=4"]


def _env():
    return {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO)}


def _write_video(path, n, h=48, w=80, fps=8.0):
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert wr.isOpened()
    for t in range(n):
        f = np.full((h, w, 3), 70, np.uint8)
        cv2.circle(f, (8 + 12 * t, h // 2), 7, (0, 0, 255), -1)
        wr.write(f)
    wr.release()


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


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    import mindspore as ms
    from aam_ms.session import load_session
    ms.set_context(mode=ms.GRAPH_MODE)
    d = tmp_path_factory.mktemp("predict_session")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)                                    # prompt cache goes to d/runs/cache
        s = load_session(config=TINY, allow_random=True, overrides=SIZE)
        yield s


def test_plan_windows_cover_every_frame_once_with_context():
    for n, t, k in [(1, 4, 2), (4, 4, 3), (6, 4, 2), (11, 4, 1), (10, 5, 0), (9, 4, 3)]:
        w = P.plan_windows(n, t, k)
        kept = [i for s, e, f in w for i in range(f, e)]
        assert kept == list(range(n))
        assert all(e - s == min(t, n) for s, e, _ in w)
        assert all(f - s >= min(k, s + k) for s, e, f in w[1:])   # ≥ K context frames
        assert w[0] == (0, min(t, n), 0)
    with pytest.raises(ValueError, match="overlap"):
        P.plan_windows(5, 4, 4)


def test_resolve_prompt():
    from aam_ms.data.prompts import GENERIC, RELEASED
    assert P.resolve_prompt(None) == GENERIC
    assert P.resolve_prompt("DHF1K") == RELEASED["DHF1K"]
    assert P.resolve_prompt("SALICON") == RELEASED["Salicon"]           # dataset key
    assert P.resolve_prompt("look at the red car") == "look at the red car"
    with pytest.raises(ValueError, match="no known prompt or dataset key"):
        P.resolve_prompt("DHF1k")


def test_collect_inputs(tmp_path):
    (tmp_path / "clip").mkdir()
    for i in range(3):
        (tmp_path / "clip" / f"img_{i + 1:05d}.jpg").write_bytes(b"x")
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a.png").write_bytes(b"x")
    (tmp_path / "pics" / "b.mp4").write_bytes(b"")
    (tmp_path / "pics" / "notes.txt").write_bytes(b"x")
    jobs, fails = P.collect_inputs([str(tmp_path / "clip"), str(tmp_path / "pics"),
                                    str(tmp_path / "nope.jpg")])
    assert [(j.kind, j.name, len(j.frames)) for j in jobs] == [
        ("frames", "clip", 3), ("image", "a", 0), ("video", "b", 0)]
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


def test_cli_folder_with_bad_files(tmp_path, session):
    from aam_ms.checkpoint import save_checkpoint_atomic
    ckpt = tmp_path / "tiny.ckpt"
    save_checkpoint_atomic(str(ckpt), session.model)
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(d / "good0.png"), rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))
    cv2.imwrite(str(d / "good1.jpg"), rng.integers(0, 255, (72, 50, 3), dtype=np.uint8))
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (d / "empty.mp4").write_bytes(b"")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "aam_ms.predict", str(d), "--out", str(out), "--config", TINY,
           "--checkpoint", str(ckpt), "--no-progress", "--npy", "--prompt", "MIT1003"]
    cmd += [a for kv in SIZE for a in ("--set", kv)]
    r = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=900)
    assert r.returncode == 1, r.stderr[-2000:]
    assert "2 input(s) done, 2 failed" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failures"]}
    assert reasons == {"broken.jpg": "truncated JPEG (no end-of-image marker)",
                       "empty.mp4": "file is empty (0 bytes)"}
    for name, shape in (("good0", (40, 56)), ("good1", (72, 50))):
        m = cv2.imread(str(out / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert m.shape == shape and m.dtype == np.uint8 and m.min() == 0 and m.max() == 255
        raw = np.load(out / f"{name}.npy")
        assert raw.shape == shape and 0.0 < raw.min() <= raw.max() < 1.0
        assert cv2.imread(str(out / f"{name}_overlay.jpg")).shape == shape + (3,)
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]
    # wrong checkpoint path: one clear error, exit status 2
    r = subprocess.run(cmd[:-8] + ["--checkpoint", str(tmp_path / "missing.ckpt")], cwd=tmp_path,
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "missing.ckpt: no such file" in r.stderr


def test_video_chunked_inference(tmp_path, session):
    video = tmp_path / "moving.mp4"
    _write_video(video, 6)
    frames = _decode(video)
    assert len(frames) == 6
    text = P.embed_prompt(session, P.resolve_prompt("DHF1K"))
    # windows of T = 4 with K = 2 context frames: (0, 4) keeps 0-3, (2, 6) keeps 4-5
    assert P.plan_windows(6, 4, 2) == [(0, 4, 0), (2, 6, 4)]
    got = {i: m for i, _, m in P.stream_video(session, text, iter(frames), 4, 2)}
    w1 = P.predict_clip(session, text, frames[0:4])
    w2 = P.predict_clip(session, text, frames[2:6])
    want = np.concatenate([w1, w2[2:]])
    assert np.abs(np.stack([got[i] for i in range(6)]) - want).max() == 0.0
    # a clip covering the whole video is the one-pass result
    one = {i: m for i, _, m in P.stream_video(session, text, iter(frames[:4]), 4, 3)}
    assert np.abs(np.stack([one[i] for i in range(4)]) - w1).max() == 0.0
    # context changes the output of a frame: frame 4 alone-window vs with context differs
    assert np.abs(w2[2] - w1[2]).max() > 0.0

    opt = P.Options(prompt=P.resolve_prompt("DHF1K"), npy=True, clip_len=4, overlap=2,
                    progress=False)
    out = tmp_path / "out"
    rep = P.predict_paths(session, [str(video)], str(out), opt)
    assert rep["failures"] == []
    info = rep["outputs"][str(video)]
    assert info["frames"] == 6 and info["fps"] == pytest.approx(8.0)
    for i in range(6):
        raw = np.load(out / "moving" / "maps" / f"frame_{i:05d}.npy")
        assert raw.shape == (48, 80)
        assert np.abs(raw - P.resize_map(want[i], (48, 80))).max() < 1e-6
        png = cv2.imread(str(out / "moving" / "maps" / f"frame_{i:05d}.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(png, ov.to_uint8(raw))
    ov_frames = _decode(info["overlay_video"])
    assert len(ov_frames) == 6 and ov_frames[0].shape == (48, 80, 3)
    # --audio auto without ffmpeg and without a sidecar .wav: a clear per-input failure
    if not P.shutil.which("ffmpeg"):
        opt.audio = "auto"
        rep = P.predict_paths(session, [str(video)], str(tmp_path / "out2"), opt)
        assert "needs ffmpeg" in rep["failures"][0][1]
