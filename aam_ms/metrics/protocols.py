"""Evaluation protocols: how per-map metrics are aggregated over a dataset.

* :func:`evaluate_samples` — mean of every metric over an iterable of samples.
* :func:`image_protocol` — per image; sAUC negatives from fixations of random other images.
* :func:`video_protocol` — DHF1K / ACL: per frame, mean per video, then mean over videos;
  at most ``max_frames`` frames in all (deterministic even subsampling); sAUC negatives from
  the fixations of ``n_other`` random frames of *other* videos.
* :func:`stavis_protocol` — STAViS audio-visual: prediction blurred (Gaussian σ = 2) before
  resizing, per video, then over videos, then over splits (folds).

A sample / frame is a tuple ``(pred, density, fix)`` of 2-D arrays. Datasets are sequences
(``len`` + indexing) so that other-map frames can be fetched lazily. ``on_sample(key,
scores)``, when given, receives each sample's scores right after they are computed (``key`` =
image index, ``(video, frame)``, or ``(split, video, frame)`` for STAViS), e.g. for a
per-sample table. Every random draw comes from one ``numpy.random.Generator`` seeded by
``seed``, in a fixed order, so a run is reproducible. Metric means skip NaN scores (e.g. frames without fixations).
"""
import math

import numpy as np
from scipy.ndimage import gaussian_filter

from . import mit

# name -> (function, ground truth it needs)
METRICS = {
    "AUC_J": (mit.auc_judd, "fix"),
    "AUC_B": (mit.auc_borji, "fix"),
    "sAUC": (mit.auc_shuffled, "fix"),
    "NSS": (mit.nss, "fix"),
    "CC": (mit.cc, "density"),
    "SIM": (mit.sim, "density"),
    "KLD": (mit.kld, "density"),
    "IG": (mit.info_gain, "fix"),
}
RANDOM_METRICS = ("AUC_J", "AUC_B", "sAUC")
DHF1K_METRICS = ("AUC_J", "SIM", "sAUC", "CC", "NSS")
STAVIS_METRICS = ("CC", "NSS", "AUC_J", "sAUC")
IMAGE_METRICS = ("AUC_J", "sAUC", "NSS", "CC", "SIM", "KLD")
DHF1K_MAX_FRAMES = 50_000
STAVIS_BLUR_SIGMA = 2.0
N_OTHER = 10


def _check_metrics(metrics, baseline):
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {sorted(METRICS)}")
    if "IG" in metrics and baseline is None:
        raise ValueError("metric 'IG' needs a baseline map (argument baseline)")


def blur(pred, sigma=STAVIS_BLUR_SIGMA):
    """Gaussian blur like MATLAB ``imgaussfilt(pred, sigma)``: radius ⌈2σ⌉, replicated borders."""
    radius = math.ceil(2.0 * sigma)
    return gaussian_filter(np.asarray(pred, np.float64), sigma, mode="nearest",
                           truncate=radius / sigma)


def other_map(fixations, shape):
    """Union of fixation maps, each point rescaled to ``shape`` = (rows, cols)."""
    out = np.zeros(shape, dtype=np.float64)
    for fx in fixations:
        fx = np.asarray(fx)
        r, c = np.nonzero(fx > 0)
        rr = np.minimum(((r + 0.5) * shape[0] / fx.shape[0]).astype(np.int64), shape[0] - 1)
        cc = np.minimum(((c + 0.5) * shape[1] / fx.shape[1]).astype(np.int64), shape[1] - 1)
        out[rr, cc] = 1.0
    return out


def score_sample(pred, density, fix, metrics, rng, other=None, baseline=None, blur_sigma=None):
    """Scores of one sample, ``{metric: value}``; randomised metrics draw from ``rng`` in order."""
    if blur_sigma:
        pred = blur(pred, blur_sigma)
    gts = {"fix": fix, "density": density}
    out = {}
    for name in metrics:
        fn, needs = METRICS[name]
        gt = gts[needs]
        if name == "sAUC":
            if other is None:
                raise ValueError("metric 'sAUC' needs an other-map (4th sample element)")
            out[name] = fn(pred, gt, other, rng=rng)
        elif name == "IG":
            out[name] = fn(pred, gt, baseline)
        elif name in RANDOM_METRICS:
            out[name] = fn(pred, gt, rng=rng)
        else:
            out[name] = fn(pred, gt)
    return out


def _mean(rows, metrics):
    return {m: float(np.nanmean([r[m] for r in rows])) if rows else math.nan for m in metrics}


def evaluate_samples(samples, metrics=IMAGE_METRICS, seed=0, baseline=None, blur_sigma=None):
    """Mean of each metric over ``samples``: tuples (pred, density, fix[, other])."""
    _check_metrics(metrics, baseline)
    rng = np.random.default_rng(seed)
    rows = []
    for i, sample in enumerate(samples):
        if len(sample) not in (3, 4):
            raise ValueError(f"sample {i}: expected (pred, density, fix[, other]), "
                             f"got {len(sample)} elements")
        pred, density, fix = sample[:3]
        other = sample[3] if len(sample) == 4 else None
        rows.append(score_sample(pred, density, fix, metrics, rng, other, baseline, blur_sigma))
    return _mean(rows, metrics)


def image_protocol(images, metrics=IMAGE_METRICS, n_other=N_OTHER, seed=0, baseline=None,
                   on_sample=None):
    """Per-image mean; sAUC other-map = fixations of ``n_other`` random other images."""
    _check_metrics(metrics, baseline)
    rng = np.random.default_rng(seed)
    n = len(images)
    rows = []
    for i in range(n):
        pred, density, fix = images[i]
        other = None
        if "sAUC" in metrics:
            pool = np.delete(np.arange(n), i)
            picks = rng.choice(pool, size=min(n_other, pool.size), replace=False)
            other = other_map([images[j][2] for j in picks], np.asarray(fix).shape)
        rows.append(score_sample(pred, density, fix, metrics, rng, other, baseline))
        if on_sample is not None:
            on_sample(i, rows[-1])
    return _mean(rows, metrics)


def subsample_frames(lengths, max_frames):
    """Selected (video, frame) pairs: all frames, or global indices ⌊k·N/max_frames⌋ if N > max."""
    starts = np.concatenate([[0], np.cumsum(lengths)])
    total = int(starts[-1])
    if max_frames is None or total <= max_frames:
        glob = np.arange(total)
    else:
        glob = (np.arange(max_frames) * total) // max_frames
    video = np.searchsorted(starts, glob, side="right") - 1
    return list(zip(video.tolist(), (glob - starts[video]).tolist()))


def other_frames(lengths, video, frame, n_other, rng):
    """``n_other`` distinct random (video, frame) pairs from videos other than ``video``.

    With a single video the pool is that video's frames other than ``frame``.
    """
    pool = [(v, t) for v, n in enumerate(lengths) if v != video for t in range(n)]
    if not pool:
        pool = [(video, t) for t in range(lengths[video]) if t != frame]
    picks = rng.choice(len(pool), size=min(n_other, len(pool)), replace=False)
    return [pool[k] for k in picks]


def per_video_scores(videos, metrics=DHF1K_METRICS, max_frames=DHF1K_MAX_FRAMES,
                     n_other=N_OTHER, seed=0, baseline=None, blur_sigma=None, on_sample=None):
    """Per-video metric means over the selected frames: list of ``{metric: mean, 'frames': n}``.

    Videos without a selected frame are left out.
    """
    _check_metrics(metrics, baseline)
    rng = np.random.default_rng(seed)
    lengths = [len(v) for v in videos]
    per_video = {}
    for v, t in subsample_frames(lengths, max_frames):
        pred, density, fix = videos[v][t]
        other = None
        if "sAUC" in metrics:
            picks = other_frames(lengths, v, t, n_other, rng)
            other = other_map([videos[pv][pt][2] for pv, pt in picks], np.asarray(fix).shape)
        row = score_sample(pred, density, fix, metrics, rng, other, baseline, blur_sigma)
        per_video.setdefault(v, []).append(row)
        if on_sample is not None:
            on_sample((v, t), row)
    return [dict(_mean(rows, metrics), frames=len(rows)) for _, rows in sorted(per_video.items())]


def video_protocol(videos, metrics=DHF1K_METRICS, max_frames=DHF1K_MAX_FRAMES,
                   n_other=N_OTHER, seed=0, baseline=None, blur_sigma=None, on_sample=None):
    """DHF1K / ACL protocol: per frame → mean per video → mean over videos."""
    rows = per_video_scores(videos, metrics, max_frames, n_other, seed, baseline, blur_sigma,
                            on_sample)
    return _mean(rows, metrics)


def stavis_protocol(splits, metrics=STAVIS_METRICS, n_other=N_OTHER, seed=0,
                    blur_sigma=STAVIS_BLUR_SIGMA, on_sample=None):
    """STAViS protocol: blur σ = 2 before resizing, per video → over videos → over splits.

    ``splits`` is a sequence of video collections (one per split / fold); every frame counts.
    Split ``k`` is evaluated with seed ``seed + k``.
    """
    if len(splits) == 0:
        raise ValueError("stavis_protocol: splits is empty")

    def tagged(k):
        return None if on_sample is None else (lambda key, row: on_sample((k,) + key, row))

    rows = [video_protocol(videos, metrics, None, n_other, seed + k, blur_sigma=blur_sigma,
                           on_sample=tagged(k)) for k, videos in enumerate(splits)]
    return _mean(rows, metrics)
