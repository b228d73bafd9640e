"""Audio-visual fusion: golden parity (every audio-visual case of the golden set),
MultiheadAttention semantics, init, dropout, negative sample attack."""
import numpy as np
import pytest
import mindspore as ms

from aam_ms.models.av_fusion import SelectiveAudioVisualFusion, negative_sample_attack
from conftest import golden_cases, golden_hooks, golden_params, load_released

PREFIX = "head.av_fusion"
AV_CASES = golden_cases(audio=True)


def golden_cell(sd):
    """The released fusion at the golden set's widths (read from its weights)."""
    visual = sd[f"{PREFIX}.visual_proj.weight"]                  # (hidden, visual)
    audio = sd[f"{PREFIX}.audio_proj.weight"]                    # (hidden, audio)
    cell = SelectiveAudioVisualFusion(visual_dim=visual.shape[1], audio_dim=audio.shape[1],
                                      hidden_dim=visual.shape[0])
    load_released(cell, sd, PREFIX)
    return cell


def golden_inputs(z, case):
    """The fusion's inputs in ``case``: the deepest motion module's output and the audio."""
    level = golden_hooks(case, r"head\.motion_modules\.(\d+)")[-1][1]
    x = z[f"{case}.hook.head.motion_modules.{level}"][0].transpose(1, 0, 2, 3)   # (T, C, h, w)
    return ms.Tensor(np.ascontiguousarray(x)), ms.Tensor(z[f"{case}.in.audio_emb"])


@pytest.mark.parametrize("case", golden_params(AV_CASES, "audio-visual case"))
def test_golden_parity(mode, golden, case):
    z, sd = golden
    cell = golden_cell(sd)
    cell.set_train(False)
    out, gate = cell(*golden_inputs(z, case))
    ref_out, ref_gate = z[f"{case}.hook.{PREFIX}.0"], z[f"{case}.hook.{PREFIX}.1"]
    d_out = float(np.abs(out.asnumpy() - ref_out).max())
    d_gate = float(np.abs(gate.asnumpy() - ref_gate).max())
    print(f"[{mode}] {case} av_fusion: max|Δ out| = {d_out:.3e}, max|Δ gate| = {d_gate:.3e}")
    assert out.shape == ref_out.shape and gate.shape == ref_gate.shape
    assert d_out <= 1e-5 and d_gate <= 1e-6


def test_released_names_map_onto_the_cell(golden):
    _, sd = golden
    from aam_ms.convert.aam import name_table
    table = name_table(golden_cell(sd))
    assert table["norm.gamma"] == "norm.weight" and table["norm.beta"] == "norm.bias"
    assert table["cross_attn.in_proj_weight"] == "cross_attn.in_proj_weight"
    assert {f"{PREFIX}.{k}" for k in table.values()} == {k for k in sd if k.startswith(PREFIX + ".")}


@pytest.mark.parametrize("case", golden_params(AV_CASES[:1], "audio-visual case"))
def test_dropout_only_in_training(golden, case):
    z, sd = golden
    cell = golden_cell(sd)
    x, a = golden_inputs(z, case)
    cell.set_train(False)
    e1, e2 = cell(x, a)[0].asnumpy(), cell(x, a)[0].asnumpy()
    assert np.array_equal(e1, e2)
    cell.set_train(True)
    t1 = cell(x, a)[0].asnumpy()
    assert np.abs(t1 - e1).max() > 1e-3


def test_cross_attention_matches_torch(mode):
    """The fusion's attention cell (MindSpore ``nn.MultiheadAttention``, batch_first) with several
    keys (the fusion uses one): same numbers as torch.nn.MultiheadAttention(batch_first)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(32, 8, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_bias.uniform_(-0.5, 0.5)
        ref.out_proj.bias.uniform_(-0.5, 0.5)
    cell = SelectiveAudioVisualFusion(visual_dim=16, audio_dim=12, hidden_dim=32).cross_attn
    sd = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    params = {p.name.split("cross_attn.", 1)[1]: p for p in cell.get_parameters()}
    assert set(params) == set(sd)
    for k, v in sd.items():
        params[k].set_data(ms.Tensor(v))
    cell.set_train(False)
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(0, 1, (2, n, 32)).astype(np.float32) for n in (5, 3, 3))
    want = ref(torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v))[0].detach().numpy()
    got = cell(ms.Tensor(q), ms.Tensor(k), ms.Tensor(v), need_weights=False)[0].asnumpy()
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
        negative_sample_attack(np.zeros((2, 3), np.float32), 1.5, np.random.default_rng(0))


def test_negative_sample_attack():
    audio = np.full((64, 4, 8), 3.0, np.float32)
    out, neg = negative_sample_attack(audio, 1.0, np.random.default_rng(5))
    assert neg.tolist() == [1.0] * 64
    assert not np.any(out == 3.0) and abs(out.mean()) < 0.1 and abs(out.std() - 1.0) < 0.05
    out, neg = negative_sample_attack(audio, 0.0, np.random.default_rng(5))
    assert np.array_equal(out, audio) and not neg.any()
    (oa, na), (ob, nb) = (negative_sample_attack(audio, 0.3, np.random.default_rng(7)) for _ in range(2))
    assert np.array_equal(oa, ob) and np.array_equal(na, nb) and 0 < na.sum() < 64
    kept = na == 0
    assert np.all(oa[kept] == 3.0) and not np.any(oa[~kept] == 3.0)   # whole samples replaced
