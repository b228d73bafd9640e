"""Train AAM: ``python -m aam_ms.train --config CONFIG [--out RUN] [--resume] [key=value ...]``.

One training step = one planned batch per rank (image or video clip, audio-visual from
``data.pipeline.av_start_epoch`` on; see :mod:`aam_ms.data.pipeline`), forward + backward in
GRAPH mode (``ms.jit`` around ``value_and_grad``), mean-reduced across ranks when distributed,
accumulated over ``train.grad_accum`` micro-batches, then AdamW with a cosine schedule and
linear warm-up. Only LoRA, projections, FPD, fusion and decoder parameters are trainable.

Loss = task (KLD − CC − SIM, released form) + 0.4·prompt pull + 1.0·entailment, plus the
audio-gate sparsity on negative samples: with probability ``train.negative_p`` an
audio-visual sample's audio embeddings are replaced by Gaussian noise (the negative-sample
attack). With probability ``train.granularity_p`` a sample's prompt is replaced by one of its
G1–G4 forms (paper appendix B; uniform over the levels), so the general prompts are trained on
the images of every dataset (the released loop uses the dataset prompts only: 0). Noise, masks
and prompt draws come from generators seeded by (seed, step), so a resumed run sees exactly
what the uninterrupted run saw.

The run directory holds ``config.yaml`` (resolved), ``log.jsonl`` (one line per logged step,
validation and event), ``ckpt/`` (model + optimizer + data position, atomic) and finally
``model_final.ckpt``. ``--resume`` continues from ``ckpt/latest.json``: same step, optimizer
state and data position (epoch and batch within the epoch).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

from .config import merge
from .session import INPUT_DEFAULTS, resolve_config

DEFAULTS = {
    "device": "cpu",
    "seed": 0,
    "data": {
        "train": None,            # manifest.jsonl or MindRecord prefix
        "root": None,             # dataset root override for a manifest
        "val": None,              # manifest for validation (default: data.train)
        "val_split": "val",
        "val_max_items": 4,       # images / videos per dataset in each validation
        "plan_shards": None,      # single process: plan as if this many ranks (merged batches)
        "datasets": None,         # train on these dataset keys only (default: all)
        "pipeline": {},           # aam_ms.data.pipeline.PipelineConfig fields
    },
    "train": {
        "epochs": 1,
        "max_steps": None,        # stop after this many optimizer steps
        "lr": 3e-4,
        "min_lr": 1e-5,           # released: CosineAnnealingLR eta_min
        "weight_decay": 5e-3,
        "schedule": "released",   # released: cosine over epochs (t_max) | cosine_warmup: per step
        "t_max": 10,              # released CosineAnnealingLR T_max (epochs)
        "warmup_steps": 0,        # cosine_warmup only
        "grad_accum": 1,
        "amp": "auto",            # auto: bf16 on Ascend, fp32 elsewhere | fp32 | bf16
        "loss": {"task_weight": 1.0, "pull_weight": 0.4, "entail_weight": 1.0,
                 "gate_weight": 0.1},
        "negative_p": 0.2,        # negative-sample attack probability (audio-visual samples)
        "granularity_p": 0.0,     # P(a sample's prompt → its G1..G4 form, uniform); released: 0
        "anchor_warm_start": True,
        "log_every": 10,
        "ckpt_every": 100,
        "keep_ckpts": 3,
        "val_every": 0,
        "save_rank_params": False,   # every rank writes rank_<r>_trainable.npz (DP checks)
        "out_dir": "runs/train",
    },
}
DONE_MARK = "AAM_TRAIN_DONE"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m aam_ms.train", description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="run config YAML (see configs/train_*.yaml)")
    p.add_argument("--out", help="run directory (default: train.out_dir of the config)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--device", choices=["cpu", "ascend", "gpu"], help="overrides the config")
    p.add_argument("--distributed", action="store_true", help="data parallel (msrun / RANK_*)")
    p.add_argument("--pynative", action="store_true", help="PYNATIVE instead of GRAPH mode")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--dry-run", action="store_true",
                   help="validate the whole plan on CPU (model, datasets, per-rank batches) and "
                        "print it; trains nothing, writes nothing")
    p.add_argument("--world-size", type=int, default=None,
                   help="--dry-run: number of ranks to plan for (default: RANK_SIZE or 1)")
    p.add_argument("--stand-in", action="store_true",
                   help="--dry-run: plan against a generated metadata-only manifest of the "
                        "configured datasets instead of data.train")
    p.add_argument("overrides", nargs="*", help="key.sub=value config overrides")
    return p.parse_args(argv)


def build_config(args):
    import dataclasses
    from .data.pipeline import PipelineConfig
    pipe = {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(PipelineConfig()).items()
            if k not in ("size", "clip_len", "seed", "mean", "std")}   # from input.* and seed
    defaults = merge(merge({"input": INPUT_DEFAULTS}, DEFAULTS), {"data": {"pipeline": pipe}})
    cfg = resolve_config(config=args.config, overrides=args.overrides, defaults=defaults,
                         schema=defaults)
    if args.device:
        cfg["device"] = args.device
    if args.out:
        cfg["train"]["out_dir"] = args.out
    if not cfg["data"]["train"]:
        raise ValueError(f"{args.config}: data.train (a manifest or MindRecord prefix) is required")
    return cfg


def pipeline_config(cfg):
    """The data pipeline of a run: ``data.pipeline`` plus seed and the model's ``input`` (size,
    clip length, mean / std, the same preprocessing as eval and predict)."""
    from .data.pipeline import PipelineConfig
    inp = cfg["input"]
    return PipelineConfig.of({"seed": cfg["seed"], "size": inp["size"], "clip_len": inp["clip_len"],
                              "mean": inp["mean"], "std": inp["std"], **cfg["data"]["pipeline"]})


class JsonlLog:
    """Append-only JSONL log, flushed per line; silent on non-main ranks."""

    def __init__(self, path, enabled):
        self.f = open(path, "a", encoding="utf-8") if enabled else None

    def write(self, **row):
        if self.f:
            self.f.write(json.dumps(row) + "\n")
            self.f.flush()


def _accumulate_fns():
    from mindspore import ops
    acc, scaled, clear = (ops.MultitypeFuncGraph(n) for n in ("accumulate", "scaled", "clear"))

    @acc.register("Tensor", "Tensor")
    def _(a, g):
        return ops.assign_add(a, g)

    @scaled.register("Tensor", "Tensor")
    def _(scale, a):
        return a * scale

    @clear.register("Tensor")
    def _(a):
        return ops.assign(a, ops.zeros_like(a))
    return acc, scaled, clear


_accumulate, _scaled, _clear = _accumulate_fns()


class TrainStep:
    """One released training step, compiled once (GRAPH mode: ``ms.jit``)::

        clamp the reached log-curvatures / log-scales in place (the released forward's
        ``.data`` clamps, on the values the optimizer left) → forward + loss → backward →
        [mean over ranks] → AdamW on the reached tensors (optionally after accumulating
        ``accum`` micro-batches).

    ``reached`` (bool, one per optimizer parameter) says which tensors the forward reads
    (:func:`aam_ms.optim.reached_params`, cached per input signature): the others get no
    update, no decay and no step, as torch's ``grad is None``.
    ``__call__(x, text, gt, audio, negative)`` → (loss, components); with ``return_grads``
    also the gradients (for parity tests)."""

    def __init__(self, model, loss_fn, optimizer, reducer=None, accum=1, graph=True,
                 amp_strategy=None, return_grads=False):
        import mindspore as ms
        from . import optim
        self.ms, self.model, self.optimizer, self.accum = ms, model, optimizer, int(accum)
        params = optimizer.parameters
        self.params = params
        clamps = tuple(optim.forward_clamps(params))
        self._reach_cache = {}
        self.micro = 0

        def forward(x, text, gt, audio, negative):
            pred, z_img, z_txt, z_anc, curv, gate = model.forward_train(x, text, audio)
            n = gt.shape[0]
            pred = pred.reshape(n, 1, pred.shape[-2], pred.shape[-1]).astype(ms.float32)
            out = loss_fn(pred, gt, z_img.astype(ms.float32), z_txt.astype(ms.float32),
                          z_anc.astype(ms.float32), curv.astype(ms.float32),
                          None if gate is None else gate.astype(ms.float32), negative)
            return out[0], out[1:]

        grad_fn = ms.value_and_grad(forward, None, params, has_aux=True)
        self.forward = forward
        bufs = acc_reached = None     # (every closure variable bound: the graph parser needs it)
        if self.accum > 1:
            bufs = ms.ParameterTuple(
                ms.Parameter(ms.Tensor(np.zeros(p.shape, np.float32)), name="accum." + p.name,
                             requires_grad=False) for p in params)
            acc_reached = ms.Parameter(ms.Tensor(np.zeros(len(params), np.bool_)),
                                       name="accum.reached", requires_grad=False)
        self.bufs = bufs

        hyper_map = ms.ops.HyperMap()    # one op over all tensors (a loop would nest too deep)
        union = None
        if reducer is not None:       # a tensor reached on any rank gets the mean gradient
            union = ms.ops.AllReduce(ms.ops.ReduceOp.SUM)    # (CPU all-reduce has SUM only)

        def step(x, text, gt, audio, negative, reached, lr):
            ms.ops.assign(optimizer.lr, lr)        # the schedule's value (see optim.AdamW)
            if union is not None:
                reached = union(reached.astype(ms.float32)) > 0
            for i, lo, hi in clamps:      # the released forward's in-place .data clamps
                p = params[i]
                ms.ops.assign(p, ms.ops.select(reached[i], ms.ops.clamp(p, lo, hi), p))
            (loss, parts), grads = grad_fn(x, text, gt, audio, negative)
            if reducer is not None:
                grads = reducer(grads)
            if bufs is None:
                loss = ms.ops.depend(loss, optimizer(grads, reached))
            else:
                loss = ms.ops.depend(loss, hyper_map(_accumulate, bufs, grads))
                ms.ops.assign(acc_reached, ms.ops.logical_or(acc_reached, reached))
            if return_grads:
                return loss, parts, grads
            return loss, parts

        def apply_accumulated(scale, lr):
            ms.ops.assign(optimizer.lr, lr)
            mean = hyper_map(ms.ops.partial(_scaled, scale), bufs)
            scale = ms.ops.depend(scale, optimizer(mean, acc_reached))
            scale = ms.ops.depend(scale, hyper_map(_clear, bufs))
            ms.ops.assign(acc_reached, ms.ops.zeros_like(acc_reached))
            return scale

        if amp_strategy is not None:        # compile the step under the AMP policy
            step.amp_strategy = amp_strategy
        self._step = ms.jit(step) if graph else step
        self._apply = (ms.jit(apply_accumulated) if graph else apply_accumulated) \
            if bufs is not None else None

    def reached(self, x, text, audio):
        """Which optimizer parameters a forward on inputs of this signature reads (cached;
        this rank's view: across ranks the step takes the union in-graph). Traced on the
        first sample only: the branches depend on the shapes, not on B."""
        from . import optim
        key = (tuple(x.shape[1:]), tuple(text.shape[1:]), audio is None)
        if key not in self._reach_cache:
            one = (x[:1], text[:1], None if audio is None else audio[:1])
            mask = optim.reached_params(self.model.forward_train, self.params, *one)
            self._reach_cache[key] = self.ms.Tensor(mask)
        return self._reach_cache[key]

    def __call__(self, x, text, gt, audio=None, negative=None):
        reached = self.reached(x, text, audio)
        out = self._step(x, text, gt, audio, negative, reached, self.optimizer.lr_input)
        self.micro += 1
        return out

    @property
    def ready(self):
        """True when an optimizer step was taken by the last call (always without accumulation)."""
        return self.accum == 1 or self.micro % self.accum == 0

    def apply_accumulated(self):
        return self._apply(self.ms.Tensor(1.0 / self.accum, self.ms.float32),
                           self.optimizer.lr_input)


class Trainer:
    """Builds the training graph pieces once and runs steps; see the module docstring."""

    def __init__(self, cfg, rt, run_dir, quiet=False):
        import mindspore as ms
        from mindspore import nn

        from .data import pipeline
        from .encoders import build_encoders
        from .losses import AAMLoss
        from .models.registry import build_from_config
        from .data.prompts import GRANULARITIES, RELEASED, get_prompt, register_corpus_prompts

        self.ms, self.cfg, self.rt, self.run_dir, self.quiet = ms, cfg, rt, run_dir, quiet
        tcfg, dcfg = cfg["train"], cfg["data"]
        self.source = pipeline.open_source(dcfg["train"], dcfg["root"])
        self.pcfg = pipeline_config(cfg)
        meta = self.source.meta
        self.prompt_keys = sorted({m["prompt_key"] for m in meta})
        self.dataset_names = sorted({m["dataset"] for m in meta})
        self.plan_shards = rt.group_size if rt.distributed else int(dcfg["plan_shards"] or 1)

        self.text_enc, self.audio_enc = build_encoders(cfg)
        if os.path.isfile(dcfg["train"]):             # a manifest (not a MindRecord prefix)
            register_corpus_prompts(dcfg["train"])
        texts = [get_prompt(k) for k in self.prompt_keys]
        self.granular = {}        # prompt index → rows of its G1..G4 forms in prompt_table
        granularity_p = float(tcfg["granularity_p"])
        if not 0.0 <= granularity_p <= 1.0:
            raise ValueError(f"train.granularity_p must be in [0, 1], got {granularity_p}")
        if granularity_p > 0:
            for i, k in enumerate(self.prompt_keys):
                try:
                    forms = [get_prompt(k, granularity=g) for g in GRANULARITIES]
                except KeyError:                  # a prompt without template slots
                    continue
                self.granular[i] = list(range(len(texts), len(texts) + len(forms)))
                texts += forms
        self.prompt_table = self.text_enc.embed(texts).astype(np.float32)
        self.audio_cache = {}

        self.model = build_from_config(cfg["model"])
        self.model.set_none_prompt(self.text_enc.embed([RELEASED["None"]]))
        self._amp()
        self.params = self.model.trainable_params()
        self.loss_fn = AAMLoss(**tcfg["loss"])
        self.datasets = dcfg["datasets"]
        self.steps_per_epoch = len(pipeline.plan_epoch(
            self.pcfg, self.source, 0, self.plan_shards, datasets=self.datasets,
            prompt_keys=self.prompt_keys, dataset_names=self.dataset_names))
        if self.steps_per_epoch == 0:
            raise ValueError(f"{dcfg['train']}: no training batch can be planned (too few "
                             "samples for the batch size / shards?)")
        micro_total = self.steps_per_epoch * int(tcfg["epochs"])
        self.total_steps = micro_total // int(tcfg["grad_accum"])
        if tcfg["max_steps"]:
            self.total_steps = min(self.total_steps, int(tcfg["max_steps"]))
        self.optimizer = self._optimizer(tcfg)
        self.grad_reducer = (nn.DistributedGradReducer(self.optimizer.parameters, mean=True,
                                                       degree=rt.group_size)
                             if rt.distributed else None)
        self._compile_steps()

    # ----------------------------------------------------------------- set-up pieces
    def _amp(self):
        from . import amp
        self.precision = amp.resolve(self.cfg["train"]["amp"], self.rt.device)
        amp.apply_amp(self.model, self.precision, self.rt.device)

    def _optimizer(self, tcfg):
        from . import optim
        optim.learning_rate(tcfg, 0, 0, self.total_steps)          # validates train.schedule
        groups = optim.released_groups(self.params, float(tcfg["weight_decay"]))
        return optim.AdamW(groups, lr=float(tcfg["lr"]))

    def set_lr(self, step, epoch):
        """The schedule's learning rate for optimizer step ``step`` (0-based) of ``epoch``."""
        from . import optim
        lr = optim.learning_rate(self.cfg["train"], step, epoch, self.total_steps)
        self.optimizer.set_lr(lr)
        return lr

    def _compile_steps(self):
        from . import amp
        self.step_fn = TrainStep(self.model, self.loss_fn, self.optimizer, self.grad_reducer,
                                 int(self.cfg["train"]["grad_accum"]),
                                 graph=self.cfg.get("_mode", "graph") == "graph",
                                 amp_strategy=amp.strategy(self.model))

    def anchor_warm_start(self):
        """Start the general-attention anchor at the encoding of the free-viewing ("None")
        prompt: tangent a₀ = W_t·e_None, so z_anc = z_txt(None) at step 0."""
        head = self.model.head
        e = self.model.none_prompt_emb
        head.none_anchor_tan.set_data(head.textual_proj(e))

    # ----------------------------------------------------------------- data
    def dataset(self, epoch, start=0):
        """This rank's batches of ``epoch`` from batch ``start`` on (resume position)."""
        from .data import pipeline
        steps = pipeline.plan_epoch(self.pcfg, self.source, epoch, self.plan_shards,
                                    datasets=self.datasets, prompt_keys=self.prompt_keys,
                                    dataset_names=self.dataset_names)
        if self.rt.distributed:
            plan = [s[self.rt.rank] for s in steps]
        else:
            plan = [pipeline.merge_batches(s) for s in steps]
        return plan[start:], pipeline.dataset_from_plan(self.source, plan[start:], self.pcfg)

    def audio_embeddings(self, audio, index):
        """(B, T, samples) windows → (B, T, 512), cached per manifest frame index."""
        b, t = index.shape
        flat_idx = index.reshape(-1)
        todo = [i for i, k in enumerate(flat_idx) if int(k) not in self.audio_cache]
        if todo:
            emb = self.audio_enc.embed_windows(audio.reshape(b * t, -1)[todo])
            for i, e in zip(todo, emb):
                self.audio_cache[int(flat_idx[i])] = e
        return np.stack([self.audio_cache[int(k)] for k in flat_idx]).reshape(b, t, -1)

    def prompt_rows(self, prompt, global_step):
        """Rows of ``prompt_table`` for a batch's prompt indices: each sample's own prompt, or
        with probability ``train.granularity_p`` one of its G1..G4 forms."""
        from .data.prompts import GRANULARITIES
        rows = np.asarray(prompt, np.int64).copy()
        p = float(self.cfg["train"]["granularity_p"])
        if p > 0:
            rng = np.random.default_rng([self.cfg["seed"], global_step, self.rt.rank, 11])
            swap = rng.random(len(rows)) < p
            level = rng.integers(0, len(GRANULARITIES), len(rows))
            for j, i in enumerate(rows.tolist()):
                if swap[j] and i in self.granular:
                    rows[j] = self.granular[i][level[j]]
        return rows

    def tensors(self, batch, global_step):
        """Model inputs of one batch; the negative-sample attack is drawn from (seed, step)."""
        ms = self.ms
        x = batch["image"]
        text = self.prompt_table[self.prompt_rows(batch["prompt"], global_step)]
        gt = batch["density"].astype(np.float32)
        gt = gt.reshape(-1, 1, gt.shape[-2], gt.shape[-1])
        audio = negative = None
        if x.ndim == 5 and bool(batch["has_audio"].all()):
            from .models.av_fusion import negative_sample_attack
            rng = np.random.default_rng([self.cfg["seed"], global_step, self.rt.rank, 7])
            emb, neg = negative_sample_attack(self.audio_embeddings(batch["audio"], batch["index"]),
                                              float(self.cfg["train"]["negative_p"]), rng)
            audio = ms.Tensor(emb)
            negative = ms.Tensor(np.repeat(neg, x.shape[1]))      # per frame, as the gate
        return ms.Tensor(x), ms.Tensor(text), ms.Tensor(gt), audio, negative

    # ----------------------------------------------------------------- loop
    def save(self, global_step, epoch, next_batch):
        from .checkpoint import save_train_state
        if not self.rt.is_main:
            return None
        state = {"epoch": epoch, "next_batch": next_batch, "global_step": global_step}
        return save_train_state(os.path.join(self.run_dir, "ckpt"), global_step, self.model,
                                self.optimizer, state, keep=int(self.cfg["train"]["keep_ckpts"]))

    def validate(self):
        """Evaluation metrics (official protocols) on the first ``data.val_max_items`` images /
        videos of each dataset of the validation split: {dataset: {metric: value}}."""
        from .data.manifest import read_manifest
        from .data.pipeline import plan_eval
        from .eval import evaluate
        from .session import Session
        dcfg = self.cfg["data"]
        header, records = read_manifest(dcfg["val"] or dcfg["train"], dcfg["root"])
        session = Session(self.cfg, self.model, self.text_enc, self.audio_enc)
        plan = plan_eval(records, header["root"], dcfg["val_split"],
                         max_items=int(dcfg["val_max_items"]))
        rows = evaluate(session, plan, "correct", batch=4)
        keep = ("AUC_J", "sAUC", "NSS", "CC", "SIM", "KLD")
        return {r["dataset"]: {k: r[k] for k in keep if k in r} for r in rows}

    def run(self, log, resume_state=None):
        ms = self.ms
        tcfg = self.cfg["train"]
        epoch, start, global_step = 0, 0, 0
        if resume_state:
            epoch, start = resume_state["epoch"], resume_state["next_batch"]
            global_step = resume_state["global_step"]
        elif tcfg["anchor_warm_start"]:
            self.anchor_warm_start()
        self.model.set_train(True)
        t_last, n_last = time.time(), 0
        bar = None
        if self.rt.is_main and not self.quiet:
            from tqdm import tqdm
            bar = tqdm(total=self.total_steps, initial=global_step, unit="step", dynamic_ncols=True,
                       desc="train")
        done = global_step >= self.total_steps
        while not done and epoch < int(tcfg["epochs"]):
            plan, ds = self.dataset(epoch, start)
            for i, batch in enumerate(ds.create_dict_iterator(num_epochs=1, output_numpy=True)):
                if batch["image"].shape[0] == 0:
                    continue
                x, text, gt, audio, negative = self.tensors(batch, global_step)
                lr = self.set_lr(global_step, epoch)
                loss, parts = self.step_fn(x, text, gt, audio, negative)
                n_last += batch["image"].shape[0] * self.rt.group_size
                if not self.step_fn.ready:
                    continue
                if self.step_fn.accum > 1:
                    self.step_fn.apply_accumulated()
                global_step += 1
                loss_v = float(loss.asnumpy())
                if not math.isfinite(loss_v):
                    raise FloatingPointError(f"loss became {loss_v} at step {global_step}")
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss_v:.4f}", epoch=epoch)
                if global_step % int(tcfg["log_every"]) == 0 or global_step == 1:
                    now = time.time()
                    names = self.loss_fn.COMPONENTS[1:]
                    log.write(step=global_step, epoch=epoch, loss=loss_v,
                              **{k: float(v.asnumpy()) for k, v in zip(names, parts)},
                              lr=lr,
                              samples_per_s=n_last / max(now - t_last, 1e-9),
                              kind="video" if batch["image"].ndim == 5 else "image")
                    t_last, n_last = now, 0
                next_batch = start + i + 1
                if int(tcfg["ckpt_every"]) and global_step % int(tcfg["ckpt_every"]) == 0:
                    self.save(global_step, epoch, next_batch)
                if int(tcfg["val_every"]) and global_step % int(tcfg["val_every"]) == 0 \
                        and self.rt.is_main:
                    self.model.set_train(False)
                    log.write(step=global_step, validation=self.validate())
                    self.model.set_train(True)
                if global_step >= self.total_steps:
                    done = True
                    break
            else:
                epoch, start = epoch + 1, 0
                continue
            break
        if bar is not None:
            bar.close()
        self.model.set_train(False)
        return global_step, epoch


STAND_IN_IMAGES = 24          # stand-in manifest: images per image dataset
STAND_IN_VIDEOS = 3           # videos per video / audio-visual dataset


def stand_in_manifest(path, datasets, clip_len, stride=4):
    """A metadata-only manifest (no files behind it) with every dataset in ``datasets`` in the
    modality of its reader, for planning: ``STAND_IN_IMAGES`` images per image dataset,
    ``STAND_IN_VIDEOS`` videos of (clip_len − 1)·stride + 1 frames per video dataset."""
    from .data import readers
    from .data.manifest import Record, write_manifest
    from .data.prompts import prompt_key
    recs = []
    n_frames = (clip_len - 1) * stride + 1
    for name in datasets:
        key = readers.canonical(name)
        modality = ("image" if key in readers.IMAGE else "video" if key in readers.VIDEO
                    else "audio_visual")
        for split in ("train", "val"):
            if modality == "image":
                recs += [Record(key, modality, split, prompt_key(key), f"{key}/{split}/{i}.jpg",
                                density=f"{key}/{split}/{i}_map.png", size=[480, 640])
                         for i in range(STAND_IN_IMAGES)]
                continue
            for v in range(STAND_IN_VIDEOS):
                vid = f"{split}_{v:03d}"
                for f in range(n_frames):
                    recs.append(Record(
                        key, modality, split, prompt_key(key), f"{key}/{vid}/{f:04d}.jpg",
                        density=f"{key}/{vid}/{f:04d}_map.png", video=vid, frame_index=f,
                        num_frames=n_frames, fps=30.0, size=[360, 640],
                        audio=f"{key}/{vid}.wav" if modality == "audio_visual" else None,
                        audio_window=[f / 30.0 - 1.0, f / 30.0 + 1.0]
                        if modality == "audio_visual" else None))
    write_manifest(path, recs, os.path.dirname(os.path.abspath(path)), stand_in=True)
    return path


def dry_run(cfg, world, stand_in=False, out=sys.stdout):
    """Validate the run on CPU and print its plan: every configured dataset resolved to its
    reader, prompt and manifest records; the model built (parameters, optimizer groups, AMP
    cast plan); the schedule; and the batches of each rank in epoch 0 and in the first
    audio-visual epoch. Trains nothing and writes nothing outside a temp folder."""
    import tempfile
    from collections import Counter
    from . import amp, optim, runtime
    from .cli import UserError
    from .data import pipeline
    from .data import readers
    from .data.prompts import get_prompt, prompt_key
    from .models.registry import build_from_config, count_params

    def say(line=""):
        print(line, file=out)

    dcfg, tcfg = cfg["data"], cfg["train"]
    if world < 1:
        raise UserError(f"--world-size must be ≥ 1, got {world}")
    names = dcfg["datasets"]
    try:
        names = [readers.canonical(n) for n in names] if names else names
    except KeyError as e:
        raise UserError(f"data.datasets: {e.args[0]}") from None
    with tempfile.TemporaryDirectory(prefix="aam-dry-run-") as tmp:
        if stand_in:
            if not names:
                raise UserError("--stand-in needs data.datasets (the datasets to stand in for)")
            manifest = stand_in_manifest(os.path.join(tmp, "manifest.jsonl"), names,
                                         int(cfg["input"]["clip_len"]))
        else:
            manifest = dcfg["train"]
            if not os.path.isfile(manifest):
                raise UserError(f"data.train {manifest}: no such manifest (build it with "
                                "python -m aam_ms.data.index, or pass --stand-in)")
        try:
            source = pipeline.open_source(manifest, None if stand_in else dcfg["root"])
        except (ValueError, OSError) as e:
            raise UserError(f"data.train {manifest}: {e}") from None
        meta = source.meta
        present = sorted({m["dataset"] for m in meta})
        names = [readers.canonical(n) for n in (names or present)]
        say(f"[dry-run] manifest {'(generated stand-in)' if stand_in else manifest}: "
            f"{len(meta)} records, {len(present)} datasets")
        say(f"{'dataset':<12} {'reader':<13} {'prompt key':<12} {'train':>7} {'val':>6}  prompt")
        problems = []
        for n in names:
            group = ("image" if n in readers.IMAGE else "video" if n in readers.VIDEO
                     else "audio_visual")
            rows = [m for m in meta if m["dataset"] == n]
            splits = Counter(m["split"] for m in rows)
            mods = sorted({m["modality"] for m in rows})
            keys = sorted({m["prompt_key"] for m in rows})
            if not rows:
                problems.append(f"{n}: no records in the manifest")
            elif mods != [group]:
                problems.append(f"{n}: records are {mods}, its reader gives {group}")
            elif keys != [prompt_key(n)]:
                problems.append(f"{n}: prompt keys {keys}, released {prompt_key(n)!r}")
            text = get_prompt(prompt_key(n))
            say(f"{n:<12} {group:<13} {prompt_key(n):<12} {splits.get('train', 0):>7} "
                f"{splits.get(dcfg['val_split'], 0):>6}  {text[:60]}…")
        if problems:
            raise UserError("data plan: " + "; ".join(problems))

        runtime.use_device("CPU")
        import mindspore as ms
        ms.set_context(mode=ms.PYNATIVE_MODE)
        model = build_from_config(cfg["model"])
        total, trainable = count_params(model)
        params = model.trainable_params()
        groups = optim.released_groups(params, float(tcfg["weight_decay"]))
        target = runtime.DEVICES[str(cfg["device"]).lower()]
        precision = amp.resolve(tcfg["amp"], target)
        plan = Counter(amp.cast_plan(model, precision)["cells"].values())
        say(f"[dry-run] model {cfg['model'].get('name')}: {total / 1e6:.2f} M parameters, "
            f"{trainable / 1e6:.2f} M trainable in {len(params)} tensors; optimizer AdamW "
            + ", ".join(f"{g} {len(ps)} tensors (wd {wd:g})" for g, ps, wd in groups))
        say(f"[dry-run] precision on {target}: {precision}; cells "
            + ", ".join(f"{k} {v}" for k, v in sorted(plan.items())))

        pcfg = pipeline_config(cfg)
        keys = sorted({m["prompt_key"] for m in meta})
        epochs = int(tcfg["epochs"])
        show = sorted({0, min(pcfg.av_start_epoch, epochs - 1)})
        plans = {e: pipeline.plan_epoch(pcfg, source, e, world, datasets=names,
                                        prompt_keys=keys, dataset_names=present) for e in show}
        steps0 = len(plans[0])
        if steps0 == 0:
            raise UserError("data plan: epoch 0 has no step (too few samples for the batch "
                            f"size {pcfg.batch_size} × {world} ranks?)")
        lrs = [optim.learning_rate(tcfg, e * steps0, e, steps0 * epochs) for e in range(epochs)]
        say(f"[dry-run] {world} rank(s); global batch {pcfg.batch_size * world} images or "
            f"{pcfg.video_batch_size * world} clips × {pcfg.clip_len} frames at "
            f"{pcfg.size[0]}×{pcfg.size[1]}; schedule {tcfg.get('schedule')}: lr per epoch "
            + " ".join(f"{v:.2e}" for v in lrs))
        for e, steps in plans.items():
            say(f"[dry-run] epoch {e}: {len(steps)} steps"
                f"{' (audio-visual data in)' if pipeline.av_active(e, pcfg.av_start_epoch) else ''}")
            for r in range(world):
                kinds = Counter("audio_visual" if s[r].has_audio else s[r].kind for s in steps)
                samples = sum(len(s[r].rows) for s in steps)
                frames = sum(len(rows) for s in steps for rows in s[r].rows)
                ds = Counter(present[s[r].dataset[0]] for s in steps)
                say(f"  rank {r}: {kinds.get('image', 0)} image / {kinds.get('video', 0)} video"
                    f" / {kinds.get('audio_visual', 0)} audio-visual batches, {samples} samples,"
                    f" {frames} frames; datasets {len(ds)}")
    say("[dry-run] plan OK")
    return 0


RUN_MARKERS = ("config.yaml", "log.jsonl", "model_final.ckpt", os.path.join("ckpt", "latest.json"))


def check_out_dir(run_dir, resume):
    """Refuse (``UserError``) a ``--out`` that already holds a run unless ``--resume``."""
    from .cli import UserError
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise UserError(f"--out {run_dir} is a file, not a folder")
    found = [m for m in RUN_MARKERS if os.path.exists(os.path.join(run_dir, m))]
    if found and not resume:
        raise UserError(f"--out {run_dir} already holds a run ({', '.join(found)}); pass "
                        "--resume to continue it or choose another --out")


def resume_point(ckpt_dir):
    """The newest intact checkpoint record of a run (None: no checkpoint at all), reporting
    every newer one that failed verification; ``UserError`` when checkpoints exist but none
    is intact."""
    from .checkpoint import newest_intact
    from .cli import UserError
    info, skipped = newest_intact(ckpt_dir)
    for f, reason in skipped:
        print(f"[train] --resume: skipping {os.path.join(ckpt_dir, f)}: {reason}", file=sys.stderr)
    if info is None and skipped:
        raise UserError(f"--resume: no intact checkpoint in {ckpt_dir} ("
                        + "; ".join(f"{f}: {r}" for f, r in skipped) + ")")
    return info


def main(argv=None):
    from .cli import UserError
    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except (ValueError, OSError) as e:
        raise UserError(str(e)) from None
    if args.dry_run:
        world = args.world_size or int(os.environ.get("RANK_SIZE", "1"))
        return dry_run(cfg, world, args.stand_in)
    cfg["_mode"] = "pynative" if args.pynative else "graph"
    from . import runtime
    from .checkpoint import load_into, save_checkpoint_atomic
    from .fileio import atomic_write
    from .session import save_config

    run_dir = cfg["train"]["out_dir"]
    ckpt_dir = os.path.join(run_dir, "ckpt")
    check_out_dir(run_dir, args.resume)
    info = resume_point(ckpt_dir) if args.resume else None
    rt = runtime.setup(cfg["device"], cfg["_mode"], cfg["seed"], args.distributed)
    if rt.is_main:
        os.makedirs(run_dir, exist_ok=True)
        save_config({k: v for k, v in cfg.items() if not k.startswith("_")},
                    os.path.join(run_dir, "config.yaml"))
    log = JsonlLog(os.path.join(run_dir, "log.jsonl"), rt.is_main)
    try:
        trainer = Trainer(cfg, rt, run_dir, quiet=args.quiet)
    except (ValueError, OSError) as e:
        raise UserError(f"{args.config}: {e}") from None
    if info is not None:
        load_into(info["path"], trainer.model, trainer.optimizer)
        log.write(event="resume", step=info["step"], file=info["file"], **info["state"])
        if rt.is_main:
            print(f"[train] resumed from {info['path']} (step {info['step']})", file=sys.stderr)
    elif args.resume and rt.is_main:
        print(f"[train] --resume: no checkpoint in {ckpt_dir}, starting fresh", file=sys.stderr)
    log.write(event="start", rank_size=rt.group_size, steps_per_epoch=trainer.steps_per_epoch,
              total_steps=trainer.total_steps,
              trainable=int(sum(p.size for p in trainer.params)))
    step, epoch = trainer.run(log, info["state"] if info else None)
    if cfg["train"]["save_rank_params"]:
        with atomic_write(os.path.join(run_dir, f"rank_{rt.rank}_trainable.npz")) as f:
            np.savez(f, **{p.name: p.asnumpy() for p in trainer.params})
    if rt.is_main:
        save_checkpoint_atomic(os.path.join(run_dir, "model_final.ckpt"), trainer.model)
        log.write(event="done", step=step)
        print(f"[train] finished at step {step}; model: {os.path.join(run_dir, 'model_final.ckpt')}",
              file=sys.stderr)
    print(DONE_MARK, flush=True)
    return 0


def cli_main():
    """Console script ``aam-train`` (pyproject.toml): exit codes from :func:`aam_ms.cli.run`."""
    from .cli import run
    sys.exit(run(main))


if __name__ == "__main__":
    from .cli import run
    sys.exit(run(main, prog="train"))
