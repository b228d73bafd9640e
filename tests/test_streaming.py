"""Speed features that must not change results: feature caching (streaming), chunked FPD,
bucketed compilation reuse (opt-in, measured), and the head decoder on cached features."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor

from aam_ms.models.registry import create_model
from aam_ms.streaming import (StreamingPredictor, backbone_features, bucket_length,
                              chunked_predict, make_decoder)

H = W = 32
T = 6
EXACT = 1e-5   # fp32: the backbone on 1 frame vs a batch of frames may round differently


@pytest.fixture(scope="module")
def net():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(0)
    m = create_model("aam_tiny")
    m.set_train(False)
    # trained-like FPD: non-trivial coupling and feature scales so chunking is visible
    for cell in m.head.motion_modules:
        cell.fp_alpha_logit.set_data(Tensor(np.float32(2.0)))
        cell.temporal_attention_scale.set_data(Tensor(np.full((1,), 0.5, np.float32)))
        cell.temporal_ffn_scale.set_data(Tensor(np.full((1,), 0.5, np.float32)))
    return m


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, T, 3, H, W)).astype(np.float32)
    text = rng.standard_normal((1, 768)).astype(np.float32)
    return Tensor(x), Tensor(text)


def _np(t):
    return t.asnumpy()


def test_bucket_length():
    assert [bucket_length(t, (8, 16, 32)) for t in (1, 8, 9, 32, 40)] == [8, 8, 16, 32, 40]
    assert bucket_length(5, None) == 5
    with pytest.raises(ValueError, match="≥ 1"):
        bucket_length(0, (8,))


def test_backbone_micro_batches_match(net, clip):
    x, _ = clip
    frames = x.reshape(T, 3, H, W)
    full = backbone_features(net, frames)
    parts = backbone_features(net, frames, frame_batch=4)
    assert len(full) == 4 and full[0].shape == (T, (H // 16) * (W // 16), 64)
    for a, b in zip(full, parts):
        assert np.abs(_np(a) - _np(b)).max() < EXACT


def test_cached_decode_equals_model(net, clip):
    """chunk ≥ T: one head pass on cached features reproduces model(x) (GRAPH head)."""
    x, text = clip
    ref = _np(net(x, text)[0])
    dec = make_decoder(net, graph=True)
    out = _np(chunked_predict(net, x, text, clip_len=T, decoder=dec))
    assert out.shape == (1, T, 1, H, W)
    assert np.abs(out - ref).max() < EXACT
    out_long = _np(chunked_predict(net, x, text, clip_len=4 * T, frame_batch=2, decoder=dec))
    assert np.abs(out_long - ref).max() < EXACT
    assert dec.compilations == 1


def test_streaming_equals_window_recompute(net, clip):
    x, text = clip
    window = 3
    sp = StreamingPredictor(net, window, text, graph=False)
    for t in range(T):
        got = _np(sp.push(x[0, t]))
        lo = max(0, t - window + 1)
        ref = _np(net(x[:, lo:t + 1], text)[0])[0, -1]
        assert got.shape == (1, H, W)
        assert np.abs(got - ref).max() < EXACT, t
    assert len(sp.cache) == window


def test_chunked_with_overlap_bounded(net, clip):
    """Chunks shorter than T differ from one pass (FPD sees fewer frames and another time
    embedding); overlap context shrinks the difference and chunk ≥ T removes it."""
    x, text = clip
    ref = _np(net(x, text)[0])
    d0 = np.abs(_np(chunked_predict(net, x, text, clip_len=2, overlap=0, graph=False)) - ref).max()
    d2 = np.abs(_np(chunked_predict(net, x, text, clip_len=2, overlap=2, graph=False)) - ref).max()
    assert d0 > EXACT          # chunking is visible with active FPD coupling
    assert d2 <= d0 + EXACT
    assert d0 < 0.5            # maps stay in (0, 1) and close to one pass
    # each chunk equals the model run on its own context window
    own = _np(net(x[:, 0:4], text)[0])[:, 0:2]
    got = _np(chunked_predict(net, x, text, clip_len=2, overlap=2, graph=False))[:, 0:2]
    assert np.abs(got - own).max() < EXACT


def test_bucketing_counts_and_changes(net, clip):
    """Bucket lengths (4, 8): T = 1..6 compile 2 graphs instead of 6; a padded window differs
    from the unpadded one, a window of exactly a bucket length does not."""
    x, text = clip
    plain, bucketed = make_decoder(net), make_decoder(net)
    for t in range(1, T + 1):
        chunked_predict(net, x[:, :t], text, clip_len=t, decoder=plain)
        chunked_predict(net, x[:, :t], text, clip_len=t, decoder=bucketed, buckets=(4, 8))
    assert plain.compilations == T and bucketed.compilations == 2
    ref4 = _np(net(x[:, :4], text)[0])
    b4 = _np(chunked_predict(net, x[:, :4], text, clip_len=4, decoder=bucketed, buckets=(4, 8)))
    assert np.abs(b4 - ref4).max() < EXACT
    ref3 = _np(net(x[:, :3], text)[0])
    b3 = _np(chunked_predict(net, x[:, :3], text, clip_len=3, decoder=bucketed, buckets=(4, 8)))
    assert np.abs(b3 - ref3).max() > EXACT


def test_bad_inputs(net, clip):
    x, text = clip
    with pytest.raises(ValueError, match="video must be"):
        chunked_predict(net, x[0], text)
    with pytest.raises(ValueError, match="clip_len"):
        chunked_predict(net, x, text, clip_len=0)
    with pytest.raises(ValueError, match="text_emb"):
        chunked_predict(net, x, Tensor(np.zeros((1, 5), np.float32)), clip_len=T)
    with pytest.raises(ValueError, match="window"):
        StreamingPredictor(net, 0, text)
