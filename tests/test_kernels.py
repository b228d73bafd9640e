"""Custom operators (C++ CPU twins via ops.Custom aot) against the native MindSpore formulas.

Forward ≤ 1e-5 and backward ≤ 1e-4, relative to the largest magnitude of the native result,
in GRAPH and PYNATIVE mode, on random inputs and on the edge cases of the clamps.
"""
import numpy as np
import pytest

import mindspore as ms

from aam_ms import kernels as K
from aam_ms.geometry import lorentz as L
from aam_ms.kernels import build, custom_ops

FWD_RTOL, BWD_RTOL = 1e-5, 1e-4
MODES = {"graph": ms.GRAPH_MODE, "pynative": ms.PYNATIVE_MODE}


@pytest.fixture(scope="module", autouse=True)
def _kernel_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("AAM_KERNEL_CACHE", str(tmp_path_factory.mktemp("kcache")))
    from aam_ms.runtime import use_device
    use_device("CPU")
    yield
    K.set_kernel_mode("native")
    mp.undo()


def _close(got, ref, rtol, what):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    assert got.shape == ref.shape, what
    assert np.all(np.isfinite(got)), f"{what}: non-finite values"
    err = np.max(np.abs(got - ref)) if ref.size else 0.0
    scale = max(np.max(np.abs(ref)) if ref.size else 0.0, 1e-6)
    assert err <= rtol * scale, f"{what}: max|Δ|={err:.3g} > {rtol:g}·{scale:.3g}"


def _run(fn, args, mode, kernels):
    """Value and gradient of Σ w·fn(args) wrt every tensor in ``args``."""
    ms.set_context(mode=MODES[mode])
    K.set_kernel_mode(kernels)

    def fresh(*a):  # a new function object: a new graph, built under the current kernel mode
        return fn(*a)

    out = fresh(*args)
    w = ms.Tensor(np.random.default_rng(7).normal(size=out.shape).astype(np.float32))

    def loss(*a):
        return (fresh(*a) * w).sum()

    if mode == "graph":
        loss = ms.jit(loss)
        out = ms.jit(fresh)(*args)
    grads = ms.grad(loss, grad_position=tuple(range(len(args))))(*args)
    return out.asnumpy(), [g.asnumpy() for g in grads]


def _compare(fn, args, mode):
    out_n, g_n = _run(fn, args, mode, "native")
    out_c, g_c = _run(fn, args, mode, "custom")
    _close(out_c, out_n, FWD_RTOL, "forward")
    for i, (gc, gn) in enumerate(zip(g_c, g_n)):
        _close(gc, gn, BWD_RTOL, f"grad of input {i}")
    return out_c, g_c


def _points(rng, n, d, scale, curv):
    v = rng.normal(size=(n, d)).astype(np.float32)
    v *= scale / np.linalg.norm(v, axis=1, keepdims=True)
    return L.exp_map0(ms.Tensor(v), ms.Tensor(curv, ms.float32))


def _lorentz_inputs(case, rng, curv):
    c = ms.Tensor(curv, ms.float32)
    if case == "random":
        return _points(rng, 6, 16, 1.5, curv), _points(rng, 5, 16, 2.0, curv), c
    if case == "identical":
        x = _points(rng, 4, 16, 0.7, curv)
        return x, x, c
    if case == "huge":
        return _points(rng, 3, 128, 1e3, curv), _points(rng, 4, 128, 1e4, curv), c
    if case == "zeros":
        x = _points(rng, 4, 8, 1.0, curv).asnumpy()
        x[1] = 0.0
        y = _points(rng, 4, 8, 1.0, curv).asnumpy()
        y[1] = 0.0
        y[2] = 0.0
        return ms.Tensor(x), ms.Tensor(y), c
    raise ValueError(case)


LORENTZ_CASES = ["random", "identical", "huge", "zeros"]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("case", LORENTZ_CASES)
@pytest.mark.parametrize("curv", [0.5, 1.0, 2.3])
def test_lorentz_pairwise(mode, case, curv):
    rng = np.random.default_rng(hash((case, curv)) % 2**32)
    x, y, c = _lorentz_inputs(case, rng, curv)
    out, _ = _compare(K.lorentz_pairwise_dist, (x, y, c), mode)
    if case == "identical":
        clamped = np.float64(np.float32(1 + L.DIST_EPS))
        np.testing.assert_allclose(np.diag(out), np.arccosh(clamped) / np.sqrt(curv), rtol=1e-5)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("case", LORENTZ_CASES)
def test_lorentz_paired(mode, case):
    rng = np.random.default_rng(11)
    x, y, c = _lorentz_inputs(case, rng, 1.7)
    n = min(x.shape[0], y.shape[0])
    _compare(K.lorentz_paired_dist, (x[:n], y[:n], c), mode)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("case", LORENTZ_CASES)
def test_lorentz_dist_to_origin(mode, case):
    rng = np.random.default_rng(13)
    x, _, c = _lorentz_inputs(case, rng, 0.8)
    out, grads = _compare(K.lorentz_dist_to_origin, (x, c), mode)
    if case == "zeros":
        assert out[1] == pytest.approx(0.0, abs=1e-12) and np.all(grads[0][1] == 0.0)


def test_lorentz_leading_axes_and_python_curv():
    """Paired / to-origin accept (..., D) and a python float curvature, like the native code."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    rng = np.random.default_rng(3)
    x = ms.Tensor(rng.normal(size=(2, 3, 8)).astype(np.float32))
    y = ms.Tensor(rng.normal(size=(2, 3, 8)).astype(np.float32))
    K.set_kernel_mode("custom")
    got = (K.lorentz_paired_dist(x, y, 1.2).asnumpy(), K.lorentz_dist_to_origin(x, 1.2).asnumpy())
    c = ms.Tensor(1.2, ms.float32)
    ref = (L.paired_dist(x, y, c).asnumpy(), L.dist_to_origin(x, c).asnumpy())
    for g, r in zip(got, ref):
        _close(g, r, FWD_RTOL, "leading axes")


def _stencil_fn(dt, cfl):
    def fn(rho, nu):
        return K.fp_diffusion(rho, nu, dt, cfl)
    return fn


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("t", [1, 2, 3, 8, 32])
@pytest.mark.parametrize("nu_scale,cfl,dt", [(0.2, False, 1.0), (0.2, True, 1.0), (10.0, False, 0.3),
                                             (10.0, True, 1.0)])
def test_fp_diffusion(mode, t, nu_scale, cfl, dt):
    rng = np.random.default_rng(t)
    rho = ms.Tensor(rng.random((7, t)).astype(np.float32))
    nu = ms.Tensor((rng.random((7, t)) * nu_scale).astype(np.float32))
    out, grads = _compare(_stencil_fn(dt, cfl), (rho, nu), mode)
    if t < 3:
        np.testing.assert_array_equal(out, rho.asnumpy())
        np.testing.assert_array_equal(grads[1], 0.0)
    else:
        np.testing.assert_array_equal(out[:, [0, -1]], rho.asnumpy()[:, [0, -1]])
    if cfl and t >= 3:
        clamped = dt * nu.asnumpy()[:, 1:-1] > 0.5
        assert clamped.any() == (nu_scale > 1)
        assert np.all(grads[1][:, 1:-1][clamped] == 0.0)
        assert np.all(out >= -1e-6), "CFL-clamped stencil must preserve positivity"


def test_fp_diffusion_leading_axes_many_tiles():
    """(B, L, T) input spanning several tiles and OpenMP blocks."""
    rng = np.random.default_rng(5)
    rho = ms.Tensor(rng.random((3, 700, 32)).astype(np.float32))
    nu = ms.Tensor(rng.random((3, 700, 32)).astype(np.float32))
    _compare(_stencil_fn(1.0, True), (rho, nu), "pynative")


def test_build_cache_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("AAM_KERNEL_CACHE", str(tmp_path))
    first = build.library_path("fp_diffusion_stencil_cpu")
    assert first.parent == tmp_path and first.suffix == ".so"
    mtime = first.stat().st_mtime_ns
    assert build.library_path("fp_diffusion_stencil_cpu") == first
    assert first.stat().st_mtime_ns == mtime
    with pytest.raises(build.KernelBuildError, match="missing"):
        build.library_path("no_such_kernel")


def test_selection(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="kernels must be one of"):
        K.set_kernel_mode("fast")
    assert custom_ops.prepare("native") is False
    assert custom_ops.prepare("auto") is True and custom_ops.BACKEND["value"] == "cpu"
    monkeypatch.setenv("ASCEND_CUSTOM_OPP_PATH", str(tmp_path))
    monkeypatch.delenv("ASCEND_OPP_PATH", raising=False)
    assert not custom_ops.ascend_package_installed()
    inc = tmp_path / "op_api" / "include"
    inc.mkdir(parents=True)
    for header in custom_ops.PACKAGE_HEADERS:
        (inc / header).write_text("")
    assert custom_ops.ascend_package_installed()
