"""The released optimizer, schedule and forward-time clamps (torch semantics).

Released: ``training_utils.build_grouped_optimizer(model, 3e-4, 5e-3)`` → ``torch.optim.AdamW``
with the groups head / lora / router, stepped after every batch; ``CosineAnnealingLR(T_max=10,
eta_min=1e-5)`` stepped once per epoch. AdamW step t of a tensor that received a gradient
(torch single-tensor AdamW, float32)::

    p ← p·(1 − lr·wd);  m ← m + (1−β₁)(g − m);  v ← β₂v + (1−β₂)g²
    p ← p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)

with t counted per tensor. A tensor with no gradient in a step (torch ``grad is None``: the
forward did not reach it) is skipped entirely: no decay, no moment update, no step count.
"No gradient" is structural here too (:func:`reached_params` traces which parameters the
forward reads), never a test on the gradient's value. Weight decay applies to every trainable
tensor (biases, norms and 0-d scalars included).

``mindspore.experimental.optim.AdamW`` matches torch's arithmetic but keeps one step counter
for all tensors and updates every tensor on every step, so it cannot skip unreached tensors
(nor keep their own bias correction); hence this cell.
"""
import math

import mindspore as ms
import numpy as np
from mindspore import Parameter, ParameterTuple, Tensor, nn, ops

from .geometry import lorentz

BETAS = (0.9, 0.999)
EPS = 1e-8
ROUTER_DECAY_FACTOR = 0.1          # released: router group weight_decay = 0.1·wd (5e-4)


def released_groups(params, weight_decay):
    """``build_grouped_optimizer``: [(group, params, weight_decay)] for head (names with neither
    "router" nor "lora"), lora and router."""
    groups = {"head": [], "lora": [], "router": []}
    for p in params:
        key = "router" if "router" in p.name else "lora" if "lora" in p.name else "head"
        groups[key].append(p)
    wd = {"head": weight_decay, "lora": weight_decay, "router": weight_decay * ROUTER_DECAY_FACTOR}
    return [(k, groups[k], wd[k]) for k in ("head", "lora", "router")]


class AdamW(nn.Cell):
    """torch ``AdamW`` over parameter groups, skipping tensors flagged as unreached.

    ``construct(grads, reached)``: ``grads`` in :attr:`parameters` order, ``reached`` a bool
    (N,) tensor (False = torch's ``grad is None``). The learning rate is the parameter ``lr``
    (one value per group). A graph treats a parameter it never writes as a constant, so a
    compiled step must write it from an input: :meth:`set_lr` keeps the schedule's value in
    ``lr_input`` and the step assigns it (``aam_ms.train.TrainStep``)."""

    def __init__(self, groups, lr, betas=BETAS, eps=EPS):
        super().__init__()
        self.group_names = [g[0] for g in groups]
        params = [p for _, ps, _ in groups for p in ps]
        self.parameters = ParameterTuple(params)
        self.group_index = Tensor(np.array([i for i, (_, ps, _) in enumerate(groups) for _ in ps],
                                           np.int32))
        self.decay = Tensor(np.array([wd for _, ps, wd in groups for _ in ps], np.float32))
        self.hyper_map = ops.HyperMap()
        self.adam = ops.AdamWeightDecay()
        self.exp_avg = self.parameters.clone(prefix="adamw_m", init="zeros")
        self.exp_avg_sq = self.parameters.clone(prefix="adamw_v", init="zeros")
        self.step_count = Parameter(Tensor(np.zeros(len(params), np.float32)), name="adamw_step",
                                    requires_grad=False)
        self.lr = Parameter(Tensor(np.full(len(groups), float(lr), np.float32)), name="adamw_lr",
                            requires_grad=False)
        self.lr_input = Tensor(np.full(len(groups), float(lr), np.float32))
        self.beta1, self.beta2, self.eps = float(betas[0]), float(betas[1]), float(eps)

    def set_lr(self, lr):
        """One learning rate for every group (float) or one per group (sequence)."""
        vals = np.broadcast_to(np.asarray(lr, np.float32), (len(self.group_names),))
        self.lr.set_data(Tensor(np.array(vals, np.float32)))
        self.lr_input = Tensor(np.array(vals, np.float32))

    def current_lr(self):
        return [float(v) for v in self.lr.asnumpy()]

    def construct(self, grads, reached):
        """torch's step folded into MindSpore's fused ``AdamWeightDecay`` primitive (one op per
        tensor, which keeps the graph small): with bias corrections b₁ = 1−β₁ᵗ, b₂ = 1−β₂ᵗ,
        torch's p·(1−lr·wd) − lr/b₁ · m/(√v/√b₂ + ε) = p − lr′·(m/(√v + ε′) + wd′·p) for
        lr′ = lr·√b₂/b₁, ε′ = ε·√b₂, wd′ = lr·wd/lr′. An unreached tensor gets β₁ = β₂ = 1
        and lr′ = wd′ = 0, which leaves p, m and v bit-identical (m, v are 0 or finite)."""
        steps = self.step_count + reached.astype(ms.float32)
        ops.assign(self.step_count, steps)
        on = reached.astype(ms.float32)
        t = ops.maximum(steps, 1.0)                       # (N,) per-tensor step counts
        lr = ops.gather(self.lr, self.group_index, 0)     # (N,) per-tensor learning rates
        bc1 = 1.0 - ops.pow(self.beta1, t)
        bc2_sqrt = ops.sqrt(1.0 - ops.pow(self.beta2, t))
        lr_f = lr * bc2_sqrt / bc1
        eps_f = self.eps * bc2_sqrt
        wd_f = self.decay * bc1 / bc2_sqrt * on
        lr_f = lr_f * on
        beta1 = self.beta1 * on + (1.0 - on)
        beta2 = self.beta2 * on + (1.0 - on)
        done = self.hyper_map(ops.partial(_adamw_update, self.adam), self.parameters,
                              self.exp_avg, self.exp_avg_sq, grads, ops.unstack(lr_f),
                              ops.unstack(beta1), ops.unstack(beta2), ops.unstack(eps_f),
                              ops.unstack(wd_f))
        return ops.depend(steps, done)      # the updates must run (their outputs are unused)


_adamw_update = ops.MultitypeFuncGraph("adamw_update")


@_adamw_update.register("Function", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor",
                        "Tensor", "Tensor", "Tensor")
def _adamw_tensor(adam, p, m, v, g, lr, beta1, beta2, eps, wd):
    return adam(p, m, v, lr, beta1, beta2, eps, wd, g)


# ----------------------------------------------------------------------------- schedules

def released_lr(epoch, base_lr, t_max=10, eta_min=1e-5):
    """``CosineAnnealingLR(T_max, eta_min)`` after ``epoch`` scheduler steps (one per epoch):
    η = η_min + (η₀ − η_min)·(1 + cos(π·epoch/T_max))/2 (torch's closed form; periodic)."""
    return eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * epoch / t_max)) / 2.0


def cosine_warmup_lr(step, base_lr, warmup_steps, total_steps, min_lr):
    """Linear warm-up over ``warmup_steps`` optimizer steps, then cosine to ``min_lr`` at
    ``total_steps`` (per step)."""
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / span, 1.0)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


SCHEDULES = ("released", "cosine_warmup")


def learning_rate(tcfg, step, epoch, total_steps):
    """The learning rate of optimizer step ``step`` (0-based) in ``epoch`` under
    ``train.schedule``."""
    name = tcfg.get("schedule", "released")
    if name == "released":
        return released_lr(epoch, float(tcfg["lr"]), int(tcfg.get("t_max", 10)),
                           float(tcfg["min_lr"]))
    if name == "cosine_warmup":
        return cosine_warmup_lr(step, float(tcfg["lr"]), int(tcfg["warmup_steps"]),
                                int(total_steps), float(tcfg["min_lr"]))
    raise ValueError(f"train.schedule must be one of {SCHEDULES}, got {name!r}")


# ----------------------------------------------------------------------------- clamps

def forward_clamps(params):
    """[(index, lo, hi)] of the parameters the released forward clamps in place before use
    (``aam_ms.train.TrainStep`` applies them at the start of each step, to reached tensors):
    every log-curvature (``head.curv``, ``*.map.curv``) to [log 0.1, log 10] and every
    log-scale (``head.visual_alpha`` / ``textual_alpha``, ``*.map.alpha``) to ≤ 0."""
    out = []
    for i, p in enumerate(params):
        leaf = p.name.rsplit(".", 1)[-1]
        if leaf == "curv":
            out.append((i, lorentz.LOG_CURV_MIN, lorentz.LOG_CURV_MAX))
        elif leaf in ("alpha", "visual_alpha", "textual_alpha"):
            out.append((i, None, lorentz.ALPHA_MAX))
    return out


# ----------------------------------------------------------------------------- reachability

def reached_params(fn, params, *args):
    """Bool (N,) mask: which of ``params`` the call ``fn(*args)`` reads, traced by running it
    once in PyNative mode and recording every parameter a cell hands out (``Cell.__getattr__``,
    the only way a construct reads its parameters). This is torch's ``grad is not None``."""
    wanted = {id(p): i for i, p in enumerate(params)}
    seen = set()
    orig = nn.Cell.__getattr__

    def tracing_getattr(self, name):
        v = orig(self, name)
        if isinstance(v, Parameter) and id(v) in wanted:
            seen.add(wanted[id(v)])
        return v

    mode = ms.get_context("mode")
    nn.Cell.__getattr__ = tracing_getattr
    try:
        ms.set_context(mode=ms.PYNATIVE_MODE)
        fn(*args)
    finally:
        nn.Cell.__getattr__ = orig
        ms.set_context(mode=mode)
    return np.array([i in seen for i in range(len(params))], np.bool_)
