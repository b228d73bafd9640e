"""Per-map saliency metrics of the MIT benchmark (cvzoya/saliency ``code_forMetrics``), numpy.

Conventions shared by every metric (as in the MATLAB code):

* ``sal`` is the predicted map; it is resized to the ground-truth size with MATLAB
  ``imresize`` (bicubic + antialiasing, :mod:`.resize`) when the sizes differ.
* ``fix`` is a fixation map (fixated where > 0); ``density`` a continuous fixation density.
* Empty fixation maps give NaN with a :class:`RuntimeWarning` (MATLAB prints and returns NaN).
* Degenerate predictions: a constant map (e.g. all zeros) has no z-score and no min-max
  range, so NSS, CC, SIM, IG, AUC-Borji and sAUC give NaN with a warning; AUC-Judd jitters
  first (so a constant map scores ≈ 0.5) and only gives NaN with ``jitter=False``; KLD of an
  all-zero prediction is the finite MATLAB value Σ g·log(eps + g/eps) (no normalisation).
* Bicubic resizing overshoots: a float prediction can come back with small negative values.
  KLD and SIM without min-max need a non-negative map, so they clip the resized prediction
  at 0 (MATLAB would return a complex KLD there; uint8 maps saturate at 0 in MATLAB too).
* Randomised metrics take ``rng`` (a ``numpy.random.Generator``) or ``seed`` (default 0);
  ``rng`` wins when both are given.

These are *evaluation* metrics; the training objectives live in ``aam_ms.losses``.
"""
import math
import warnings

import numpy as np

from .resize import imresize

MATLAB_EPS = float(np.finfo(np.float64).eps)   # 2.2204e-16, MATLAB ``eps``
LEDOV_KLD_EPS = 1e-7                           # eps of LEDOV's KLD code
JITTER_SCALE = 1e-7                            # AUC-Judd: rand(size)/10000000


def _map(x, name):
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map, got shape {a.shape}")
    if a.dtype == np.uint8:              # im2double
        a = a / 255.0
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or Inf values")
    return a


def _resized(sal, shape):
    """MIT preprocessing: the prediction at the ground-truth size (float64)."""
    s = np.asarray(sal)
    if s.ndim != 2:
        raise ValueError(f"sal must be a 2-D map, got shape {s.shape}")
    if s.shape != tuple(shape):
        s = imresize(s, shape)
    return _map(s, "sal")


def _same_shape(a, b, name_a, name_b):
    if a.shape != b.shape:
        raise ValueError(f"{name_a} shape {a.shape} does not match {name_b} shape {b.shape}")


def _rng(rng, seed):
    return rng if rng is not None else np.random.default_rng(seed)


def _nan(metric, why):
    warnings.warn(f"{metric}: {why}; returning NaN", RuntimeWarning, stacklevel=3)
    return math.nan


def _minmax(s):
    lo, hi = s.min(), s.max()
    return None if hi == lo else (s - lo) / (hi - lo)


def matlab_colon(start, step, stop):
    """MATLAB ``start:step:stop`` for step > 0 (built from both ends, as MATLAB does)."""
    tol = 2.0 * MATLAB_EPS * max(abs(start), abs(stop))
    n = round((stop - start) / step)
    if start + n * step - stop > tol:
        n -= 1
    if n < 0:
        return np.zeros(0)
    last = start + n * step
    if last - stop > -tol:
        last = stop
    out = np.empty(n + 1)
    k = np.arange(n // 2 + 1)
    out[k] = start + k * step
    out[n - k] = last - k * step
    if n % 2 == 0:
        out[n // 2] = (start + last) / 2.0
    return out


def _threshold_auc(pos, neg, step):
    """AUC of thresholds ``fliplr(0:step:max([pos; neg]))`` (Borji / shuffled AUC)."""
    th = matlab_colon(0.0, step, float(max(pos.max(), neg.max())))[::-1]
    tp = np.concatenate([[0.0], (pos[None, :] >= th[:, None]).mean(1), [1.0]])
    fp = np.concatenate([[0.0], (neg[None, :] >= th[:, None]).mean(1), [1.0]])
    return float(np.trapz(tp, fp))


def auc_judd(sal, fix, jitter=True, rng=None, seed=0):
    """AUC-Judd: each fixated value t_i is a threshold; tp = i/N_f, fp = (#S≥t_i − i)/(N − N_f)."""
    f = _map(fix, "fix") > 0
    if not f.any():
        return _nan("AUC_Judd", "fixation map is empty")
    s = _resized(sal, f.shape)
    if jitter:
        s = s + _rng(rng, seed).random(s.shape) * JITTER_SCALE
    s = _minmax(s)
    if s is None:
        return _nan("AUC_Judd", "saliency map is constant")
    values, fixated = s.ravel(), s[f]
    n_pix, n_fix = values.size, fixated.size
    th = np.sort(fixated)[::-1]
    above = n_pix - np.searchsorted(np.sort(values), th, side="left")
    i = np.arange(1, n_fix + 1)
    tp = np.concatenate([[0.0], i / n_fix, [1.0]])
    fp = np.concatenate([[0.0], (above - i) / (n_pix - n_fix), [1.0]])
    return float(np.trapz(tp, fp))


def auc_borji(sal, fix, splits=100, step=0.1, rng=None, seed=0):
    """AUC-Borji: per split, negatives = saliency at N_f uniform random pixels (with repeats)."""
    f = _map(fix, "fix") > 0
    if not f.any():
        return _nan("AUC_Borji", "fixation map is empty")
    s = _minmax(_resized(sal, f.shape))
    if s is None:
        return _nan("AUC_Borji", "saliency map is constant")
    values, fixated = s.ravel(), s[f]
    draws = _rng(rng, seed).integers(0, values.size, size=(fixated.size, splits))
    aucs = [_threshold_auc(fixated, values[draws[:, k]], step) for k in range(splits)]
    return float(np.mean(aucs))


def auc_shuffled(sal, fix, other, splits=100, step=0.1, rng=None, seed=0):
    """Shuffled AUC: negatives = saliency at min(N_f, N_o) distinct random fixations of ``other``."""
    f = _map(fix, "fix") > 0
    o = _map(other, "other") > 0
    _same_shape(o, f, "other", "fix")
    if not f.any():
        return _nan("sAUC", "fixation map is empty")
    if not o.any():
        return _nan("sAUC", "other map is empty")
    s = _minmax(_resized(sal, f.shape))
    if s is None:
        return _nan("sAUC", "saliency map is constant")
    fixated = s[f]
    other_vals = s.ravel()[np.flatnonzero(o.ravel())]
    n_neg = min(fixated.size, other_vals.size)
    g = _rng(rng, seed)
    aucs = [_threshold_auc(fixated, other_vals[g.permutation(other_vals.size)[:n_neg]], step)
            for _ in range(splits)]
    return float(np.mean(aucs))


def nss(sal, fix, ddof=1):
    """NSS = mean over fixated pixels of (s − mean s) / std s; MATLAB ``std`` has ddof = 1."""
    f = _map(fix, "fix") > 0
    if not f.any():
        return _nan("NSS", "fixation map is empty")
    s = _resized(sal, f.shape)
    sd = s.std(ddof=ddof)
    if sd == 0:
        return _nan("NSS", "saliency map is constant")
    return float(((s - s.mean()) / sd)[f].mean())


def cc(sal, density):
    """CC = Pearson correlation of the prediction and the density map."""
    d = _map(density, "density")
    s = _resized(sal, d.shape)
    s, d = s - s.mean(), d - d.mean()
    den = math.sqrt(float((s * s).sum()) * float((d * d).sum()))
    if den == 0:
        return _nan("CC", "a map is constant")
    return float((s * d).sum() / den)


def sim(sal, density, minmax=True):
    """SIM = Σ min(p, q), each map min-max normalised (if ``minmax``), then sum-normalised."""
    d = _map(density, "density")
    s = _resized(sal, d.shape)
    if minmax:
        s, d = _minmax(s), _minmax(d)
        if s is None or d is None:
            return _nan("SIM", "a map is constant")
    else:
        s = np.maximum(s, 0.0)
    if s.sum() <= 0 or d.sum() <= 0:
        return _nan("SIM", "a map sums to zero")
    return float(np.minimum(s / s.sum(), d / d.sum()).sum())


def kld(sal, density, eps=MATLAB_EPS):
    """KLD = Σ q·log(eps + q / (p + eps)), p, q the sum-normalised prediction and density.

    ``eps`` = MATLAB eps (MIT); pass :data:`LEDOV_KLD_EPS` for LEDOV's 1e-7 variant.
    An all-zero map is left unnormalised (MATLAB ``if any(map(:))``).
    """
    q = _map(density, "density")
    p = np.maximum(_resized(sal, q.shape), 0.0)
    if p.any():
        p = p / p.sum()
    if q.any():
        q = q / q.sum()
    return float((q * np.log(eps + q / (p + eps))).sum())


def info_gain(sal, fix, baseline, eps=MATLAB_EPS):
    """IG = mean over fixated pixels of log2(eps + p) − log2(eps + b), bits per fixation.

    p and b are the prediction and the baseline map (e.g. a centre bias), each resized to the
    fixation-map size, min-max normalised and sum-normalised.
    """
    f = _map(fix, "fix") > 0
    if not f.any():
        return _nan("IG", "fixation map is empty")
    p = _minmax(_resized(sal, f.shape))
    b = np.asarray(baseline)
    if b.ndim != 2:
        raise ValueError(f"baseline must be a 2-D map, got shape {b.shape}")
    b = _minmax(_map(imresize(b, f.shape) if b.shape != f.shape else b, "baseline"))
    if p is None or b is None:
        return _nan("IG", "saliency or baseline map is constant")
    p, b = p / p.sum(), b / b.sum()
    return float((np.log2(eps + p[f]) - np.log2(eps + b[f])).mean())
