"""Frame-wise video inference with cached backbone features: streaming, chunking, bucketing.

AAM's backbone is per frame; only the head's FPD blocks mix frames (temporal attention, the
diffusion stencil and a time embedding interpolated to the clip length T). So

    pred(x_{s:e}) = decode(F_{s:e}),   F_t = backbone(x_t)  (computed once per frame)

* :class:`StreamingPredictor` caches F_t in a ring buffer of ``window`` frames; each new
  frame costs one backbone pass plus one head pass over the window. Its output for frame t
  equals ``model(x_{t−W+1:t+1})[:, −1]`` (the window recomputed from pixels).
* :func:`chunked_predict` runs the head over chunks of ``clip_len`` output frames, each seen
  with up to ``overlap`` context frames on either side. ``clip_len ≥ T`` is the one-pass
  ``model(x)``; shorter chunks change what FPD sees (fewer frames, another time-embedding
  interpolation), which differs from one pass by a bounded amount (docs/PERFORMANCE.md).
* Bucketing (opt-in, ``buckets=(8, 16, 32)``) pads a window of T frames to the next bucket
  length by repeating the last frame's features and drops the padded outputs, so a GRAPH
  head compiles once per bucket instead of once per T. It changes results (FPD attends to
  the padded frames); only T equal to a bucket length is exact.
"""
import mindspore as ms
from mindspore import nn, ops


def bucket_length(t, buckets):
    """Smallest bucket ≥ t (t itself if ``buckets`` is empty or t exceeds them all)."""
    if t < 1:
        raise ValueError(f"bucket_length: clip length must be ≥ 1, got {t}")
    for b in sorted(buckets or ()):
        if b >= t:
            return int(b)
    return int(t)


class HeadDecoder(nn.Cell):
    """``model.head`` + bilinear upsampling + sigmoid on cached backbone features (AAM's tail).

    construct(f1, f2, f3, f4, text, audio, clip_len, size) with the four levels (B·T, h·w, C)
    as separate tensors (a tuple argument of ``ms.jit`` is a constant: one graph per call),
    text (B·T, D_t), audio (B·T, D_a) or None, clip_len T (0 = images), size (H, W)
    → pred (B·T, 1, H, W).
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, f1, f2, f3, f4, text, audio, clip_len, size):
        return self.model.decode((f1, f2, f3, f4), size[0], size[1], text, audio, clip_len)[0]


class _Compiled:
    """The head decoder and the backbone, GRAPH-compiled with ``ms.jit`` or run eagerly.
    ``compilations`` counts head graphs (the jit cache key is the input shapes plus the
    constant ints: one graph per new key)."""

    def __init__(self, model, graph=True):
        self.decoder = HeadDecoder(model)
        bb = model.backbone.get_intermediate_layers
        self.fn = ms.jit(self.decoder.construct) if graph else self.decoder.construct
        self.backbone = ms.jit(bb) if graph else bb
        self.graph = graph
        self.keys = set()

    def __call__(self, feats, text, audio, clip_len, size):
        self.keys.add((tuple(tuple(f.shape) for f in feats), clip_len, tuple(size),
                       audio is None))
        return self.fn(*feats, text, audio, clip_len, size)

    @property
    def compilations(self):
        return len(self.keys) if self.graph else 0


def backbone_features(model, frames, frame_batch=None, fn=None):
    """4 × (N, h·w, C): the head's backbone levels for frames (N, 3, H, W), in micro-batches
    of ``frame_batch`` frames (None = all at once; the backbone has no cross-frame term).
    ``fn``: the backbone call to use (e.g. a decoder's compiled ``.backbone``)."""
    n = frames.shape[0]
    step = n if not frame_batch else int(frame_batch)
    fn = fn or model.backbone.get_intermediate_layers
    parts = [fn(frames[i:i + step], model.intermediate_layers) for i in range(0, n, step)]
    if len(parts) == 1:
        return tuple(parts[0])
    return tuple(ops.concat([p[k] for p in parts], 0) for k in range(len(parts[0])))


def _clip_slice(feats, b, t, lo, hi, pad_to=None):
    """Frames [lo, hi) of each of B clips (feats frame-major (B·T, ...)), optionally padded to
    ``pad_to`` frames by repeating frame hi − 1."""
    out = []
    for f in feats:
        g = f.reshape(b, t, f.shape[1], f.shape[2])[:, lo:hi]
        if pad_to is not None and pad_to > hi - lo:
            last = ops.broadcast_to(g[:, -1:], (b, pad_to - (hi - lo), f.shape[1], f.shape[2]))
            g = ops.concat((g, last), 1)
        out.append(g.reshape(-1, f.shape[1], f.shape[2]))
    return tuple(out)


def _split_video(x):
    if x.ndim != 5 or x.shape[2] != 3:
        raise ValueError(f"video must be (B, T, 3, H, W), got shape {tuple(x.shape)}")
    return x.shape[0], x.shape[1], x.shape[3], x.shape[4]


def chunked_predict(model, video, text_emb=None, clip_len=32, overlap=0, frame_batch=None,
                    buckets=None, graph=True, decoder=None):
    """Saliency (B, T, 1, H, W) of ``video`` (B, T, 3, H, W), FPD run over chunks.

    Output frames [s, s + clip_len) come from a head pass over frames
    [max(0, s − overlap), min(T, s + clip_len + overlap)); backbone features are computed
    once per frame (``frame_batch`` frames at a time). ``buckets`` pads each pass to a bucket
    length (opt-in; changes results). ``decoder``: a :func:`make_decoder` result to reuse
    compiled graphs across calls.
    """
    if clip_len < 1 or overlap < 0:
        raise ValueError(f"chunked_predict: need clip_len ≥ 1 and overlap ≥ 0, got "
                         f"clip_len={clip_len}, overlap={overlap}")
    b, t, hh, ww = _split_video(video)
    dec = decoder or make_decoder(model, graph)
    feats = backbone_features(model, video.reshape(b * t, 3, hh, ww), frame_batch, dec.backbone)
    outs = []
    for s in range(0, t, clip_len):
        e = min(t, s + clip_len)
        lo, hi = max(0, s - overlap), min(t, e + overlap)
        n = hi - lo
        tb = bucket_length(n, buckets)
        f = _clip_slice(feats, b, t, lo, hi, tb)
        pred = dec(f, model.frame_text(text_emb, b, tb), None, tb, (hh, ww))
        outs.append(pred.reshape(b, tb, 1, hh, ww)[:, s - lo:e - lo])
    return ops.concat(outs, 1) if len(outs) > 1 else outs[0]


def make_decoder(model, graph=True):
    """A counting head decoder (``.compilations``) shared by streaming/chunked calls."""
    return _Compiled(model, graph)


class StreamingPredictor:
    """Online saliency: ``push(frame)`` → map of that frame from the last ``window`` frames.

    The backbone runs once per pushed frame; its levels sit in a ring buffer of ``window``
    frames and the head decodes the buffer (clip length min(frames seen, window)). Output for
    frame t equals ``model(x[:, max(0, t−W+1):t+1], text)[:, −1]``; with ``buckets`` the warm-up
    windows are padded to bucket lengths (fewer compilations, results differ until the buffer
    holds a bucket length of frames).
    """

    def __init__(self, model, window, text_emb=None, buckets=None, graph=True, decoder=None):
        if window < 1:
            raise ValueError(f"StreamingPredictor: window must be ≥ 1, got {window}")
        self.model, self.window, self.buckets = model, int(window), buckets
        self.text_emb = text_emb
        self.decoder = decoder or make_decoder(model, graph)
        self.cache = []          # per frame: 4 × (1, h·w, C)
        self.frames_seen = 0

    def reset(self):
        self.cache = []
        self.frames_seen = 0

    def push(self, frame):
        """frame (3, H, W) or (1, 3, H, W) → saliency (1, H, W) in (0, 1)."""
        if frame.ndim == 3:
            frame = frame.reshape(1, *frame.shape)
        if frame.ndim != 4 or frame.shape[0] != 1 or frame.shape[1] != 3:
            raise ValueError(f"StreamingPredictor.push: frame must be (3, H, W) or (1, 3, H, W), "
                             f"got {tuple(frame.shape)}")
        hh, ww = frame.shape[2], frame.shape[3]
        self.cache.append(backbone_features(self.model, frame, fn=self.decoder.backbone))
        if len(self.cache) > self.window:
            self.cache.pop(0)
        self.frames_seen += 1
        n = len(self.cache)
        feats = tuple(ops.concat([c[k] for c in self.cache], 0) for k in range(4))
        tb = bucket_length(n, self.buckets)
        if tb > n:
            feats = _clip_slice(feats, 1, n, 0, n, tb)
        pred = self.decoder(feats, self.model.frame_text(self.text_emb, 1, tb), None, tb,
                            (hh, ww))
        return pred[n - 1]

