"""AAM.decode in frame chunks (inference memory) equals one head pass, in GRAPH mode."""
import numpy as np
import mindspore as ms
from mindspore import Tensor, nn

from aam_ms.models.registry import create_model


class _Decode(nn.Cell):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, f1, f2, f3, f4, text, clip_len, hh, ww):
        return self.model.decode((f1, f2, f3, f4), hh, ww, text, None, clip_len)[:5]


def test_chunked_decode_equals_one_pass():
    model = create_model("aam_tiny")
    model.set_train(False)
    rng = np.random.default_rng(0)
    t, size = 7, 48                                    # 7 frames in chunks of 3: 3 + 3 + 1
    x = Tensor(rng.standard_normal((t, 3, size, size)).astype(np.float32))
    text = model.frame_text(Tensor(rng.standard_normal((1, model.text_dim)).astype(np.float32)), 1, t)
    feats = ms.jit(model.backbone.get_intermediate_layers)(x, model.intermediate_layers)
    outs = {}
    for chunk in (0, 3):
        model.decode_chunk = chunk
        outs[chunk] = [o.asnumpy() for o in ms.jit(_Decode(model).construct)(*feats, text, t, size, size)]
    for a, b in zip(outs[0], outs[3]):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=0, atol=2e-6)
    assert outs[0][0].shape == (t, 1, size, size)
