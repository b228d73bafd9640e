"""SynthAttention: a generated saliency corpus whose ground truth is known by construction.

Every synthetic dataset fixes a *true* fixation density p(x | stimulus, task). Observers
(8–15 per stimulus) draw fixations from p; the stored density map is those fixations blurred
with a Gaussian of σ = 0.04·max(H, W) (the DHF1K recipe), exactly as real eye-tracking maps
are made. Files use the real on-disk formats: JPEG stimuli, PNG density and binary fixation
maps, videos as frame folders ``img_%05d.jpg``, 16 kHz ``.wav`` audio, plus ``manifest.jsonl``
(:mod:`aam_ms.data.manifest`), ``prompts.yaml`` (each dataset's prompt and its five template
slots, read by :func:`aam_ms.data.prompts.register_corpus_prompts`) and the true densities as
``.npy``.

Datasets (the prompt decides where people look):
- ``synth_search_red`` / ``synth_search_blue`` / ``synth_freeview`` share the SAME scenes of
  coloured shapes: p is on the red shapes, on the blue shapes, or on the most conspicuous
  (largest, outlined) shape plus the other shapes and a centre bias.
- ``synth_reading``: text-like word blocks; p over words, weighted exp(−line/1.5 − word/2.5)
  (top-left bias).
- ``synth_video_track``: a disc moves over static distractors; gaze at frame t is on the disc's
  position at frame t − lag (lag = 3 frames).
- ``synth_av_pitch``: a red and a blue disc of the same size at random places; the audio is a
  steady tone, low (200 Hz) or high (3 kHz), and gaze is on the red disc for the low tone, on the
  blue disc for the high one. Both kinds of clip look alike, so only the audio tells which disc
  people look at (half of the clips each way; the frames alone give 50/50).

CLI: ``python -m aam_ms.data.synth --out DIR [--scale tiny|small] [--seed N]``.
"""
import argparse
import json
import os
import sys
import time

import cv2
import numpy as np
import soundfile as sf
import yaml

from aam_ms import cli
from aam_ms.data.manifest import Record, write_manifest
from aam_ms.data.prompts import GENERIC, load_prompt_yaml
from aam_ms.fileio import atomic_write, write_bytes

PROMPTS = {
    # short task statements (like a user's prompt): the task words are a large part of each
    "synth_search_red": "Visual search task: find the red shapes among the coloured shapes.",
    "synth_search_blue": "Visual search task: find the blue shapes among the coloured shapes.",
    # free viewing without a task is AAM's general attention: the released "None" prompt
    "synth_freeview": GENERIC,
    "synth_reading": "Reading a page of word blocks, line by line from the top left.",
    "synth_video_track": "A moving disc among static shapes: gaze tracks the disc with a short "
                         "delay.",
    "synth_av_pitch": "A red and a blue disc with a tone: gaze goes to the red disc for a low "
                      "tone and to the blue disc for a high tone.",
}
# The five template slots (stimulus, scene, key elements, task, bias) for granularities G1–G4.
SLOTS = {
    "synth_search_red": ("Synthetic image", "of coloured shapes on a grey background",
                         "red, blue, green and yellow circles and squares",
                         "visual search for the red items", "attention on red shapes only"),
    "synth_search_blue": ("Synthetic image", "of coloured shapes on a grey background",
                          "red, blue, green and yellow circles and squares",
                          "visual search for the blue items", "attention on blue shapes only"),
    "synth_freeview": ("Synthetic image", "of coloured shapes on a grey background",
                       "one large outlined shape among smaller ones", "free viewing",
                       "attention on the most conspicuous shape and a centre bias"),
    "synth_reading": ("Synthetic page", "of text-like word blocks", "lines of dark words",
                      "reading", "a strong top-left bias"),
    "synth_video_track": ("Synthetic video", "of a moving disc among static shapes",
                          "one moving orange disc", "tracking the moving disc",
                          "gaze lagging a few frames behind the disc"),
    "synth_av_pitch": ("Synthetic audio-visual video", "of a red and a blue disc with a tone",
                       "two discs of the same size and a low or high tone",
                       "finding the disc the pitch points to",
                       "attention on the red disc for a low tone, the blue disc for a high one"),
}
IMAGE_DATASETS = ("synth_search_red", "synth_search_blue", "synth_freeview", "synth_reading")

SCALES = {
    # size = (H, W) of the stimuli; frames = frames per video
    "tiny": dict(size=(72, 96), scenes=80, pages=40, track_videos=8, av_videos=12, frames=16),
    "small": dict(size=(192, 256), scenes=400, pages=200, track_videos=32, av_videos=24,
                  frames=32),
}
BLUR_FRAC = 0.04          # σ of the density-map blur, as a fraction of max(H, W)
TRUNCATE = 2.5            # true-density Gaussians are zero beyond TRUNCATE·σ
TRACK_LAG = 3             # frames between the disc's position and the gaze on it
FPS = 8.0
SR = 16000
AUDIO_WINDOW_S = 2.0
TONE_HZ = (200.0, 3000.0)  # low tone → the red disc, high tone → the blue disc
AV_DISCS = ("red", "blue")
COLOURS = {"red": (220, 40, 40), "blue": (40, 70, 225), "green": (40, 170, 60),
           "yellow": (225, 205, 40)}


def _rng(seed, *key):
    """Independent generator per (seed, item): results do not depend on generation order."""
    return np.random.default_rng([seed, *key])


def gaussian_bump(size, centre, sigma):
    """exp(−‖x − c‖² / 2σ²), set to zero beyond ``TRUNCATE``·σ (compact support)."""
    yy, xx = np.mgrid[0:size[0], 0:size[1]].astype(np.float64)
    d2 = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2
    g = np.exp(-d2 / (2.0 * sigma ** 2))
    g[d2 > (TRUNCATE * sigma) ** 2] = 0.0
    return g


def _normalise(p):
    s = p.sum()
    if s <= 0:
        raise ValueError("true density is empty")
    return (p / s).astype(np.float64)


def sample_fixations(p, n, rng):
    """``n`` fixations [[row, col], ...] drawn from the pixel distribution ``p`` (sums to 1)."""
    flat = rng.choice(p.size, size=n, p=p.ravel())
    return np.stack(np.unravel_index(flat, p.shape), axis=1)


def fixation_map(points, size):
    """Binary map with 1 at every fixated pixel."""
    m = np.zeros(size, np.uint8)
    m[points[:, 0], points[:, 1]] = 1
    return m


def density_from_fixations(points, size):
    """Fixation counts blurred with σ = BLUR_FRAC·max(H, W), scaled to max 1 (DHF1K style)."""
    counts = np.zeros(size, np.float64)
    np.add.at(counts, (points[:, 0], points[:, 1]), 1.0)
    sigma = BLUR_FRAC * max(size)
    d = cv2.GaussianBlur(counts, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_CONSTANT)
    return d / d.max()


def _observers(rng, per_observer):
    """Fixations of 8–15 observers, each making ``per_observer`` = (lo, hi) fixations."""
    n_obs = int(rng.integers(8, 16))
    return int(sum(rng.integers(per_observer[0], per_observer[1] + 1) for _ in range(n_obs)))


def _background(rng, size, level=128.0, amp=10.0):
    noise = rng.normal(0.0, 1.0, (size[0] // 8 + 2, size[1] // 8 + 2))
    noise = cv2.resize(noise, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
    img = level + amp * noise
    return np.repeat(img[..., None], 3, axis=2)


def _draw_shape(img, shape, centre, r, colour, outline=False):
    c = (int(round(centre[1])), int(round(centre[0])))
    col = tuple(float(v) for v in colour)
    if shape == "circle":
        cv2.circle(img, c, int(r), col, -1, lineType=cv2.LINE_AA)
        if outline:
            cv2.circle(img, c, int(r) + 1, (255.0, 255.0, 255.0), 2, lineType=cv2.LINE_AA)
    else:
        p0 = (c[0] - int(r), c[1] - int(r))
        p1 = (c[0] + int(r), c[1] + int(r))
        cv2.rectangle(img, p0, p1, col, -1)
        if outline:
            cv2.rectangle(img, (p0[0] - 1, p0[1] - 1), (p1[0] + 1, p1[1] + 1), (255.0,) * 3, 2)


def _place(rng, size, radii, margin=1.15):
    """Non-overlapping centres for discs of the given radii (rejection sampling)."""
    centres = []
    for r in radii:
        for _ in range(500):
            c = (rng.uniform(r + 1, size[0] - r - 1), rng.uniform(r + 1, size[1] - r - 1))
            if all(np.hypot(c[0] - q[0], c[1] - q[1]) > margin * (r + s) + 2
                   for q, s in zip(centres, radii)):
                centres.append(c)
                break
        else:
            raise RuntimeError(f"cannot place {len(radii)} shapes in an image of size {size}")
    return centres


def make_shape_scene(rng, size):
    """A scene of 6–8 shapes: 1–2 red, 1–2 blue, the rest green/yellow, one of them large and
    outlined (the conspicuous one). Returns (RGB uint8 image, list of objects)."""
    m = min(size)
    n_red, n_blue = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    n_other = int(rng.integers(6, 9)) - n_red - n_blue
    colours = ["red"] * n_red + ["blue"] * n_blue + list(rng.choice(["green", "yellow"], n_other))
    radii = list(rng.uniform(0.055, 0.08, len(colours)) * m)
    big = n_red + n_blue + int(rng.integers(0, n_other))
    radii[big] = 0.13 * m
    order = rng.permutation(len(colours))
    colours = [colours[i] for i in order]
    radii = [radii[i] for i in order]
    big = int(np.flatnonzero(order == big)[0])
    centres = _place(rng, size, radii)
    img = _background(rng, size)
    objects = []
    for i, (col, r, c) in enumerate(zip(colours, radii, centres)):
        shape = str(rng.choice(["circle", "square"]))
        _draw_shape(img, shape, c, r, COLOURS[col], outline=(i == big))
        objects.append({"colour": col, "centre": [float(c[0]), float(c[1])], "radius": float(r),
                        "shape": shape, "conspicuous": i == big})
    return np.clip(img, 0, 255).astype(np.uint8), objects


def true_density_shapes(objects, size, task):
    """p for the shape scenes: ``task`` in {red, blue, freeview}."""
    p = np.zeros(size, np.float64)
    if task in ("red", "blue"):
        for o in objects:
            if o["colour"] == task:
                p += gaussian_bump(size, o["centre"], 0.5 * o["radius"])
        return _normalise(p)
    area = sum(o["radius"] ** 2 for o in objects if not o["conspicuous"])
    for o in objects:
        g = gaussian_bump(size, o["centre"], 0.5 * o["radius"])
        w = 0.4 if o["conspicuous"] else 0.45 * o["radius"] ** 2 / area
        p += w * g / g.sum()
    centre = gaussian_bump(size, ((size[0] - 1) / 2, (size[1] - 1) / 2), 0.2 * max(size))
    p += 0.15 * centre / centre.sum()
    return _normalise(p)


def make_page(rng, size):
    """Text-like page: 3–5 lines of dark word blocks on a light background; p over words with
    weight exp(−line/1.5 − word/2.5)."""
    img = _background(rng, size, level=225.0, amp=4.0)
    n_lines = int(rng.integers(3, 6))
    line_h = size[0] / (n_lines + 1)
    h = max(2, int(0.35 * line_h))
    p = np.zeros(size, np.float64)
    for li in range(n_lines):
        y = int((li + 0.7) * line_h)
        x = int(rng.integers(2, max(3, size[1] // 12)))
        wi = 0
        while True:
            w = int(rng.integers(max(3, size[1] // 20), max(5, size[1] // 7)))
            if x + w >= size[1] - 2:
                break
            cv2.rectangle(img, (x, y), (x + w, y + h), (40.0, 40.0, 45.0), -1)
            centre = (y + h / 2.0, x + w / 2.0)
            g = gaussian_bump(size, centre, max(1.5, 0.3 * w))
            p += np.exp(-li / 1.5 - wi / 2.5) * g / g.sum()
            x += w + int(rng.integers(2, 5))
            wi += 1
    return np.clip(img, 0, 255).astype(np.uint8), _normalise(p)


def _bounce(rng, size, n, r):
    """Positions of a disc moving at constant speed, reflected at the borders."""
    pos = np.array([rng.uniform(r, size[0] - r), rng.uniform(r, size[1] - r)])
    speed = rng.uniform(0.04, 0.07) * max(size)
    ang = rng.uniform(0, 2 * np.pi)
    vel = speed * np.array([np.sin(ang), np.cos(ang)])
    out = []
    for _ in range(n):
        out.append(pos.copy())
        pos = pos + vel
        for k in range(2):
            lo, hi = r, size[k] - 1 - r
            if pos[k] < lo:
                pos[k], vel[k] = 2 * lo - pos[k], -vel[k]
            elif pos[k] > hi:
                pos[k], vel[k] = 2 * hi - pos[k], -vel[k]
    return np.array(out)


def make_track_video(rng, size, n):
    """Frames, true densities (T, H, W), the disc track and the gaze track (lagged)."""
    m = min(size)
    r = 0.08 * m
    track = _bounce(rng, size, n, r)
    radii = list(rng.uniform(0.06, 0.09, 3) * m)
    centres = _place(rng, size, radii, margin=1.0)
    bg = _background(rng, size)
    for c, rr in zip(centres, radii):
        _draw_shape(bg, str(rng.choice(["circle", "square"])), c, rr,
                    COLOURS[str(rng.choice(["green", "blue"]))])
    frames, dens, gaze = [], [], []
    for t in range(n):
        img = bg.copy()
        _draw_shape(img, "circle", track[t], r, (235.0, 120.0, 30.0))
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
        g = track[max(t - TRACK_LAG, 0)]
        gaze.append(g)
        dens.append(_normalise(gaussian_bump(size, g, 1.2 * r)))
    return frames, np.stack(dens), track, np.array(gaze)


def make_av_video(rng, size, n, target):
    """A red and a blue disc (same size, random places), a steady tone of pitch
    ``TONE_HZ[target]`` and gaze on disc ``target`` (0 = red, 1 = blue) in every frame.
    Returns frames, true densities (T, H, W), 16 kHz audio and the clip's description."""
    r = 0.11 * min(size)
    centres = _place(rng, size, [r, r])
    bg = _background(rng, size, level=110.0, amp=8.0)
    for c, colour in zip(centres, AV_DISCS):
        _draw_shape(bg, "circle", c, r, COLOURS[colour])
    frame = np.clip(bg, 0, 255).astype(np.uint8)
    p = _normalise(gaussian_bump(size, centres[target], 0.5 * r))
    ts = np.arange(int(round(n / FPS * SR))) / SR
    audio = 0.5 * np.sin(2 * np.pi * TONE_HZ[target] * ts)
    info = {"centres": [[float(a), float(b)] for a, b in centres], "colours": list(AV_DISCS),
            "tone_hz": TONE_HZ[target], "target": int(target)}
    return [frame.copy() for _ in range(n)], np.repeat(p[None], n, axis=0), \
        audio.astype(np.float32), info


def _split(i, n):
    """Item ``i`` of ``n`` → train / val / test, about 70/15/15 with at least one held-out
    item each (callers pass a position in a seeded permutation or an i.i.d. index)."""
    held = max(1, int(round(0.15 * n)))
    return "train" if i < n - 2 * held else ("val" if i < n - held else "test")


def _write_encoded(path, ext, a, params=()):
    ok, buf = cv2.imencode(ext, a, list(params))
    if not ok:
        raise OSError(f"cannot encode {path}")
    write_bytes(path, buf.tobytes())


def _write_png(path, a):
    _write_encoded(path, ".png", a)


def _write_jpg(path, rgb):
    _write_encoded(path, ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])


def _write_npy(path, a):
    with atomic_write(path, "wb") as f:
        np.save(f, a.astype(np.float32))


def _save_maps(out, rel, points, size):
    """Write the fixation PNG (0/255) and the blurred density PNG; return their paths."""
    fix, den = f"fixations/{rel}.png", f"maps/{rel}.png"
    _write_png(os.path.join(out, fix), fixation_map(points, size) * 255)
    _write_png(os.path.join(out, den), np.round(255 * density_from_fixations(points, size)).astype(np.uint8))
    return den, fix


def _image_records(out, cfg, seed):
    size = cfg["size"]
    recs = []
    perm = _rng(seed, 1).permutation(cfg["scenes"])
    for s in range(cfg["scenes"]):
        rng = _rng(seed, 2, s)
        img, objects = make_shape_scene(rng, size)
        stim = f"images/scene_{s:04d}.jpg"
        _write_jpg(os.path.join(out, stim), img)
        split = _split(int(np.flatnonzero(perm == s)[0]), cfg["scenes"])
        for task, ds in (("red", "synth_search_red"), ("blue", "synth_search_blue"),
                         ("freeview", "synth_freeview")):
            p = true_density_shapes(objects, size, task)
            recs.append(_image_record(out, ds, split, stim, f"scene_{s:04d}", p, size, rng,
                                      {"objects": objects}))
    perm = _rng(seed, 3).permutation(cfg["pages"])
    for s in range(cfg["pages"]):
        rng = _rng(seed, 4, s)
        img, p = make_page(rng, size)
        stim = f"images/page_{s:04d}.jpg"
        _write_jpg(os.path.join(out, stim), img)
        split = _split(int(np.flatnonzero(perm == s)[0]), cfg["pages"])
        recs.append(_image_record(out, "synth_reading", split, stim, f"page_{s:04d}", p, size, rng, {}))
    return recs


def _image_record(out, ds, split, stim, name, p, size, rng, extra):
    pts = sample_fixations(p, _observers(rng, (3, 6)), rng)
    rel = f"{ds}/{name}"
    den, fix = _save_maps(out, rel, pts, size)
    true = f"true/{rel}.npy"
    _write_npy(os.path.join(out, true), p)
    return Record(dataset=ds, modality="image", split=split, prompt_key=ds, stimulus=stim,
                  density=den, fixation=fix, size=list(size),
                  extra={"true_density": true, "scene": name, **extra})


def _video_records(out, ds, vid, split, frames, dens, size, rng, audio, per_frame):
    n = len(frames)
    true = f"true/{ds}/{vid}.npy"
    _write_npy(os.path.join(out, true), dens)
    wav = None
    if audio is not None:
        wav = f"audio/{vid}.wav"
        with atomic_write(os.path.join(out, wav), "wb") as f:
            sf.write(f, audio, SR, format="WAV", subtype="PCM_16")
    n_obs = int(rng.integers(8, 16))
    recs = []
    for t in range(n):
        stim = f"video/{ds}/{vid}/img_{t + 1:05d}.jpg"
        _write_jpg(os.path.join(out, stim), frames[t])
        pts = sample_fixations(dens[t], n_obs, rng)
        den, fix = _save_maps(out, f"{ds}/{vid}/{t + 1:05d}", pts, size)
        ts = t / FPS
        recs.append(Record(
            dataset=ds, modality="audio_visual" if wav else "video", split=split, prompt_key=ds,
            stimulus=stim, density=den, fixation=fix, video=vid, frame_index=t, num_frames=n,
            fps=FPS, audio=wav,
            audio_window=[ts - AUDIO_WINDOW_S / 2, ts + AUDIO_WINDOW_S / 2] if wav else None,
            size=list(size), extra={"true_density": true, "true_index": t, **per_frame[t]}))
    return recs


def generate(out, scale="tiny", seed=0):
    """Write the corpus under ``out``; return the list of records (also in manifest.jsonl)."""
    if scale not in SCALES:
        raise cli.UserError(f"--scale must be one of {sorted(SCALES)}, got {scale!r}")
    cfg = SCALES[scale]
    size, n = cfg["size"], cfg["frames"]
    os.makedirs(out, exist_ok=True)
    recs = _image_records(out, cfg, seed)
    nv = cfg["track_videos"]
    for v in range(nv):
        rng = _rng(seed, 5, v)
        frames, dens, track, gaze = make_track_video(rng, size, n)
        per = [{"target": track[t].tolist(), "gaze": gaze[t].tolist(), "lag": TRACK_LAG} for t in range(n)]
        recs += _video_records(out, "synth_video_track", f"track_{v:03d}", _split(v, nv), frames,
                               dens, size, rng, None, per)
    nv = cfg["av_videos"]
    for v in range(nv):
        rng = _rng(seed, 6, v)
        # alternate sides, so every split holds low- and high-tone clips (the audio swap of
        # eval then pairs clips of opposite pitch)
        frames, dens, audio, info = make_av_video(rng, size, n, target=v % 2)
        recs += _video_records(out, "synth_av_pitch", f"pitch_{v:03d}", _split(v, nv), frames,
                               dens, size, rng, audio, [info] * n)
    write_manifest(os.path.join(out, "manifest.jsonl"), recs, out, corpus="SynthAttention",
                   scale=scale, seed=seed)
    path = os.path.join(out, "prompts.yaml")
    with atomic_write(path, "w") as f:
        yaml.safe_dump(prompt_file(), f, sort_keys=True, allow_unicode=True, width=1000)
    load_prompt_yaml(path, register=True)
    return recs


def prompt_file():
    """Contents of the corpus' ``prompts.yaml``: ``{key: {prompt: text, slots: [5 texts]}}``."""
    return {k: {"prompt": PROMPTS[k], "slots": list(SLOTS[k])} for k in PROMPTS}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aam_ms.data.synth",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--scale", default="tiny", choices=sorted(SCALES))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    t0 = time.time()
    recs = generate(a.out, a.scale, a.seed)
    by = {}
    for r in recs:
        by.setdefault(r.dataset, {}).setdefault(r.split, 0)
        by[r.dataset][r.split] += 1
    print(json.dumps({"out": os.path.abspath(a.out), "records": len(recs), "by_dataset": by,
                      "seconds": round(time.time() - t0, 2)}))


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="aam_ms.data.synth"))
