"""MIT-benchmark metrics and MATLAB imresize: golden vectors, hand-computed cases, edge cases."""
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from aam_ms.metrics import (
    LEDOV_KLD_EPS, auc_borji, auc_judd, auc_shuffled, cc, imresize, info_gain, kld, nss, sim,
)
from aam_ms.metrics.mit import matlab_colon
from aam_ms.metrics.resize import cubic, resize_weights

GOLDEN = Path(os.environ.get("AAM_GOLDEN_METRICS", Path(__file__).resolve().parents[2]
                             / "shared" / "golden" / "metrics_vectors.json"))


def _uniform_exact_auc(s, f):
    """pysaliency's exact ROC AUC: fixated values vs *all* pixel values, ties count ½."""
    pos, neg = s[f > 0][:, None], s.ravel()[None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


# Every golden key -> the definition it is (product metric + parameters, or a test-local
# cross-check definition when it is not a product metric).
VARIANTS = {
    "KLD_mit_eps2_22e16": lambda s, g, f, o: kld(s, g),                 # MIT KLdiv.m, eps = MATLAB eps
    "KLD_eps1e7": lambda s, g, f, o: kld(s, g, eps=LEDOV_KLD_EPS),      # LEDOV eps 1e-7
    "pysaliency_MIT_KLDiv": lambda s, g, f, o: kld(s, g),               # same definition as MIT
    "CC": lambda s, g, f, o: cc(s, g),                                  # MIT CC.m
    "pysaliency_CC": lambda s, g, f, o: cc(s, g),                       # Pearson, same definition
    "SIM_mit": lambda s, g, f, o: sim(s, g),                            # MIT similarity.m (min-max)
    "pysaliency_SIM": lambda s, g, f, o: sim(s, g, minmax=False),       # sum-normalised only
    "NSS_matlab_ddof1": lambda s, g, f, o: nss(s, f),                   # MIT NSS.m, std N-1
    "NSS_ddof0": lambda s, g, f, o: nss(s, f, ddof=0),                  # population std
    "pysaliency_NSS_mean": lambda s, g, f, o: nss(s, f, ddof=0),        # = NSS_ddof0
    "AUC_Judd_mit_nojitter": lambda s, g, f, o: auc_judd(s, f, jitter=False),
    "pysaliency_AUC_uniform_exact": lambda s, g, f, o: _uniform_exact_auc(s, f),  # not a product metric
    "sAUC_mit_deterministic": lambda s, g, f, o: auc_shuffled(s, f, o),  # MIT AUC_shuffled.m, step 0.1
}


def _golden_cases():
    if not GOLDEN.is_file():
        pytest.skip(f"golden metric vectors not found at {GOLDEN} (set AAM_GOLDEN_METRICS)")
    cases = json.loads(GOLDEN.read_text())
    return [({k: np.asarray(c[k], np.float64) for k in ("sal", "gt", "fix", "other")},
             c["expected"]) for c in cases]


def test_golden_vectors_every_key():
    cases = _golden_cases()
    assert len(cases) == 3
    for arrays, expected in cases:
        assert set(expected) == set(VARIANTS)
        s, g, f, o = arrays["sal"], arrays["gt"], arrays["fix"], arrays["other"]
        for key, fn in VARIANTS.items():
            tol = 1e-12 if "AUC" in key else 1e-6        # AUCs exact up to float rounding
            assert abs(fn(s, g, f, o) - expected[key]) <= tol, key


def test_golden_jitter_and_randomised_aucs():
    for arrays, expected in _golden_cases():
        s, f, o = arrays["sal"], arrays["fix"], arrays["other"]
        # no ties in these maps: the 1e-7 jitter cannot change the ranking
        assert auc_judd(s, f, seed=3) == pytest.approx(expected["AUC_Judd_mit_nojitter"], abs=1e-12)
        # fewer other-map points than fixations: every split uses all of them
        assert auc_shuffled(s, f, o, seed=1) == auc_shuffled(s, f, o, seed=2)
        b1, b2 = auc_borji(s, f, seed=5), auc_borji(s, f, rng=np.random.default_rng(5))
        assert b1 == b2 and 0.0 <= b1 <= 1.0
        assert auc_borji(s, f, seed=6) != b1


# ---------------------------------------------------------------- MATLAB imresize
def test_cubic_kernel_values():
    x = np.array([0.0, 0.25, 0.75, 1.0, 1.25, 1.75, 2.0, 2.5])
    np.testing.assert_allclose(cubic(x), [1.0, 0.8671875, 0.2265625, 0.0, -0.0703125,
                                          -0.0234375, 0.0, 0.0], atol=1e-15)


def test_imresize_identity_and_constant():
    rng = np.random.default_rng(0)
    a = rng.random((7, 9))
    np.testing.assert_array_equal(imresize(a, (7, 9)), a)
    for shape in [(14, 18), (3, 4), (7, 20), (2, 9), (1, 1), (30, 5)]:
        np.testing.assert_allclose(imresize(np.full((7, 9), 0.37), shape), 0.37, atol=1e-14)
        rows = resize_weights(7, shape[0])
        np.testing.assert_allclose(rows.sum(1), 1.0, atol=1e-14)


def test_imresize_hand_computed_upscale():
    # [a b] -> 4 columns, scale 2, u = i/2 + 1/4. Output 1: u = 0.75, taps at -1..2 with
    # distances 1.75, 0.75, -0.25, -1.25 -> weights -0.0234375, 0.2265625, 0.8671875,
    # -0.0703125; mirrored indices -1 -> b, 0 -> a: 1.09375a - 0.09375b. Output 2: u = 1.25
    # -> 0.796875a + 0.203125b; outputs 3, 4 by symmetry.
    out = imresize(np.array([[0.0, 1.0]]), (1, 4))
    np.testing.assert_allclose(out, [[-0.09375, 0.203125, 0.796875, 1.09375]], atol=1e-15)


def test_imresize_hand_computed_antialiased_downscale():
    # [v1..v4] -> 2 columns, scale 1/2: kernel 0.5·cubic(0.5x), support 8. Output 1: u = 1.5,
    # taps -2..5 with weights 0.5·cubic(0.5·(1.5 - j)); mirroring -2->3, -1->2, 0->1, 5->4:
    # 0.546875 v1 + 0.3984375 v2 + 0.1015625 v3 - 0.046875 v4; output 2 mirrored.
    out = imresize(np.array([[1.0, 2.0, 3.0, 4.0]]), (1, 2))
    np.testing.assert_allclose(out, [[1.4609375, 3.5390625]], atol=1e-14)
    # without antialiasing the plain kernel at u = 1.5 uses only v1, v2 (and mirrored taps)
    plain = imresize(np.array([[1.0, 2.0, 3.0, 4.0]]), (1, 2), antialias=False)
    assert abs(plain[0, 0] - out[0, 0]) > 1e-3


def test_imresize_separable_and_dtypes():
    rng = np.random.default_rng(1)
    a, b = rng.random(6), rng.random(10)
    out = imresize(np.outer(a, b), (9, 4))
    ra, rb = imresize(a[:, None], (9, 1))[:, 0], imresize(b[None, :], (1, 4))[0]
    np.testing.assert_allclose(out, np.outer(ra, rb), atol=1e-13)
    assert imresize(np.outer(a, b).astype(np.float32), (9, 4)).dtype == np.float32
    u8 = imresize(np.array([[0, 255], [255, 0]], np.uint8), (4, 4))
    assert u8.dtype == np.uint8 and u8.max() == 255 and u8.min() == 0   # saturated overshoot
    with pytest.raises(ValueError, match="2-D"):
        imresize(np.zeros((2, 2, 3)), (4, 4))


def test_matlab_colon():
    np.testing.assert_allclose(matlab_colon(0.0, 0.1, 1.0), np.arange(11) / 10, atol=1e-15)
    assert matlab_colon(0.0, 0.1, 1.0)[-1] == 1.0
    assert len(matlab_colon(0.0, 0.1, 0.95)) == 10
    assert len(matlab_colon(0.0, 0.1, 0.05)) == 1


def test_metrics_resize_prediction_to_gt():
    rng = np.random.default_rng(2)
    s, g = rng.random((5, 6)), rng.random((10, 12))
    f = (rng.random((10, 12)) > 0.8).astype(float)
    big = imresize(s, (10, 12))
    assert cc(s, g) == cc(big, g)
    assert nss(s, f) == nss(big, f)
    assert kld(s, g) == kld(big, g)
    assert sim(s, g) == sim(big, g)
    assert auc_judd(s, f, seed=4) == auc_judd(big, f, seed=4)
    assert big.min() < 0.0                                  # bicubic overshoot ...
    assert np.isfinite(kld(s, g)) and kld(s, g) == kld(np.maximum(big, 0.0), g)  # ... clipped


# ---------------------------------------------------------------- hand cases / properties
def test_info_gain_hand_computed():
    s = np.array([[0.0, 1.0], [0.5, 0.5]])        # min-max, /sum: [[0, .5], [.25, .25]]
    base = np.array([[1.0, 2.0], [3.0, 4.0]])     # min-max, /sum: [[0, 1/6], [1/3, 1/2]]
    f = np.array([[0.0, 1.0], [0.0, 0.0]])
    assert info_gain(s, f, base) == pytest.approx(math.log2(3.0), abs=1e-12)
    assert info_gain(s, f, s) == 0.0


def test_auc_values_on_perfect_and_inverse_maps():
    f = np.zeros((8, 10))
    f[[1, 3, 5], [2, 4, 6]] = 1
    # MATLAB AUC_Judd without jitter on tied values: thresholds 1, 1, 1 all see 3 pixels
    # above, fp = (3 - i)/77 -> points (0,0) (2/77,1/3) (1/77,2/3) (0,1) (1,1): 1 - 1/77
    assert auc_judd(f, f, jitter=False) == pytest.approx(1.0 - 1.0 / 77.0, abs=1e-12)
    assert auc_judd(f, f, seed=0) == 1.0                    # jitter breaks the ties
    # inverse map: every threshold has all 77 non-fixated pixels above it -> area 1/(2·3)
    assert auc_judd(1.0 - f, f, seed=0) == pytest.approx(1.0 / 6.0, abs=1e-12)
    # Borji on a binary map: tp = 1 for every threshold > 0, so AUC = 1 - fp/2, E[fp] = 3/80
    assert auc_borji(f, f, seed=0) == pytest.approx(1.0 - 3.0 / 160.0, abs=0.02)
    other = np.zeros_like(f)
    other[0, 0] = other[7, 9] = 1                  # unfixated, saliency 0: perfect separation
    assert auc_shuffled(f, f, other) == 1.0


def test_auc_shuffled_seedable_when_other_map_is_larger():
    rng = np.random.default_rng(3)
    s = rng.random((8, 10))
    f = np.zeros((8, 10))
    f[2, 3] = f[4, 5] = 1
    o = (rng.random((8, 10)) > 0.5).astype(float)
    assert auc_shuffled(s, f, o, seed=1) == auc_shuffled(s, f, o, rng=np.random.default_rng(1))
    assert len({auc_shuffled(s, f, o, seed=k) for k in range(5)}) > 1


def test_empty_fixation_map_gives_nan_with_warning():
    s, f, d = np.random.default_rng(0).random((4, 5)), np.zeros((4, 5)), np.ones((4, 5))
    for fn in (lambda: auc_judd(s, f), lambda: auc_borji(s, f), lambda: nss(s, f),
               lambda: auc_shuffled(s, f, d), lambda: info_gain(s, f, d)):
        with pytest.warns(RuntimeWarning, match="fixation map is empty"):
            assert math.isnan(fn())


def test_all_zero_prediction():
    rng = np.random.default_rng(0)
    z, g = np.zeros((4, 5)), rng.random((4, 5))
    f = np.zeros((4, 5))
    f[1, 2] = 1
    for fn in (lambda: cc(z, g), lambda: nss(z, f), lambda: sim(z, g),
               lambda: auc_judd(z, f, jitter=False), lambda: auc_borji(z, f)):
        with pytest.warns(RuntimeWarning, match="constant"):
            assert math.isnan(fn())
    # MATLAB KLdiv leaves an all-zero map unnormalised: Σ q·log(eps + q/eps), finite
    q = g / g.sum()
    assert kld(z, g) == pytest.approx(float((q * np.log(2.220446049250313e-16 + q / 2.220446049250313e-16)).sum()))
    assert 0.0 <= auc_judd(z, f, seed=0) <= 1.0   # jitter breaks the ties


def test_bad_inputs_raise_clear_errors():
    s = np.ones((4, 5))
    with pytest.raises(ValueError, match=r"other shape \(3, 5\) does not match fix shape \(4, 5\)"):
        auc_shuffled(s, np.eye(4, 5), np.ones((3, 5)))
    with pytest.raises(ValueError, match="sal must be a 2-D map"):
        cc(np.ones((1, 4, 5)), s)
    with pytest.raises(ValueError, match="density contains NaN"):
        cc(s, np.full((4, 5), np.nan))
