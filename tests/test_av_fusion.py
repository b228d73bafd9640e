"""Audio-visual fusion: golden parity, MultiheadAttention semantics, init, dropout, negative sample attack."""
import os
from pathlib import Path

import numpy as np
import pytest
import mindspore as ms

from aam_ms.models.av_fusion import (CrossAttention, NegativeSampleAttack, SelectiveAudioVisualFusion,
                                     gate_sparsity, torch_to_ms)

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden"
NPZ = Path(os.environ.get("AAM_GOLDEN_NPZ", GOLDEN / "aam_official_vits16_wr1.npz"))
KEYS = Path(os.environ.get("AAM_GOLDEN_KEYS", GOLDEN / "keys.json"))
PREFIX = "head.av_fusion"


@pytest.fixture(params=["graph", "pynative"])
def mode(request):
    ms.set_context(mode=ms.GRAPH_MODE if request.param == "graph" else ms.PYNATIVE_MODE)
    yield request.param
    ms.set_context(mode=ms.PYNATIVE_MODE)


@pytest.fixture(scope="module")
def golden():
    if not (NPZ.is_file() and KEYS.is_file()):
        pytest.skip(f"golden files absent ({NPZ}, {KEYS}); set AAM_GOLDEN_NPZ / AAM_GOLDEN_KEYS")
    from aam_ms.convert import wr1
    return np.load(NPZ), wr1.generate(str(KEYS))


def load_local(cell, params, prefix):
    head = prefix + "."
    local = {k[len(head):]: ms.Parameter(ms.Tensor(v), name=k[len(head):]) for k, v in params.items()}
    names = {p.name for p in cell.get_parameters()}
    assert set(local) == names, f"converter/cell name mismatch: {sorted(set(local) ^ names)}"
    for p in cell.get_parameters():
        assert tuple(p.shape) == tuple(local[p.name].shape), p.name
    ms.load_param_into_net(cell, local, strict_load=True)


def golden_cell(sd):
    cell = SelectiveAudioVisualFusion(visual_dim=768, audio_dim=512, hidden_dim=256)
    load_local(cell, torch_to_ms(PREFIX, sd), PREFIX)
    return cell


def golden_inputs(z):
    x = z["case3_avvideo.hook.head.motion_modules.3"][0].transpose(1, 0, 2, 3)   # (T, 768, h, w)
    return ms.Tensor(np.ascontiguousarray(x)), ms.Tensor(z["case3_avvideo.in.audio_emb"])


def test_golden_parity(mode, golden):
    z, sd = golden
    cell = golden_cell(sd)
    cell.set_train(False)
    out, gate = cell(*golden_inputs(z))
    ref_out, ref_gate = z["case3_avvideo.hook.head.av_fusion.0"], z["case3_avvideo.hook.head.av_fusion.1"]
    d_out = float(np.abs(out.asnumpy() - ref_out).max())
    d_gate = float(np.abs(gate.asnumpy() - ref_gate).max())
    print(f"[{mode}] av_fusion: max|Δ out| = {d_out:.3e}, max|Δ gate| = {d_gate:.3e}")
    assert out.shape == ref_out.shape and gate.shape == ref_gate.shape
    assert d_out <= 1e-5 and d_gate <= 1e-6


def test_converter_names(golden):
    _, sd = golden
    mapped = torch_to_ms(PREFIX, sd)
    assert {"head.av_fusion.norm.gamma", "head.av_fusion.norm.beta",
            "head.av_fusion.cross_attn.in_proj_weight", "head.av_fusion.cross_attn.out_proj.weight"} <= set(mapped)
    assert "head.av_fusion.norm.weight" not in mapped
    assert len(mapped) == sum(k.startswith(PREFIX + ".") for k in sd)


def test_dropout_only_in_training(golden):
    z, sd = golden
    cell = golden_cell(sd)
    x, a = golden_inputs(z)
    cell.set_train(False)
    e1, e2 = cell(x, a)[0].asnumpy(), cell(x, a)[0].asnumpy()
    assert np.array_equal(e1, e2)
    cell.set_train(True)
    t1 = cell(x, a)[0].asnumpy()
    assert np.abs(t1 - e1).max() > 1e-3


def test_cross_attention_matches_torch(mode):
    """Several keys (the fusion uses one): same numbers as torch.nn.MultiheadAttention(batch_first)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(32, 8, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_bias.uniform_(-0.5, 0.5)
        ref.out_proj.bias.uniform_(-0.5, 0.5)
    cell = CrossAttention(32, 8)
    sd = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    ms.load_param_into_net(cell, {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in sd.items()},
                           strict_load=True)
    cell.set_train(False)
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(0, 1, (2, n, 32)).astype(np.float32) for n in (5, 3, 3))
    want = ref(torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v))[0].detach().numpy()
    got = cell(ms.Tensor(q), ms.Tensor(k), ms.Tensor(v)).asnumpy()
    assert np.abs(got - want).max() <= 1e-5


def _layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g + b


def test_fresh_init_is_visual_prior(mode):
    """Zero FiLM layer → fused = q, so out = LN(Linear(Linear(x)) + x); gate bias −1."""
    cell = SelectiveAudioVisualFusion(visual_dim=16, audio_dim=12, hidden_dim=8, num_heads=2)
    cell.set_train(False)
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (3, 16, 2, 3)).astype(np.float32)
    a = rng.normal(0, 1, (3, 12)).astype(np.float32)
    out, gate = cell(ms.Tensor(x), ms.Tensor(a))
    p = {q.name: q.asnumpy() for q in cell.get_parameters()}
    assert p["relevance_selector.2.bias"].tolist() == [-1.0]
    assert not p["film_generator.2.weight"].any() and not p["film_generator.2.bias"].any()
    tok = x.transpose(0, 2, 3, 1).reshape(3, 6, 16)
    q = tok @ p["visual_proj.weight"].T + p["visual_proj.bias"]
    want = _layer_norm(q @ p["out_proj.weight"].T + p["out_proj.bias"] + tok, p["norm.gamma"], p["norm.beta"])
    assert np.abs(out.asnumpy() - want.reshape(3, 2, 3, 16).transpose(0, 3, 1, 2)).max() <= 1e-5
    g = gate.asnumpy()
    assert g.shape == (3, 1, 1) and np.all((g > 0) & (g < 1))


def test_bad_inputs():
    cell = SelectiveAudioVisualFusion(visual_dim=16, audio_dim=12, hidden_dim=8, num_heads=2)
    x = ms.Tensor(np.zeros((3, 16, 2, 2), np.float32))
    with pytest.raises(ValueError, match="x_visual"):
        cell(ms.Tensor(np.zeros((3, 15, 2, 2), np.float32)), ms.Tensor(np.zeros((3, 12), np.float32)))
    with pytest.raises(ValueError, match="x_audio"):
        cell(x, ms.Tensor(np.zeros((2, 12), np.float32)))
    with pytest.raises(ValueError, match="p must be"):
        NegativeSampleAttack(1.5)


def test_negative_sample_attack(mode):
    audio = ms.Tensor(np.full((64, 4, 8), 3.0, np.float32))
    nsa = NegativeSampleAttack(p=1.0, seed=5)
    nsa.set_train(False)
    out, neg = nsa(audio)
    assert np.array_equal(out.asnumpy(), audio.asnumpy()) and not neg.asnumpy().any()

    nsa.set_train(True)
    out, neg = nsa(audio)
    o = out.asnumpy()
    assert neg.asnumpy().tolist() == [1.0] * 64
    assert not np.any(o == 3.0) and abs(o.mean()) < 0.1 and abs(o.std() - 1.0) < 0.05

    a = NegativeSampleAttack(p=0.3, seed=7)
    b = NegativeSampleAttack(p=0.3, seed=7)
    a.set_train(True)
    b.set_train(True)
    (oa, na), (ob, nb) = a(audio), b(audio)
    na, oa = na.asnumpy(), oa.asnumpy()
    assert np.array_equal(oa, ob.asnumpy()) and np.array_equal(na, nb.asnumpy())
    assert 0 < na.sum() < 64
    kept = na == 0
    assert np.all(oa[kept] == 3.0) and not np.any(oa[~kept] == 3.0)


def test_gate_sparsity():
    gate = ms.Tensor(np.array([0.2, 0.4, 0.9, 0.1], np.float32).reshape(4, 1, 1))
    neg = ms.Tensor(np.array([1, 0, 1, 0], np.float32))
    assert abs(float(gate_sparsity(gate, neg).asnumpy()) - 0.55) < 1e-6
    assert float(gate_sparsity(gate, ms.Tensor(np.zeros(4, np.float32))).asnumpy()) == 0.0
