"""Saliency maps for images, image folders, videos and frame folders with a trained AAM.

``python -m aam_ms.predict INPUT... --out DIR [--run RUN | --config CFG --checkpoint CKPT]
[--prompt TEXT_OR_KEY] [--audio WAV|auto|none] [--npy] [--clip-len T] [--overlap K]``

Each input is resized to the model size (``input.size``), predicted, and its map resized back
to the input's own size. Outputs (all written atomically, temp file + rename):

- image ``a.jpg`` → ``DIR/a.png`` (8-bit map, min-max normalised), ``DIR/a_overlay.jpg``,
  ``DIR/a.npy`` with ``--npy`` (float32 model probabilities, original size);
- video ``v.mp4`` or frame folder ``v/`` → ``DIR/v/maps/<frame>.png`` (+ ``.npy``),
  ``DIR/v/overlays/<frame>.jpg`` and ``DIR/v/overlay.mp4`` (``overlay.avi`` when the mp4v
  codec is unavailable); the folder appears only when the whole video succeeded;
- ``DIR/summary.json``: processed inputs and failures with reasons.

Video inference is frame-wise over any length (:func:`plan_windows`): the first window holds
``clip_len`` = T frames and keeps all outputs; every later step reads S = T − K new frames
(K = ``overlap``) and runs the last T frames read, so each new frame sees at least K frames of
temporal context, whose outputs are discarded. Frame i's map is the model output for i inside
its window; a video of N ≤ T frames is one window, i.e. exactly the one-pass result.

Audio (audio-visual models): a ``<stem>.wav`` next to the video is used automatically;
``--audio file.wav`` names one, ``--audio auto`` also extracts the video's own track with
``ffmpeg`` (OpenCV cannot decode sound), ``--audio none`` disables it. Frame i gets the
embedding of the 2 s window centred on i / fps.

Bad inputs are reported and skipped; the exit status is 1 when any input failed.
"""
import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import cv2
import numpy as np

from .data.io import VIDEO_EXTS, SampleError, load_audio, load_image
from .overlay import overlay, to_uint8

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
FRAME_RE = re.compile(r"^img_\d+\.(jpg|jpeg|png)$", re.IGNORECASE)
AUDIO_WINDOW_S = 2.0
DEFAULT_FPS = 25.0


# ----------------------------------------------------------------------------- inputs

@dataclass
class Job:
    """One unit of work: an image file, a video file or a folder of frames."""
    kind: str                     # image | video | frames
    path: str
    name: str                     # output name (unique within the run)
    frames: list = field(default_factory=list)   # frame files of a frames job


def _frame_files(folder, as_video):
    files = sorted(f for f in os.listdir(folder)
                   if os.path.splitext(f)[1].lower() in IMAGE_EXTS)
    numbered = [f for f in files if FRAME_RE.match(f)]
    if numbered:
        return [os.path.join(folder, f) for f in numbered]
    return [os.path.join(folder, f) for f in files] if as_video else []


def collect_inputs(paths, as_video=False):
    """Inputs → (jobs, failures). A folder is a video when ``as_video`` or when it holds
    ``img_%05d.jpg``-style frames; otherwise each image / video file in it is one job."""
    jobs, failures, used = [], [], set()

    def add(kind, path, frames=()):
        stem = os.path.splitext(os.path.basename(os.path.normpath(path)))[0] or "input"
        name, k = stem, 1
        while name in used:
            name, k = f"{stem}_{k}", k + 1
        used.add(name)
        jobs.append(Job(kind, path, name, list(frames)))

    def add_file(p):
        ext = os.path.splitext(p)[1].lower()
        if ext in IMAGE_EXTS:
            add("image", p)
        elif ext in VIDEO_EXTS:
            add("video", p)
        else:
            failures.append((p, f"unsupported file type {ext or '(none)'}; images: "
                                f"{', '.join(IMAGE_EXTS)}; videos: {', '.join(VIDEO_EXTS)}"))

    for p in paths:
        if os.path.isdir(p):
            frames = _frame_files(p, as_video)
            if frames:
                add("frames", p, frames)
                continue
            if as_video:
                failures.append((p, "--as-video: folder holds no image frames"))
                continue
            entries = sorted(os.path.join(p, f) for f in os.listdir(p))
            media = [e for e in entries if os.path.isfile(e) and
                     os.path.splitext(e)[1].lower() in IMAGE_EXTS + VIDEO_EXTS]
            if not media:
                failures.append((p, "folder holds no image or video files"))
            for e in media:
                add_file(e)
        elif os.path.isfile(p):
            add_file(p)
        else:
            failures.append((p, "no such file or folder"))
    return jobs, failures


def resolve_prompt(value):
    """``None`` → the "None" prompt; a prompt / dataset key → its prompt; text with spaces →
    itself. A single word that is no known key is refused (likely a typo)."""
    from .data import prompts
    if value is None:
        return prompts.get_prompt("None")
    value = value.strip()
    if not value:
        raise ValueError("--prompt is empty: give a description or a dataset key")
    if value in prompts.keys() or value in prompts.DATASET_PROMPT_KEY:
        return prompts.get_prompt(value)
    if not any(c.isspace() for c in value):
        known = sorted(set(prompts.keys()) | set(prompts.DATASET_PROMPT_KEY))
        raise ValueError(f"--prompt {value!r} is no known prompt or dataset key (known: "
                         f"{', '.join(known)}); free-text prompts must be several words")
    return value


# ----------------------------------------------------------------------------- model calls

def resize_rgb(rgb, size):
    """uint8 (h, w, 3) → size (H, W): area when shrinking, bilinear when enlarging (as the
    training pipeline)."""
    h, w = size
    down = h < rgb.shape[0] or w < rgb.shape[1]
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR)


def resize_map(sal, shape):
    """float (H, W) map → ``shape`` = (h, w), bilinear."""
    h, w = shape
    if sal.shape == (h, w):
        return sal.astype(np.float32)
    return cv2.resize(sal.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def embed_prompt(session, text):
    """(1, D_t) MindSpore tensor of a prompt."""
    import mindspore as ms
    return ms.Tensor(np.asarray(session.text.embed([text]), np.float32))


def predict_images(session, text_emb, images, batch=1):
    """uint8 RGB images (any sizes) → float32 maps (H, W) at the model size. The last batch
    is padded by repeating its final image so one compiled graph serves every batch."""
    import mindspore as ms
    out = []
    for i in range(0, len(images), batch):
        chunk = [session.normalise(resize_rgb(im, session.size)) for im in images[i:i + batch]]
        n = len(chunk)
        chunk += [chunk[-1]] * (batch - n)
        pred = session.model(ms.Tensor(np.stack(chunk)), text_emb)[0].asnumpy()
        out += [pred[k, 0] for k in range(n)]
    return out


def predict_clip(session, text_emb, frames, audio_emb=None):
    """One window: uint8 RGB frames (T × (h, w, 3)), audio (T, D_a) or None → (T, H, W)."""
    import mindspore as ms
    x = np.stack([session.normalise(resize_rgb(f, session.size)) for f in frames])[None]
    audio = None if audio_emb is None else ms.Tensor(np.asarray(audio_emb, np.float32)[None])
    return session.model(ms.Tensor(x), text_emb, audio)[0].asnumpy()[0, :, 0]


def _check_window(clip_len, overlap):
    if clip_len < 1:
        raise ValueError(f"--clip-len must be ≥ 1, got {clip_len}")
    if not 0 <= overlap < clip_len:
        raise ValueError(f"--overlap must be in [0, clip_len) = [0, {clip_len}), got {overlap}")


def plan_windows(n, clip_len, overlap):
    """Windows of a video of ``n`` frames: [(start, end, first_kept)], outputs of frames
    [first_kept, end) are kept. Step 1 reads T frames, later steps S = T − K; each window is
    the last min(T, end) frames read."""
    _check_window(clip_len, overlap)
    out, end = [], 0
    while end < n:
        step = clip_len if end == 0 else clip_len - overlap
        new = min(step, n - end)
        end += new
        out.append((max(0, end - clip_len), end, end - new))
    return out


def stream_video(session, text_emb, frames, clip_len, overlap, audio_window=None):
    """Frame-wise inference over an iterator of uint8 RGB frames of unknown length.

    Yields ``(index, frame, map)`` in order, map float32 at the model size. ``audio_window(i)``
    returns the 2 s waveform of frame i (or None for a visual-only run). Windows follow
    :func:`plan_windows`. The backbone runs once per frame: its levels are cached for the
    last ``clip_len`` frames and each window is decoded from the cache, which equals running
    the model on the window's pixels (:mod:`aam_ms.streaming`)."""
    import mindspore as ms
    from mindspore import ops

    from .streaming import backbone_features, make_decoder
    _check_window(clip_len, overlap)
    model = session.model
    decoder = make_decoder(model, graph=ms.get_context("mode") == ms.GRAPH_MODE)
    feats, emb = None, []
    it = iter(frames)
    index = 0
    while True:
        step = clip_len if index == 0 else clip_len - overlap
        new = []
        for f in it:
            new.append(f)
            if len(new) == step:
                break
        if not new:
            return
        x = ms.Tensor(np.stack([session.normalise(resize_rgb(f, session.size)) for f in new]))
        f_new = backbone_features(model, x, fn=decoder.backbone)
        feats = f_new if feats is None else tuple(
            ops.concat((a, b), 0)[-clip_len:] for a, b in zip(feats, f_new))
        n = feats[0].shape[0]
        audio = None
        if audio_window is not None:
            waves = np.stack([audio_window(index + k) for k in range(len(new))])
            emb = (emb + list(session.audio.embed_windows(waves)))[-clip_len:]
            audio = ms.Tensor(np.asarray(emb, np.float32))
        maps = decoder(feats, model.frame_text(text_emb, 1, n), audio, n,
                       session.size).asnumpy()[:, 0]
        for k, f in enumerate(new):
            yield index + k, f, maps[n - len(new) + k]
        index += len(new)


# ----------------------------------------------------------------------------- outputs

def _atomic_bytes(path, data):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_image(path, rgb_or_grey):
    """PNG / JPEG through a temp file + rename."""
    a = np.asarray(rgb_or_grey)
    if a.ndim == 3:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(os.path.splitext(path)[1], a)
    if not ok:
        raise OSError(f"{path}: image encoding failed")
    _atomic_bytes(path, buf.tobytes())


def write_npy(path, a):
    b = io.BytesIO()
    np.save(b, np.asarray(a, np.float32))
    _atomic_bytes(path, b.getvalue())


def _write_outputs(prefix_map, prefix_overlay, frame, sal, npy):
    """Map at the frame's size → 8-bit PNG (+ .npy) and JPEG overlay."""
    full = resize_map(sal, frame.shape[:2])
    write_image(prefix_map + ".png", to_uint8(full))
    if npy:
        write_npy(prefix_map + ".npy", full)
    write_image(prefix_overlay + ".jpg", overlay(frame, full))


class OverlayVideo:
    """mp4 (mp4v) overlay video, or MJPG ``.avi`` when this OpenCV build cannot write mp4v."""

    def __init__(self, stem, fps, size_hw):
        h, w = size_hw
        self.size = (h, w)
        self.writer = None
        for ext, codec in ((".mp4", "mp4v"), (".avi", "MJPG")):
            wr = cv2.VideoWriter(stem + ext, cv2.VideoWriter_fourcc(*codec), float(fps), (w, h))
            if wr.isOpened():
                self.writer, self.path = wr, stem + ext
                return
            wr.release()
            if os.path.exists(stem + ext):
                os.remove(stem + ext)
        raise OSError(f"{stem}: OpenCV can write neither mp4v .mp4 nor MJPG .avi")

    def write(self, rgb):
        if rgb.shape[:2] != self.size:
            raise ValueError(f"frame size {rgb.shape[:2]} differs from the video's {self.size}")
        self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self):
        self.writer.release()


# ----------------------------------------------------------------------------- video sources

def _video_frames(path):
    """(frame iterator, fps, frame count or None) of a video file, RGB uint8."""
    if os.path.getsize(path) == 0:
        raise SampleError(path, "file is empty (0 bytes)")
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise SampleError(path, "video cannot be opened (corrupt or unsupported codec)")
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None

    def frames():
        try:
            k = 0
            while True:
                ok, img = cap.read()
                if not ok or img is None:
                    if k == 0:
                        raise SampleError(path, "video has no decodable frames")
                    return
                k += 1
                yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
    return frames(), fps, n


def _folder_frames(files):
    for f in files:
        yield load_image(f)


def _sidecar_wav(job):
    base = os.path.splitext(job.path)[0] if job.kind == "video" else os.path.normpath(job.path)
    for cand in (base + ".wav", os.path.join(job.path, "audio.wav") if job.kind == "frames" else None):
        if cand and os.path.isfile(cand):
            return cand
    return None


def _extract_audio(path, tmpdir, sr):
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise SampleError(path, "--audio auto needs ffmpeg on PATH to read the video's sound "
                                "track (OpenCV cannot), or put <stem>.wav next to the video")
    wav = os.path.join(tmpdir, "audio.wav")
    r = subprocess.run([exe, "-v", "error", "-y", "-i", path, "-vn", "-ac", "1", "-ar", str(sr),
                        wav], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.isfile(wav):
        raise SampleError(path, f"ffmpeg could not extract audio: {r.stderr.strip()[:300]}")
    return wav


def audio_for(job, mode, tmpdir, sr):
    """The .wav used for a video job, or None (visual only)."""
    if mode == "none" or job.kind == "image":
        return None
    side = _sidecar_wav(job)
    if mode in (None, "sidecar"):
        return side
    if mode == "auto":
        if side or job.kind == "video":
            return side or _extract_audio(job.path, tmpdir, sr)
        raise SampleError(job.path, "--audio auto: frame folder has no <folder>.wav or audio.wav")
    if not os.path.isfile(mode):
        raise SampleError(mode, "--audio: no such file")
    return mode


# ----------------------------------------------------------------------------- drivers

@dataclass
class Options:
    prompt: str
    npy: bool = False
    clip_len: int = 16
    overlap: int = 8
    batch: int = 1
    audio: str = None
    fps: float = None
    progress: bool = True


def _run_video(session, text_emb, job, out, opt):
    from tqdm import tqdm
    if job.kind == "video":
        frames, fps, n = _video_frames(job.path)
    else:
        frames, fps, n = _folder_frames(job.frames), 0.0, len(job.frames)
    fps = opt.fps or fps or DEFAULT_FPS
    names = ([os.path.splitext(os.path.basename(f))[0] for f in job.frames]
             if job.kind == "frames" else None)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=out, prefix=f".{job.name}.tmp-")
    try:
        wav = audio_for(job, opt.audio, tmp, session.audio.sample_rate if session.audio else 16000)
        window = None
        if wav is not None:
            if session.audio is None:
                raise SampleError(job.path, "audio given but the session has no audio encoder")
            sr = session.audio.sample_rate
            window = lambda i: load_audio(wav, i / fps - AUDIO_WINDOW_S / 2,  # noqa: E731
                                          i / fps + AUDIO_WINDOW_S / 2, sr)
        writer, count = None, 0
        bar = tqdm(total=n, desc=job.name, unit="frame", disable=not opt.progress, leave=False)
        try:
            for i, frame, sal in stream_video(session, text_emb, frames, opt.clip_len, opt.overlap,
                                              window):
                stem = names[i] if names else f"frame_{i:05d}"
                _write_outputs(os.path.join(tmp, "maps", stem), os.path.join(tmp, "overlays", stem),
                               frame, sal, opt.npy)
                if writer is None:
                    writer = OverlayVideo(os.path.join(tmp, "overlay"), fps, frame.shape[:2])
                writer.write(overlay(frame, resize_map(sal, frame.shape[:2])))
                count += 1
                bar.update(1)
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        if os.path.exists(os.path.join(tmp, "audio.wav")):
            os.remove(os.path.join(tmp, "audio.wav"))
        dest = os.path.join(out, job.name)
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        os.replace(tmp, dest)
        return {"frames": count, "fps": fps, "audio": wav is not None,
                "overlay_video": os.path.join(dest, os.path.basename(writer.path))}
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp)


def _describe(e):
    if isinstance(e, SampleError):
        return e.reason
    return f"{type(e).__name__}: {e}"


def predict_paths(session, inputs, out, opt, as_video=False):
    """Run every input; returns ``{"outputs": {path: info}, "failures": [(path, reason)]}``."""
    from tqdm import tqdm
    text_emb = embed_prompt(session, opt.prompt)
    jobs, failures = collect_inputs(inputs, as_video)
    outputs = {}
    images = [j for j in jobs if j.kind == "image"]
    videos = [j for j in jobs if j.kind != "image"]
    bar = tqdm(total=len(images), desc="images", unit="img", disable=not opt.progress or not images)
    pending = []

    def flush():
        maps = predict_images(session, text_emb, [im for _, im in pending], opt.batch)
        for (job, im), sal in zip(pending, maps):
            try:
                _write_outputs(os.path.join(out, job.name), os.path.join(out, job.name + "_overlay"),
                               im, sal, opt.npy)
                outputs[job.path] = {"map": os.path.join(out, job.name + ".png")}
            except OSError as e:
                failures.append((job.path, _describe(e)))
        pending.clear()

    for job in images:
        try:
            pending.append((job, load_image(job.path)))
        except SampleError as e:
            failures.append((job.path, e.reason))
        if len(pending) == opt.batch:
            flush()
        bar.update(1)
    if pending:
        flush()
    bar.close()
    for job in videos:
        try:
            outputs[job.path] = _run_video(session, text_emb, job, out, opt)
        except (SampleError, OSError, ValueError) as e:
            failures.append((job.path, _describe(e)))
    return {"outputs": outputs, "failures": failures}


def summarise(report, out):
    """Print the summary, write ``out/summary.json``; return the exit status."""
    ok, bad = report["outputs"], report["failures"]
    print(f"predict: {len(ok)} input(s) done, {len(bad)} failed; outputs in {out}")
    for path, reason in bad:
        print(f"  FAILED {path}: {reason}")
    _atomic_bytes(os.path.join(out, "summary.json"), json.dumps(
        {"outputs": ok, "failures": [{"path": p, "reason": r} for p, r in bad]},
        indent=1).encode())
    return 1 if bad else 0


def add_model_args(ap):
    """--run / --config / --checkpoint / --set / --pynative, shared by predict, eval, export."""
    g = ap.add_argument_group("model")
    g.add_argument("--run", help="training run directory (config.yaml + checkpoints)")
    g.add_argument("--config", help="config YAML (with --checkpoint)")
    g.add_argument("--checkpoint", help="MindSpore .ckpt or the released AAM .pth")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set input.size=[224,224] (repeatable)")
    g.add_argument("--pynative", action="store_true", help="PyNative mode (default: GRAPH)")


def open_session(args, encoders=True):
    """MindSpore context + :func:`aam_ms.session.load_session` from parsed model args."""
    import mindspore as ms
    ms.set_context(mode=ms.PYNATIVE_MODE if args.pynative else ms.GRAPH_MODE)
    from .session import load_session
    if not args.run and not args.config:
        raise ValueError("give --run DIR or --config FILE --checkpoint CKPT")
    for flag, p in (("--run", args.run), ("--config", args.config), ("--checkpoint", args.checkpoint)):
        if p and not os.path.exists(p):
            raise FileNotFoundError(f"{flag} {p}: no such file or folder")
    return load_session(run=args.run, config=args.config, checkpoint=args.checkpoint,
                        overrides=args.overrides, encoders=encoders)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aam_ms.predict",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", metavar="INPUT", help="image, video, or folder")
    ap.add_argument("--out", required=True, help="output folder")
    add_model_args(ap)
    ap.add_argument("--prompt", help="prompt text or dataset / prompt key (default: 'None')")
    ap.add_argument("--prompt-file", help="YAML {key: prompt} to register (e.g. a corpus' prompts.yaml)")
    ap.add_argument("--audio", help="WAV file, 'auto' (sidecar or ffmpeg), 'none'; "
                    "default: <stem>.wav next to a video when present")
    ap.add_argument("--npy", action="store_true", help="also write float32 maps (.npy)")
    ap.add_argument("--clip-len", type=int, help="frames per window (default: input.clip_len)")
    ap.add_argument("--overlap", type=int, help="context frames per window (default: clip_len // 2)")
    ap.add_argument("--batch", type=int, default=1, help="images per model call")
    ap.add_argument("--fps", type=float, help="frame rate for frame folders / override")
    ap.add_argument("--as-video", action="store_true", help="treat folders as frame sequences")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.batch < 1:
            raise ValueError(f"--batch must be ≥ 1, got {args.batch}")
        if args.prompt_file:
            from .data.prompts import load_prompt_yaml
            load_prompt_yaml(args.prompt_file, register=True)
        prompt = resolve_prompt(args.prompt)
        session = open_session(args)
        clip_len = args.clip_len or int(session.cfg["input"]["clip_len"])
        overlap = clip_len // 2 if args.overlap is None else args.overlap
        _check_window(clip_len, overlap)
        opt = Options(prompt, args.npy, clip_len, overlap, args.batch, args.audio, args.fps,
                      not args.no_progress)
        os.makedirs(args.out, exist_ok=True)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return summarise(predict_paths(session, args.inputs, args.out, opt, args.as_video), args.out)


if __name__ == "__main__":
    sys.exit(main())
