"""Benchmark evaluation of AAM (or the centre-bias baseline) on a manifest, per dataset.

``python -m aam_ms.eval --manifest M.jsonl [--run RUN | --config C --checkpoint K]
[--split test] [--datasets a,b] [--prompt-mode correct,generic,...]
[--audio-mode correct,none,swapped] [--baseline centre] --out DIR``

Metrics: AUC-J, sAUC, NSS, CC, SIM, KLD (MIT forms, :mod:`aam_ms.metrics`), the prediction at
the model size resized to the ground-truth size (MATLAB bicubic) inside each metric. Protocol by
modality (:mod:`aam_ms.metrics.protocols`): ``image`` per image, sAUC other-map from 10 other
images; ``video`` (DHF1K / ACL) per frame → per video → over videos; ``audio_visual`` (STAViS)
blur σ = 2 before resizing, per video → over videos → over splits (the records' ``split``).
Data come from :func:`aam_ms.data.pipeline.plan_eval`; video is predicted frame-wise in windows
of ``input.clip_len`` frames with ``--overlap`` context frames, in frame order.

Bad records: every selected record is decoded once before inference. A record whose stimulus,
map, fixation or audio file is missing or unreadable (or that has no ground truth) is skipped,
listed with its file and reason (stderr, ``metrics.json`` ``skipped``, ``report.html``) and
counted per dataset (``n_skipped``); everything else is scored (a video loses only its bad
frames). Exit status: 0 all scored; 1 some record or dataset was skipped; 2 bad input (flags,
manifest, model files, ``--out``).

Prompt modes: ``correct`` (the record's prompt), ``generic`` (``GENERIC``), ``wrong`` (the
prompt of a dataset of another task, fixed table :data:`WRONG_KEY`), ``paraphrase`` (every
paraphrase; metrics are means over paraphrases, plus ``CC_std``), ``G1``..``G4`` (granularity).
Audio modes (audio-visual datasets with audio; others get one row, ``audio_mode`` ``-``):
``correct`` (the clip's own sound), ``none`` (visual-only), ``swapped`` (another clip's sound
over the same time windows: the clips of a dataset sorted by (split, video id), clip k takes the
audio of clip k + 1, the last the first's). ``--baseline centre``: a centred Gaussian
(:func:`centre_bias_map`) scored the same way.

Writes to ``DIR`` (refusing files it did not write): ``metrics.{csv,json,md}`` (one row per
dataset × prompt mode × audio mode), ``per_sample.csv`` (every scored image / frame),
``samples/`` (overlays of the best and worst samples of the first run, by CC) and
``report.html`` (:mod:`aam_ms.report`).
"""
import argparse
import csv
import heapq
import io
import json
import math
import os
import re
import sys

import numpy as np

from . import cli
from .data.io import SampleError, load_audio, load_stimulus
from .data.pipeline import build_eval_dataset, plan_eval
from .fileio import write_bytes, write_text
from .metrics.protocols import (DHF1K_MAX_FRAMES, IMAGE_METRICS, image_protocol,
                                stavis_protocol, video_protocol)

METRICS = IMAGE_METRICS                    # AUC_J, sAUC, NSS, CC, SIM, KLD
PROMPT_MODES = ("correct", "generic", "wrong", "paraphrase", "G1", "G2", "G3", "G4")
AUDIO_MODES = ("correct", "none", "swapped")
NO_AUDIO = "-"                             # audio_mode of datasets without sound
CENTRE_SIGMA = 0.25                        # σ of the centre baseline, fraction of (H, W)
PROTOCOLS = {"image": "image", "video": "dhf1k", "audio_visual": "stavis"}
N_EXTREMES = 3                             # best / worst samples kept per dataset for the report
FORMAT = "aam-eval/1"                      # marks an output folder as written by this tool
OUTPUTS = ("metrics.csv", "metrics.json", "metrics.md", "per_sample.csv", "report.html", "samples",
           "charts")

# prompt key → prompt key of a dataset of another task (deterministic "wrong" condition)
WRONG_KEY = {
    # natural-image free viewing ↔ interface / commerce layouts
    "Salicon": "UI", "MIT1003": "UI", "CAT2000": "UI", "OSIE": "UI", "None": "UI",
    "UI": "MIT1003", "fiwi": "MIT1003", "SalEC": "MIT1003",
    # free-viewing video ↔ task-driven video
    "DHF1K": "Hollywood", "Hollywood": "DHF1K", "UCF": "DHF1K",
    "DIEM": "SumMe", "AVAD": "SumMe", "Coutrot_db1": "SumMe", "Coutrot_db2": "SumMe",
    "ETMD_av": "SumMe", "SumMe": "DIEM",
    # SynthAttention: the same scenes under the opposite search task, reading ↔ free viewing
    "synth_search_red": "synth_search_blue", "synth_search_blue": "synth_search_red",
    "synth_freeview": "synth_reading", "synth_reading": "synth_freeview",
    "synth_video_track": "synth_av_pitch", "synth_av_pitch": "synth_video_track",
}
WRONG_FALLBACK = "UI"


def centre_bias_map(h, w, sigma=CENTRE_SIGMA):
    """exp(−(y − c_y)²/2σ_y² − (x − c_x)²/2σ_x²), c = image centre, σ = sigma·(H, W); float32."""
    y = (np.arange(h, dtype=np.float64) - (h - 1) / 2.0) / (sigma * h)
    x = (np.arange(w, dtype=np.float64) - (w - 1) / 2.0) / (sigma * w)
    return np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2)).astype(np.float32)


def wrong_prompt_key(key):
    """The prompt key used in the ``wrong`` condition for prompt key ``key``."""
    from .data.prompts import prompt_key
    k = prompt_key(key)
    return WRONG_KEY.get(k, WRONG_FALLBACK if k != WRONG_FALLBACK else "MIT1003")


def _check_key(key):
    from .data import prompts
    if key not in prompts.keys() and key not in prompts.DATASET_PROMPT_KEY:
        raise ValueError(f"unknown prompt key {key!r} in the manifest; register the corpus' "
                         "prompts (prompts.yaml next to the manifest, or --prompt-file)")


def prompt_texts(record, mode):
    """Prompt texts of a record under ``mode`` (several for ``paraphrase``)."""
    from .data import prompts
    key = record.prompt_key
    _check_key(key)
    if mode == "correct":
        return [prompts.get_prompt(key)]
    if mode == "generic":
        return [prompts.GENERIC]
    if mode == "wrong":
        return [prompts.get_prompt(wrong_prompt_key(key))]
    if mode == "paraphrase":
        k = prompts.prompt_key(key)
        texts, i = [], 0
        while True:
            try:
                texts.append(prompts.get_prompt(k, paraphrase=i))
            except IndexError:
                return texts
            i += 1
    if mode in prompts.GRANULARITIES:
        src = record.dataset if record.dataset in prompts.SLOTS_BY_DATASET else key
        return [prompts.get_prompt(src, granularity=mode)]
    raise ValueError(f"prompt mode must be one of {PROMPT_MODES}, got {mode!r}")


def swap_partners(plan, eset):
    """``{video group k: group whose audio it gets}`` under ``swapped``: groups sorted by
    (split, video id), each takes the next one's audio (the last the first's); {} below 2."""
    recs = plan.records
    order = sorted(range(len(eset.groups)),
                   key=lambda k: (recs[eset.groups[k][0]].split, str(recs[eset.groups[k][0]].video)))
    if len(order) < 2:
        return {}
    return {k: order[(j + 1) % len(order)] for j, k in enumerate(order)}


# ----------------------------------------------------------------------------- lazy samples

class _Sample:
    """(pred, density, fix) of one record, each read only when indexed."""

    def __init__(self, store, i):
        self.store, self.i = store, i

    def __len__(self):
        return 3

    def __getitem__(self, k):
        if k == 0:
            return self.store.pred(self.i)
        if k == 1:
            return self.store.plan.density(self.i)
        if k == 2:
            return self.store.plan.fixation(self.i)
        raise IndexError(k)


class _Store:
    """Predictions of a dataset's records: ``predict(group) -> {index: map}`` fills the cache
    for the group (an image batch or a whole video) holding a record; only the last is kept."""

    def __init__(self, plan, predict, group_of):
        self.plan, self._predict, self._group_of = plan, predict, group_of
        self._preds = {}

    def pred(self, i):
        if i not in self._preds:
            self._preds = self._predict(self._group_of(i))
        return self._preds[i]


class _Seq:
    """A sequence of ``_Sample`` over record indices of a store."""

    def __init__(self, store, idx):
        self.store, self.idx = store, list(idx)

    def __len__(self):
        return len(self.idx)

    def __getitem__(self, k):
        return _Sample(self.store, self.idx[k])


# ----------------------------------------------------------------------------- predictors

class _ModelPredictor:
    """Model maps at the model size from the inference engine: prompt per record
    ``prompt_of(record)``; the sound of a video group ``audio_of(group)`` (the records whose
    audio each frame gets, or None for visual-only)."""

    def __init__(self, engine, plan, prompt_of, audio_of, clip_len, overlap, batch):
        self.engine, self.plan, self.prompt_of, self.audio_of = engine, plan, prompt_of, audio_of
        self.clip_len, self.overlap, self.batch = clip_len, overlap, batch

    def images(self, idx):
        recs = self.plan.records
        by_text = {}
        for i in idx:
            by_text.setdefault(self.prompt_of(recs[i]), []).append(i)
        out = {}
        for text, g in by_text.items():
            ims = [im for _, im in build_eval_dataset(self.plan, g)]
            out.update(zip(g, self.engine.predict_images(ims, text, self.batch)))
        return out

    def video(self, idx):
        recs = [self.plan.records[i] for i in idx]
        frames = (im for _, im in build_eval_dataset(self.plan, idx))
        window, sources = None, self.audio_of(idx)
        if sources is not None:
            sr, root = self.engine.session.audio.sample_rate, self.plan.root
            window = lambda k: load_audio(sources[k].resolve(root, "audio"),  # noqa: E731
                                          recs[k].audio_window[0], recs[k].audio_window[1], sr)
        t = min(self.clip_len, len(recs))
        return {idx[k]: sal for k, _, sal in self.engine.stream(
            frames, self.prompt_of(recs[0]), t, min(self.overlap, t - 1), window)}


class _CentrePredictor:
    """The centre-bias baseline at the model size (or the first stimulus' size without a model)."""

    def __init__(self, size):
        self.map = centre_bias_map(*size)

    def images(self, idx):
        return {i: self.map for i in idx}

    video = images


# ----------------------------------------------------------------------------- per-sample log

class SampleLog:
    """Per-sample scores of every run (``rows``) and, for each dataset's first run, its
    ``N_EXTREMES`` best and worst samples by CC with their predicted maps (``extremes``)."""

    def __init__(self, n=N_EXTREMES):
        self.n, self.rows, self.extremes, self._tick = n, [], {}, 0
        self.tracked = {}                  # dataset → its first (prompt_mode, audio_mode)

    def add(self, store, ds, run, i, scores, prompt_index=0):
        r = store.plan.records[i]
        self.rows.append({"dataset": ds, "prompt_mode": run[0], "audio_mode": run[1],
                          "prompt_index": prompt_index, "index": i, "record": r.stimulus,
                          "video": r.video or "", "frame_index": "" if r.frame_index is None
                          else r.frame_index, **scores})
        self.tracked.setdefault(ds, run)
        cc = scores.get("CC", math.nan)
        if run != self.tracked[ds] or prompt_index or not np.isfinite(cc):
            return
        best, worst = self.extremes.setdefault(ds, ([], []))
        self._tick += 1
        pred = np.array(store.pred(i), np.float32)
        for heap, key in ((best, cc), (worst, -cc)):
            item = (key, -self._tick, i, pred)
            if len(heap) < self.n:
                heapq.heappush(heap, item)
            elif item[:2] > heap[0][:2]:
                heapq.heapreplace(heap, item)

    def ranked(self, ds):
        """``{"best": [(CC, index, pred)...] highest first, "worst": lowest first}``, disjoint:
        with fewer than 2·n samples the upper half (rounded up) is best, the rest worst."""
        best, worst = self.extremes.get(ds, ([], []))
        seen = {}
        for key, tick, i, p in best + [(-k, t, i, p) for k, t, i, p in worst]:
            seen[i] = (key, tick, i, p)
        order = sorted(seen.values(), key=lambda x: x[:2], reverse=True)
        n_best = min(self.n, (len(order) + 1) // 2)
        top = [(k, i, p) for k, _, i, p in order[:n_best]]
        low = [(k, i, p) for k, _, i, p in order[n_best:][::-1][:self.n]]
        return {"best": top, "worst": low}


# ----------------------------------------------------------------------------- evaluation

def _score(plan, eset, predictor, seed, max_frames, batch, on_sample):
    """Protocol scores of one planned dataset → (scores, n_frames, n_videos)."""
    groups = eset.groups
    if eset.modality == "image":
        idx = [g[0] for g in groups]
        pos = {i: k for k, i in enumerate(idx)}
        store = _Store(plan, predictor.images,
                       lambda i: idx[pos[i] // batch * batch:(pos[i] // batch + 1) * batch])
        scores = image_protocol(_Seq(store, idx), METRICS, seed=seed,
                                on_sample=lambda k, s: on_sample(store, idx[k], s))
        return scores, len(idx), 0
    owner = {i: g for g in groups for i in g}
    store = _Store(plan, predictor.video, lambda i: owner[i])
    n = sum(map(len, groups))
    if eset.modality == "video":
        scores = video_protocol([_Seq(store, g) for g in groups], METRICS, max_frames, seed=seed,
                                on_sample=lambda k, s: on_sample(store, groups[k[0]][k[1]], s))
        return scores, n, len(groups)
    by_split = {}
    for g in groups:
        by_split.setdefault(plan.records[g[0]].split, []).append(g)
    splits = [by_split[k] for k in sorted(by_split)]
    scores = stavis_protocol([[_Seq(store, g) for g in s] for s in splits], METRICS, seed=seed,
                             on_sample=lambda k, s: on_sample(store, splits[k[0]][k[1]][k[2]], s))
    return scores, n, len(groups)


def _has_audio(engine, plan, eset):
    return (eset.modality == "audio_visual" and engine.session.audio is not None
            and all(plan.records[i].audio is not None and plan.records[i].audio_window
                    for g in eset.groups for i in g))


def _audio_source(plan, eset, mode):
    """``audio_of(group)`` for an audio mode: the records whose sound each frame gets."""
    if mode == "none":
        return lambda g: None
    if mode == "correct":
        return lambda g: [plan.records[i] for i in g]
    partners = swap_partners(plan, eset)
    first = {g[0]: k for k, g in enumerate(eset.groups)}
    return lambda g: [plan.records[eset.groups[partners[first[g[0]]]][0]]] * len(g)


def evaluate(model, plan, prompt_mode="correct", audio_modes=("correct",), *, clip_len=None,
             overlap=None, batch=1, seed=0, max_frames=DHF1K_MAX_FRAMES, log=None):
    """Rows of one prompt mode for every dataset of ``plan`` (:func:`plan_eval`): one per audio
    mode for audio-visual datasets with sound, else one (``audio_mode`` ``-``). A row holds the
    metrics and ``dataset, modality, protocol, prompt_mode, audio_mode, prompt, n_frames,
    n_videos, n_skipped[, CC_std, n_prompts, note]``.

    ``model``: an :class:`aam_ms.inference.Engine` (or a session, wrapped in one), or None for
    the centre-bias baseline (``prompt_mode`` ignored). ``log`` (a :class:`SampleLog`)
    receives every per-sample score."""
    engine = model
    if model is not None:
        from .session import Session
        if isinstance(model, Session):
            from .inference import Engine
            engine = Engine(model)
        clip_len = clip_len or int(engine.session.cfg["input"]["clip_len"])
        overlap = clip_len // 2 if overlap is None else overlap
    skipped = {}
    for s in plan.skipped:
        skipped[s["dataset"]] = skipped.get(s["dataset"], 0) + 1
    rows = []
    for ds, eset in plan.sets.items():
        base = {"dataset": ds, "modality": eset.modality, "protocol": PROTOCOLS[eset.modality],
                "n_skipped": skipped.get(ds, 0)}
        recs = [plan.records[g[0]] for g in eset.groups]
        if engine is None:
            run = ("centre_baseline", NO_AUDIO)
            size = load_stimulus(recs[0], plan.root).shape[:2]
            rows.append(_run_row(base, run, "", plan, eset, [_CentrePredictor(size)], seed,
                                 max_frames, batch, log))
            continue
        texts = {id(r): prompt_texts(r, prompt_mode) for g in eset.groups
                 for r in (plan.records[i] for i in g)}
        counts = {len(t) for t in texts.values()}
        prompt = texts[id(recs[0])][0] if texts[id(recs[0])] else ""
        modes = list(audio_modes) if _has_audio(engine, plan, eset) else [NO_AUDIO]
        for amode in modes:
            run = (prompt_mode, amode)
            if counts == {0}:
                rows.append(dict(base, prompt_mode=prompt_mode, audio_mode=amode, prompt="",
                                 n_frames=0, n_videos=0, **{m: math.nan for m in METRICS},
                                 note=f"no {prompt_mode} prompts for {recs[0].prompt_key!r}"))
                continue
            if amode == "swapped" and not swap_partners(plan, eset):
                rows.append(dict(base, prompt_mode=prompt_mode, audio_mode=amode, prompt=prompt,
                                 n_frames=0, n_videos=0, **{m: math.nan for m in METRICS},
                                 note="swapped audio needs at least 2 clips"))
                continue
            audio_of = (lambda g: None) if amode == NO_AUDIO else _audio_source(plan, eset, amode)
            preds = [_ModelPredictor(engine, plan, lambda r, p=p: texts[id(r)][p], audio_of,
                                     clip_len, overlap, batch) for p in range(min(counts))]
            row = _run_row(base, run, prompt, plan, eset, preds, seed, max_frames, batch, log)
            if prompt_mode == "paraphrase":
                row["n_prompts"] = len(preds)
            rows.append(row)
    return rows


def _run_row(base, run, prompt, plan, eset, predictors, seed, max_frames, batch, log):
    """Scores of one (prompt mode, audio mode) of one dataset, averaged over ``predictors``
    (one per paraphrase); a file that fails while scoring leaves a row with a ``note``."""
    row = dict(base, prompt_mode=run[0], audio_mode=run[1], prompt=prompt)
    per = []
    try:
        for p, pred in enumerate(predictors):
            def on_sample(store, i, s, p=p):
                if log is not None:
                    log.add(store, eset.name, run, i, s, p)
            scores, n, nv = _score(plan, eset, pred, seed, max_frames, batch, on_sample)
            per.append(scores)
    except SampleError as e:
        return dict(row, n_frames=0, n_videos=0, **{m: math.nan for m in METRICS},
                    note=f"failed while scoring: {e}")
    row.update({m: float(np.mean([s[m] for s in per])) for m in METRICS}, n_frames=n, n_videos=nv)
    if run[0] == "paraphrase":
        row["CC_std"] = float(np.std([s["CC"] for s in per]))
    return row


# ----------------------------------------------------------------------------- reports

COLUMNS = ("dataset", "prompt_mode", "audio_mode", "protocol", "n_frames", "n_videos",
           "n_skipped") + METRICS + ("CC_std", "n_prompts", "prompt", "note")
MD_COLUMNS = ("dataset", "prompt_mode", "audio_mode", "n_frames", "n_skipped") + METRICS + (
    "CC_std", "note")
SAMPLE_COLUMNS = ("dataset", "prompt_mode", "audio_mode", "prompt_index", "index", "record",
                  "video", "frame_index") + METRICS


def fmt(v):
    """How a table cell shows a value (4 decimals for floats, blank for None)."""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return "" if v is None else str(v)


def _csv(rows, columns):
    s = io.StringIO()
    w = csv.DictWriter(s, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else r.get(k, "") for k in columns})
    return s.getvalue()


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def write_reports(rows, out, meta, samples=()):
    """``metrics.csv``, ``metrics.json``, ``metrics.md`` and ``per_sample.csv`` (atomic)."""
    write_text(os.path.join(out, "metrics.csv"), _csv(rows, COLUMNS))
    clean = [{k: _clean(v) for k, v in r.items()} for r in rows]
    write_text(os.path.join(out, "metrics.json"),
               json.dumps({"format": FORMAT, **meta, "rows": clean}, indent=1))
    lines = ["| " + " | ".join(MD_COLUMNS) + " |", "|" + "---|" * len(MD_COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(c)) for c in MD_COLUMNS) + " |")
    write_text(os.path.join(out, "metrics.md"), "\n".join(lines) + "\n")
    write_text(os.path.join(out, "per_sample.csv"), _csv(samples, SAMPLE_COLUMNS))


def _safe(name):
    return re.sub(r"[^\w.-]+", "_", name)


def write_extremes(plan, log, out):
    """Overlays of each dataset's best and worst samples (prediction | ground truth) under
    ``out/samples/``; returns their index entries for ``metrics.json``."""
    import cv2

    from .data.transforms import resize_map
    from .overlay import overlay
    entries = []
    for ds in sorted(log.extremes):
        for kind, items in log.ranked(ds).items():
            for rank, (cc, i, pred) in enumerate(items, 1):
                r = plan.records[i]
                frame = load_stimulus(r, plan.root)
                files = {}
                for what, sal in (("pred", pred), ("gt", plan.density(i))):
                    rel = f"samples/{_safe(ds)}/{kind}{rank}_{what}.jpg"
                    heat = overlay(frame, resize_map(sal, frame.shape[:2]))
                    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(heat, cv2.COLOR_RGB2BGR))
                    write_bytes(os.path.join(out, rel), buf.tobytes())
                    files[what] = rel
                entries.append({"dataset": ds, "kind": kind, "rank": rank, "index": i,
                                "record": r.stimulus, "frame_index": r.frame_index,
                                "CC": float(cc), **files})
    return entries


def write_outputs(out, plan, rows, log, meta, report=True):
    """Everything an evaluation writes to ``out``: the metric tables, ``per_sample.csv`` and,
    with ``report``, the best / worst overlays and ``report.html``."""
    os.makedirs(out, exist_ok=True)
    extremes = write_extremes(plan, log, out) if report else []
    meta = dict(meta, root=plan.root, tracked={k: list(v) for k, v in log.tracked.items()},
                skipped=plan.skipped, n_skipped=len(plan.skipped), extremes=extremes)
    write_reports(rows, out, meta, log.rows)
    print(f"eval: {len(rows)} row(s) → {os.path.join(out, 'metrics.md')}")
    if report:
        from .report import write_report
        print(f"report: {write_report(out)}")


def check_out(out):
    """Refuse an ``--out`` holding files of these names that this tool did not write, or one
    that cannot be written (before any inference runs)."""
    mine = False
    mj = os.path.join(out, "metrics.json")
    if os.path.isfile(mj):
        try:
            with open(mj, encoding="utf-8") as f:
                mine = json.load(f).get("format") == FORMAT
        except (OSError, ValueError, AttributeError):
            mine = False
    clash = [n for n in OUTPUTS if os.path.exists(os.path.join(out, n))]
    if clash and not mine:
        raise cli.UserError(f"--out {out}: holds {', '.join(clash)} not written by aam_ms.eval; "
                            "choose an empty or new folder")
    if os.path.exists(out) and not os.path.isdir(out):
        raise cli.UserError(f"--out {out}: exists and is not a folder")
    parent = out if os.path.isdir(out) else os.path.dirname(os.path.abspath(out))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise cli.UserError(f"--out {out}: {parent} is not writable")


def _modes(value, allowed, flag):
    modes = [m.strip() for m in value.split(",") if m.strip()]
    bad = [m for m in modes if m not in allowed]
    if bad or not modes:
        raise cli.UserError(f"{flag}: unknown {bad or value!r}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(modes))


def main(argv=None):
    from .inference import Engine, add_model_args, open_session
    ap = argparse.ArgumentParser(prog="python -m aam_ms.eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--root", help="dataset root (default: the manifest header's)")
    add_model_args(ap)
    ap.add_argument("--split", default="test", help="split(s), comma-separated, or 'all'")
    ap.add_argument("--datasets", help="comma-separated dataset keys (default: all)")
    ap.add_argument("--prompt-mode", default="correct",
                    help=f"comma-separated, from {', '.join(PROMPT_MODES)}")
    ap.add_argument("--audio-mode", default="correct",
                    help=f"comma-separated, from {', '.join(AUDIO_MODES)} (audio-visual datasets)")
    ap.add_argument("--prompt-file", help="YAML {key: prompt} to register")
    ap.add_argument("--baseline", choices=("centre",), help="also score the centre-bias baseline")
    ap.add_argument("--clip-len", type=int)
    ap.add_argument("--overlap", type=int)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--max-items", type=int, help="first N images / videos per dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-report", action="store_true", help="skip report.html and samples/")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    modes = _modes(a.prompt_mode, PROMPT_MODES, "--prompt-mode")
    audio_modes = _modes(a.audio_mode, AUDIO_MODES, "--audio-mode")
    for flag, v, lo in (("--batch", a.batch, 1), ("--clip-len", a.clip_len, 1),
                        ("--overlap", a.overlap, 0), ("--max-items", a.max_items, 1)):
        if v is not None and v < lo:
            raise cli.UserError(f"{flag} must be ≥ {lo}, got {v}")
    if not os.path.isfile(a.manifest):
        raise cli.UserError(f"--manifest {a.manifest}: no such file")
    with_model = bool(a.run or a.config)
    if not with_model and not a.baseline:
        raise cli.UserError("give --run / --config --checkpoint, or --baseline centre")
    check_out(a.out)
    try:
        from .data.manifest import read_manifest
        from .data.prompts import register_corpus_prompts
        header, records = read_manifest(a.manifest, a.root)
        register_corpus_prompts(a.manifest, a.prompt_file)
        session = open_session(a) if with_model else None
        sr = session.audio.sample_rate if session is not None and session.audio else 16000
        plan = plan_eval(records, header["root"], a.split,
                         a.datasets.split(",") if a.datasets else None, a.max_items, sr)
        keys = {plan.records[i].prompt_key: plan.records[i]
                for e in plan.sets.values() for g in e.groups for i in g}
        for r in keys.values() if session is not None else ():
            for m in modes:
                prompt_texts(r, m)                        # unknown prompt keys fail here
    except (ValueError, OSError) as e:
        raise cli.UserError(str(e)) from None
    kw = dict(clip_len=a.clip_len, overlap=a.overlap, batch=a.batch, seed=a.seed)
    if session is not None:
        try:
            from .inference import check_window
            clip_len = a.clip_len or int(session.cfg["input"]["clip_len"])
            check_window(clip_len, clip_len // 2 if a.overlap is None else a.overlap)
        except ValueError as e:
            raise cli.UserError(str(e)) from None
    engine = Engine(session) if session is not None else None
    log = SampleLog()
    rows = []
    runs = modes if session is not None else []
    for mode in runs + (["centre_baseline"] if a.baseline else []):
        for r in evaluate(engine if mode != "centre_baseline" else None, plan, mode, audio_modes,
                          log=log, **kw):
            rows.append(r)
            print(f"{r['dataset']:>20s} {r['prompt_mode']:>15s} {r['audio_mode']:>8s} "
                  + " ".join(f"{m}={fmt(r[m])}" for m in METRICS))
    meta = {"manifest": os.path.abspath(a.manifest), "split": a.split,
            "checkpoint": getattr(session, "checkpoint", None), "prompt_modes": modes,
            "audio_modes": audio_modes}
    write_outputs(a.out, plan, rows, log, meta, report=not a.no_report)
    failed = [r for r in rows if (r.get("note") or "").startswith("failed")]
    if plan.skipped:
        print(f"skipped {len(plan.skipped)} record(s) (listed in metrics.json and report.html):",
              file=sys.stderr)
        for s in plan.skipped[:20]:
            print(f"  {s['dataset']}: {s['path']}: {s['reason']}", file=sys.stderr)
        if len(plan.skipped) > 20:
            print(f"  ... and {len(plan.skipped) - 20} more", file=sys.stderr)
    for r in failed:
        print(f"  {r['dataset']} ({r['prompt_mode']}): {r['note']}", file=sys.stderr)
    return 1 if plan.skipped or failed else 0


def cli_main():
    """Console script ``aam-eval`` (pyproject.toml): exit codes from :func:`aam_ms.cli.run`."""
    from .cli import run
    sys.exit(run(main))


if __name__ == "__main__":
    sys.exit(cli.run(main))
