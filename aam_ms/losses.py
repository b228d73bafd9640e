"""Training objectives of AAM (MindSpore, GRAPH and PYNATIVE).

These are the *training* losses of the released code, not the evaluation metrics (those are
the MIT forms in :mod:`aam_ms.metrics`); the ``train_`` prefix keeps the two apart.

    L = w_task·(KLD − CC − SIM) + w_pull·L_pull + w_entail·L_entail + w_gate·L_gate

* task terms on maps (B, C, H, W) or (B, H, W), each sum-normalised per map with 1e-12 clamps:
  KLD = mean_b Σ q·(log max(q, ε) − log max(p, ε)); CC = mean_{b,c} Pearson(p, q);
  SIM = mean_b Σ min(p, q) (no min-max; negative values clamped to 0);
* prompt pull: L_pull = mean_i relu(d(z_img_i, z_txt_i)) (diagonal of the pairwise distance);
* hierarchical entailment (paper eq. 7–9):
  L_entail = ½·[mean relu(ext(z_txt, z_img) − 0.8·aper(z_txt))
             + mean relu(ext(z_anc, z_txt) − aper(z_anc))];
* audio-gate sparsity (paper E.2, negative sample attack): mean gate value over the samples
  whose audio was replaced by noise.
"""
import mindspore as ms
from mindspore import nn, ops

from .geometry import lorentz
from .kernels import lorentz_pairwise_dist

TRAIN_EPS = 1e-12          # clamps of the released task loss
PULL_WEIGHT = 0.4
ENTAIL_WEIGHT = 1.0
GATE_WEIGHT = 0.1
TXT_IMG_APERTURE = 0.8     # aperture multiplier of the text → image cone
ANC_TXT_APERTURE = 1.0     # aperture multiplier of the anchor → text cone


def _bchw(x):
    x = x.astype(ms.float32)
    if x.ndim == 3:
        return x.expand_dims(1)
    if x.ndim != 4:
        raise ValueError(f"saliency maps must be (B, H, W) or (B, C, H, W), got shape {x.shape}")
    return x


def _check_pair(pred, gt):
    if pred.shape != gt.shape:
        raise ValueError(f"pred shape {pred.shape} does not match gt shape {gt.shape}")
    return _bchw(pred), _bchw(gt)


def _sum_normalise(x, eps):
    return x / ops.clamp(x.sum(axis=(2, 3), keepdims=True), min=eps)


def train_kld(pred, gt, eps=TRAIN_EPS):
    """mean_b Σ_{c,h,w} q·(log max(q, ε) − log max(p, ε)), p, q sum-normalised per map."""
    pred, gt = _check_pair(pred, gt)
    p, q = _sum_normalise(pred, eps), _sum_normalise(gt, eps)
    per_pix = q * (ops.log(ops.clamp(q, min=eps)) - ops.log(ops.clamp(p, min=eps)))
    return per_pix.sum(axis=(1, 2, 3)).mean()


def train_cc(pred, gt, eps=TRAIN_EPS):
    """mean_{b,c} cov(p, q) / (sqrt(max(Σp̄², ε))·sqrt(max(Σq̄², ε))), centred maps p̄, q̄."""
    pred, gt = _check_pair(pred, gt)
    xs = pred - pred.mean(axis=(2, 3), keep_dims=True)
    yg = gt - gt.mean(axis=(2, 3), keep_dims=True)
    var_s = ops.clamp((xs * xs).sum(axis=(2, 3)), min=eps)
    var_g = ops.clamp((yg * yg).sum(axis=(2, 3)), min=eps)
    cov = (xs * yg).sum(axis=(2, 3))
    return (cov / (ops.sqrt(var_s) * ops.sqrt(var_g))).mean()


def train_sim(pred, gt, eps=TRAIN_EPS):
    """mean_b Σ_{c,h,w} min(p, q), p, q = max(·, 0) sum-normalised per map (no min-max)."""
    pred, gt = _check_pair(pred, gt)
    p = _sum_normalise(ops.clamp(pred, min=0.0), eps)
    q = _sum_normalise(ops.clamp(gt, min=0.0), eps)
    return ops.minimum(p, q).sum(axis=(1, 2, 3)).mean()


def task_loss(pred, gt):
    """Released ``combined_loss``: (KLD − CC − SIM, KLD, CC, SIM)."""
    kld, cc, sim = train_kld(pred, gt), train_cc(pred, gt), train_sim(pred, gt)
    return kld - cc - sim, kld, cc, sim


def prompt_pull_loss(z_img, z_txt, curv, eps=lorentz.DIST_EPS):
    """mean_i relu(d(z_img_i, z_txt_i)), from the pairwise distance kernel; also returns d."""
    dist = lorentz_pairwise_dist(z_img, z_txt, curv, eps)
    return ops.relu(ops.diagonal(dist)).mean(), dist


def entailment_loss(z_img, z_txt, z_anc, curv, txt_img_aperture=TXT_IMG_APERTURE,
                    anc_txt_aperture=ANC_TXT_APERTURE):
    """½·(L_ti + L_at); L_ti = mean relu(ext(z_txt, z_img) − 0.8·aper(z_txt)),
    L_at = mean relu(ext(z_anc, z_txt) − aper(z_anc)). Returns (L_entail, L_ti, L_at)."""
    loss_ti = ops.relu(lorentz.oxy_angle(z_txt, z_img, curv)
                       - txt_img_aperture * lorentz.half_aperture(z_txt, curv)).mean()
    loss_at = ops.relu(lorentz.oxy_angle(z_anc, z_txt, curv)
                       - anc_txt_aperture * lorentz.half_aperture(z_anc, curv)).mean()
    return 0.5 * (loss_ti + loss_at), loss_ti, loss_at


def gate_sparsity_loss(gate, negative=None):
    """Mean audio-gate value over negative (noise-audio) samples.

    ``gate``: (N, ...) gate values; ``negative``: (N,) 1 for noise samples, 0 otherwise
    (None: every sample is a negative). 0 when the batch holds no negative sample.
    """
    per_sample = gate.astype(ms.float32).reshape(gate.shape[0], -1).mean(axis=1)
    if negative is None:
        return per_sample.mean()
    neg = negative.astype(ms.float32).reshape(-1)
    return (per_sample * neg).sum() / ops.clamp(neg.sum(), min=1.0)


class TaskLoss(nn.Cell):
    """The released training task loss KLD − CC − SIM; returns (total, kld, cc, sim)."""

    def construct(self, pred, gt):
        return task_loss(pred, gt)


class AAMLoss(nn.Cell):
    """Total training loss of AAM with configurable weights.

    construct(pred, gt, z_img, z_txt, z_anc, curv, gate=None, negative=None) returns
    (total, task, kld, cc, sim, pull, entail, gate_sparsity); see :data:`COMPONENTS`.
    """

    COMPONENTS = ("total", "task", "kld", "cc", "sim", "pull", "entail", "gate_sparsity")

    def __init__(self, task_weight=1.0, pull_weight=PULL_WEIGHT, entail_weight=ENTAIL_WEIGHT,
                 gate_weight=GATE_WEIGHT, txt_img_aperture=TXT_IMG_APERTURE,
                 anc_txt_aperture=ANC_TXT_APERTURE):
        super().__init__()
        self.task_weight = float(task_weight)
        self.pull_weight = float(pull_weight)
        self.entail_weight = float(entail_weight)
        self.gate_weight = float(gate_weight)
        self.txt_img_aperture = float(txt_img_aperture)
        self.anc_txt_aperture = float(anc_txt_aperture)

    def construct(self, pred, gt, z_img, z_txt, z_anc, curv, gate=None, negative=None):
        task, kld, cc, sim = task_loss(pred, gt)
        pull, _ = prompt_pull_loss(z_img, z_txt, curv)
        entail, _, _ = entailment_loss(z_img, z_txt, z_anc, curv, self.txt_img_aperture,
                                       self.anc_txt_aperture)
        total = self.task_weight * task + self.pull_weight * pull + self.entail_weight * entail
        gate_term = ops.zeros((), ms.float32)
        if gate is not None:
            gate_term = gate_sparsity_loss(gate, negative)
            total = total + self.gate_weight * gate_term
        return total, task, kld, cc, sim, pull, entail, gate_term
