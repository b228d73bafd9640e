"""The one inference engine: saliency of images, clips and videos of any length (streamed).

::

    from aam_ms.inference import Engine
    engine = Engine(session)                          # an aam_ms.session.Session
    text = engine.embed("free viewing")               # (1, D_t) prompt embedding, cached per text
    maps = engine.predict_images(images, text)        # uint8 RGB (h, w, 3) list → [(H, W) float32]
    for i, frame, sal in engine.stream(frames, text, clip_len=16, overlap=8):
        ...                                           # any iterator of frames, any length
    maps = engine.predict_video(frames, text)         # (N, H, W) float32, the same windows
    pred = engine.clip(x, text)                       # tensors (B, T, 3, H, W) → (B, T, 1, H, W)

Maps are model probabilities at the model size ``session.size`` = (H, W); :func:`resize_map`
brings one back to its frame. ``text`` may be a prompt string, an embedding (1, D_t) or None
(the "None" prompt). Frames are uint8 RGB and go through ``aam_ms.data.transforms.
to_model_input`` (the training pipeline's resize + normalisation). On Ascend the model runs
under :mod:`aam_ms.amp`'s mixed-precision policy.

Why features are cached: AAM's backbone is per frame and only the head's FPD blocks mix frames
(temporal attention, the diffusion stencil, a time embedding interpolated to the clip length),
so

    model(x_{s:e}) = decode(F_{s:e}),    F_t = backbone(x_t)  computed once per frame.

Windows (:func:`plan_windows`, clip length T, overlap K): the first window holds T frames and
keeps all its outputs; every later step reads S = T − K new frames and decodes the last T frames
read, so each new frame is seen with ≥ K frames of past context (whose outputs are discarded).
A video of N ≤ T frames is one window, i.e. exactly ``model(x)``. ``overlap = T − 1`` is online
streaming: after the first T frames every frame is decoded as soon as it arrives, with the T − 1
frames before it. Audio (audio-visual models): ``audio_window(i)`` gives the waveform window of
frame i (:func:`audio_windows`), embedded once per frame like the backbone features.

Also here, for every tool: :func:`add_model_args` / :func:`open_session` (``--run`` /
``--config --checkpoint``), :func:`resolve_prompt` (a dataset key or free text).
"""
import os
import weakref

import numpy as np

from .cli import UserError
from .data import transforms
from .resources import config_path

AUDIO_WINDOW_S = 2.0
HEAD_CHUNK = 1        # frames per decoder graph call in GRAPH mode (Engine.head_chunk)


# ----------------------------------------------------------------------------- windows

def check_window(clip_len, overlap):
    """Refuse window settings that cannot work (ValueError naming the flag)."""
    if not isinstance(clip_len, (int, np.integer)) or clip_len < 1:
        raise ValueError(f"--clip-len must be an integer ≥ 1, got {clip_len}")
    if not isinstance(overlap, (int, np.integer)) or not 0 <= overlap < clip_len:
        raise ValueError(f"--overlap must be an integer in [0, clip_len) = [0, {clip_len}), "
                         f"got {overlap}")


def plan_windows(n, clip_len, overlap):
    """Windows of a video of ``n`` frames: [(start, end, first_kept)]; frames [first_kept, end)
    take their outputs from window [start, end). Step 1 reads T frames, later steps S = T − K;
    each window is the last min(T, end) frames read."""
    check_window(clip_len, overlap)
    out, end = [], 0
    while end < n:
        step = clip_len if end == 0 else clip_len - overlap
        new = min(step, n - end)
        end += new
        out.append((max(0, end - clip_len), end, end - new))
    return out


# ----------------------------------------------------------------------------- frames

def resize_map(sal, shape):
    """float (H, W) map → ``shape`` = (h, w): the data layer's map resize (bilinear)."""
    if np.shape(sal) == tuple(shape):
        return np.asarray(sal, np.float32)
    return transforms.resize_map(sal, shape)


def audio_windows(wav_path, fps, sample_rate, length_s=AUDIO_WINDOW_S):
    """``audio_window(i)``: mono waveform of the ``length_s`` window centred on frame i / fps."""
    from .data.io import load_audio

    def window(i):
        t = i / fps
        return load_audio(wav_path, t - length_s / 2, t + length_s / 2, sample_rate)
    return window


# ----------------------------------------------------------------------------- engine

_COMPILED = weakref.WeakKeyDictionary()


def _model_functions(model):
    # (a factory without other statements: ms.jit parses the scope its closures come from)
    def backbone(x, layers):
        return model.backbone.get_intermediate_layers(x, layers)

    def head(f1, f2, f3, f4, text, audio, clip_len, hh, ww):
        return model.decode((f1, f2, f3, f4), hh, ww, text, audio, clip_len)[0]

    def levels(f1, f2, f3, f4, audio, clip_len, ph, pw):
        return model.head.levels((f1, f2, f3, f4), ph, pw, audio, clip_len)[0]

    def frames(p1, p2, p3, p4, text, hh, ww):
        return model.decode_frames((p1, p2, p3, p4), hh, ww, text)[0]
    return backbone, head, levels, frames


def _eager(fn):
    """``fn`` run op by op (PyNative) also in a GRAPH-mode context: eager execution frees each
    intermediate after its last use, whereas a compiled graph keeps the memory of all of them
    (on CPU, ≈ 0.22 GiB per frame for the FPD of ``aam_vitl16`` at 448²)."""
    def run(*args):
        import mindspore as ms
        mode = ms.get_context("mode")
        if mode == ms.PYNATIVE_MODE:
            return fn(*args)
        ms.set_context(mode=ms.PYNATIVE_MODE)
        try:
            return fn(*args)
        finally:
            ms.set_context(mode=mode)
    return run


def _compiled(model, graph):
    """(backbone, head, levels, frames, shape keys) of a model. ``head`` is ``model.decode``
    on cached levels → pred (N, 1, H, W); ``levels`` (``head.levels``: projections, FPD,
    fusion) and ``frames`` (``model.decode_frames``, the per-frame decoder) are the same head
    in two parts, for decoding a long clip in chunks of frames; in GRAPH on CPU, ``levels``
    runs eagerly (:func:`_eager`). The functions take the levels as separate tensors (a tuple
    argument of ``ms.jit`` is a constant: one graph per call) and constant ints (one graph per
    shape key). They are made once per model, so every Engine on it reuses the graphs already
    compiled; they carry the model's AMP strategy (:mod:`aam_ms.amp`)."""
    import mindspore as ms
    per_model = _COMPILED.setdefault(model, {})
    if graph not in per_model:
        fns = _model_functions(model)
        if graph:
            from .amp import strategy
            amp = strategy(model)
            if amp is not None:
                for fn in fns:
                    fn.amp_strategy = amp
            backbone, head, levels, frames = fns
            cpu = ms.get_context("device_target") == "CPU"
            fns = (ms.jit(backbone), ms.jit(head), _eager(levels) if cpu else ms.jit(levels),
                   ms.jit(frames))
        per_model[graph] = (*fns, set())
    return per_model[graph]


class Engine:
    """Saliency inference on a loaded session (model + prompt / audio encoders).

    ``graph`` (default: the context's mode is GRAPH) compiles the backbone and the head once
    per input shape with ``ms.jit``; ``frame_batch`` runs the backbone over at most that many
    frames at a time (memory; the backbone has no cross-frame term, so results are unchanged).
    ``blockwise`` (default: GRAPH on CPU) runs the backbone as one compiled block graph called
    per block (:mod:`aam_ms.models.backbones.blockwise`: the same numbers, the memory of one
    block's intermediates instead of all of them, one short compile); the weights are read
    when the Engine is made, so make a new Engine after loading other weights.
    ``low_memory`` runs the head eagerly (aam_vitl16, one 448² image: peak 3.1 → 2.1 GiB, the
    head 0.65 → 3.5 s; the same numbers).
    ``head_chunk`` (default :data:`HEAD_CHUNK` in GRAPH, none in PYNATIVE) decodes more frames
    than that as ``head.levels`` over all of them (eagerly on CPU), then the per-frame decoder on
    chunks of ``head_chunk`` frames, one compiled graph called per chunk. A compiled graph
    keeps the memory of every intermediate it computes, so this bounds the head's memory to
    one chunk of the decoder plus the eager clip-level part (the decoder has no cross-frame
    term: results are unchanged). ``compilations`` counts the head graphs built so far for
    this model (they are shared by every Engine on the same model).
    """

    def __init__(self, session, graph=None, frame_batch=None, head_chunk=None, blockwise=None,
                 low_memory=False):
        import mindspore as ms
        self.session = session
        self.model = session.model
        self.size = tuple(int(v) for v in session.cfg["input"]["size"])
        self.input_cfg = session.cfg["input"]
        self.frame_batch = frame_batch
        if graph is None:
            graph = ms.get_context("mode") == ms.GRAPH_MODE
        self.graph = bool(graph)
        self.head_chunk = head_chunk if head_chunk is not None else (HEAD_CHUNK if graph else 0)
        _apply_amp(self.model, session.cfg)
        (self._backbone, self._head, self._levels, self._frames,
         self._keys) = _compiled(self.model, self.graph)
        if blockwise is None:
            blockwise = self.graph and ms.get_context("device_target") == "CPU"
        self.blockwise = bool(blockwise) and self.graph
        if self.blockwise:
            from .models.backbones.blockwise import BlockwiseBackbone
            self._backbone = BlockwiseBackbone(self.model.backbone)
        self.low_memory = bool(low_memory) and self.graph
        if self.low_memory:                   # the head op by op: frees what a graph keeps
            _, head, _, frames = _model_functions(self.model)
            self._head, self._frames = _eager(head), _eager(frames)
            self._keys = set()                # nothing compiled: keep the shared count
        self._to_input = transforms.to_model_input
        self._prompts = {}

    # -- prompts

    def embed(self, prompt):
        """(1, D_t) MindSpore tensor of a prompt text (cached per text)."""
        import mindspore as ms
        if prompt not in self._prompts:
            if self.session.text is None:
                raise ValueError("this session has no text encoder (load it with encoders=True)")
            self._prompts[prompt] = ms.Tensor(np.asarray(self.session.text.embed([prompt]),
                                                         np.float32))
        return self._prompts[prompt]

    def _text(self, text):
        import mindspore as ms
        if text is None or isinstance(text, ms.Tensor):
            return text
        if isinstance(text, str):
            return self.embed(text)
        return ms.Tensor(np.asarray(text, np.float32).reshape(1, -1))

    # -- tensor level

    @property
    def compilations(self):
        return len(self._keys) if self.graph and not self.low_memory else 0

    def prepare(self, frames):
        """uint8 RGB frames (any sizes) → model input float32 (N, 3, H, W) as a tensor."""
        import mindspore as ms
        return ms.Tensor(self._to_input(list(frames), self.input_cfg))

    def features(self, x):
        """4 × (N, h·w, C): the head's backbone levels of frames x (N, 3, H, W), in micro-batches
        of ``frame_batch`` frames."""
        from mindspore import ops
        n = x.shape[0]
        step = int(self.frame_batch or n)
        parts = [self._backbone(x[i:i + step], self.model.intermediate_layers)
                 for i in range(0, n, step)]
        if len(parts) == 1:
            return tuple(parts[0])
        return tuple(ops.concat([p[k] for p in parts], 0) for k in range(len(parts[0])))

    def decode(self, feats, text, audio=None, clip_len=0, size=None):
        """Head on cached levels of N = B·T frames (B clips, frame-major; clip_len 0 = images),
        text (1 or B, D_t) / None, audio (B·T, D_a) or None → pred (N, 1, H, W)."""
        import mindspore as ms
        from mindspore import ops
        hh, ww = size or self.size
        n = feats[0].shape[0]
        b = n // clip_len if clip_len else n
        rows = self.model.frame_text(self._text(text), b, clip_len)
        shapes = tuple(tuple(f.shape) for f in feats)
        chunk = self.head_chunk
        if not chunk or n <= chunk:
            self._keys.add(("head", shapes, clip_len, hh, ww, audio is None))
            return self._head(*feats, rows, audio, clip_len, hh, ww)
        p = self.model.patch_size
        layers = self._levels(*feats, audio, clip_len, hh // p, ww // p)
        self._keys.add(("frames", tuple(tuple(v.shape[1:]) for v in layers), chunk, hh, ww))
        preds = []
        for s in range(0, n, chunk):      # the last chunk padded with its last frame: one graph
            idx = ms.Tensor(np.minimum(np.arange(s, s + chunk), n - 1).astype(np.int32))
            part = [ops.gather(v, idx, 0) for v in (*layers, rows)]
            preds.append(self._frames(*part, hh, ww)[:min(chunk, n - s)])
        return ops.concat(preds, 0)

    def clip(self, x, text=None, audio=None):
        """One pass over whole clips from cached features: x (B, T, 3, H, W) tensor (model
        input), audio (B, T, D_a) or None → (B, T, 1, H, W), equal to ``model(x, text, audio)``."""
        if x.ndim != 5 or x.shape[2] != 3:
            raise ValueError(f"clip must be (B, T, 3, H, W), got shape {tuple(x.shape)}")
        b, t, hh, ww = x.shape[0], x.shape[1], x.shape[3], x.shape[4]
        feats = self.features(x.reshape(b * t, 3, hh, ww))
        pred = self.decode(feats, text, self.model.frame_audio(audio, b, t), t, (hh, ww))
        return pred.reshape(b, t, 1, hh, ww)

    # -- images and videos (uint8 RGB frames)

    def predict_images(self, images, text=None, batch=1):
        """uint8 RGB images (any sizes) → float32 maps (H, W) at the model size. The last batch
        is padded by repeating its final image so one compiled graph serves every batch."""
        if batch < 1:
            raise ValueError(f"batch must be ≥ 1, got {batch}")
        text = self._text(text)
        out = []
        images = list(images)
        for i in range(0, len(images), batch):
            chunk = images[i:i + batch]
            n = len(chunk)
            x = self.prepare(chunk + [chunk[-1]] * (batch - n))
            pred = self.decode(self.features(x), text).asnumpy()
            out += [pred[k, 0] for k in range(n)]
        return out

    def stream(self, frames, text=None, clip_len=16, overlap=8, audio_window=None):
        """Frame-wise inference over an iterator of uint8 RGB frames of unknown length.

        Yields ``(index, frame, map)`` in frame order (map float32 (H, W) at the model size),
        windows as :func:`plan_windows`. ``audio_window(i)`` → waveform of frame i, or None for
        visual only. The backbone (and the audio encoder) run once per frame; the last
        ``clip_len`` frames' features are kept and each window is decoded from them."""
        import mindspore as ms
        from mindspore import ops
        check_window(clip_len, overlap)
        text = self._text(text)
        feats, emb = None, []
        it = iter(frames)
        index = 0
        while True:
            step = clip_len if index == 0 else clip_len - overlap
            new = []
            for f in it:
                new.append(f)
                if len(new) == step:
                    break
            if not new:
                return
            f_new = self.features(self.prepare(new))
            feats = f_new if feats is None else tuple(
                ops.concat((a, b), 0)[-clip_len:] for a, b in zip(feats, f_new))
            n = feats[0].shape[0]
            audio = None
            if audio_window is not None:
                if self.session.audio is None:
                    raise ValueError("audio given but this session has no audio encoder")
                waves = np.stack([audio_window(index + k) for k in range(len(new))])
                emb = (emb + list(self.session.audio.embed_windows(waves)))[-clip_len:]
                audio = ms.Tensor(np.asarray(emb, np.float32))
            maps = self.decode(feats, text, audio, n).asnumpy()[:, 0]
            for k, f in enumerate(new):
                yield index + k, f, maps[n - len(new) + k]
            index += len(new)

    def predict_video(self, frames, text=None, clip_len=16, overlap=8, audio_window=None):
        """All maps of :meth:`stream` as one float32 array (N, H, W)."""
        maps = [m for _, _, m in self.stream(frames, text, clip_len, overlap, audio_window)]
        return np.stack(maps) if maps else np.zeros((0,) + self.size, np.float32)


def _apply_amp(model, cfg):
    """On Ascend, the mixed-precision policy of :mod:`aam_ms.amp` (``train.amp`` of the config,
    default ``auto`` = bf16 there), once per model and before any graph is compiled."""
    import mindspore as ms
    target = ms.get_context("device_target")
    if target != "Ascend" or getattr(model, "amp_strategy", None) is not None:
        return
    from . import amp
    amp.apply_amp(model, amp.resolve((cfg.get("train") or {}).get("amp", "auto"), target), target)


# ----------------------------------------------------------------------------- sessions

def resolve_prompt(value):
    """``None`` → the "None" prompt; a prompt / dataset key → its prompt; text with spaces →
    itself. A single word that is no known key is refused (likely a typo)."""
    from .data import prompts
    if value is None:
        return prompts.get_prompt("None")
    value = value.strip()
    if not value:
        raise UserError("--prompt is empty: give a description or a dataset key")
    if value in prompts.keys() or value in prompts.DATASET_PROMPT_KEY:
        return prompts.get_prompt(value)
    if not any(c.isspace() for c in value):
        known = sorted(set(prompts.keys()) | set(prompts.DATASET_PROMPT_KEY))
        raise UserError(f"--prompt {value!r} is no known prompt or dataset key (known: "
                        f"{', '.join(known)}); free-text prompts must be several words")
    return value


def add_model_args(ap):
    """--run / --config / --checkpoint / --set / --pynative, shared by every inference tool."""
    g = ap.add_argument_group("model")
    g.add_argument("--run", help="training run directory (config.yaml + checkpoints)")
    g.add_argument("--config", help="config YAML (with --checkpoint)")
    g.add_argument("--checkpoint", help="MindSpore .ckpt or the released AAM .pth")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set input.size=[224,224] (repeatable)")
    g.add_argument("--pynative", action="store_true", help="PyNative mode (default: GRAPH)")


def open_session(args, encoders=True):
    """MindSpore context + :func:`aam_ms.session.load_session` from parsed model args; a
    missing file or a bad config is a :class:`UserError`."""
    import mindspore as ms
    if not args.run and not args.config:
        raise UserError("give --run DIR or --config FILE --checkpoint CKPT")
    for flag, p in (("--run", args.run), ("--config", args.config),
                    ("--checkpoint", args.checkpoint)):
        if p and not os.path.exists(config_path(p) if flag == "--config" else p):
            raise UserError(f"{flag} {p}: no such file or folder")
    ms.set_context(mode=ms.PYNATIVE_MODE if args.pynative else ms.GRAPH_MODE)
    from .session import load_session
    try:
        return load_session(run=args.run, config=args.config, checkpoint=args.checkpoint,
                            overrides=args.overrides, encoders=encoders)
    except (ValueError, OSError, KeyError) as e:
        if isinstance(e, UserError):
            raise
        raise UserError(str(e).strip().splitlines()[0] if str(e).strip() else repr(e)) from e
