"""Golden parity: the MindSpore AAM against the released PyTorch network (weights rule WR-1).

Golden set: env ``AAM_GOLDEN_NPZ`` / ``AAM_GOLDEN_KEYS`` (default: the public ViT-S/16 set in
``<repo>/../shared/golden``). Every case of its ``meta.json`` is run in PYNATIVE mode (outputs,
every ``hook.*`` a cell exposes, the training losses) and in GRAPH mode (outputs, losses).
Tolerances: maps 1e-4 absolute; hyperbolic points and losses 1e-4 relative to their scale;
intermediates 1e-4 relative to max(1, their scale).
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
from mindspore import Tensor  # noqa: E402

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "shared" / "golden"
NPZ = Path(os.environ.get("AAM_GOLDEN_NPZ", GOLDEN_DIR / "aam_official_vits16_wr1.npz"))
KEYS = Path(os.environ.get("AAM_GOLDEN_KEYS", GOLDEN_DIR / "keys.json"))
TOL = 1e-4


@pytest.fixture(scope="module")
def golden():
    if not NPZ.is_file() or not KEYS.is_file():
        pytest.skip(f"golden files not found ({NPZ}, {KEYS}); set AAM_GOLDEN_NPZ / AAM_GOLDEN_KEYS")
    z = np.load(NPZ)
    return {k: z[k] for k in z.files}, json.loads(str(z["meta.json"]))


def _golden_model(meta, kernels):
    from aam_ms.convert import aam as conv
    from aam_ms.convert.wr1 import generate
    from aam_ms.models.registry import create_model
    from aam_ms.weights import set_params
    net = create_model(f"aam_{meta['variant']}", kernels=kernels)
    params, report = conv.torch_to_ms(generate(str(KEYS)), net)
    report.raise_if_partial("WR-1 golden weights")
    set_params(net, params)
    net.set_train(False)
    return net


@pytest.fixture(scope="module")
def model(golden):
    return _golden_model(golden[1], "native")


def _inputs(arrs, case):
    p = case["name"] + ".in."
    x, text = arrs[p + "x"], arrs[p + "text_emb"]
    audio = arrs.get(p + "audio_emb")
    if case["dynamic"]:      # released: one clip, time as batch → ours (1, T, 3, H, W)
        x = x[None]
        text = text[:1]      # 'repeat' rows: one prompt per clip
        audio = None if audio is None else audio[None]
    return Tensor(x), Tensor(text), (None if audio is None else Tensor(audio))


def _check(name, got, ref, tol, scale=None, worst=None):
    got, ref = np.asarray(got, np.float32).reshape(ref.shape), ref
    s = max(1.0, float(np.abs(ref).max())) if scale is None else scale
    d = float(np.abs(got - ref).max()) if ref.size else 0.0
    if worst is not None:
        worst[name] = d / s
    assert d <= tol * s, f"{name}: max|Δ| {d:.3g} > {tol:g}·{s:.3g}"


def _check_outputs(arrs, case, out, worst):
    p = case["name"] + ".out."
    pred, z_img, z_txt, z_anc, curv = (o.asnumpy() for o in out)
    _check("out.pred", pred, arrs[p + "pred"], TOL, scale=1.0, worst=worst)
    for k, v in (("z_img", z_img), ("z_txt", z_txt), ("z_anc", z_anc), ("curv", curv)):
        ref = arrs[p + k]
        _check("out." + k, v, ref, TOL, scale=max(float(np.abs(ref).max()), 1e-12), worst=worst)
    if case["loss"]:
        _check_losses(arrs, case, out, worst)


def _check_losses(arrs, case, out, worst):
    from aam_ms import losses
    p = case["name"] + ".loss."
    pred, z_img, z_txt, z_anc, curv = out
    n = z_img.shape[0]
    pred = pred.reshape(n, 1, pred.shape[-2], pred.shape[-1])
    gt = Tensor(arrs[case["name"] + ".in.gt"])
    task = losses.task_loss(pred, gt)
    pull, dist = losses.prompt_pull_loss(z_img, z_txt, curv)
    entail, l_ti, l_at = losses.entailment_loss(z_img, z_txt, z_anc, curv)
    total = task[0] + 0.4 * pull + 1.0 * entail
    from aam_ms.geometry import lorentz as L
    got = {"angle_ti": L.oxy_angle(z_txt, z_img, curv), "aperture_t": L.half_aperture(z_txt, curv),
           "angle_at": L.oxy_angle(z_anc, z_txt, curv), "aperture_a": L.half_aperture(z_anc, curv),
           "task_total": task[0], "kld": task[1], "cc": task[2], "sim": task[3],
           "pairwise_dist": dist, "contrast": pull, "loss_ti": l_ti, "loss_at": l_at,
           "entail": entail, "total": total}
    for k, v in got.items():
        ref = arrs[p + k]
        _check("loss." + k, v.asnumpy(), ref, TOL, scale=max(float(np.abs(ref).max()), 1.0),
               worst=worst)


def _hook(store, name):
    def fn(cell, inputs, output):
        if isinstance(output, tuple):
            for i, o in enumerate(output):
                if o is not None:          # the head's audio gate is None without audio
                    store[f"{name}.{i}"] = o.asnumpy()
        else:
            store[name] = output.asnumpy()
    return fn


def _features_hook(store):
    def fn(cell, inputs):
        for i, f in enumerate(inputs[0]):
            store[f"backbone.get_intermediate_layers.{i}"] = f.asnumpy()
    return fn


def _report(case, mode, worst):
    k = max(worst, key=worst.get)
    print(f"\n[{mode}] {case}: {len(worst)} arrays, worst {k} rel {worst[k]:.3g}")


def test_converter_round_trip(golden, model):
    from aam_ms.convert import aam as conv
    from aam_ms.convert.wr1 import generate
    sd = generate(str(KEYS))
    params, report = conv.torch_to_ms(sd, model)
    assert report.ok and len(report.mapped) == len(sd)     # aliases reported as mapped
    back = conv.ms_to_torch(params, model)
    assert set(back) == set(sd)
    assert all(np.array_equal(back[k], sd[k]) for k in sd)
    bad = dict(sd)
    bad.pop("head.decoder_out.final_conv.bias")
    bad["head.extra"] = np.zeros(1, np.float32)
    _, rep = conv.torch_to_ms(bad, model)
    assert rep.missing == ["head.decoder_out.final_conv.bias"] and rep.unexpected == ["head.extra"]


def test_golden_pynative(golden, model):
    arrs, meta = golden
    ms.set_context(mode=ms.PYNATIVE_MODE)
    store = {}
    handles = [model.head.register_forward_pre_hook(_features_hook(store))]
    for name, cell in model.cells_and_names():
        if name:
            handles.append(cell.register_forward_hook(_hook(store, name)))
    try:
        for case in meta["cases"]:
            store.clear()
            out = model(*_inputs(arrs, case))
            worst = {}
            _check_outputs(arrs, case, out, worst)
            prefix = case["name"] + ".hook."
            hooked = [k for k in arrs if k.startswith(prefix)]
            missing = [k[len(prefix):] for k in hooked if k[len(prefix):] not in store]
            assert not missing, f"{case['name']}: no cell exposes {missing}"
            for k in hooked:
                _check("hook." + k[len(prefix):], store[k[len(prefix):]], arrs[k], TOL, worst=worst)
            _report(case["name"], "PYNATIVE", worst)
    finally:
        for h in handles:
            h.remove()


def test_golden_graph(golden, model):
    arrs, meta = golden
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        for case in meta["cases"]:
            worst = {}
            _check_outputs(arrs, case, model(*_inputs(arrs, case)), worst)
            _report(case["name"], "GRAPH", worst)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def test_golden_graph_custom_kernels(golden):
    """The same parity with the custom operators (C++ CPU twins here, AscendC on Ascend)."""
    from aam_ms import kernels
    from aam_ms.kernels import custom_ops
    try:
        custom_ops.prepare("custom")
    except Exception as e:     # no compiler / no op package: say so instead of passing silently
        pytest.skip(f"custom kernels unavailable here: {e}")
    arrs, meta = golden
    net = _golden_model(meta, "custom")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        for case in meta["cases"]:
            worst = {}
            _check_outputs(arrs, case, net(*_inputs(arrs, case)), worst)
            _report(case["name"], "GRAPH custom kernels", worst)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
        kernels.set_kernel_mode("native")
