"""The released optimizer and schedule (aam_ms.optim) against torch: AdamW step by step with
per-tensor skipping, CosineAnnealingLR, the forward clamps and the structural reachability."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import Parameter, Tensor, nn

from aam_ms import optim

torch = pytest.importorskip("torch")


class _Net(nn.Cell):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.head_w = Parameter(Tensor(rng.normal(size=(3, 4)).astype(np.float32)), name="head.w")
        self.lora_a = Parameter(Tensor(rng.normal(size=(4,)).astype(np.float32)), name="lora.a")
        self.scalar = Parameter(Tensor(np.float32(0.3)), name="head.alpha")
        self.unused = Parameter(Tensor(rng.normal(size=(2, 2)).astype(np.float32)), name="head.u")

    def construct(self, x, use_scalar):
        y = (self.head_w @ (x * self.lora_a)).sum()
        return y * self.scalar if use_scalar else y


def test_adamw_equals_torch_with_skipped_tensors():
    """Four steps; the 0-d tensor is unreached in steps 1 and 3 and the last tensor in all:
    torch skips grad-None tensors (own step counts, no decay) and so must we."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    net = _Net()
    params = [net.head_w, net.lora_a, net.scalar, net.unused]
    groups = optim.released_groups(params, 5e-3)
    assert [(g, [p.name for p in ps], wd) for g, ps, wd in groups] == [
        ("head", ["head.w", "head.alpha", "head.u"], 5e-3), ("lora", ["lora.a"], 5e-3),
        ("router", [], 5e-4)]
    opt = optim.AdamW(groups, lr=3e-4)
    order = list(opt.parameters)
    tp = {p.name: torch.nn.Parameter(torch.tensor(p.asnumpy())) for p in order}
    topt = torch.optim.AdamW([{"params": [tp["head.w"], tp["head.alpha"], tp["head.u"]]},
                              {"params": [tp["lora.a"]]}], lr=3e-4, weight_decay=5e-3)
    rng = np.random.default_rng(1)
    for step in range(4):
        use = step % 2 == 1
        lr = 3e-4 * (1 - 0.1 * step)
        opt.set_lr(lr)
        for g in topt.param_groups:
            g["lr"] = lr
        x = rng.normal(size=(4,)).astype(np.float32)
        def forward(xx, use=use):    # named: ms.grad cannot parse a lambda under GRAPH mode
            return net(xx, use)

        grads = ms.grad(forward, None, opt.parameters)(Tensor(x))
        reached = optim.reached_params(forward, order, Tensor(x))
        assert reached.tolist() == [True, use, False, True]    # head.w, head.alpha, head.u, lora.a
        opt(grads, Tensor(reached))
        topt.zero_grad(set_to_none=True)
        out = (tp["head.w"] @ (torch.tensor(x) * tp["lora.a"])).sum()
        (out * tp["head.alpha"] if use else out).backward()
        topt.step()
        for p in order:
            np.testing.assert_allclose(p.asnumpy(), tp[p.name].detach().numpy(), rtol=2e-6,
                                       atol=1e-9, err_msg=f"{p.name} step {step + 1}")
    assert np.array_equal(net.unused.asnumpy(), tp["head.u"].detach().numpy())   # never moved
    assert opt.step_count.asnumpy().tolist() == [4, 2, 0, 4]


def test_released_schedule_is_torch_cosine_annealing_per_epoch():
    p = torch.nn.Parameter(torch.zeros(1))
    o = torch.optim.AdamW([p], lr=3e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-5)
    cfg = {"schedule": "released", "lr": 3e-4, "min_lr": 1e-5, "t_max": 10}
    for epoch in range(25):
        for step in (0, 7):       # constant within an epoch
            assert optim.learning_rate(cfg, epoch * 50 + step, epoch, 1250) == pytest.approx(
                o.param_groups[0]["lr"], rel=1e-9, abs=1e-12)
        o.step()              # (no gradient: a no-op, keeps torch's call order)
        sched.step()
    warm = {"schedule": "cosine_warmup", "lr": 1e-3, "min_lr": 1e-5, "warmup_steps": 10}
    lrs = [optim.learning_rate(warm, s, 0, 110) for s in range(111)]
    assert lrs[0] == 0 and lrs[5] == pytest.approx(5e-4) and lrs[10] == pytest.approx(1e-3)
    assert lrs[60] == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5)) and lrs[110] == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="train.schedule"):
        optim.learning_rate({"schedule": "step", "lr": 1.0}, 0, 0, 1)


def test_forward_clamps_cover_the_released_parameters():
    from aam_ms.config import load_yaml
    from aam_ms.models.registry import build_from_config
    net = build_from_config(load_yaml("configs/aam_tiny.yaml")["model"])
    params = net.trainable_params()
    clamps = {params[i].name: (lo, hi) for i, lo, hi in optim.forward_clamps(params)}
    curv = [n for n in clamps if n.endswith("curv")]
    alpha = [n for n in clamps if not n.endswith("curv")]
    assert "head.curv" in curv and len(curv) == 10           # head + 9 Lorentz maps
    assert {"head.visual_alpha", "head.textual_alpha"} <= set(alpha) and len(alpha) == 11
    assert not any("fp_alpha_logit" in n for n in clamps)
    assert clamps["head.curv"] == pytest.approx((np.log(0.1), np.log(10.0)))
    assert clamps["head.visual_alpha"] == (None, 0.0)
