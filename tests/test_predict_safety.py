"""predict never loses data and never reports a broken input as success (issue 14).

Real generated files (PNG, an EXIF-rotated JPEG, MJPG/mp4v videos, with sound through ffmpeg
where installed, WAVs, truncated copies). Every case hashes the trees before and after: files
that existed are byte-identical, and a refused run leaves no output and no temp folder. The
model is the tiny AAM (random weights, 64 px, T = 4, GRAPH) shared by all tests in-process;
the SIGTERM case runs the real CLI in a subprocess.
"""
import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from aam_ms import cli
from aam_ms import predict as P

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "aam_tiny.yaml")
SIZE = ["input.size=[64,64]", "input.clip_len=4"]
FFMPEG = shutil.which("ffmpeg")


# ----------------------------------------------------------------------------- media

def png(path, h=40, w=56, seed=0):
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8))


def exif_jpeg(path, h=30, w=50, orientation=6):
    """A JPEG stored (h, w) whose EXIF says: rotate 90° clockwise to view (upright (w, h))."""
    from PIL import Image
    a = np.zeros((h, w, 3), np.uint8)
    a[:5, :10] = (255, 0, 0)                    # a red mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(a).save(str(path), exif=exif, quality=95)


def video(path, n=8, h=48, w=80, fps=8.0):
    """A moving disc; MJPG .avi or mp4v .mp4 by extension (OpenCV alone)."""
    codec = "MJPG" if str(path).endswith(".avi") else "mp4v"
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
    assert wr.isOpened()
    rng = np.random.default_rng(1)
    for t in range(n):
        f = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        cv2.circle(f, (8 + 6 * t, h // 2), 7, (0, 0, 255), -1)
        wr.write(f)
    wr.release()


def wav(path, seconds=1.0, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)


def truncate(path, frac=0.5, dst=None):
    data = Path(path).read_bytes()
    Path(dst or path).write_bytes(data[:int(len(data) * frac)])


def ffmpeg(*args):
    subprocess.run([FFMPEG, "-v", "error", "-y", *map(str, args)], check=True)


def tree(root):
    """{relative path: sha256 of a file, or "dir"} of everything under ``root``."""
    out = {}
    for d, dirs, files in os.walk(root):
        for x in dirs:
            out[os.path.relpath(os.path.join(d, x), root)] = "dir"
        for x in files:
            p = os.path.join(d, x)
            out[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return out


def same_files(before, after):
    """Every entry of ``before`` is unchanged in ``after``."""
    changed = {k for k, v in before.items() if after.get(k) != v}
    assert not changed, f"changed or removed: {sorted(changed)}"


def temp_left(root):
    return [p for p in tree(root) if P.TMP_TAG in p or ".tmp-" in p]


# ----------------------------------------------------------------------------- running

@functools.lru_cache(maxsize=1)
def tiny_session():
    """One GRAPH session for every predict test of the process: its compiled graphs (backbone
    on 1, 2, 4 frames; head on T = 4 and on images) are reused by each run's Engine."""
    import mindspore as ms
    from aam_ms.session import load_session
    ms.set_context(mode=ms.GRAPH_MODE)
    cache = tempfile.mkdtemp(prefix="aam-test-cache-")
    old = os.environ.get("AAM_CACHE_DIR")
    os.environ["AAM_CACHE_DIR"] = cache
    try:
        return load_session(config=TINY, allow_random=True, overrides=SIZE)
    finally:
        if old is None:
            os.environ.pop("AAM_CACHE_DIR")
        else:
            os.environ["AAM_CACHE_DIR"] = old


@pytest.fixture
def session():
    import mindspore as ms
    ms.set_context(mode=ms.GRAPH_MODE)
    return tiny_session()


@pytest.fixture
def run(session, monkeypatch, capsys):
    """``run(args...) -> (exit status, stdout, stderr)`` of the predict CLI in-process, on the
    shared session (``open_session`` is the only part replaced)."""
    monkeypatch.setattr(P, "open_session", lambda args: session)

    def go(*args):
        rc = cli.run(P.main, [str(a) for a in args] + ["--config", TINY, "--no-progress"],
                     prog="predict")
        cap = capsys.readouterr()
        return rc, cap.out, cap.err
    return go


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the model would load (the error must come before)."""
    def boom(args):
        raise AssertionError("the model was loaded before the input was checked")
    monkeypatch.setattr(P, "open_session", boom)

    def go(*args):
        return cli.run(P.main, [str(a) for a in args] + ["--config", TINY], prog="predict")
    return go


def summary(folder):
    return json.loads((Path(folder) / "summary.json").read_text())


# ----------------------------------------------------------------------------- output safety

def test_out_is_the_input_folder_twice(tmp_path, run):
    d = tmp_path / "photos"
    d.mkdir()
    png(d / "a.png")
    exif_jpeg(d / "rot.jpg")
    video(d / "clip.avi", n=5)
    before = tree(d)
    rc, out, err = run(d, "--out", d)
    assert rc == 0, err
    after = tree(d)
    same_files(before, after)
    new = set(after) - set(before)
    assert {"a_saliency.png", "a_overlay.jpg", "rot_saliency.png", "summary.json",
            "clip_saliency/overlay.mp4", "clip_saliency/maps/frame_00004.png"} <= new
    # the EXIF photo is predicted upright: stored (30, 50), viewed (50, 30)
    assert cv2.imread(str(d / "rot_saliency.png"), cv2.IMREAD_UNCHANGED).shape == (50, 30)
    assert (os.stat(d / "a_saliency.png").st_mode & 0o777) == 0o666 & ~_umask()
    # second run: the first run's outputs are not inputs, nothing is overwritten
    rc, out, err = run(d, "--out", d)
    assert rc == 0, err
    same_files({k: v for k, v in after.items() if k != "summary.json"}, tree(d))
    assert set(summary(d)["written"]) >= {"a_saliency.png", "a_1_saliency.png"}
    assert "skipped" in out and (d / "a_1_saliency.png").is_file()
    assert (d / "clip_1_saliency" / "summary.json").is_file()
    assert not (d / "a_saliency_saliency.png").exists()
    assert not temp_left(d)


def _umask():
    old = os.umask(0)
    os.umask(old)
    return old


def test_out_is_the_parent_holding_a_same_named_user_folder(tmp_path, run):
    d = tmp_path / "d"
    (d / "clip").mkdir(parents=True)
    for i in range(5):
        png(d / "clip" / f"img_{i + 1:05d}.png", 24, 32, seed=i)
    user = d / "clip_saliency"                      # the user's own folder of that name
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    before = tree(d)
    rc, _, err = run(d / "clip", "--out", d)
    assert rc == 0, err
    after = tree(d)
    same_files(before, after)
    res = d / "clip_1_saliency"
    assert sorted(os.listdir(res / "maps")) == [f"img_{i + 1:05d}.png" for i in range(5)]
    # --overwrite replaces this tool's earlier output, never the user's folder
    rc, _, err = run(d / "clip", "--out", d, "--overwrite", "--npy")
    assert rc == 0, err
    again = tree(d)
    same_files(before, again)
    assert (res / "maps" / "img_00001.npy").is_file() and not (d / "clip_2_saliency").exists()
    # a file the user put into our output folder makes it theirs: not overwritten either
    (res / "mine.txt").write_text("keep")
    kept = tree(d)
    rc, _, err = run(d / "clip", "--out", d, "--overwrite")
    assert rc == 0, err
    same_files({k: v for k, v in kept.items() if k != "summary.json"}, tree(d))
    assert (d / "clip_2_saliency" / "summary.json").is_file()
    assert not temp_left(d)


def test_out_inside_an_input_frames_folder_is_refused(tmp_path, no_model, capsys):
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(3):
        png(clip / f"img_{i + 1:05d}.png", 24, 32, seed=i)
    before = tree(tmp_path)
    for out in (clip, clip / "maps"):
        assert no_model(clip, "--out", out) == 2
        err = capsys.readouterr().err
        assert f"is inside the input frames folder {clip}" in err and err.count("\n") == 1
        assert tree(tmp_path) == before


@pytest.mark.parametrize("flags, message", [
    (["--fps", "-5"], "--fps must be > 0, got -5"),
    (["--clip-len", "0"], "--clip-len must be > 0, got 0"),
    (["--clip-len", "4", "--overlap", "4"], "--overlap must be < --clip-len (4), got 4"),
    (["--overlap", "-1"], "--overlap must be ≥ 0, got -1"),
    (["--batch", "0"], "--batch must be > 0, got 0"),
    (["--prompt", "DHF1k"], "is no known prompt or dataset key"),
])
def test_bad_flags_one_line_before_anything(tmp_path, no_model, capsys, flags, message):
    png(tmp_path / "a.png")
    before = tree(tmp_path)
    assert no_model(tmp_path / "a.png", "--out", tmp_path / "out", *flags) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("predict: error: ") and err.count("\n") == 1
    assert tree(tmp_path) == before                   # --out not even created


def test_unwritable_out_found_before_the_model(tmp_path, no_model, capsys):
    png(tmp_path / "a.png")
    (tmp_path / "file").write_text("x")
    before = tree(tmp_path)
    assert no_model(tmp_path / "a.png", "--out", tmp_path / "file" / "out") == 2
    assert "cannot write there" in capsys.readouterr().err
    assert no_model(tmp_path / "a.png", "--out", tmp_path / "file") == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    if os.geteuid() != 0:                             # root writes into 0555 folders
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        assert no_model(tmp_path / "a.png", "--out", ro) == 2
        assert "cannot write there" in capsys.readouterr().err
    same_files(before, tree(tmp_path))


def test_interrupt_leaves_no_temp_and_stale_temp_is_swept(tmp_path, run, monkeypatch):
    d = tmp_path / "in"
    d.mkdir()
    video(d / "v.avi", n=8)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("user")
    alive = out / f".w_saliency{P.TMP_TAG}{os.getppid()}-0abc"   # a live run's: left alone
    alive.mkdir()
    real = P.Engine.stream

    def stream(self, *a, **k):
        for n, item in enumerate(real(self, *a, **k)):
            if n == 5:
                raise KeyboardInterrupt           # Ctrl-C in the middle of the video
            yield item
    monkeypatch.setattr(P.Engine, "stream", stream)
    rc, _, err = run(d / "v.avi", "--out", out)
    assert rc == 130 and "interrupted" in err
    assert sorted(os.listdir(out)) == sorted([alive.name, "keep.txt"])
    stale = out / f".v_saliency{P.TMP_TAG}999999-0abc"    # a run that was killed (no such pid)
    (stale / "maps").mkdir(parents=True)
    (stale / "maps" / "frame_00000.png").write_bytes(b"x")
    monkeypatch.setattr(P.Engine, "stream", real)
    rc, _, err = run(d / "v.avi", "--out", out)
    assert rc == 0, err
    assert not stale.exists() and alive.is_dir() and (out / "keep.txt").read_text() == "user"
    assert summary(out)["swept_temp"] == [stale.name]
    assert len(os.listdir(out / "v_saliency" / "maps")) == 8


@pytest.mark.slow
def test_sigterm_mid_video_removes_the_temp_folder(tmp_path, session):
    """The real CLI (GRAPH, its own session) killed with SIGTERM mid-video: exit 143, no temp
    folder, input tree unchanged; also run from a folder it must not write to (the cwd), with
    the prompt cache in $XDG_CACHE_HOME."""
    from aam_ms.checkpoint import save_checkpoint_atomic
    ckpt = tmp_path / "tiny.ckpt"
    save_checkpoint_atomic(str(ckpt), session.model)
    d = tmp_path / "in"
    d.mkdir()
    video(d / "long.avi", n=400, h=32, w=32)
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    cwd.mkdir()
    before_in, before_cwd = tree(d), tree(cwd)
    env = {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO),
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("AAM_CACHE_DIR", None)
    cmd = [sys.executable, "-m", "aam_ms.predict", str(d / "long.avi"), "--out", str(out),
           "--config", TINY, "--checkpoint", str(ckpt), "--no-progress"]
    cmd += [a for kv in SIZE for a in ("--set", kv)]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        tmp = [p for p in (os.listdir(out) if out.is_dir() else []) if P.TMP_TAG in p]
        if tmp and os.path.isdir(out / tmp[0] / "maps"):
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert os.listdir(out) == [] and tree(d) == before_in and tree(cwd) == before_cwd
    assert list((tmp_path / "xdg" / "aam-ms" / "prompts").glob("*.npz"))


# ----------------------------------------------------------------------------- bad inputs

def test_short_video_refused_unless_allowed(tmp_path, run):
    d = tmp_path / "in"
    d.mkdir()
    video(tmp_path / "full.avi", n=20)
    truncate(tmp_path / "full.avi", 0.5, d / "cut.avi")   # the header still says 20 frames
    cap = cv2.VideoCapture(str(d / "cut.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    k = 0
    while cap.read()[0]:
        k += 1
    cap.release()
    assert 0 < k < 20
    before = tree(d)
    out = tmp_path / "out"
    rc, _, err = run(d / "cut.avi", "--out", out)
    assert rc == 2 and err.count("\n") == 1
    assert f"decoded {k} of the 20 frames its header promises: frame {k} (0-based)" in err
    assert "--allow-short" in err
    assert sorted(os.listdir(out)) == ["summary.json"] and tree(d) == before
    rc, _, err = run(d / "cut.avi", "--out", out, "--allow-short")
    assert rc == 0, err
    info = summary(out)["outputs"][str(d / "cut.avi")]
    assert info["frames"] == k and any(f"decoded {k} of the 20" in n for n in info["notes"])


def test_bad_frame_in_a_frames_folder_is_named(tmp_path, run):
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(5):
        cv2.imwrite(str(clip / f"img_{i + 1:05d}.jpg"), np.full((24, 32, 3), 40 * i, np.uint8))
    truncate(clip / "img_00003.jpg", 0.6)
    before = tree(tmp_path)
    rc, _, err = run(clip, "--out", tmp_path / "out")
    assert rc == 2
    assert "frame 3 of 5 (img_00003.jpg): truncated JPEG (no end-of-image marker)" in err
    same_files(before, tree(tmp_path))
    assert sorted(os.listdir(tmp_path / "out")) == ["summary.json"]


def test_audio_file_errors_blame_the_audio(tmp_path, no_model, capsys):
    d = tmp_path / "in"
    d.mkdir()
    video(d / "v.avi", n=6)
    wav(tmp_path / "good.wav", 1.0)
    truncate(tmp_path / "good.wav", 0.5, tmp_path / "cut.wav")
    (tmp_path / "noise.wav").write_bytes(b"RIFF\x00\x01\x00\x00not audio at all")
    before = tree(tmp_path)
    assert no_model(d / "v.avi", "--out", tmp_path / "out", "--audio", tmp_path / "cut.wav") == 2
    err = capsys.readouterr().err
    assert f"--audio {tmp_path / 'cut.wav'}: truncated WAV: its header promises 32000 bytes" in err
    assert no_model(d / "v.avi", "--out", tmp_path / "out", "--audio", tmp_path / "noise.wav") == 2
    err = capsys.readouterr().err
    assert f"--audio {tmp_path / 'noise.wav'}: not a readable audio file" in err
    assert "v.avi" not in err
    assert tree(tmp_path) == before


def test_truncated_sidecar_wav_is_refused_naming_it(tmp_path, run):
    d = tmp_path / "in"
    d.mkdir()
    video(d / "v.avi", n=6)
    wav(tmp_path / "good.wav", 1.0)
    truncate(tmp_path / "good.wav", 0.5, d / "v.wav")
    before = tree(d)
    rc, _, err = run(d / "v.avi", "--out", tmp_path / "out")
    assert rc == 2 and f"{d / 'v.wav'}: truncated WAV" in err
    assert tree(d) == before and not (tmp_path / "out" / "v_saliency").exists()


def test_audio_auto_without_sound_track_falls_back(tmp_path, run):
    video(tmp_path / "silent.mp4", n=5)
    rc, _, err = run(tmp_path / "silent.mp4", "--out", tmp_path / "out", "--audio", "auto")
    assert rc == 0, err
    info = summary(tmp_path / "out")["outputs"][str(tmp_path / "silent.mp4")]
    assert info["audio"] is None and info["audio_track"] is False
    assert any("visual-only" in n for n in info["notes"])
    assert summary(tmp_path / "out" / "silent_saliency")["notes"] == info["notes"]


@pytest.mark.skipif(not FFMPEG, reason="making an mp4 with sound needs ffmpeg")
def test_audio_only_mp4_and_video_with_sound(tmp_path, run):
    wav(tmp_path / "tone.wav", 1.5)
    ffmpeg("-i", tmp_path / "tone.wav", "-c:a", "aac", tmp_path / "song.mp4")
    video(tmp_path / "v.mp4", n=10)
    ffmpeg("-i", tmp_path / "v.mp4", "-i", tmp_path / "tone.wav", "-c:v", "copy", "-c:a", "aac",
           "-shortest", tmp_path / "talk.mp4")
    rc, _, err = run(tmp_path / "song.mp4", "--out", tmp_path / "o1")
    assert rc == 2 and "has no video stream (an audio-only file)" in err and "corrupt" not in err
    rc, _, err = run(tmp_path / "talk.mp4", "--out", tmp_path / "o2", "--audio", "auto")
    assert rc == 0, err
    info = summary(tmp_path / "o2")["outputs"][str(tmp_path / "talk.mp4")]
    assert info["audio_track"] is True
    assert info["overlay_video"]["codec"] in ("libx264", "libopenh264")
    assert info["overlay_video"]["audio_muxed"] is True
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                            "stream=codec_type,codec_name,pix_fmt", "-of", "csv=p=0",
                            str(tmp_path / "o2" / "talk_saliency" / "overlay.mp4")],
                           capture_output=True, text=True).stdout.split()
    assert "h264,video,yuv420p" in probe and "aac,audio" in probe


def test_overlay_video_without_ffmpeg_is_noted(tmp_path, run, monkeypatch):
    from aam_ms import overlay
    monkeypatch.setattr(overlay, "_ffmpeg_h264", lambda: (None, None))
    video(tmp_path / "v.avi", n=5)
    wav(tmp_path / "v.wav", 1.0)
    rc, _, err = run(tmp_path / "v.avi", "--out", tmp_path / "out")
    assert rc == 0, err
    info = summary(tmp_path / "out")["outputs"][str(tmp_path / "v.avi")]
    assert info["audio"] == str(tmp_path / "v.wav")
    notes = " ".join(info["notes"])
    assert "needs ffmpeg" in notes                        # no sound in the overlay video
    if info["overlay_video"]["codec"] != "avc1":
        assert "browsers may not play" in notes
    cap = cv2.VideoCapture(info["overlay_video_file"])
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    cap.release()


def test_exif_orientation_matches_pillow(tmp_path):
    from PIL import Image, ImageOps

    from aam_ms.data.io import load_image
    for o in range(1, 9):
        p = tmp_path / f"o{o}.jpg"
        exif_jpeg(p, orientation=o)
        want = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
        got = load_image(str(p))
        assert got.shape == want.shape and np.abs(got.astype(int) - want).max() <= 2, o


class _Tok:
    """A stand-in tokenizer: characters → ids (PromptCache needs only this interface)."""
    context_length = 16

    def fingerprint(self):
        return "chars"

    def n_tokens(self, text):
        return len(text)

    def __call__(self, prompts, truncate=False):
        ids = np.zeros((len(prompts), self.context_length), np.int32)
        for i, p in enumerate(prompts):
            ids[i, :len(p[:16])] = [ord(c) for c in p[:16]]
        return ids


def test_mindspore_failure_dumps_stay_out_of_the_cwd(tmp_path):
    """A graph that fails to compile makes MindSpore write ``rank_0/om/analyze_fail.ir``; under
    any of our tools that goes to the user cache folder, not into the user's current folder."""
    tool = tmp_path / "tool.py"
    tool.write_text(
        "import sys\nimport numpy as np\nimport mindspore as ms\nfrom aam_ms import cli\n\n"
        "def main(argv):\n    ms.set_context(mode=ms.GRAPH_MODE)\n"
        "    f = ms.grad(lambda a: ms.ops.sin(a).sum())\n"
        "    f(ms.Tensor(np.ones(3, np.float32)))\n\n"
        "sys.exit(cli.run(main))\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MS_OM_PATH"}
    env.update(AAM_CACHE_DIR=str(tmp_path / "cache"), GLOG_v="3",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    r = subprocess.run([sys.executable, str(tool)], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode != 0 and "analyze_fail.ir" in r.stderr, r.stderr[-2000:]
    assert list(cwd.iterdir()) == []
    assert (tmp_path / "cache" / "mindspore" / "rank_0" / "om" / "analyze_fail.ir").is_file()


def test_prompt_cache_lives_in_the_user_cache_folder(tmp_path, monkeypatch, capsys):
    from aam_ms.text import prompt_cache as pc
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AAM_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert pc.resolve_cache_dir() == str(tmp_path / "xdg" / "aam-ms" / "prompts")
    assert pc.resolve_cache_dir("runs/cache/prompts") == str(
        tmp_path / "xdg" / "aam-ms" / "runs" / "cache" / "prompts")       # never the cwd
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")              # the XDG rule
    assert pc.cache_root() == os.path.join(os.path.expanduser("~"), ".cache", "aam-ms")
    monkeypatch.setenv("AAM_CACHE_DIR", str(tmp_path / "mine"))
    calls = []

    def encoder(ids):
        calls.append(len(ids))
        return ids.sum(-1, keepdims=True).astype(np.float32)
    cache = pc.PromptCache(encoder, _Tok(), fingerprint="f")
    assert cache(["ab", "cd"]).ravel().tolist() == [195.0, 199.0]
    assert len(list((tmp_path / "mine" / "prompts").glob("*.npz"))) == 2
    assert pc.PromptCache(encoder, _Tok(), fingerprint="f")("ab")[0] == 195.0 and calls == [2]
    # an unwritable cache folder: embeddings still right, kept in memory, one warning
    (tmp_path / "file").write_text("x")
    mem = pc.PromptCache(encoder, _Tok(), cache_dir=str(tmp_path / "file" / "c"), fingerprint="f")
    assert mem(["ab", "ef"]).ravel().tolist() == [195.0, 203.0]
    assert capsys.readouterr().err.count("kept in memory only") == 1
    assert sorted(os.listdir(tmp_path)) == ["file", "mine"]               # nothing in the cwd


def test_container_tracks_without_ffprobe(tmp_path, monkeypatch):
    """The header scan that tells an audio-only file or a silent video apart when ffprobe is
    not installed (MP4 ``hdlr`` / AVI ``strh``); with ffmpeg, files with sound are checked too."""
    from aam_ms.data.io import container_tracks
    video(tmp_path / "v.mp4", n=3)
    video(tmp_path / "v.avi", n=3)
    (tmp_path / "x.mkv").write_bytes(b"\x1aE\xdf\xa3 not scanned")
    files = {"v.mp4": {"video"}, "v.avi": {"video"}}
    if FFMPEG:
        wav(tmp_path / "t.wav", 0.5)
        ffmpeg("-i", tmp_path / "t.wav", "-c:a", "aac", tmp_path / "a.mp4")
        ffmpeg("-i", tmp_path / "v.mp4", "-i", tmp_path / "t.wav", "-c:v", "copy", "-c:a", "aac",
               tmp_path / "va.mp4")
        files.update({"a.mp4": {"audio"}, "va.mp4": {"video", "audio"}})
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert {f: container_tracks(str(tmp_path / f)) for f in files} == files
    assert container_tracks(str(tmp_path / "x.mkv")) is None
