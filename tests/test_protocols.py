"""Aggregation behaviour of the evaluation protocols on small synthetic sequences."""
import math

import numpy as np
import pytest

from aam_ms.metrics import auc_shuffled, cc, imresize
from aam_ms.metrics.protocols import (
    blur, evaluate_samples, image_protocol, other_frames, other_map, per_video_scores,
    stavis_protocol, subsample_frames, video_protocol,
)

RNG = np.random.default_rng(0)
DENSITY = RNG.random((6, 8))
FIX = (DENSITY > 0.8).astype(np.float64)


def frame(sign):
    """A frame whose CC is exactly ``sign`` (prediction = ±density)."""
    return (sign * DENSITY + 1.0, DENSITY, FIX)


def test_subsample_frames_is_deterministic_and_even():
    assert subsample_frames([4, 2], None) == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]
    assert subsample_frames([4, 2], 3) == [(0, 0), (0, 2), (1, 0)]     # global 0, 2, 4
    assert subsample_frames([4, 2], 2) == [(0, 0), (0, 3)]             # global 0, 3
    assert len(subsample_frames([70_000, 30_000], 50_000)) == 50_000


def test_video_protocol_averages_per_video_then_over_videos():
    videos = [[frame(+1)], [frame(-1)] * 3]
    assert video_protocol(videos, metrics=("CC",)) == {"CC": pytest.approx(0.0, abs=1e-12)}
    # a frame-level mean would be (1 - 3) / 4
    assert evaluate_samples([f for v in videos for f in v], metrics=("CC",))["CC"] == \
        pytest.approx(-0.5, abs=1e-12)
    rows = per_video_scores(videos, metrics=("CC",))
    assert [r["frames"] for r in rows] == [1, 3]


def test_video_protocol_frame_cap():
    videos = [[frame(+1), frame(-1), frame(+1), frame(-1)], [frame(+1), frame(+1)]]
    assert video_protocol(videos, ("CC",))["CC"] == pytest.approx(0.5, abs=1e-12)
    # cap 3 keeps global frames 0, 2, 4 = A0 (+1), A2 (+1), B0 (+1)
    assert video_protocol(videos, ("CC",), max_frames=3)["CC"] == pytest.approx(1.0, abs=1e-12)
    # cap 2 keeps A0 (+1), A3 (-1): video B has no frame left and drops out
    assert video_protocol(videos, ("CC",), max_frames=2)["CC"] == pytest.approx(0.0, abs=1e-12)


def test_other_frames_come_from_other_videos():
    rng = np.random.default_rng(0)
    picks = other_frames([5, 3, 4], 1, 0, 10, rng)
    assert len(picks) == 9 and len(set(picks)) == 9 and all(v != 1 for v, _ in picks)
    picks = other_frames([5, 30], 0, 2, 10, rng)
    assert len(picks) == 10 and all(v == 1 for v, _ in picks)
    assert sorted(other_frames([4], 0, 2, 10, rng)) == [(0, 0), (0, 1), (0, 3)]   # single video


def test_other_map_rescales_points():
    a = np.zeros((4, 4))
    a[0, 0] = a[3, 3] = 1
    b = np.zeros((8, 8))
    b[5, 2] = 1
    out = other_map([a, b], (8, 8))
    assert sorted(zip(*np.nonzero(out))) == [(1, 1), (5, 2), (7, 7)]


def _point_video(n, r, c, shape=(6, 8)):
    """n frames with one fixation at (r, c) and a prediction peaked there."""
    fix = np.zeros(shape)
    fix[r, c] = 1
    pred = np.full(shape, 0.1)
    pred[r, c] = 1.0
    return [(pred, fix + 0.01, fix)] * n


def test_video_sauc_uses_other_videos_fixations():
    # video 0 fixates (1, 1); video 1 fixates (4, 6). For a frame of video 0 the other map is
    # {(4, 6)}: one negative with saliency 0 after min-max vs one positive with 1 -> sAUC = 1.
    videos = [_point_video(2, 1, 1), _point_video(3, 4, 6)]
    res = video_protocol(videos, metrics=("sAUC",), seed=3)
    assert res["sAUC"] == 1.0
    # same video as its own negatives would give the chance-level value
    f0 = videos[0][0]
    assert auc_shuffled(f0[0], f0[2], f0[2]) == 0.5


def test_protocols_are_seedable():
    rng = np.random.default_rng(1)
    videos = [[(rng.random((6, 8)), rng.random((6, 8)), (rng.random((6, 8)) > 0.6) * 1.0)
               for _ in range(3)] for _ in range(3)]
    a = video_protocol(videos, metrics=("AUC_J", "sAUC", "AUC_B"), seed=7)
    b = video_protocol(videos, metrics=("AUC_J", "sAUC", "AUC_B"), seed=7)
    c = video_protocol(videos, metrics=("AUC_J", "sAUC", "AUC_B"), seed=8)
    assert a == b and a["sAUC"] != c["sAUC"] and a["AUC_B"] != c["AUC_B"]


def test_stavis_blurs_before_resizing():
    rng = np.random.default_rng(2)
    pred, density = rng.random((6, 8)), rng.random((12, 16))
    fix = (density > 0.9).astype(np.float64)
    res = stavis_protocol([[[(pred, density, fix)]]], metrics=("CC",))
    expected = cc(imresize(blur(pred, 2.0), (12, 16)), density)
    assert res["CC"] == pytest.approx(expected, abs=1e-12)
    assert abs(expected - cc(blur(imresize(pred, (12, 16)), 2.0), density)) > 1e-4
    assert abs(expected - cc(pred, density)) > 1e-4


def test_blur_matches_imgaussfilt_kernel():
    delta = np.zeros((11, 11))
    delta[5, 5] = 1.0
    out = blur(delta, 2.0)
    g = np.exp(-np.arange(-4, 5) ** 2 / 8.0)                 # radius ceil(2σ) = 4, σ = 2
    g /= g.sum()
    np.testing.assert_allclose(out[1:10, 1:10], np.outer(g, g), atol=1e-12)
    assert out[0, 5] == 0.0


def test_stavis_averages_over_videos_then_splits():
    split1 = [[frame(+1)]]
    split2 = [[frame(+1)], [frame(-1)] * 3]                   # split mean 0
    res = stavis_protocol([split1, split2], metrics=("CC",), blur_sigma=0)
    assert res["CC"] == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError, match="splits is empty"):
        stavis_protocol([])


def test_image_protocol_other_map_from_other_images():
    # image i fixates one pixel and predicts a peak there. Negatives drawn from *other*
    # images' fixations have saliency 0 after min-max -> sAUC = 1 in every split; had the
    # image's own fixation been in its other map, some splits would score 0.5.
    points = [(0, 1), (2, 5), (4, 2), (5, 7)]
    images = [_point_video(1, r, c)[0] for r, c in points]
    res = image_protocol(images, metrics=("sAUC", "NSS", "CC"), n_other=2, seed=0)
    assert res["sAUC"] == 1.0
    assert res["CC"] == pytest.approx(np.mean([cc(p, d) for p, d, _ in images]), abs=1e-12)
    assert res["NSS"] == pytest.approx(47.0 / math.sqrt(48.0), abs=1e-12)  # spike z, std N-1


def test_evaluate_samples_skips_nan_and_validates():
    good = frame(+1)
    empty = (good[0], good[1], np.zeros_like(FIX))
    with pytest.warns(RuntimeWarning, match="fixation map is empty"):
        res = evaluate_samples([good, empty], metrics=("CC", "NSS"))
    assert res["CC"] == pytest.approx(1.0, abs=1e-12)
    assert math.isfinite(res["NSS"])
    with pytest.raises(ValueError, match="needs an other-map"):
        evaluate_samples([good], metrics=("sAUC",))
    with pytest.raises(ValueError, match="unknown metrics"):
        evaluate_samples([good], metrics=("AUC",))
    with pytest.raises(ValueError, match="needs a baseline"):
        evaluate_samples([good], metrics=("IG",))
    with pytest.raises(ValueError, match="sample 0"):
        evaluate_samples([good[:2]], metrics=("CC",))


def test_on_sample_reports_every_scored_sample_with_its_key():
    got = []
    videos = [[frame(+1), frame(-1)], [frame(-1)]]
    res = video_protocol(videos, metrics=("CC", "sAUC"), on_sample=lambda k, s: got.append((k, s)))
    assert [k for k, _ in got] == [(0, 0), (0, 1), (1, 0)]
    assert [s["CC"] for _, s in got] == pytest.approx([1.0, -1.0, -1.0])
    assert res == video_protocol(videos, metrics=("CC", "sAUC"))      # same draws with or without
    got.clear()
    stavis_protocol([videos, [[frame(+1)]] * 2], metrics=("CC",), on_sample=lambda k, s: got.append(k))
    assert got == [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (1, 1, 0)]
    got.clear()
    image_protocol([frame(+1), frame(-1), frame(+1)], metrics=("CC",),
                   on_sample=lambda k, s: got.append((k, round(s["CC"], 9))))
    assert got == [(0, 1.0), (1, -1.0), (2, 1.0)]
