"""Training losses against the golden losses of the released code (every case of the golden
set's meta.json that records losses), GRAPH and PYNATIVE."""
import mindspore as ms
import numpy as np
import pytest

from aam_ms import losses
from aam_ms.geometry import lorentz
from conftest import golden_cases, golden_params

LOSS_CASES = golden_cases(loss=True)
VIDEO_LOSS_CASES = golden_cases(loss=True, dynamic=True)
RTOL = 1e-5


@pytest.fixture(scope="module")
def golden(golden_set):
    arrays, _ = golden_set
    return {k: v for k, v in arrays.items() if k.split(".")[0] in LOSS_CASES
            and k.split(".")[1] in ("in", "out", "loss")}


@pytest.fixture(params=[ms.PYNATIVE_MODE, ms.GRAPH_MODE], ids=["pynative", "graph"])
def mode(request):
    previous = ms.get_context("mode")
    ms.set_context(mode=request.param)
    yield request.param
    ms.set_context(mode=previous)


class _Parts(ms.nn.Cell):
    """Every intermediate the golden file records, from the loss module's functions."""

    def construct(self, pred, gt, z_img, z_txt, z_anc, curv):
        task, kld, cc, sim = losses.task_loss(pred, gt)
        pull, dist = losses.prompt_pull_loss(z_img, z_txt, curv)
        entail, loss_ti, loss_at = losses.entailment_loss(z_img, z_txt, z_anc, curv)
        return (task, kld, cc, sim, dist, pull, lorentz.oxy_angle(z_txt, z_img, curv),
                lorentz.half_aperture(z_txt, curv), loss_ti, lorentz.oxy_angle(z_anc, z_txt, curv),
                lorentz.half_aperture(z_anc, curv), loss_at, entail)


PART_KEYS = ("task_total", "kld", "cc", "sim", "pairwise_dist", "contrast", "angle_ti",
             "aperture_t", "loss_ti", "angle_at", "aperture_a", "loss_at", "entail")
TOTAL_KEYS = {"total": "total", "task": "task_total", "kld": "kld", "cc": "cc", "sim": "sim",
              "pull": "contrast", "entail": "entail"}


def _inputs(golden, case):
    names = ("in.gt", "out.z_img", "out.z_txt", "out.z_anc", "out.curv")
    gt, z_img, z_txt, z_anc, curv = (ms.Tensor(golden[f"{case}.{n}"]) for n in names)
    return ms.Tensor(golden[f"{case}.out.pred"]), gt, z_img, z_txt, z_anc, curv


def _close(got, want, key):
    got = np.asarray(got, np.float64)
    assert got.shape == want.shape, key
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("case", golden_params(LOSS_CASES, "case with losses"))
def test_every_golden_loss_key(golden, case, mode):
    expected = {k.split(".", 2)[2] for k in golden if k.startswith(f"{case}.loss.")}
    assert expected == set(PART_KEYS) | {"total"}
    args = _inputs(golden, case)
    for key, value in zip(PART_KEYS, _Parts()(*args)):
        _close(value.asnumpy(), golden[f"{case}.loss.{key}"], key)
    cell = losses.AAMLoss()
    out = dict(zip(cell.COMPONENTS, cell(*args)))
    for name, key in TOTAL_KEYS.items():
        _close(out[name].asnumpy(), golden[f"{case}.loss.{key}"], key)
    assert float(out["gate_sparsity"].asnumpy()) == 0.0


@pytest.mark.parametrize("case", golden_params(VIDEO_LOSS_CASES, "video case with losses"))
def test_task_loss_cell_and_3d_maps(golden, case):
    pred, gt = _inputs(golden, case)[:2]
    total4 = losses.TaskLoss()(pred, gt)
    total3 = losses.TaskLoss()(pred[:, 0], gt[:, 0])
    for a, b in zip(total4, total3):
        assert float(a.asnumpy()) == pytest.approx(float(b.asnumpy()), rel=1e-6)
    _close(total4[0].asnumpy(), golden[f"{case}.loss.task_total"], "task_total")


def test_task_terms_on_hand_cases():
    ones = ms.Tensor(np.ones((1, 1, 4, 4), np.float32))
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) + 1.0
    t = ms.Tensor(x)
    assert float(losses.train_kld(t, t).asnumpy()) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.train_cc(t, t).asnumpy()) == pytest.approx(1.0, abs=1e-6)
    assert float(losses.train_sim(t, t).asnumpy()) == pytest.approx(1.0, abs=1e-6)
    # uniform prediction vs a ramp: KLD = Σ q log(16 q), SIM = Σ min(1/16, q)
    q = x.ravel() / x.sum()
    assert float(losses.train_kld(ones, t).asnumpy()) == pytest.approx(
        float((q * np.log(16 * q)).sum()), rel=1e-5)
    assert float(losses.train_sim(ones, t).asnumpy()) == pytest.approx(
        float(np.minimum(q, 1 / 16).sum()), rel=1e-6)
    # SIM has no min-max: a constant offset changes it
    assert float(losses.train_sim(t + 100.0, t).asnumpy()) < 0.9
    with pytest.raises(ValueError, match="does not match gt shape"):
        losses.train_kld(ones, t[:, :, :2])


@pytest.mark.parametrize("case", golden_params(VIDEO_LOSS_CASES[:1], "video case with losses"))
def test_gate_sparsity_and_weights(golden, mode, case):
    args = _inputs(golden, case)
    n = args[0].shape[0]
    gate_np = np.linspace(0.2, 0.8, n, dtype=np.float32)
    neg_np = (np.arange(n) % 2 == 0).astype(np.float32)            # every other frame
    gate, neg = ms.Tensor(gate_np.reshape(n, 1, 1)), ms.Tensor(neg_np)
    sparsity = float(gate_np[neg_np == 1].mean())                    # mean gate on the negatives
    base = losses.AAMLoss()(*args)
    with_gate = losses.AAMLoss()(*args, gate, neg)
    assert float(with_gate[-1].asnumpy()) == pytest.approx(sparsity, rel=1e-6)
    assert float((with_gate[0] - base[0]).asnumpy()) == pytest.approx(0.1 * sparsity, rel=1e-4)
    heavy = losses.AAMLoss(gate_weight=1.0, pull_weight=0.0)(*args, gate, neg)
    expect = base[1] + 1.0 * base[6] + sparsity
    assert float(heavy[0].asnumpy()) == pytest.approx(float(expect.asnumpy()), rel=1e-6)


def test_gate_sparsity_function():
    gate = ms.Tensor(np.array([[0.2, 0.6], [0.4, 0.4], [0.9, 0.1]], np.float32))
    assert float(losses.gate_sparsity_loss(gate).asnumpy()) == pytest.approx(13 / 30, rel=1e-6)
    none = ms.Tensor(np.zeros(3, np.float32))
    assert float(losses.gate_sparsity_loss(gate, none).asnumpy()) == 0.0
    one = ms.Tensor(np.array([0, 0, 1], np.float32))
    assert float(losses.gate_sparsity_loss(gate, one).asnumpy()) == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize("case", golden_params(LOSS_CASES[:1], "case with losses"))
def test_loss_gradients_are_finite(golden, case):
    pred, gt, z_img, z_txt, z_anc, curv = _inputs(golden, case)
    cell = losses.AAMLoss()

    def total(p, a, b, c):
        return cell(p, gt, a, b, c, curv)[0]

    ms.set_context(mode=ms.PYNATIVE_MODE)     # another file in this worker may have left GRAPH on
    grads = ms.grad(total, grad_position=(0, 1, 2, 3))(pred, z_img, z_txt, z_anc)
    for g in grads:
        g = g.asnumpy()
        assert np.isfinite(g).all() and np.abs(g).max() > 0
