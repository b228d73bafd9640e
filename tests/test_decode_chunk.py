"""The head split the engine can chunk: ``head.levels`` on the clip, then ``AAM.decode_frames``
on chunks of frames as separate GRAPH calls, equals ``AAM.decode`` in one pass."""
import numpy as np
import mindspore as ms
from mindspore import Tensor, nn, ops

from aam_ms.models.registry import create_model


class _Decode(nn.Cell):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, f1, f2, f3, f4, text, clip_len, hh, ww):
        return self.model.decode((f1, f2, f3, f4), hh, ww, text, None, clip_len)[:5]


class _Levels(nn.Cell):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, f1, f2, f3, f4, clip_len, ph, pw):
        return self.model.head.levels((f1, f2, f3, f4), ph, pw, None, clip_len)[0]


class _Frames(nn.Cell):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, p1, p2, p3, p4, text, hh, ww):
        return self.model.decode_frames((p1, p2, p3, p4), hh, ww, text)


def test_levels_then_chunked_decode_frames_equals_decode():
    model = create_model("aam_tiny")
    model.set_train(False)
    rng = np.random.default_rng(0)
    t, size = 7, 48                                    # 7 frames in chunks of 3: 3 + 3 + 1
    x = Tensor(rng.standard_normal((t, 3, size, size)).astype(np.float32))
    text = model.frame_text(Tensor(rng.standard_normal((1, model.text_dim)).astype(np.float32)), 1, t)
    feats = ms.jit(model.backbone.get_intermediate_layers)(x, model.intermediate_layers)
    ref = [o.asnumpy() for o in ms.jit(_Decode(model).construct)(*feats, text, t, size, size)]
    levels = ms.jit(_Levels(model).construct)(*feats, t, size // 16, size // 16)
    frames = ms.jit(_Frames(model).construct)
    parts = [frames(*(lv[s:s + 3] for lv in levels), text[s:s + 3], size, size)
             for s in range(0, t, 3)]
    for k in range(4):
        ours = ops.concat([p[k] for p in parts], 0).asnumpy()
        assert ours.shape == ref[k].shape
        np.testing.assert_allclose(ours, ref[k], rtol=0, atol=2e-6)
    assert ref[0].shape == (t, 1, size, size)
