"""Benchmark evaluation of AAM (or the centre-bias baseline) on a manifest, per dataset.

``python -m aam_ms.eval --manifest M.jsonl [--run RUN | --config C --checkpoint K]
[--split test] [--datasets a,b] [--prompt-mode correct,generic,...] [--baseline centre] --out DIR``

Metrics: AUC-J, sAUC, NSS, CC, SIM, KLD (MIT forms, :mod:`aam_ms.metrics`), the prediction at
the model size resized to the ground-truth size (MATLAB bicubic) inside each metric. Protocol by
modality (:mod:`aam_ms.metrics.protocols`): ``image`` per image, sAUC other-map from 10 other
images; ``video`` (DHF1K / ACL) per frame → per video → over videos; ``audio_visual`` (STAViS)
blur σ = 2 before resizing, per video → over videos → over splits (the records' ``split``).
Video is predicted frame-wise in windows of ``input.clip_len`` frames
(:func:`aam_ms.predict.stream_video`) over the frames the manifest lists, in frame order.

Prompt modes: ``correct`` (the record's prompt), ``generic`` (``GENERIC``), ``wrong`` (the
prompt of a dataset of another task, fixed table :data:`WRONG_KEY`), ``paraphrase`` (every
paraphrase; metrics are means over paraphrases, plus ``CC_std``), ``G1``..``G4`` (granularity).
``--baseline centre``: a centred Gaussian (:func:`centre_bias_map`) scored the same way.

Writes ``DIR/metrics.{csv,json,md}``: one row per dataset and prompt mode.
"""
import argparse
import csv
import io
import json
import math
import os
import sys

import numpy as np

from .data.io import SampleError, load_audio, load_fixations, load_map, load_stimulus
from .metrics.protocols import (DHF1K_MAX_FRAMES, IMAGE_METRICS, image_protocol,
                                stavis_protocol, video_protocol)

METRICS = IMAGE_METRICS                    # AUC_J, sAUC, NSS, CC, SIM, KLD
PROMPT_MODES = ("correct", "generic", "wrong", "paraphrase", "G1", "G2", "G3", "G4")
CENTRE_SIGMA = 0.25                        # σ of the centre baseline, fraction of (H, W)
PROTOCOLS = {"image": "image", "video": "dhf1k", "audio_visual": "stavis"}

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
            return self.store.density(self.i)
        if k == 2:
            return self.store.fixation(self.i)
        raise IndexError(k)


class _Store:
    """Ground truth (fixations kept as point lists) and predictions of a dataset's records.

    ``predict(indices) -> {index: map}`` fills the prediction cache for a group of records
    (a batch of images or a whole video); only the last group is kept in memory."""

    def __init__(self, records, root, predict, group_of):
        self.records, self.root = records, root
        self._predict, self._group_of = predict, group_of
        self._preds, self._fix = {}, {}

    def pred(self, i):
        if i not in self._preds:
            self._preds = self._predict(self._group_of(i))
        return self._preds[i]

    def density(self, i):
        r = self.records[i]
        return load_map(r.resolve(self.root, "density"), r.extra.get("density_var"))

    def fixation(self, i):
        if i not in self._fix:
            r = self.records[i]
            size = None
            if r.density is not None:
                size = self.density(i).shape
            fix = load_fixations(r, self.root, size)
            self._fix[i] = (np.argwhere(fix > 0).astype(np.int32), fix.shape)
        pts, shape = self._fix[i]
        m = np.zeros(shape, np.uint8)
        m[pts[:, 0], pts[:, 1]] = 1
        return m


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
    """Model maps at the model size for a prompt chosen per record by ``prompt_of``."""

    def __init__(self, session, prompt_of, clip_len, overlap, batch):
        self.session, self.prompt_of = session, prompt_of
        self.clip_len, self.overlap, self.batch = clip_len, overlap, batch
        self._emb = {}

    def _text(self, text):
        if text not in self._emb:
            from .predict import embed_prompt
            self._emb[text] = embed_prompt(self.session, text)
        return self._emb[text]

    def images(self, records, root, idx):
        from .predict import predict_images
        by_text = {}
        for i in idx:
            by_text.setdefault(self.prompt_of(records[i]), []).append(i)
        out = {}
        for text, g in by_text.items():
            ims = [load_stimulus(records[i], root) for i in g]
            out.update(zip(g, predict_images(self.session, self._text(text), ims, self.batch)))
        return out

    def video(self, records, root, idx):
        from .predict import stream_video
        recs = [records[i] for i in idx]
        frames = (load_stimulus(r, root) for r in recs)
        window = None
        if all(r.audio is not None and r.audio_window for r in recs):
            sr = self.session.audio.sample_rate
            window = lambda k: load_audio(recs[k].resolve(root, "audio"),  # noqa: E731
                                          recs[k].audio_window[0], recs[k].audio_window[1], sr)
        t = min(self.clip_len, len(recs))
        text = self._text(self.prompt_of(recs[0]))
        return {idx[k]: sal for k, _, sal in
                stream_video(self.session, text, frames, t, min(self.overlap, t - 1), window)}


class _CentrePredictor:
    """The centre-bias baseline at the model size (or the stimulus size without a model)."""

    def __init__(self, size):
        self.map = centre_bias_map(*size)

    def images(self, records, root, idx):
        return {i: self.map for i in idx}

    video = images


# ----------------------------------------------------------------------------- evaluation

def _select(records, split=None, datasets=None):
    splits = None if split in (None, "all") else set(split.split(","))
    names = None if not datasets else set(datasets)
    out = [r for r in records if (splits is None or r.split in splits)
           and (names is None or r.dataset in names)]
    if names:
        missing = names - {r.dataset for r in out}
        if missing:
            raise ValueError(f"--datasets: no records of {sorted(missing)} in split {split!r}")
    if not out:
        raise ValueError(f"no records left after selecting split={split!r}, datasets={datasets}")
    return out


def _videos(recs):
    """Record indices grouped by video id, each sorted by frame index (manifest order kept)."""
    groups = {}
    for i, r in enumerate(recs):
        if r.video is None:
            raise ValueError(f"{r.dataset}: video record {r.stimulus} has no 'video' id")
        groups.setdefault(r.video, []).append(i)
    return [sorted(g, key=lambda i: (recs[i].frame_index or 0)) for g in groups.values()]


def _score(recs, root, predictor, seed, max_frames, max_items, batch):
    """Protocol scores of one dataset's records (all of one modality)."""
    modality = recs[0].modality
    if modality == "image":
        idx = list(range(len(recs)))[:max_items]
        store = _Store(recs, root, lambda g: predictor.images(recs, root, g),
                       lambda i: idx[i // batch * batch:(i // batch + 1) * batch])
        return image_protocol(_Seq(store, idx), METRICS, seed=seed), len(idx), 0
    vids = _videos(recs)[:max_items]
    owner = {i: v for v in vids for i in v}
    store = _Store(recs, root, lambda g: predictor.video(recs, root, g), lambda i: owner[i])
    if modality == "video":
        seqs = [_Seq(store, v) for v in vids]
        return video_protocol(seqs, METRICS, max_frames, seed=seed), sum(map(len, vids)), len(vids)
    by_split = {}
    for v in vids:
        by_split.setdefault(recs[v[0]].split, []).append(_Seq(store, v))
    splits = [by_split[k] for k in sorted(by_split)]
    return stavis_protocol(splits, METRICS, seed=seed), sum(map(len, vids)), len(vids)


def evaluate(session, records, root, prompt_mode="correct", *, split=None, datasets=None,
             clip_len=None, overlap=None, batch=1, max_items=None, seed=0,
             max_frames=DHF1K_MAX_FRAMES):
    """Scores per dataset: ``{dataset: row}``, row = metrics + ``dataset, modality, protocol,
    prompt_mode, prompt, n_frames, n_videos[, CC_std, n_prompts, note]``.

    ``session`` None evaluates the centre-bias baseline. ``max_items`` keeps the first N images
    / videos of each dataset (fast validation during training)."""
    recs = _select(records, split, datasets)
    if session is not None:
        clip_len = clip_len or int(session.cfg["input"]["clip_len"])
        overlap = clip_len // 2 if overlap is None else overlap
    by_ds = {}
    for r in recs:
        by_ds.setdefault(r.dataset, []).append(r)
    out = {}
    for ds, rs in by_ds.items():
        modalities = {r.modality for r in rs}
        if len(modalities) != 1:
            raise ValueError(f"dataset {ds}: mixed modalities {sorted(modalities)}")
        missing = [r.stimulus for r in rs if r.density is None or
                   (r.fixation is None and r.fixation_points is None)]
        if missing:
            raise ValueError(f"dataset {ds}: {len(missing)} record(s) without density or "
                             f"fixations, e.g. {missing[0]} (a test split without ground truth?)")
        row = {"dataset": ds, "modality": rs[0].modality, "protocol": PROTOCOLS[rs[0].modality]}
        if session is None:
            row.update(prompt_mode="centre_baseline", prompt="")
            scores, n, nv = _score(rs, root, _CentrePredictor(_baseline_size(rs, root)), seed,
                                   max_frames, max_items, batch)
            row.update(scores, n_frames=n, n_videos=nv)
            out[ds] = row
            continue
        texts = {id(r): prompt_texts(r, prompt_mode) for r in rs}
        counts = {len(t) for t in texts.values()}
        row.update(prompt_mode=prompt_mode, prompt=texts[id(rs[0])][0] if texts[id(rs[0])] else "")
        if counts == {0}:
            row.update({m: math.nan for m in METRICS}, n_frames=0, n_videos=0,
                       note=f"no {prompt_mode} prompts for {rs[0].prompt_key!r}")
            out[ds] = row
            continue
        per_prompt = []
        for p in range(min(counts)):
            pred = _ModelPredictor(session, lambda r, p=p: texts[id(r)][p], clip_len, overlap,
                                   batch)
            scores, n, nv = _score(rs, root, pred, seed, max_frames, max_items, batch)
            per_prompt.append(scores)
        row.update({m: float(np.mean([s[m] for s in per_prompt])) for m in METRICS},
                   n_frames=n, n_videos=nv)
        if prompt_mode == "paraphrase":
            row.update(CC_std=float(np.std([s["CC"] for s in per_prompt])),
                       n_prompts=len(per_prompt))
        out[ds] = row
    return out


def _baseline_size(recs, root):
    """Model-free runs score the baseline at the first stimulus' size."""
    return load_stimulus(recs[0], root).shape[:2]


# ----------------------------------------------------------------------------- reports

COLUMNS = ("dataset", "prompt_mode", "protocol", "n_frames", "n_videos") + METRICS + (
    "CC_std", "n_prompts", "prompt", "note")


def _fmt(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return "" if v is None else str(v)


def write_reports(rows, out, meta):
    """``metrics.csv``, ``metrics.json`` and ``metrics.md`` in ``out`` (atomic writes)."""
    from .predict import _atomic_bytes
    s = io.StringIO()
    w = csv.DictWriter(s, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in COLUMNS})
    _atomic_bytes(os.path.join(out, "metrics.csv"), s.getvalue().encode())
    clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
             for r in rows]
    _atomic_bytes(os.path.join(out, "metrics.json"),
                  json.dumps({**meta, "rows": clean}, indent=1).encode())
    cols = ("dataset", "prompt_mode", "n_frames") + METRICS + ("CC_std", "note")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |")
    _atomic_bytes(os.path.join(out, "metrics.md"), ("\n".join(lines) + "\n").encode())


def main(argv=None):
    from .predict import add_model_args, open_session
    ap = argparse.ArgumentParser(prog="python -m aam_ms.eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--root", help="dataset root (default: the manifest header's)")
    add_model_args(ap)
    ap.add_argument("--split", default="test", help="split(s), comma-separated, or 'all'")
    ap.add_argument("--datasets", help="comma-separated dataset keys (default: all)")
    ap.add_argument("--prompt-mode", default="correct",
                    help=f"comma-separated, from {', '.join(PROMPT_MODES)}")
    ap.add_argument("--prompt-file", help="YAML {key: prompt} to register")
    ap.add_argument("--baseline", choices=("centre",), help="also score the centre-bias baseline")
    ap.add_argument("--clip-len", type=int)
    ap.add_argument("--overlap", type=int)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--max-items", type=int, help="first N images / videos per dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        modes = [m.strip() for m in a.prompt_mode.split(",") if m.strip()]
        bad = [m for m in modes if m not in PROMPT_MODES]
        if bad:
            raise ValueError(f"--prompt-mode: unknown {bad}; choose from {', '.join(PROMPT_MODES)}")
        if not os.path.isfile(a.manifest):
            raise FileNotFoundError(f"--manifest {a.manifest}: no such file")
        from .data.manifest import read_manifest
        from .data.prompts import register_corpus_prompts
        header, records = read_manifest(a.manifest, a.root)
        register_corpus_prompts(a.manifest, a.prompt_file)
        datasets = a.datasets.split(",") if a.datasets else None
        with_model = bool(a.run or a.config)
        if not with_model and not a.baseline:
            raise ValueError("give --run / --config --checkpoint, or --baseline centre")
        session = open_session(a) if with_model else None
        os.makedirs(a.out, exist_ok=True)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    kw = dict(split=a.split, datasets=datasets, clip_len=a.clip_len, overlap=a.overlap,
              batch=a.batch, max_items=a.max_items, seed=a.seed)
    rows, failures = [], []
    runs = [(session, m) for m in modes] if session is not None else []
    if a.baseline:
        runs.append((None, "centre_baseline"))
    for sess, mode in runs:
        try:
            res = evaluate(sess, records, header["root"], mode if sess else "correct", **kw)
        except (ValueError, SampleError) as e:
            failures.append(f"{mode}: {e}")
            print(f"error ({mode}): {e}", file=sys.stderr)
            continue
        rows += list(res.values())
        for r in res.values():
            print(f"{r['dataset']:>20s} {r['prompt_mode']:>15s} "
                  + " ".join(f"{m}={_fmt(r[m])}" for m in METRICS))
    meta = {"manifest": a.manifest, "split": a.split, "checkpoint": getattr(session, "checkpoint", None),
            "failures": failures}
    write_reports(rows, a.out, meta)
    print(f"eval: {len(rows)} row(s) → {os.path.join(a.out, 'metrics.md')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
