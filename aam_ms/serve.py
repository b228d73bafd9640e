"""A local web page for the model: ``python -m aam_ms.serve --run RUN`` (or ``--config C
--checkpoint K``), then open http://127.0.0.1:7860.

Upload an image, a video, or a video plus its sound (a separate audio file); type a prompt or
pick a dataset prompt, optionally a second prompt to compare; the page shows the overlay, the
map and a side-by-side of the two prompts, and offers every output as a download (a zip).

Behaviour (FastAPI + uvicorn, one small page, no external assets):

- the model is loaded once at start (:class:`aam_ms.inference.Engine`); requests run one at a
  time in a single worker thread (a FIFO queue of at most ``--queue`` waiting requests, then
  "busy");
- uploads above ``--max-upload-mb`` are refused (413) before they are read; a video is cut at
  ``--max-frames`` frames;
- a bad file gets the CLI's message (``aam_ms.data.io.SampleError`` / ``aam_ms.cli.UserError``,
  naming the uploaded file and what is wrong) as a 400 answer, shown on the page;
- it listens on 127.0.0.1 unless ``--host`` says otherwise; results live in a temporary folder
  the server creates and removes when it stops (the last ``KEEP`` requests are kept).
"""
import argparse
import asyncio
import html
import io
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from . import cli
from .data.io import VIDEO_EXTS, SampleError, load_image
from .fileio import write_bytes
from .overlay import overlay, to_uint8

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
AUDIO_EXTS = (".wav", ".flac", ".ogg")
KEEP = 20                       # finished requests whose files stay downloadable
SHEET_FRAMES = 6                # video frames shown on the page (evenly spaced)
DEFAULT_FPS = 25.0


# ----------------------------------------------------------------------------- the model side

def _encode(path_ext, rgb):
    ok, buf = cv2.imencode(path_ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb)
    if not ok:
        raise OSError(f"cannot encode {path_ext}")
    return buf.tobytes()


def _caption(rgb, text):
    """The image with ``text`` on a dark band above it."""
    w = rgb.shape[1]
    band = np.full((22, w, 3), 30, np.uint8)
    cv2.putText(band, text[: max(8, w // 7)], (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([band, rgb], 0)


def _concat(tiles, axis, gap=6):
    """Tiles side by side (``axis=1``) or stacked (``axis=0``), padded white to the largest
    extent across the other axis, with a ``gap``-pixel white separator."""
    other = 1 - axis
    size = max(t.shape[other] for t in tiles)
    pad = []
    for t in tiles:
        widths = [(0, 0)] * 3
        widths[other] = (0, size - t.shape[other])
        pad.append(np.pad(t, widths, constant_values=255))
    sep_shape = [0, 0, 3]
    sep_shape[axis], sep_shape[other] = gap, size
    sep = np.full(sep_shape, 255, np.uint8)
    out = [pad[0]]
    for t in pad[1:]:
        out += [sep, t]
    return np.concatenate(out, axis)


def _fit(rgb, width=360):
    """Scale for display to ``width`` pixels wide (maps and overlays keep their full size in
    the downloads)."""
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA
                      if w > width else cv2.INTER_LINEAR)


def read_video(path, max_frames):
    """(RGB uint8 frames, fps) of a video file, at most ``max_frames``, decoded as
    ``aam_ms.predict`` decodes it (same checks, same SampleError messages)."""
    from .predict import _video_frames
    it, fps, _, _, _ = _video_frames(path, allow_short=True)
    frames = []
    for f in it:
        frames.append(f)
        if len(frames) == max_frames:
            it.close()
            break
    return frames, float(fps or DEFAULT_FPS)


class Predictor:
    """The loaded model and the request logic; every method runs in the one worker thread."""

    def __init__(self, session, workdir, max_frames=300, clip_len=None, overlap=None):
        from .inference import Engine
        self.session = session
        self.engine = Engine(session)
        self.workdir = workdir
        self.max_frames = int(max_frames)
        self.clip_len = int(clip_len or session.cfg["input"]["clip_len"])
        self.overlap = self.clip_len // 2 if overlap is None else int(overlap)
        self._done = []

    @staticmethod
    def prompt_text(value):
        """A typed prompt or dataset key → its text, as ``predict --prompt`` resolves it."""
        from .inference import resolve_prompt
        return resolve_prompt(value or None)

    def run(self, media, audio, prompts):
        """Predict ``media`` (an uploaded file path) under 1–2 prompts; write the outputs into a
        new request folder; return the page's JSON (file names under ``/results/<id>/``)."""
        ext = os.path.splitext(media)[1].lower()
        texts = [self.prompt_text(p) for p in prompts]
        rid = uuid.uuid4().hex[:12]
        out = os.path.join(self.workdir, rid)
        os.makedirs(out)
        t0 = time.time()
        try:
            if ext in IMAGE_EXTS:
                if audio:
                    raise cli.UserError(f"{os.path.basename(audio)}: audio goes with a video, "
                                        "not with an image")
                info = self._image(media, texts, out)
            else:
                info = self._video(media, audio, texts, out)
            self._zip(out)
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)
            raise
        self._done.append(out)
        while len(self._done) > KEEP:
            shutil.rmtree(self._done.pop(0), ignore_errors=True)
        return {"id": rid, "prompts": texts, "seconds": round(time.time() - t0, 2), **info}

    def _image(self, path, texts, out):
        from .inference import resize_map
        rgb = load_image(path)
        overlays = []
        for k, text in enumerate(texts):
            sal = resize_map(self.engine.predict_images([rgb], text)[0], rgb.shape[:2])
            ov = overlay(rgb, sal)
            write_bytes(os.path.join(out, f"map_{k + 1}.png"), _encode(".png", to_uint8(sal)))
            write_bytes(os.path.join(out, f"overlay_{k + 1}.jpg"), _encode(".jpg", ov))
            overlays.append(ov)
        show = {"overlay": "overlay_1.jpg", "map": "map_1.png"}
        if len(texts) == 2:
            tiles = [_caption(_fit(o), f"{k + 1}: {t}") for k, (o, t) in enumerate(zip(overlays, texts))]
            write_bytes(os.path.join(out, "compare.jpg"), _encode(".jpg", _concat(tiles, 1)))
            show["compare"] = "compare.jpg"
        return {"kind": "image", "size": list(rgb.shape[:2]), "show": show}

    def _video(self, path, audio, texts, out):
        from .data.io import audio_info
        from .inference import audio_windows, resize_map
        from .overlay import OverlayVideo
        frames, fps = read_video(path, self.max_frames)
        window = None
        if audio:
            if self.session.audio is None:
                raise cli.UserError("this model was loaded without an audio encoder")
            audio_info(audio)               # a bad or truncated audio file fails here, named
            window = audio_windows(audio, fps, self.session.audio.sample_rate)
        picks = np.unique(np.linspace(0, len(frames) - 1, min(SHEET_FRAMES, len(frames))).round()
                          .astype(int))
        rows, map_rows = [], []
        for k, text in enumerate(texts):
            maps = self.engine.predict_video(frames, text, self.clip_len, self.overlap, window)
            ov_row, map_row = [], []
            os.makedirs(os.path.join(out, f"prompt_{k + 1}"))
            video = OverlayVideo(os.path.join(out, f"prompt_{k + 1}", "overlay.mp4"), fps,
                                 frames[0].shape[:2], audio=audio)
            try:
                for i, (frame, sal) in enumerate(zip(frames, maps)):
                    full = resize_map(sal, frame.shape[:2])
                    ov = overlay(frame, full)
                    video.write(ov)
                    write_bytes(os.path.join(out, f"prompt_{k + 1}", "maps", f"frame_{i:05d}.png"),
                                _encode(".png", to_uint8(full)))
                    write_bytes(os.path.join(out, f"prompt_{k + 1}", "overlays",
                                             f"frame_{i:05d}.jpg"), _encode(".jpg", ov))
                    if i in picks:
                        ov_row.append(_fit(ov, 200))
                        map_row.append(_fit(cv2.cvtColor(to_uint8(full), cv2.COLOR_GRAY2RGB), 200))
            except BaseException:
                video.abort()
                raise
            written = video.close()
            rows.append(_caption(_concat(ov_row, 1), f"{k + 1}: {text}"))
            map_rows.append(_concat(map_row, 1))
            if k == 0:
                write_bytes(os.path.join(out, "overlay_1.jpg"), _encode(".jpg", rows[0]))
                write_bytes(os.path.join(out, "map_1.png"), _encode(".png", map_rows[0]))
                first = written
        show = {"overlay": "overlay_1.jpg", "map": "map_1.png",
                "video": os.path.relpath(first["path"], out)}
        if len(texts) == 2:
            write_bytes(os.path.join(out, "compare.jpg"), _encode(".jpg", _concat(rows, 0)))
            show["compare"] = "compare.jpg"
        return {"kind": "video", "frames": len(frames), "fps": fps, "audio": bool(audio),
                "truncated": len(frames) == self.max_frames, "codec": first["codec"],
                "notes": first["notes"], "show": show}

    @staticmethod
    def _zip(out):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for dp, _, files in os.walk(out):
                for f in sorted(files):
                    p = os.path.join(dp, f)
                    z.write(p, os.path.relpath(p, out))
        write_bytes(os.path.join(out, "outputs.zip"), buf.getvalue())


# ----------------------------------------------------------------------------- the web side

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Attend to Anything</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
fieldset{border:1px solid #ccc;border-radius:6px;margin:0 0 12px;padding:10px 14px}
label{display:block;margin:6px 0 2px;font-size:14px} input[type=text],select{width:100%;padding:5px}
button{padding:8px 18px;font-size:15px;margin-top:8px} #status{margin:10px 0;min-height:1.2em}
.err{color:#b00020;font-weight:600} .row{display:flex;gap:18px;flex-wrap:wrap}
.row figure{margin:0} .row img{width:360px} figcaption{font-size:13px;color:#555} img{max-width:100%;border:1px solid #ddd}
</style></head><body>
<h1>Attend to Anything: where people look</h1>
<p>Model: <b>__MODEL__</b>. Inputs: an image (__IMAGE_EXTS__), a video (__VIDEO_EXTS__), or a
video plus a separate audio file (__AUDIO_EXTS__); up to __LIMIT__ MB each.</p>
<form id="form">
<fieldset><legend>Input</legend>
<label for="file">Image or video</label><input id="file" name="file" type="file" required>
<label for="audio">Audio for the video (optional)</label><input id="audio" name="audio" type="file">
</fieldset>
<fieldset><legend>Prompt</legend>
<label for="dataset">Dataset prompt</label><select id="dataset"><option value="">(type one below)</option></select>
<label for="prompt">Prompt 1 (a description, or a dataset key; empty: free viewing)</label>
<input id="prompt" name="prompt" type="text">
<label for="prompt_b">Prompt 2, to compare (optional)</label><input id="prompt_b" name="prompt_b" type="text">
</fieldset>
<button id="run" type="submit">Predict</button>
</form>
<div id="status"></div>
<div id="result" hidden>
<div class="row">
<figure><img id="overlay" alt="overlay"><figcaption>Overlay (prompt 1)</figcaption></figure>
<figure><img id="map" alt="saliency map"><figcaption>Saliency map (prompt 1)</figcaption></figure>
</div>
<figure id="video-box" hidden><video id="video" controls muted></video>
<figcaption>Overlay video (prompt 1)</figcaption></figure>
<figure id="compare-box" hidden><img id="compare" alt="two prompts side by side">
<figcaption>Prompt 1 vs prompt 2</figcaption></figure>
<p id="downloads"></p>
</div>
<script>
const $ = (id) => document.getElementById(id);
fetch("api/prompts").then(r => r.json()).then(list => {
  for (const p of list) { const o = document.createElement("option"); o.value = p.key;
    o.textContent = p.key + ": " + p.text.slice(0, 90); $("dataset").appendChild(o); }
});
$("dataset").onchange = () => { if ($("dataset").value) $("prompt").value = $("dataset").value; };
$("form").onsubmit = async (ev) => {
  ev.preventDefault();
  const fd = new FormData();
  fd.append("file", $("file").files[0]);
  if ($("audio").files.length) fd.append("audio", $("audio").files[0]);
  fd.append("prompt", $("prompt").value); fd.append("prompt_b", $("prompt_b").value);
  $("status").className = ""; $("status").textContent = "running (queued requests run one at a time)...";
  $("run").disabled = true;
  try {
    const r = await fetch("api/predict", {method: "POST", body: fd});
    const js = await r.json();
    if (!r.ok) throw new Error(js.error || r.statusText);
    const base = "results/" + js.id + "/";
    $("overlay").src = base + js.show.overlay; $("map").src = base + js.show.map;
    $("compare-box").hidden = !js.show.compare;
    $("video-box").hidden = !js.show.video;
    if (js.show.video) $("video").src = base + js.show.video;
    if (js.show.compare) $("compare").src = base + js.show.compare;
    $("downloads").innerHTML = '<a id="download" href="' + base + 'outputs.zip" download>Download all outputs (zip)</a>';
    $("result").hidden = false;
    $("status").textContent = "done in " + js.seconds + " s" + (js.kind === "video" ?
      " (" + js.frames + " frames" + (js.audio ? ", with audio" : ", no audio") + ")" : "");
  } catch (e) { $("status").className = "err"; $("status").textContent = e.message; }
  finally { $("run").disabled = false; }
};
</script></body></html>
"""


def create_app(predictor, model_name="aam", max_upload_mb=50, queue=8):
    """The FastAPI app around a :class:`Predictor` (one worker thread = the request queue)."""
    from fastapi import FastAPI, File, Form, Request, UploadFile
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

    limit = int(max_upload_mb * 1024 * 1024)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aam-model")
    waiting = {"n": 0}
    lock = threading.Lock()
    app = FastAPI(title="aam-ms serve", docs_url=None, redoc_url=None, openapi_url=None)
    page = (PAGE.replace("__MODEL__", html.escape(model_name))
            .replace("__IMAGE_EXTS__", ", ".join(IMAGE_EXTS))
            .replace("__VIDEO_EXTS__", ", ".join(VIDEO_EXTS))
            .replace("__AUDIO_EXTS__", ", ".join(AUDIO_EXTS)).replace("__LIMIT__", f"{max_upload_mb:g}"))

    def error(status, msg):
        return JSONResponse({"error": msg}, status_code=status)

    @app.middleware("http")
    async def upload_limit(request, call_next):
        if request.method == "POST":
            size = request.headers.get("content-length")
            if size is None:
                return error(411, "uploads need a Content-Length header")
            if int(size) > limit + 64 * 1024:
                return error(413, f"upload of {int(size) / 2 ** 20:.1f} MB is over the limit of "
                                  f"{max_upload_mb:g} MB (--max-upload-mb)")
        return await call_next(request)

    @app.get("/", response_class=HTMLResponse)
    def index():
        return page

    @app.get("/api/prompts")
    def prompt_list():
        from .data import prompts
        return [{"key": k, "text": prompts.get_prompt(k)} for k in prompts.keys()]

    @app.post("/api/predict")
    async def predict(request: Request, file: UploadFile = File(...),
                      audio: UploadFile = File(None), prompt: str = Form(""),
                      prompt_b: str = Form("")):
        tmp = tempfile.mkdtemp(dir=predictor.workdir, prefix=".upload-")
        try:
            media = _save(file, tmp, IMAGE_EXTS + VIDEO_EXTS, limit)
            wav = _save(audio, tmp, AUDIO_EXTS, limit) if audio is not None and audio.filename else None
            prompts_ = [prompt] + ([prompt_b] if prompt_b.strip() else [])
            with lock:
                if waiting["n"] >= queue:
                    return error(503, f"busy: {waiting['n']} requests are queued; try again soon")
                waiting["n"] += 1
            try:
                loop = asyncio.get_running_loop()
                res = await loop.run_in_executor(pool, predictor.run, media, wav, prompts_)
            finally:
                with lock:
                    waiting["n"] -= 1
            return res
        except SampleError as e:
            return error(400, f"{_upload_name(e.path, tmp)}: {e.reason}")
        except (cli.UserError, ValueError) as e:
            return error(400, _strip(str(e), tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @app.get("/results/{rid}/{name:path}")
    def result(rid: str, name: str):
        if not re.fullmatch(r"[0-9a-f]{12}", rid):
            return error(404, "no such result")
        root = os.path.realpath(os.path.join(predictor.workdir, rid))
        path = os.path.realpath(os.path.join(root, name))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            return error(404, "no such result (results are kept for the last "
                              f"{KEEP} requests)")
        return FileResponse(path, filename=os.path.basename(path) if name.endswith(".zip") else None)

    app.state.pool = pool
    return app


def _upload_name(path, tmp):
    return os.path.relpath(path, tmp) if str(path).startswith(tmp) else os.path.basename(str(path))


def _strip(msg, tmp):
    """A message with the upload folder removed from its paths (the user's file name stays)."""
    return msg.replace(tmp + os.sep, "")


def _save(upload, folder, exts, limit):
    """Write an upload under its own (sanitised) name; refuse unknown types and oversize."""
    name = os.path.basename(upload.filename or "upload")
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "upload"
    ext = os.path.splitext(name)[1].lower()
    if ext not in exts:
        raise cli.UserError(f"{name}: unsupported file type {ext or '(none)'}; expected one of "
                            f"{', '.join(exts)}")
    path = os.path.join(folder, name)
    size = 0
    with open(path, "wb") as f:
        while True:
            chunk = upload.file.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise cli.UserError(f"{name}: over the upload limit of {limit / 2 ** 20:g} MB")
            f.write(chunk)
    return path


def main(argv=None):
    from .inference import add_model_args, open_session
    ap = argparse.ArgumentParser(prog="python -m aam_ms.serve", description=__doc__.split("\n")[0])
    add_model_args(ap)
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default: local only)")
    ap.add_argument("--port", type=int, default=7860)
    ap.add_argument("--max-upload-mb", type=float, default=50.0)
    ap.add_argument("--max-frames", type=int, default=300, help="video frames predicted at most")
    ap.add_argument("--queue", type=int, default=8, help="requests waiting at most")
    ap.add_argument("--prompt-file", help="YAML of extra prompts (default: the run's corpus "
                    "prompts.yaml, when its data.train manifest is there)")
    a = ap.parse_args(argv)
    if a.max_upload_mb <= 0 or a.max_frames < 1 or a.queue < 1:
        raise cli.UserError("--max-upload-mb, --max-frames and --queue must be positive")
    session = open_session(a)
    _register_prompts(session, a.prompt_file)
    import uvicorn
    workdir = tempfile.mkdtemp(prefix="aam-serve-")
    try:
        name = session.cfg["model"].get("name", "aam")
        app = create_app(Predictor(session, workdir, a.max_frames), name, a.max_upload_mb, a.queue)
        print(f"aam_ms.serve: {name} loaded; open http://{a.host}:{a.port}/", flush=True)
        uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _register_prompts(session, prompt_file):
    """Dataset prompts for the page's list: the run's corpus prompts.yaml, then ``prompt_file``."""
    from .data.prompts import load_prompt_yaml, register_corpus_prompts
    try:
        manifest = (session.cfg.get("data") or {}).get("train")
        if manifest and os.path.isfile(manifest):
            register_corpus_prompts(manifest)
        if prompt_file:
            load_prompt_yaml(prompt_file, register=True)
    except ValueError as e:
        raise cli.UserError(str(e)) from None


def cli_main():
    sys.exit(cli.run(main, prog="aam-serve"))


if __name__ == "__main__":
    cli_main()
