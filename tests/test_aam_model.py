"""AAM cell: registry, parameter counts, a GRAPH-mode train step, video/image consistency, errors."""
import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
from mindspore import Tensor, nn  # noqa: E402

from aam_ms.models.registry import count_params, create_model, list_models  # noqa: E402

RNG = np.random.default_rng(0)
K = "native"   # the model is tested here; the custom kernels have their own parity tests


def _t(*shape, scale=1.0):
    return Tensor((RNG.standard_normal(shape) * scale).astype(np.float32))


@pytest.fixture(scope="module")
def tiny():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    net = create_model("aam_tiny", kernels=K)
    net.set_train(False)
    return net


def test_list_models():
    assert {"aam_tiny", "aam_vits16", "aam_vitb16", "aam_vitl16"} <= set(list_models())


def test_unknown_model_and_override():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("aam_nope")
    with pytest.raises(ValueError, match="unknown override"):
        create_model("aam_tiny", lora_rank=3)


def test_vits16_counts_match_released():
    # golden README: 37,883,936 unique tensors' elements; 16,282,784 by train.py's keywords
    total, trainable = count_params(create_model("aam_vits16"))
    assert (total, trainable) == (37_883_936, 16_282_784)


@pytest.mark.slow
def test_vitl16_vitb16_build_and_counts():
    total, trainable = count_params(create_model("aam_vitl16"))
    assert (total, trainable) == (324_192_416, 21_038_240)     # spec: 324.19 M / 21.04 M
    total_b, trainable_b = count_params(create_model("aam_vitb16"))
    assert total_b > 37_883_936 and trainable_b > 16_282_784


def test_image_and_video_shapes(tiny):
    pred, z_img, z_txt, z_anc, curv = tiny(_t(2, 3, 32, 48), _t(1, 768, scale=0.5))
    p = pred.asnumpy()
    assert p.shape == (2, 1, 32, 48) and (p > 0).all() and (p < 1).all()
    assert z_img.shape == z_txt.shape == z_anc.shape == (2, 32)
    assert abs(float(curv.asnumpy()) - 1.0) < 1e-6
    pred_v, z_img_v, *_ = tiny(_t(1, 3, 3, 32, 32), _t(1, 768), _t(3, 512))
    assert pred_v.shape == (1, 3, 1, 32, 32) and z_img_v.shape == (3, 32)


def test_video_batch_equals_per_clip(tiny):
    x, text, audio = _t(2, 3, 3, 32, 32), _t(2, 768, scale=0.5), _t(2, 3, 512)
    both = tiny(x, text, audio)[0].asnumpy()
    for b in range(2):
        one = tiny(x[b:b + 1], text[b:b + 1], audio[b:b + 1])[0].asnumpy()
        np.testing.assert_allclose(both[b], one[0], atol=1e-5)


def test_video_t1_reduces_to_image_path_without_fpd_residuals():
    net = create_model("aam_tiny", kernels=K)
    net.set_train(False)
    for i in (2, 3):                       # switch off every residual branch of the run FPDs
        m = net.head.motion_modules[i]
        for p in (m.temporal_attention_scale, m.temporal_ffn_scale, m.time_embedding,
                  m.spatial_mixer[1].weight, m.spatial_mixer[1].bias):
            p.set_data(Tensor(np.zeros(p.shape, np.float32)))
        m.fp_alpha_logit.set_data(Tensor(np.float32(-80.0)))
    x, text = _t(2, 3, 32, 32), _t(2, 768, scale=0.5)
    img = net(x, text)[0].asnumpy()
    vid = net(x.reshape(2, 1, 3, 32, 32), text)[0].asnumpy()
    np.testing.assert_allclose(vid[:, 0], img, atol=1e-6)
    # and with the residuals on, T = 1 is a different (dynamic) map
    assert np.abs(create_model("aam_tiny", kernels=K)(x.reshape(2, 1, 3, 32, 32), text)[0].asnumpy()
                  [:, 0] - img).max() > 0


def test_none_prompt(tiny):
    x = _t(1, 3, 32, 32)
    with pytest.raises(ValueError, match="None"):
        tiny(x, None)
    emb = RNG.standard_normal((1, 768)).astype(np.float32)
    tiny.set_none_prompt(emb)
    try:
        np.testing.assert_allclose(tiny(x, None)[0].asnumpy(), tiny(x, Tensor(emb))[0].asnumpy(),
                                   atol=1e-7)
    finally:
        tiny.none_prompt_emb = None


@pytest.mark.parametrize("shape, text, audio, msg", [
    ((1, 3, 40, 32), 1, None, "multiples of 16"),
    ((3, 32, 32), 1, None, "must be an image batch"),
    ((1, 2, 3, 4, 32, 32), 1, None, "must be an image batch"),
    ((1, 4, 32, 32), 1, None, "3 colour channels"),
    ((1, 3, 3, 32, 32), 1, (2, 512), "audio_emb must be"),
    ((1, 3, 32, 32), 1, (1, 512), "only used with video"),
    ((2, 3, 32, 32), 3, None, "rows for a batch"),
])
def test_bad_inputs(tiny, shape, text, audio, msg):
    with pytest.raises(ValueError, match=msg):
        tiny(_t(*shape), _t(text, 768), None if audio is None else _t(*audio))


class _WithLoss(nn.Cell):
    def __init__(self, net, criterion):
        super().__init__()
        self.net = net
        self.criterion = criterion

    def construct(self, x, text, gt):
        pred, z_img, z_txt, z_anc, curv = self.net(x, text)
        return self.criterion(pred, gt, z_img, z_txt, z_anc, curv)[0]


def test_tiny_train_step_graph_updates_only_trainable():
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        net = create_model("aam_tiny", lora_dropout=0.0, kernels=K)
        params = list(net.get_parameters())       # names get the wrapper prefix below
        names = [p.name for p in params]
        before = [p.asnumpy().copy() for p in params]
        trainable = {n for n, p in zip(names, params) if p.requires_grad}
        opt = nn.AdamWeightDecay(net.trainable_params(), learning_rate=1e-3, weight_decay=0.0)
        from aam_ms.losses import AAMLoss
        step = nn.TrainOneStepCell(_WithLoss(net, AAMLoss()), opt)
        step.set_train(True)
        gt = Tensor(RNG.uniform(size=(2, 1, 32, 32)).astype(np.float32))
        loss = float(step(_t(2, 3, 32, 32), _t(2, 768, scale=0.5), gt).asnumpy())
        assert np.isfinite(loss)
        changed = {n for n, p, b in zip(names, params, before) if not np.array_equal(p.asnumpy(), b)}
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert changed <= trainable                                   # frozen weights bit-identical
    assert not any(n.startswith("backbone.") and ".lora_" not in n for n in changed)
    for must in ("head.projects.0.weight", "head.decoder_out.final_conv.weight",
                 "head.decoder_stage1.up_conv.weight", "head.textual_proj.weight",
                 "backbone.blocks.3.attn.qkv.lora_B.weight"):
        assert must in changed, must
    # image batches never reach the FPD / fusion modules: zero gradient, no Adam update
    assert not any(n.startswith(("head.motion_modules.", "head.av_fusion.")) for n in changed)
