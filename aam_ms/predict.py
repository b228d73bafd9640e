"""Saliency maps for images, image folders, videos and frame folders with a trained AAM.

``python -m aam_ms.predict INPUT... --out DIR [--run RUN | --config CFG --checkpoint CKPT]
[--prompt TEXT_OR_KEY] [--audio WAV|auto|none] [--npy] [--clip-len T] [--overlap K]
[--overwrite] [--allow-short]``

Inference is :class:`aam_ms.inference.Engine` (windows of T frames with K context frames,
backbone features cached). Each map is resized back to its input's own size. Outputs:

- image ``a.jpg`` → ``DIR/a_saliency.png`` (8-bit map, min-max normalised),
  ``DIR/a_overlay.jpg``, ``DIR/a_saliency.npy`` with ``--npy`` (float32 probabilities);
- video ``v.mp4`` or frame folder ``v/`` → ``DIR/v_saliency/`` holding ``maps/<frame>.png``
  (+ ``.npy``), ``overlays/<frame>.jpg``, ``overlay.mp4`` (H.264 with the clip's sound when
  ffmpeg is installed, else what OpenCV can write, noted) and ``summary.json``;
- ``DIR/summary.json``: the inputs done, the failures with reasons, notes, and every file this
  tool has written into DIR (so a later run recognises them).

Never losing data: nothing that exists is overwritten or deleted. A name that is taken gets a
suffix (``a_1_saliency.png``, ``v_1_saliency/``); ``--overwrite`` replaces only outputs an
earlier run of this tool wrote (listed in its summary). A video is written into a hidden temp
folder renamed into place when complete; Ctrl-C / SIGTERM remove it, and temp folders of runs
that died are swept by the next run. ``--out`` inside a frames folder given as input is refused;
an unwritable ``--out`` is found before the model loads. Previous outputs in an input folder are
not taken as inputs.

Inputs are checked before they are trusted: a video that decodes fewer frames than its header
promises fails (name of the first missing frame) unless ``--allow-short``; a bad frame of a
frames folder is named; a truncated or unreadable audio file is refused and blamed on the audio.

Audio (audio-visual models): a ``<stem>.wav`` next to the video (or ``audio.wav`` in a frames
folder) is used automatically; ``--audio file.wav`` names one; ``--audio auto`` also reads the
video's own sound track with ffmpeg and falls back to visual-only (noted) when there is none;
``--audio none`` disables audio. Frame i gets the embedding of the 2 s window centred on i / fps.

Exit status: 0 when every input succeeded, 2 when any failed (each is listed) or for a bad flag.
"""
import argparse
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import cli
from .data.io import VIDEO_EXTS, SampleError, audio_info, container_tracks, load_image
from .fileio import _umask_mode, write_bytes, write_text
from .inference import (AUDIO_WINDOW_S, Engine, add_model_args, audio_windows, check_window,
                        open_session, resize_map, resolve_prompt)
from .overlay import OverlayVideo, overlay, to_uint8

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
FRAME_RE = re.compile(r"^img_\d+\.(jpg|jpeg|png)$", re.IGNORECASE)
DEFAULT_FPS = 25.0
TOOL = "aam_ms.predict"
SUMMARY = "summary.json"
TMP_TAG = ".aam-tmp-"


# ----------------------------------------------------------------------------- inputs

@dataclass
class Job:
    """One unit of work: an image file, a video file or a folder of frames."""
    kind: str                     # image | video | frames
    path: str
    stem: str
    frames: list = field(default_factory=list)   # frame files of a frames job


def read_summary(folder):
    """This tool's summary in ``folder`` (a dict), or None when there is none or another's."""
    path = os.path.join(folder, SUMMARY)
    try:
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
    except (OSError, ValueError):
        return None
    return s if isinstance(s, dict) and s.get("tool") == TOOL else None


def _own_outputs(folder):
    """Absolute paths an earlier run of this tool wrote into ``folder`` (its summary)."""
    s = read_summary(folder)
    if s is None:
        return set()
    return {os.path.join(folder, p) for p in s.get("written", []) if isinstance(p, str)} | {
        os.path.join(folder, SUMMARY)}


def _frame_files(folder, as_video):
    files = sorted(f for f in os.listdir(folder)
                   if os.path.splitext(f)[1].lower() in IMAGE_EXTS
                   and os.path.isfile(os.path.join(folder, f)))
    numbered = [f for f in files if FRAME_RE.match(f)]
    if numbered:
        return [os.path.join(folder, f) for f in numbered]
    return [os.path.join(folder, f) for f in files] if as_video else []


def collect_inputs(paths, as_video=False):
    """Inputs → (jobs, failures, skipped). A folder is a video when ``as_video`` or when it
    holds ``img_%05d.jpg``-style frames; otherwise each image / video file in it is one job,
    except the outputs an earlier run of this tool wrote there (``skipped``)."""
    jobs, failures, skipped, used = [], [], [], set()

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
            own = _own_outputs(p)
            entries = sorted(os.path.join(p, f) for f in os.listdir(p))
            media = [e for e in entries if os.path.isfile(e) and
                     os.path.splitext(e)[1].lower() in IMAGE_EXTS + VIDEO_EXTS]
            skipped += [e for e in media if e in own]
            media = [e for e in media if e not in own]
            if not media:
                failures.append((p, "folder holds no image or video files"))
            for e in media:
                add_file(e)
        elif os.path.isfile(p):
            add_file(p)
        else:
            failures.append((p, "no such file or folder"))
    return jobs, failures, skipped


# ----------------------------------------------------------------------------- output folder

def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def prepare_out(out, jobs):
    """Refuse an ``--out`` that is a file or lies in a frames folder given as input; create it
    and prove it writable (a temp file) before any model work. Sweep temp folders of dead
    runs. Returns the swept names."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise cli.UserError(f"--out {out}: exists and is not a folder")
    for j in jobs:
        if j.kind == "frames" and _inside(out, j.path):
            raise cli.UserError(f"--out {out} is inside the input frames folder {j.path}; its "
                                f"outputs would mix with the frames: choose another --out")
    try:
        os.makedirs(out, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".aam-probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise cli.UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    return sweep_temp(out)


def sweep_temp(out):
    """Remove ``.<name>.aam-tmp-<pid>-<id>`` folders whose process no longer runs."""
    swept = []
    for name in os.listdir(out):
        m = re.match(r"^\..*" + re.escape(TMP_TAG) + r"(\d+)-[0-9a-f]+$", name)
        path = os.path.join(out, name)
        if not m or not os.path.isdir(path) or _alive(int(m.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        swept.append(name)
    return swept


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Namer:
    """Output names that collide with nothing on disk: ``<stem>[_k]<suffix>`` with the smallest
    k ≥ 0 whose every name is free (or, with ``overwrite``, written by this tool before)."""

    def __init__(self, out, overwrite):
        self.out, self.overwrite = out, overwrite
        self.own = _own_outputs(out)
        self.taken = set()

    def _ok(self, path, ours):
        if path in self.taken:
            return False
        if not os.path.lexists(path):
            return True
        return self.overwrite and ours(path)

    def pick(self, stem, suffixes, ours=None):
        ours = ours or (lambda p: p in self.own)
        k = 0
        while True:
            base = stem if k == 0 else f"{stem}_{k}"
            paths = [os.path.join(self.out, base + s) for s in suffixes]
            if all(self._ok(p, ours) for p in paths):
                self.taken.update(paths)
                return paths
            k += 1


def _ours_video_folder(path):
    """A video result folder of this tool holding only the files its summary lists."""
    s = read_summary(path)
    if s is None or not os.path.isdir(path):
        return False
    listed = set(s.get("written", [])) | {SUMMARY}
    for root, _, files in os.walk(path):
        for f in files:
            if os.path.relpath(os.path.join(root, f), path) not in listed:
                return False
    return True


# ----------------------------------------------------------------------------- outputs

def write_image(path, rgb_or_grey):
    """PNG / JPEG through ``fileio`` (temp file + rename, umask permissions)."""
    a = np.asarray(rgb_or_grey)
    if a.ndim == 3:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(os.path.splitext(path)[1], a)
    if not ok:
        raise OSError(f"{path}: image encoding failed")
    write_bytes(path, buf.tobytes())


def write_npy(path, a):
    b = io.BytesIO()
    np.save(b, np.asarray(a, np.float32))
    write_bytes(path, b.getvalue())


def write_outputs(map_path, overlay_path, frame, sal, npy):
    """Map at the frame's size → 8-bit PNG (+ .npy beside it) and a JPEG overlay; returns the
    paths written."""
    full = resize_map(sal, frame.shape[:2])
    write_image(map_path, to_uint8(full))
    done = [map_path]
    if npy:
        write_npy(os.path.splitext(map_path)[0] + ".npy", full)
        done.append(os.path.splitext(map_path)[0] + ".npy")
    write_image(overlay_path, overlay(frame, full))
    return done + [overlay_path], full


# ----------------------------------------------------------------------------- video sources

def _video_frames(path, allow_short):
    """(frame iterator, fps, frame count of the header) of a video file, RGB uint8. The
    iterator raises :class:`SampleError` when fewer frames decode than the header promises
    (unless ``allow_short``; ``state["short"]`` then holds the message)."""
    tracks = container_tracks(path)
    if os.path.getsize(path) == 0:
        raise SampleError(path, "file is empty (0 bytes)")
    if tracks is not None and "video" not in tracks:
        raise SampleError(path, "has no video stream" + (" (an audio-only file)" if "audio" in tracks
                                                         else ""))
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise SampleError(path, "video cannot be opened (corrupt or unsupported codec)")
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    state = {"short": None}

    def frames():
        try:
            k = 0
            while True:
                ok, img = cap.read()
                if not ok or img is None:
                    if k == 0:
                        raise SampleError(path, "video has no decodable frames")
                    if n and k < n:
                        msg = (f"decoded {k} of the {n} frames its header promises: frame {k} "
                               f"(0-based) cannot be read (truncated or corrupt file)")
                        if not allow_short:
                            raise SampleError(path, msg + "; --allow-short uses the frames read")
                        state["short"] = msg
                    return
                k += 1
                yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
    return frames(), fps, n, state, tracks


def _folder_frames(files):
    for k, f in enumerate(files):
        try:
            yield load_image(f)
        except SampleError as e:
            raise SampleError(os.path.dirname(f), f"frame {k + 1} of {len(files)} "
                                                  f"({os.path.basename(f)}): {e.reason}") from None


def _sidecar_wav(job):
    base = os.path.splitext(job.path)[0] if job.kind == "video" else os.path.normpath(job.path)
    for cand in (base + ".wav", os.path.join(job.path, "audio.wav") if job.kind == "frames" else None):
        if cand and os.path.isfile(cand):
            return cand
    return None


def _extract_audio(path, tmpdir, sr):
    exe = shutil.which("ffmpeg")
    wav = os.path.join(tmpdir, ".audio.wav")
    r = subprocess.run([exe, "-nostdin", "-v", "error", "-y", "-i", path, "-vn", "-ac", "1",
                        "-ar", str(sr), wav], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.isfile(wav):
        raise SampleError(path, f"ffmpeg could not read its sound track: {r.stderr.strip()[:300]}")
    return wav


def audio_for(job, mode, tmpdir, sr, tracks, notes):
    """The audio file used for a video job, or None (visual only); a reason to run
    visual-only goes to ``notes``."""
    if mode == "none" or job.kind == "image":
        return None
    side = _sidecar_wav(job)
    if mode is None:
        return side
    if mode == "auto":
        if side or job.kind != "video":
            if not side:
                notes.append("--audio auto: no <folder>.wav or audio.wav; visual-only")
            return side
        if tracks is not None and "audio" not in tracks:
            notes.append("--audio auto: the video has no sound track; visual-only")
            return None
        if shutil.which("ffmpeg") is None:
            notes.append("--audio auto: reading a video's sound track needs ffmpeg, which is "
                         "not installed (or put <stem>.wav beside it); visual-only")
            return None
        return _extract_audio(job.path, tmpdir, sr)
    return mode


def check_audio_file(path):
    """A ``--audio`` file: readable and complete, else a :class:`cli.UserError` naming it."""
    try:
        audio_info(path)
    except SampleError as e:
        raise cli.UserError(f"--audio {path}: {e.reason}") from None


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
    overwrite: bool = False
    allow_short: bool = False


def _rel(out, paths):
    return [os.path.relpath(p, out) for p in paths]


def _run_video(engine, job, out, opt, namer, text):
    from tqdm import tqdm
    session = engine.session
    notes, tracks, state = [], None, {"short": None}
    if job.kind == "video":
        frames, fps, n, state, tracks = _video_frames(job.path, opt.allow_short)
    else:
        frames, fps, n = _folder_frames(job.frames), 0.0, len(job.frames)
    fps = opt.fps or fps or DEFAULT_FPS
    names = ([os.path.splitext(os.path.basename(f))[0] for f in job.frames]
             if job.kind == "frames" else None)
    tmp = os.path.join(out, f".{job.stem}_saliency{TMP_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.mkdir(tmp, _umask_mode(0o777))
    writer = None
    try:
        sr = session.audio.sample_rate if session.audio else 16000
        wav = audio_for(job, opt.audio, tmp, sr, tracks, notes)
        window = None
        if wav is not None:
            if session.audio is None:
                raise SampleError(job.path, "audio given but the session has no audio encoder")
            try:
                a_sr, a_frames, _ = audio_info(wav)
            except SampleError as e:
                raise SampleError(wav, e.reason) from None
            if n and a_frames / a_sr + 0.5 < n / fps:
                notes.append(f"audio {os.path.basename(wav)} lasts {a_frames / a_sr:.2f} s, the "
                             f"video {n / fps:.2f} s: later frames get silence")
            window = audio_windows(wav, fps, sr, AUDIO_WINDOW_S)
        extracted = wav is not None and wav.startswith(tmp)
        own_track = job.kind == "video" and (tracks is None or "audio" in tracks)
        mux = job.path if own_track and (wav is None or extracted) else (
            None if extracted else wav)           # the clip's own sound, else the WAV used
        written, count = [], 0
        bar = tqdm(total=n, desc=job.stem, unit="frame", disable=not opt.progress, leave=False)
        try:
            for i, frame, sal in engine.stream(frames, text, opt.clip_len, opt.overlap, window):
                stem = names[i] if names else f"frame_{i:05d}"
                done, full = write_outputs(os.path.join(tmp, "maps", stem + ".png"),
                                           os.path.join(tmp, "overlays", stem + ".jpg"),
                                           frame, sal, opt.npy)
                written += done
                if writer is None:
                    writer = OverlayVideo(os.path.join(tmp, "overlay.mp4"), fps, frame.shape[:2],
                                          audio=mux)
                writer.write(overlay(frame, full))
                count += 1
                bar.update(1)
        finally:
            bar.close()
        video = writer.close()
        writer = None
        if extracted:
            os.remove(wav)
        written.append(video["path"])
        notes += video["notes"]
        if state["short"]:
            notes.append(state["short"] + " (--allow-short)")
        info = {"input": os.path.abspath(job.path), "frames": count, "fps": fps,
                "audio": None if wav is None or extracted else os.path.abspath(wav),
                "audio_track": extracted,
                "overlay_video": {k: v for k, v in video.items() if k not in ("path", "notes")},
                "notes": notes}
        rel = _rel(tmp, written)
        write_text(os.path.join(tmp, SUMMARY), json.dumps(
            {"tool": TOOL, **info, "written": rel}, indent=1))
        dest, = namer.pick(job.stem, ["_saliency"], ours=_ours_video_folder)
        _move_into_place(tmp, dest)
        return {**info, "folder": os.path.basename(dest),
                "overlay_video_file": os.path.join(dest, os.path.basename(video["path"]))}
    finally:
        if writer is not None:
            writer.abort()
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _move_into_place(tmp, dest):
    """Rename the finished temp folder to ``dest``; an existing ``dest`` (only ever an earlier
    output of this tool, see :class:`Namer`) is moved aside first and removed after."""
    old = None
    if os.path.lexists(dest):
        old = os.path.join(os.path.dirname(dest), f".{os.path.basename(dest)}{TMP_TAG}"
                                                  f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.rename(dest, old)
    os.rename(tmp, dest)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _describe(e):
    return e.reason if isinstance(e, SampleError) else f"{type(e).__name__}: {e}"


def _failure(job, e):
    """(input, reason); a reason about another file (the audio, a frame) names that file."""
    if isinstance(e, SampleError) and os.path.abspath(e.path) != os.path.abspath(job.path):
        return (job.path, f"{e.path}: {e.reason}")
    return (job.path, _describe(e))


def predict_paths(engine, inputs, out, opt, as_video=False, jobs=None):
    """Run every input; returns ``{"outputs": {path: info}, "failures": [(path, reason)],
    "written": [paths], "skipped": [paths], "notes": [..]}``."""
    from tqdm import tqdm
    text = engine.embed(opt.prompt)
    if jobs is None:
        jobs, failures, skipped = collect_inputs(inputs, as_video)
    else:
        jobs, failures, skipped = jobs
    namer = Namer(out, opt.overwrite)
    outputs, written = {}, []
    images = [j for j in jobs if j.kind == "image"]
    videos = [j for j in jobs if j.kind != "image"]
    bar = tqdm(total=len(images), desc="images", unit="img", disable=not opt.progress or not images)
    pending = []

    def flush():
        maps = engine.predict_images([im for _, im in pending], text, opt.batch)
        for (job, im), sal in zip(pending, maps):
            suffixes = ["_saliency.png", "_overlay.jpg"] + (["_saliency.npy"] if opt.npy else [])
            paths = namer.pick(job.stem, suffixes)
            try:
                done, _ = write_outputs(paths[0], paths[1], im, sal, opt.npy)
                written.extend(done)
                outputs[job.path] = {"map": os.path.basename(paths[0]),
                                     "overlay": os.path.basename(paths[1])}
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
            info = _run_video(engine, job, out, opt, namer, text)
            outputs[job.path] = info
            written.append(os.path.join(out, info["folder"]))
        except (SampleError, OSError, ValueError) as e:
            failures.append(_failure(job, e))
    return {"outputs": outputs, "failures": failures, "written": written, "skipped": skipped}


def summarise(report, out, extra=None):
    """Print the summary and write ``out/summary.json`` (merged with an earlier run's list of
    written files, or ``summary_<k>.json`` when a summary of someone else is there); return
    the number of failures."""
    ok, bad = report["outputs"], report["failures"]
    print(f"predict: {len(ok)} input(s) done, {len(bad)} failed; outputs in {out}")
    for path, reason in bad:
        print(f"  FAILED {path}: {reason}")
    for p in report.get("skipped", []):
        print(f"  skipped {p}: an output of an earlier run")
    prev = read_summary(out)
    earlier = [p for p in (prev or {}).get("written", []) if os.path.lexists(os.path.join(out, p))]
    written = list(dict.fromkeys(earlier + _rel(out, report["written"])))
    path, k = os.path.join(out, SUMMARY), 1
    if prev is None:                      # a summary.json that is not ours stays untouched
        while os.path.lexists(path):
            path, k = os.path.join(out, f"summary_{k}.json"), k + 1
    doc = {"tool": TOOL, **(extra or {}), "outputs": ok,
           "failures": [{"path": p, "reason": r} for p, r in bad],
           "skipped": report.get("skipped", []), "written": written}
    write_text(path, json.dumps(doc, indent=1))
    return len(bad)


# ----------------------------------------------------------------------------- CLI

def _positive(name, v, integer=False, zero=False):
    if v is None:
        return
    if integer and v != int(v):
        raise cli.UserError(f"{name} must be an integer, got {v}")
    if not (v >= 0 if zero else v > 0) or v != v or v == float("inf"):
        raise cli.UserError(f"{name} must be {'≥ 0' if zero else '> 0'}, got {v:g}")


def _terminate(signum, frame):
    raise SystemExit(128 + signum)     # unwinds like Ctrl-C: every finally removes its temp


def build_parser():
    ap = argparse.ArgumentParser(prog="python -m aam_ms.predict",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", metavar="INPUT", help="image, video, or folder")
    ap.add_argument("--out", required=True, help="output folder")
    add_model_args(ap)
    ap.add_argument("--prompt", help="prompt text or dataset / prompt key (default: 'None')")
    ap.add_argument("--prompt-file", help="YAML {key: prompt} to register (e.g. a corpus' prompts.yaml)")
    ap.add_argument("--audio", help="WAV file, 'auto' (sidecar or the video's own track via "
                    "ffmpeg, else visual-only), 'none'; default: <stem>.wav beside a video")
    ap.add_argument("--npy", action="store_true", help="also write float32 maps (.npy)")
    ap.add_argument("--clip-len", type=int, help="frames per window (default: input.clip_len)")
    ap.add_argument("--overlap", type=int, help="context frames per window (default: clip_len // 2)")
    ap.add_argument("--batch", type=int, default=1, help="images per model call")
    ap.add_argument("--fps", type=float, help="frame rate for frame folders / override")
    ap.add_argument("--as-video", action="store_true", help="treat folders as frame sequences")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace outputs an earlier run of this tool wrote (never other files)")
    ap.add_argument("--allow-short", action="store_true",
                    help="accept a video that decodes fewer frames than its header promises")
    ap.add_argument("--low-memory", action="store_true",
                    help="run the saliency head op by op: about 1 GiB less for aam_vitl16 at "
                         "448², the head about 5x slower")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    _positive("--fps", args.fps)
    _positive("--clip-len", args.clip_len, integer=True)
    _positive("--overlap", args.overlap, integer=True, zero=True)
    _positive("--batch", args.batch, integer=True)
    if args.clip_len is not None and args.overlap is not None and args.overlap >= args.clip_len:
        raise cli.UserError(f"--overlap must be < --clip-len ({args.clip_len}), got {args.overlap}")
    if args.audio not in (None, "auto", "none"):
        check_audio_file(args.audio)
    if args.prompt_file:
        from .data.prompts import load_prompt_yaml
        try:
            load_prompt_yaml(args.prompt_file, register=True)
        except (ValueError, OSError) as e:
            raise cli.UserError(f"--prompt-file {args.prompt_file}: {e}") from None
    prompt = resolve_prompt(args.prompt)
    collected = collect_inputs(args.inputs, args.as_video)
    if not collected[0]:
        reasons = "; ".join(f"{p}: {r}" for p, r in collected[1]) or "no inputs"
        raise cli.UserError(f"nothing to predict ({reasons})")
    signal.signal(signal.SIGTERM, _terminate)
    swept = prepare_out(args.out, collected[0])
    session = open_session(args)
    clip_len = args.clip_len or int(session.cfg["input"]["clip_len"])
    overlap = clip_len // 2 if args.overlap is None else args.overlap
    try:
        check_window(clip_len, overlap)
    except ValueError as e:
        raise cli.UserError(str(e)) from None
    opt = Options(prompt, args.npy, clip_len, overlap, args.batch, args.audio, args.fps,
                  not args.no_progress, args.overwrite, args.allow_short)
    report = predict_paths(Engine(session, low_memory=args.low_memory), args.inputs, args.out,
                           opt, jobs=collected)
    failed = summarise(report, args.out, {"prompt": prompt, "clip_len": clip_len,
                                          "overlap": overlap, "swept_temp": swept})
    total = len(report["outputs"]) + failed
    if failed:
        p, r = report["failures"][0]
        raise cli.UserError(f"{failed} of {total} input(s) failed (first: {p}: {r}); "
                            f"see {os.path.join(args.out, SUMMARY)}")
    return 0


def cli_main():
    """Console script ``aam-predict`` (pyproject.toml): exit codes from :func:`aam_ms.cli.run`."""
    from .cli import run
    sys.exit(run(main))


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m aam_ms.predict"))
