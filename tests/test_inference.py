"""The inference engine on the tiny AAM (random weights with a strong FPD coupling so that
windowing is visible): cached features reproduce the model (checked against the eager network
once), windows reproduce the model run on their own pixels, images, audio, online streaming and
bad settings. GRAPH engine: the compiled shapes (backbone on 1, 2, 4, 6 frames; head on T = 4, 6 and
images; the head in chunks of 4 frames on T = 6) are shared by the tests."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor

from aam_ms.inference import Engine, plan_windows, resize_map
from aam_ms.models.registry import create_model
from aam_ms.session import INPUT_DEFAULTS, Session

H = W = 32
EXACT = 1e-5   # fp32: the backbone on 1 frame vs a batch of frames may round differently


class _Audio:
    """A deterministic stand-in audio encoder: (N, samples) → (N, 512) by a fixed projection."""
    sample_rate = 16000

    def __init__(self):
        self.proj = np.random.default_rng(1).standard_normal((64, 512)).astype(np.float32)

    def embed_windows(self, waves):
        w = np.asarray(waves, np.float32)
        return (w.reshape(len(w), 64, -1).mean(-1) @ self.proj).astype(np.float32)


@pytest.fixture(scope="module")
def engine():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(0)
    m = create_model("aam_tiny")
    m.set_train(False)
    for cell in m.head.motion_modules:            # trained-like FPD coupling
        cell.fp_alpha_logit.set_data(Tensor(np.float32(2.0)))
        cell.temporal_attention_scale.set_data(Tensor(np.full((1,), 0.5, np.float32)))
        cell.temporal_ffn_scale.set_data(Tensor(np.full((1,), 0.5, np.float32)))
    cfg = {"input": {**INPUT_DEFAULTS, "size": [H, W], "clip_len": 4}}
    return Engine(Session(cfg, m, audio=_Audio()), graph=True)


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(6)]


@pytest.fixture(scope="module")
def text():
    return np.random.default_rng(2).standard_normal((1, 768)).astype(np.float32)


def _model(engine, frames, text, audio=None):
    """Reference: one pass over the window's own pixels, (T, H, W) (``Engine.clip``, which
    equals the network: test_clip_from_cached_features_equals_model)."""
    x = engine.prepare(frames).reshape(1, len(frames), 3, H, W)
    a = None if audio is None else Tensor(np.asarray(audio, np.float32)[None])
    return engine.clip(x, text, a).asnumpy()[0, :, 0]


def test_plan_windows_cover_every_frame_once_with_context():
    for n, t, k in [(1, 4, 2), (4, 4, 3), (6, 4, 2), (11, 4, 1), (10, 5, 0), (9, 4, 3)]:
        w = plan_windows(n, t, k)
        kept = [i for s, e, f in w for i in range(f, e)]
        assert kept == list(range(n))
        assert all(e - s == min(t, n) for s, e, _ in w)
        assert all(f - s >= min(k, s + k) for s, e, f in w[1:])   # ≥ K context frames
        assert w[0] == (0, min(t, n), 0)
    assert plan_windows(6, 4, 2) == [(0, 4, 0), (2, 6, 4)]
    for bad in ((5, 4, 4), (5, 0, 0), (5, 4, -1)):
        with pytest.raises(ValueError, match="clip-len|overlap"):
            plan_windows(*bad)


def test_features_micro_batches_match(engine, frames):
    x = engine.prepare(frames)
    full = engine.features(x)
    parts = Engine(engine.session, graph=True, frame_batch=4).features(x)    # 4 + 2 frames
    assert len(full) == 4 and full[0].shape == (6, (H // 16) * (W // 16), 64)
    for a, b in zip(full, parts):
        assert np.abs(a.asnumpy() - b.asnumpy()).max() < EXACT


def test_clip_from_cached_features_equals_model(engine, frames, text):
    """GRAPH-compiled backbone and head on cached features reproduce the network (eager
    ``model(x)``); calls of a known shape reuse the compiled head, also from another Engine."""
    x = engine.prepare(frames[:4]).reshape(1, 4, 3, H, W)
    ref = engine.model(x, Tensor(text))[0].asnumpy()
    out = engine.clip(x, text).asnumpy()
    assert out.shape == (1, 4, 1, H, W)
    assert np.abs(out - ref).max() < EXACT
    n = engine.compilations
    other = Engine(engine.session, graph=True)
    assert np.abs(other.clip(x, text).asnumpy() - out).max() == 0.0
    assert other.compilations == n >= 1
    assert Engine(engine.session, graph=False).compilations == 0
    with pytest.raises(ValueError, match="clip must be"):
        engine.clip(x[0], text)


def test_images_equal_model(engine, frames, text):
    maps = engine.predict_images(frames[:3], text, batch=2)       # one padded batch
    ref = engine.model(engine.prepare(frames[:3]), Tensor(text))[0].asnumpy()[:, 0]
    assert len(maps) == 3 and maps[0].shape == (H, W)
    assert np.abs(np.stack(maps) - ref).max() < EXACT


def test_windows_equal_model_on_their_pixels(engine, frames, text):
    got = engine.predict_video(iter(frames[:6]), text, clip_len=4, overlap=2)
    w1, w2 = _model(engine, frames[0:4], text), _model(engine, frames[2:6], text)
    want = np.concatenate([w1, w2[2:]])
    assert got.shape == (6, H, W)
    assert np.abs(got - want).max() < EXACT
    assert np.abs(w2[0] - w1[2]).max() > 1e-3        # context changes a frame's map
    one = engine.predict_video(frames[:4], text, clip_len=4, overlap=3)   # N ≤ T: one pass
    assert np.abs(one - w1).max() < EXACT


def test_online_streaming(engine, frames, text):
    """overlap = T − 1: after the first T frames, frame t is decoded with the T − 1 before it,
    as soon as it arrives (the stream yields it before reading frame t + 1)."""
    t = 4
    seen = []

    def source():
        for k, f in enumerate(frames):
            seen.append(k)
            yield f
    out = {}
    for i, _, m in engine.stream(source(), text, clip_len=t, overlap=t - 1):
        if i >= t:
            assert seen[-1] == i                      # no look-ahead
        out[i] = m
    assert sorted(out) == list(range(6))
    for i in range(t, 6):
        ref = _model(engine, frames[i - t + 1:i + 1], text)[-1]
        assert np.abs(out[i] - ref).max() < EXACT, i


def test_audio_windows(engine, frames, text):
    rng = np.random.default_rng(3)
    waves = rng.standard_normal((6, 64 * 4)).astype(np.float32)
    emb = engine.session.audio.embed_windows(waves)
    got = engine.predict_video(frames[:6], text, 4, 2, audio_window=lambda i: waves[i])
    w2 = _model(engine, frames[2:6], text, emb[2:6])
    assert np.abs(got[4:] - w2[2:]).max() < EXACT
    silent = engine.predict_video(frames[:6], text, 4, 2)
    assert np.abs(got - silent).max() > 0.0           # the fusion sees the audio


def test_head_in_chunks_equals_one_pass(engine, frames, text):
    """GRAPH: ``head.levels`` over the clip, then the decoder on chunks of 4 frames (4 + 2, the
    last padded), as separate graphs, equals one head pass, with and without audio."""
    x = engine.prepare(frames).reshape(1, 6, 3, H, W)
    audio = Tensor(engine.session.audio.embed_windows(
        np.random.default_rng(4).standard_normal((6, 64 * 4)).astype(np.float32))[None])
    one = Engine(engine.session, graph=True, head_chunk=0)
    chunked = Engine(engine.session, graph=True, head_chunk=4)
    assert chunked.head_chunk == 4 and one.head_chunk == 0
    for a in (None, audio):
        want = one.clip(x, text, a).asnumpy()
        got = chunked.clip(x, text, a).asnumpy()
        assert got.shape == want.shape == (1, 6, 1, H, W)
        assert np.abs(got - want).max() < EXACT
    assert np.abs(got - engine.model(x, Tensor(text), audio)[0].asnumpy()).max() < EXACT


def test_low_memory_head_equals_the_compiled_one(engine, frames, text):
    """``low_memory``: the head op by op gives the compiled head's maps (images and a clip in
    chunks) and compiles nothing."""
    lean = Engine(engine.session, graph=True, low_memory=True)
    full = Engine(engine.session, graph=True)
    x = engine.prepare(frames)
    for e in (lean, full):
        assert e.blockwise
    np.testing.assert_allclose(lean.decode(lean.features(x), text).asnumpy(),
                               full.decode(full.features(x), text).asnumpy(), atol=EXACT)
    clip = x.reshape(1, 6, 3, H, W)
    np.testing.assert_allclose(lean.clip(clip, text).asnumpy(), full.clip(clip, text).asnumpy(),
                               atol=EXACT)
    assert lean.compilations == 0 and lean.low_memory


def test_resize_map():
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal(resize_map(m, (3, 4)), m)
    assert resize_map(m, (6, 8)).shape == (6, 8)
