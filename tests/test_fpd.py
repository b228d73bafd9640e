"""Fokker–Planck dynamics: golden parity with the released block, simplex invariants, T = 1 reduction, CFL."""
import numpy as np
import pytest
import mindspore as ms
from hypothesis import given, settings, strategies as st
from scipy.special import erf

from aam_ms import kernels
from aam_ms.models.fpd import FokkerPlanckDynamics
from conftest import golden_cases, golden_hooks, golden_params, load_released


def randomize(cell, seed, scale_overrides=None):
    """Random weights for every parameter (so that all branches matter), deterministic per seed."""
    rng = np.random.default_rng(seed)
    values = {}
    for p in cell.get_parameters():
        shape = tuple(p.shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) >= 2 else 1
        v = rng.uniform(-1.0, 1.0, shape) / np.sqrt(fan_in)
        if p.name.endswith("gamma"):
            v = 1.0 + 0.1 * v
        values[p.name] = v.astype(np.float32)
    values.update(scale_overrides or {})
    ms.load_param_into_net(cell, {k: ms.Parameter(ms.Tensor(np.asarray(v, np.float32)), name=k)
                                  for k, v in values.items()}, strict_load=True)
    return values


MOTION_HOOKS = [h for case in golden_cases(dynamic=True)
                for h in golden_hooks(case, r"head\.motion_modules\.(\d+)")]


@pytest.mark.parametrize("case_level", golden_params(MOTION_HOOKS, "motion_modules hook"),
                         ids=lambda h: f"{h[0]}.L{h[1]}" if h else "absent")
def test_golden_parity(mode, golden, case_level):
    """Every FPD level of every video case of the golden set, from its projected features."""
    case, level = case_level
    z, sd = golden
    x = z[f"{case}.hook.head.projects.{level}"]                          # (T, C, h, w)
    prefix = f"head.motion_modules.{level}"
    cell = FokkerPlanckDynamics(x.shape[1], num_frames=sd[f"{prefix}.time_embedding"].shape[1])
    load_released(cell, sd, prefix)
    cell.set_train(False)
    x = np.ascontiguousarray(x[None].transpose(0, 2, 1, 3, 4))            # (1, C, T, h, w)
    out = cell(ms.Tensor(x)).asnumpy()
    ref = z[f"{case}.hook.{prefix}"]
    delta = float(np.abs(out - ref).max())
    print(f"[{mode}] {case} motion_modules.{level}: max|Δ| = {delta:.3e} "
          f"(max|ref| = {np.abs(ref).max():.3f})")
    assert out.shape == ref.shape
    assert delta <= 1e-5


def test_released_names_map_onto_the_cell(golden):
    _, sd = golden
    from aam_ms.convert.aam import name_table
    levels = sorted({int(k.split(".")[2]) for k in sd if k.startswith("head.motion_modules.")})
    assert levels, "the released network has no motion modules"
    for level in levels:
        prefix = f"head.motion_modules.{level}"
        table = name_table(FokkerPlanckDynamics(sd[f"{prefix}.temporal_norm.weight"].shape[0]))
        assert table["temporal_norm.gamma"] == "temporal_norm.weight"
        assert table["temporal_ffn_norm.beta"] == "temporal_ffn_norm.bias"
        assert {f"{prefix}.{k}" for k in table.values()} == \
            {k for k in sd if k.startswith(prefix + ".")}


def test_time_embedding_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    cell = FokkerPlanckDynamics(8, num_frames=64)
    emb = randomize(cell, 0)["time_embedding"]
    for t in (1, 3, 5, 17, 64, 100):
        ref = torch.nn.functional.interpolate(torch.from_numpy(emb).transpose(1, 2), size=t,
                                              mode="linear", align_corners=False).transpose(1, 2)
        got = cell.time_embed(t).asnumpy()
        assert got.shape == (1, t, 8)
        np.testing.assert_allclose(got, ref.numpy(), rtol=0, atol=1e-7)


def _run(cell, x):
    out, states = cell(ms.Tensor(x), True)
    return out.asnumpy(), [s.asnumpy() for s in states]


def assert_simplex(rho, what):
    assert np.all(rho >= 0), f"{what}: negative mass {rho.min()}"
    sums = rho.sum((2, 3))
    assert np.abs(sums - 1).max() <= 1e-5, f"{what}: frame sums {sums.min()}..{sums.max()}"


def _frames_for(mode):
    return range(1, 41) if mode == "pynative" else (1, 2, 3, 8, 40)


def test_simplex_over_T(mode):
    """Observation and projected densities are on the simplex per frame and sample, T = 1…40."""
    cell = FokkerPlanckDynamics(16, num_heads=4)
    randomize(cell, 1)
    cell.set_train(False)
    rng = np.random.default_rng(2)
    for t in _frames_for(mode):
        x = rng.normal(0, 2.0, (2, 16, t, 3, 4)).astype(np.float32)
        out, (obs, drift, diff, corr, rho) = _run(cell, x)
        assert out.shape == x.shape and np.isfinite(out).all()
        assert_simplex(obs, f"rho_obs T={t}")
        assert_simplex(rho, f"rho T={t}")
        assert np.all(drift >= -1e-7), f"drift T={t}: {drift.min()}"


@settings(max_examples=12, deadline=None)
@given(b=st.integers(1, 3), t=st.integers(1, 40), h=st.integers(1, 4), w=st.integers(1, 4),
       scale=st.sampled_from([1e-3, 1.0, 30.0]), seed=st.integers(0, 2**16))
def test_simplex_property_cfl(b, t, h, w, scale, seed):
    """With the CFL bound every sub-step stays non-negative and the projection lands on the simplex."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    cell = FokkerPlanckDynamics(8, num_heads=2, fp_cfl=True)
    randomize(cell, seed, {"nu_head.bias": np.full((1,), 3.0, np.float32)})
    cell.set_train(False)
    x = (np.random.default_rng(seed).normal(0, scale, (b, 8, t, h, w))).astype(np.float32)
    out, (obs, drift, diff, corr, rho) = _run(cell, x)
    assert np.isfinite(out).all()
    for name, r in (("drift", drift), ("diffusion", diff), ("correction", corr)):
        assert np.all(r >= -1e-7), f"{name}: {r.min()}"
    assert_simplex(obs, "rho_obs")
    assert_simplex(rho, "rho")


def _layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _gelu(x):
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def static_reference(p, x):
    """The FPD block with T = 1 written without drift or diffusion: A = [[1]], ρ = ρ_obs. x: (B, C, h, w)."""
    b, c, h, w = x.shape
    te = 0.5 * (p["time_embedding"][0, 31] + p["time_embedding"][0, 32])     # 64 → 1 interpolation
    xt = x.transpose(0, 2, 3, 1).astype(np.float64) + te                    # (B, h, w, C)
    xn = _layer_norm(xt, p["temporal_norm.gamma"], p["temporal_norm.beta"])
    wv, bv = p["temporal_attn.qkv.weight"][2 * c:], p["temporal_attn.qkv.bias"][2 * c:]
    attn_out = (xn @ wv.T + bv) @ p["temporal_attn.proj.weight"].T + p["temporal_attn.proj.bias"]
    logit = xt @ p["sal_obs_head.weight"].reshape(1, c).T + p["sal_obs_head.bias"]   # (B, h, w, 1)
    e = np.exp(logit - logit.max((1, 2, 3), keepdims=True))
    rho = e / e.sum((1, 2, 3), keepdims=True)
    rho = rho / (rho.sum() + 1e-6)
    rho = rho / (rho.sum((1, 2, 3), keepdims=True) + 1e-6)
    a = 0.5 / (1 + np.exp(-p["fp_alpha_logit"]))
    xc = xt + a * rho * xt
    xc = xc + p["temporal_attention_scale"] * (attn_out @ p["temporal_dense.weight"].T + p["temporal_dense.bias"])
    hid = _gelu(_layer_norm(xc, p["temporal_ffn_norm.gamma"], p["temporal_ffn_norm.beta"])
                @ p["temporal_ffn.fc1.weight"].T + p["temporal_ffn.fc1.bias"])
    xc = xc + p["temporal_ffn_scale"] * (hid @ p["temporal_ffn.fc2.weight"].T + p["temporal_ffn.fc2.bias"])
    k = p["spatial_mixer.0.weight"][:, 0]                                   # (C, 3, 3) depthwise
    pad = np.pad(xc, ((0, 0), (1, 1), (1, 1), (0, 0)))
    dw = sum(pad[:, i:i + h, j:j + w, :] * k[:, i, j] for i in range(3) for j in range(3))
    mix = _gelu(dw @ p["spatial_mixer.1.weight"][:, :, 0, 0].T + p["spatial_mixer.1.bias"])
    return (xc + mix).transpose(0, 3, 1, 2)


def test_T1_is_static_path(mode):
    cell = FokkerPlanckDynamics(16, num_heads=4)
    p = randomize(cell, 3, {"temporal_attention_scale": np.full((1,), 0.7, np.float32),
                            "temporal_ffn_scale": np.full((1,), 0.4, np.float32),
                            "fp_alpha_logit": np.float32(1.3)})
    cell.set_train(False)
    x = np.random.default_rng(4).normal(0, 1, (2, 16, 1, 3, 5)).astype(np.float32)
    out = cell(ms.Tensor(x)).asnumpy()
    ref = static_reference(p, x[:, :, 0])
    delta = float(np.abs(out[:, :, 0] - ref).max())
    print(f"[{mode}] T=1 vs static path: max|Δ| = {delta:.3e}")
    assert delta <= 1e-5


def test_batch_is_per_sample(mode):
    """B > 1 gives each sample its B = 1 result (samples couple only through the ε of the projection)."""
    cell = FokkerPlanckDynamics(16, num_heads=4)
    randomize(cell, 5, {"fp_alpha_logit": np.float32(2.0)})
    cell.set_train(False)
    x = np.random.default_rng(6).normal(0, 1, (3, 16, 5, 3, 3)).astype(np.float32)
    out, states = _run(cell, x)
    for i in range(3):
        oi, si = _run(cell, x[i:i + 1])
        assert np.abs(out[i:i + 1] - oi).max() <= 1e-5
        assert np.abs(states[-1][i:i + 1] - si[-1]).max() <= 1e-5


def test_cfl_keeps_diffusion_positive(mode):
    """Adversarially large ν: the stencil creates negative mass without CFL and none with it."""
    rng = np.random.default_rng(7)
    rho = rng.uniform(0, 1, (64, 9)).astype(np.float32)
    rho[:, ::2] = 0.0
    nu = rng.uniform(0.5, 1e3, (64, 9)).astype(np.float32)
    free = kernels.fp_diffusion(ms.Tensor(rho), ms.Tensor(nu), 1.0, False).asnumpy()
    bounded = kernels.fp_diffusion(ms.Tensor(rho), ms.Tensor(nu), 1.0, True).asnumpy()
    assert free.min() < -1.0
    assert bounded.min() >= 0.0

    for cfl in (False, True):
        cell = FokkerPlanckDynamics(8, num_heads=2, fp_cfl=cfl)
        randomize(cell, 8, {"nu_head.bias": np.full((1,), 200.0, np.float32)})
        cell.set_train(False)
        x = np.random.default_rng(9).normal(0, 1, (1, 8, 6, 3, 3)).astype(np.float32)
        _, (_, _, diff, _, rho_final) = _run(cell, x)
        if cfl:
            assert diff.min() >= 0.0
        else:
            assert diff.min() < 0.0
        assert_simplex(rho_final, f"rho (cfl={cfl})")


class SumOut(ms.nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def construct(self, x):
        return self.net(x).sum()


def test_gradients_finite_and_A_stopped(mode):
    """Training gradients are finite; A is gradient-stopped, so qkv reaches the loss through the
    feature path only: with s₁ = 0 (attention output unused) the qkv gradient is exactly zero."""
    cell = FokkerPlanckDynamics(8, num_heads=2)
    randomize(cell, 10, {"temporal_attention_scale": np.zeros((1,), np.float32)})
    cell.set_train(True)
    x = ms.Tensor(np.random.default_rng(11).normal(0, 1, (1, 8, 4, 2, 3)).astype(np.float32))
    params = cell.trainable_params()
    grads = ms.grad(SumOut(cell), grad_position=None, weights=params)(x)
    by_name = {p.name.split("net.", 1)[-1]: g.asnumpy() for p, g in zip(params, grads)}
    assert all(np.isfinite(g).all() for g in by_name.values())
    assert np.abs(by_name["temporal_attn.qkv.weight"]).max() == 0.0
    assert np.abs(by_name["sal_obs_head.weight"]).max() > 0.0
    assert np.abs(by_name["lam_head.weight"]).max() > 0.0


def test_bad_input_rank():
    cell = FokkerPlanckDynamics(8, num_heads=2)
    with pytest.raises(ValueError, match=r"\(B, C, T, h, w\)"):
        cell(ms.Tensor(np.zeros((8, 4, 3, 3), np.float32)))
