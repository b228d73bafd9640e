"""DINOv3 backbone + LoRA + converters: parity with transformers and with the golden hooks."""
import dataclasses
import re

import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from aam_ms.convert import dinov3 as conv
from aam_ms.models.backbones import LoRALinear, build_dinov3, make_config
from aam_ms.models.backbones.dinov3 import INTERMEDIATE_LAYERS, param_shapes, rope_periods
from aam_ms.weights import set_params
from conftest import golden_index, golden_params

TOL = 1e-4


def _nonsquare_case():
    """The golden case GRAPH mode runs on: the first non-square one, else the last."""
    index = golden_index()
    if index is None:
        return []
    cases = index[0]["cases"]
    return [next((c["name"] for c in cases if c["x_shape"][-2] != c["x_shape"][-1]),
                 cases[-1]["name"])]


@pytest.fixture(scope="module")
def variant(golden_set):
    return golden_set[1]["variant"]


@pytest.fixture(scope="module")
def wr1_backbone_sd(golden):
    return {k: v for k, v in golden[1].items() if k.startswith("backbone.")}


@pytest.fixture(scope="module")
def vit_wr1(wr1_backbone_sd, variant):
    net = build_dinov3(variant)
    params, report = conv.convert_state_dict(wr1_backbone_sd, net.cfg)
    report.raise_if_partial("WR-1 backbone")
    assert not [m for m in report.mapped if m[0] == "<lora init>"]
    set_params(net, params)
    net.set_train(False)
    return net


def _maxdiff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.float64) - b).max())


def _hooks(net, x, variant, blocks):
    """Our counterparts of the golden backbone hooks (``blocks``: the block outputs stored)."""
    x = Tensor(x)
    h, w = net.grid_size(x)
    prefix = 1 + net.cfg.n_storage_tokens               # class + register tokens
    out = {"patch_embed": net.patch_embed(x).asnumpy()}
    sin, cos = net.rope_embed(h, w)
    out["rope_embed.0"], out["rope_embed.1"] = sin.asnumpy(), cos.asnumpy()
    t = net.prepare_tokens(x)
    b0 = net.blocks[0]
    out["blocks.0.attn"] = b0.attn(b0.norm1(t), sin, cos).asnumpy()
    for i, blk in enumerate(net.blocks):
        t = blk(t, sin, cos)
        if i in blocks:
            out[f"blocks.{i}"] = t.asnumpy()
        if i in INTERMEDIATE_LAYERS[variant]:
            j = INTERMEDIATE_LAYERS[variant].index(i)
            out[f"get_intermediate_layers.{j}"] = net.norm(t)[:, prefix:].asnumpy()
    return out


def test_golden_hooks_all_cases(golden_set, vit_wr1, variant):
    """Module by module on every case of meta.json; the block loop is unrolled here (one pass
    per case), ``get_intermediate_layers`` itself runs on the first case here and on the
    non-square case in GRAPH mode. Every backbone hook of the set is compared."""
    z, meta = golden_set
    worst = (0.0, "")
    first = meta["cases"][0]["name"]
    x1 = Tensor(z[f"{first}.in.x"])
    for j, o in enumerate(vit_wr1.get_intermediate_layers(x1, INTERMEDIATE_LAYERS[variant])):
        d = _maxdiff(o.asnumpy(), z[f"{first}.hook.backbone.get_intermediate_layers.{j}"])
        print(f"{first} get_intermediate_layers() [{j}]: max|d| = {d:.3e}")
        worst = max(worst, (d, f"{first}.get_intermediate_layers()[{j}]"))
    for case in (c["name"] for c in meta["cases"]):
        stored = {k.split(".hook.backbone.", 1)[1] for k in z
                  if k.startswith(f"{case}.hook.backbone.")}
        blocks = {int(m.group(1)) for m in map(re.compile(r"blocks\.(\d+)$").match, stored) if m}
        ours = _hooks(vit_wr1, z[f"{case}.in.x"], variant, blocks)
        assert stored and stored <= set(ours), f"{case}: hooks not compared: {stored - set(ours)}"
        for name in sorted(stored):
            d = _maxdiff(ours[name], z[f"{case}.hook.backbone.{name}"])
            print(f"{case} {name}: max|d| = {d:.3e}")
            worst = max(worst, (d, f"{case}.{name}"))
    print(f"worst golden max|d| = {worst[0]:.3e} at {worst[1]}")
    assert worst[0] <= TOL, worst


@pytest.mark.parametrize("case", golden_params(_nonsquare_case(), "case"))
def test_golden_graph_mode(golden_set, vit_wr1, case):
    z, _ = golden_set
    x = Tensor(z[f"{case}.in.x"])
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        outs = vit_wr1(x)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert len(outs) == 4
    d = max(_maxdiff(o.asnumpy(), z[f"{case}.hook.backbone.get_intermediate_layers.{j}"])
            for j, o in enumerate(outs))
    print(f"GRAPH mode, {case} {tuple(x.shape[-2:])}: max|d| = {d:.3e}")
    assert d <= TOL


@pytest.mark.parametrize("case", golden_params(_nonsquare_case(), "case"))
def test_golden_blockwise(golden_set, vit_wr1, variant, case):
    """The engine's CPU backbone (one compiled block graph per block call) on the released
    weights: the golden layers, and the cell path's numbers exactly."""
    from aam_ms.models.backbones.blockwise import BlockwiseBackbone
    z, _ = golden_set
    x = Tensor(z[f"{case}.in.x"])
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        outs = BlockwiseBackbone(vit_wr1)(x, INTERMEDIATE_LAYERS[variant])
        cell = vit_wr1(x)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    d = max(_maxdiff(o.asnumpy(), z[f"{case}.hook.backbone.get_intermediate_layers.{j}"])
            for j, o in enumerate(outs))
    print(f"blockwise, {case} {tuple(x.shape[-2:])}: max|d| = {d:.3e}")
    assert d <= TOL
    for o, c in zip(outs, cell):
        np.testing.assert_array_equal(o.asnumpy(), c.asnumpy())


def test_lora_branch_is_active_in_wr1(vit_wr1, wr1_backbone_sd):
    lb = wr1_backbone_sd["backbone.blocks.0.attn.qkv.lora_B.weight"]
    assert np.abs(lb).max() > 0.01
    p = dict((q.name, q) for q in vit_wr1.get_parameters())
    np.testing.assert_array_equal(p["blocks.0.attn.qkv.lora_B.weight"].asnumpy(), lb)
    d = vit_wr1.cfg.embed_dim                                     # K rows of the qkv bias: masked
    np.testing.assert_array_equal(p["blocks.3.attn.qkv.base.bias_mask"].asnumpy()[d:2 * d], 0)


def _official_naming(sd):
    """Meta's naming of the same backbone: no prefix, no LoRA, no ``.base.`` aliases."""
    out = {}
    for k, v in sd.items():
        k = k[len("backbone."):]
        if ".lora_" in k or (".base." in k and not k.endswith("bias_mask")):
            continue
        out[k.replace(".base.", ".")] = v
    return out


def test_official_naming_zero_unexpected(wr1_backbone_sd, vit_wr1, variant):
    official = _official_naming(wr1_backbone_sd)
    assert "blocks.0.attn.qkv.bias_mask" in official and "ls1.gamma" in "".join(official)
    for last_n in (0, 4, None):
        cfg = make_config(variant, lora_last_n=last_n)
        params, report = conv.convert_state_dict(official, cfg)
        print(f"official naming, lora_last_n={last_n}: {report.summary().splitlines()[0]}")
        assert report.ok and not report.unexpected
        assert set(params) == set(param_shapes(cfg))
    # all-block LoRA from official weights: same base tensors, B = 0
    ours = {p.name: p.asnumpy() for p in vit_wr1.get_parameters()}
    for n, v in params.items():
        if ".lora_B." in n:
            assert not v.any()
        elif ".lora_A." not in n:
            np.testing.assert_array_equal(v, ours[n])
    # Meta ViT-L checkpoints of the SAT493M release carry an unused local_cls_norm
    d = vit_wr1.cfg.embed_dim
    official["local_cls_norm.weight"] = np.ones(d, np.float32)
    official["local_cls_norm.bias"] = np.zeros(d, np.float32)
    _, report = conv.convert_state_dict(official, variant)
    assert report.ok and ("local_cls_norm.weight", None) in report.mapped


def test_partial_loads_are_refused(wr1_backbone_sd, vit_wr1, variant):
    d, depth = vit_wr1.cfg.embed_dim, vit_wr1.cfg.depth
    sd = dict(wr1_backbone_sd)
    sd["backbone.blocks.0.attn.qkv.weight"] = sd["backbone.blocks.0.attn.qkv.weight"] + 1.0
    sd["backbone.blocks.0.extra.weight"] = np.zeros(3, np.float32)
    del sd["backbone.blocks.1.ls2.gamma"]
    sd["backbone.norm.weight"] = np.ones(d + 1, np.float32)
    _, report = conv.convert_state_dict(sd, variant)
    assert report.unexpected == ["blocks.0.extra.weight"]
    assert report.missing == ["blocks.1.ls2.gamma", "norm.gamma"]  # the misshapen one too
    assert len(report.shape_mismatch) == 2, report.shape_mismatch
    assert ("norm.weight", (d + 1,), "norm.gamma", (d,)) in report.shape_mismatch
    assert any(m[0].startswith("blocks.0.attn.qkv.") and "alias" in m[1]
               for m in report.shape_mismatch)
    with pytest.raises(ValueError, match="refusing a partial load"):
        report.raise_if_partial("x")
    # LoRA factors for blocks without LoRA are unexpected, not silently dropped
    _, report = conv.convert_state_dict(wr1_backbone_sd, make_config(variant, lora_last_n=4))
    assert len(report.unexpected) == (depth - 4) * 4 and all(".lora_" in k for k in report.unexpected)


def _hf_model(hidden, layers, heads, seed):
    torch = pytest.importorskip("torch")
    from transformers import DINOv3ViTConfig, DINOv3ViTModel
    cfg = DINOv3ViTConfig(hidden_size=hidden, intermediate_size=4 * hidden,
                          num_hidden_layers=layers, num_attention_heads=heads,
                          num_register_tokens=4, layer_norm_eps=1e-5, rope_theta=100.0,
                          layerscale_value=1e-5, image_size=224, patch_size=16,
                          attn_implementation="eager")
    torch.manual_seed(seed)
    model = DINOv3ViTModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                p.uniform_(-1, 1).div_(float(np.prod(p.shape[1:])) ** 0.5)
            elif "norm" in name and name.endswith("weight"):
                p.uniform_(0.9, 1.1)
            else:
                p.uniform_(-0.1, 0.1)
    return model


def _hf_intermediates(model, x):
    import torch
    taken = []
    hooks = [blk.register_forward_hook(lambda m, i, o: taken.append(o)) for blk in model.layer]
    with torch.no_grad():
        model(pixel_values=torch.from_numpy(x))
        outs = [model.norm(t)[:, 5:].numpy() for t in taken]
    for h in hooks:
        h.remove()
    return outs


@pytest.mark.parametrize("variant,hw", [("tiny", (32, 48)), ("vits16", (64, 48))])
def test_hf_parity(variant, hw):
    cfg0 = make_config(variant)
    model = _hf_model(cfg0.embed_dim, cfg0.depth, cfg0.num_heads, seed=7)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    x = np.random.default_rng(3).normal(size=(2, 3) + hw).astype(np.float32)
    ref = _hf_intermediates(model, x)
    for last_n in (0, None):
        net = build_dinov3(variant, lora_last_n=last_n)
        params, report = conv.convert_state_dict(sd, net.cfg)
        report.raise_if_partial("HF DINOv3")
        assert not report.unexpected
        set_params(net, params)
        net.set_train(False)
        outs = net.get_intermediate_layers(Tensor(x), tuple(range(cfg0.depth)))
        d = max(_maxdiff(o.asnumpy(), r) for o, r in zip(outs, ref))
        print(f"HF parity {variant} {hw} lora_last_n={last_n}: max|d| over "
              f"{cfg0.depth} layers = {d:.3e}")
        assert len(outs) == cfg0.depth and d <= TOL


def test_hf_nonzero_k_bias_is_refused():
    model = _hf_model(64, 1, 2, seed=1)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    sd["layer.0.attention.k_proj.bias"] = np.full(64, 0.5, np.float32)
    sd["rope_embeddings.inv_freq"] = 1.0 / rope_periods(make_config("tiny"))
    cfg = dataclasses.replace(make_config("tiny"), depth=1, lora_last_n=0)
    _, report = conv.convert_state_dict(sd, cfg)
    assert [m[0] for m in report.shape_mismatch] == ["layer.0.attention.k_proj.bias"]
    sd["rope_embeddings.inv_freq"] = 1.0 / rope_periods(dataclasses.replace(cfg, rope_base=10.0))
    _, report = conv.convert_state_dict(sd, cfg)
    assert "rope_embeddings.inv_freq" in [m[0] for m in report.shape_mismatch]


def test_rope_tables_eval_and_training_rescale():
    """Eval: angles 2π·c/period at the patch centres; training: one common factor in [½, 2]."""
    net = build_dinov3("tiny")
    h, w = 2, 4  # even sizes: no coordinate is 0
    periods = rope_periods(net.cfg)
    ch, cw = 2 * (np.arange(h) + 0.5) / h - 1, 2 * (np.arange(w) + 0.5) / w - 1
    coords = np.stack(np.meshgrid(ch, cw, indexing="ij"), -1).reshape(h * w, 2)
    ang = (2 * np.pi * coords[:, :, None] / periods).reshape(h * w, -1)
    ang = np.tile(ang, (1, 2))
    net.set_train(False)
    sin, cos = (t.asnumpy() for t in net.rope_embed(h, w))
    assert _maxdiff(sin, np.sin(ang)) <= 1e-6 and _maxdiff(cos, np.cos(ang)) <= 1e-6
    net.set_train(True)
    scales = []
    for _ in range(3):
        sin, cos = (t.asnumpy() for t in net.rope_embed(h, w))
        k = len(periods) - 1  # the longest period: angles stay within (-π, π)
        got = np.arctan2(sin[:, [k, 2 * k + 1]], cos[:, [k, 2 * k + 1]])
        s = got / ang[:, [k, 2 * k + 1]]
        assert np.ptp(s) <= 1e-4 and 0.5 - 1e-6 <= s.mean() <= 2 + 1e-6
        scales.append(s.mean())
    assert np.ptp(scales) > 1e-3
    net.set_train(False)


def test_graph_mode_matches_pynative():
    net = build_dinov3("tiny", lora_last_n=2)
    net.set_train(False)
    x = Tensor(np.random.default_rng(0).normal(size=(2, 3, 48, 32)).astype(np.float32))
    eager = [o.asnumpy() for o in net(x)]
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        graph = [o.asnumpy() for o in net(x)]
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert [g.shape for g in graph] == [(2, 6, 64)] * 4
    assert max(_maxdiff(a, b) for a, b in zip(graph, eager)) <= 1e-5


def test_image_size_must_be_multiple_of_patch():
    net = build_dinov3("tiny")
    with pytest.raises(ValueError, match=r"multiples of 16, got H=50, W=64"):
        net(Tensor(np.zeros((1, 3, 50, 64), np.float32)))
    with pytest.raises(ValueError, match="block index 7 out of range"):
        net.get_intermediate_layers(Tensor(np.zeros((1, 3, 32, 32), np.float32)), (1, 7))


def test_only_lora_trainable_and_names():
    net = build_dinov3("tiny", lora_last_n=2)
    shapes = {p.name: tuple(p.shape) for p in net.get_parameters()}
    assert shapes == param_shapes(net.cfg)
    assert "blocks.1.attn.qkv.weight" in shapes and "blocks.2.attn.qkv.base.weight" in shapes
    trainable = sorted(p.name for p in net.trainable_params())
    assert len(trainable) == 2 * 2 * 2 and all(".lora_" in n for n in trainable)
    frozen = [p for p in net.get_parameters() if not p.requires_grad]
    assert len(frozen) == len(shapes) - 8


def test_lora_linear_formula_and_dropout():
    base = nn.Dense(8, 6)
    lora = LoRALinear(base, r=4, alpha=8, dropout=0.5)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 8)).astype(np.float32), rng.normal(size=(6, 4)).astype(np.float32)
    lora.lora_A.weight.set_data(Tensor(a))
    lora.lora_B.weight.set_data(Tensor(b))
    x = rng.normal(size=(3, 5, 8)).astype(np.float32)
    w, bias = base.weight.asnumpy(), base.bias.asnumpy()
    want = x @ w.T + bias + 2.0 * (x @ a.T @ b.T)
    lora.set_train(False)
    assert _maxdiff(lora(Tensor(x)).asnumpy(), want) <= 1e-5
    lora.set_train(True)
    assert _maxdiff(lora(Tensor(x)).asnumpy(), want) > 1e-3
    assert not base.weight.requires_grad and lora.lora_A.weight.requires_grad


def test_vitl16_parameter_count():
    shapes = param_shapes(make_config("vitl16", lora_last_n=0))
    buffers = [n for n in shapes if n.endswith(("bias_mask", "periods"))]
    n = sum(int(np.prod(s)) for k, s in shapes.items() if k not in buffers)
    lora = sum(int(np.prod(s)) for k, s in param_shapes(make_config("vitl16")).items()
               if ".lora_" in k)
    print(f"ViT-L/16 backbone parameters (no LoRA, no buffers): {n:,}; LoRA r=32 all blocks: "
          f"{lora:,}")
    assert n == 303_154_176 and round(n / 1e6, 1) in (303.1, 303.2)
    assert lora == 24 * 32 * (1024 + 3072 + 1024 + 1024)


def test_cli_roundtrip(tmp_path):
    from safetensors.numpy import save_file
    model = _hf_model(64, 4, 2, seed=5)
    sd = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    src = tmp_path / "model.safetensors"
    save_file(sd, str(src))
    from aam_ms.cli import run
    from aam_ms.convert.__main__ import main
    assert main(["dinov3", str(src), str(tmp_path / "b.ckpt"), "--variant", "tiny"]) == 0
    loaded = ms.load_checkpoint(str(tmp_path / "b.ckpt"))
    net = build_dinov3("tiny")
    assert set(loaded) == {p.name for p in net.get_parameters()}
    np.testing.assert_array_equal(loaded["blocks.0.ls1.gamma"].asnumpy(),
                                  sd["layer.0.layer_scale1.lambda1"])
    del sd["layer.3.mlp.up_proj.bias"]
    save_file(sd, str(src))
    _, report = conv.convert_state_dict(dict(sd), "tiny")
    assert report.missing == ["blocks.3.mlp.fc1.bias"]
    assert run(main, ["dinov3", str(src), str(tmp_path / "c.ckpt"), "--variant", "tiny"]) == 2
    assert not (tmp_path / "c.ckpt").exists()
