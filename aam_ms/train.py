"""Train AAM: ``python -m aam_ms.train --config CONFIG [--out RUN] [--resume] [key=value ...]``.

One training step = one planned batch per rank (image or video clip, audio-visual from
``data.pipeline.av_start_epoch`` on; see :mod:`aam_ms.data.pipeline`), forward + backward in
GRAPH mode (``ms.jit`` around ``value_and_grad``), mean-reduced across ranks when distributed,
accumulated over ``train.grad_accum`` micro-batches, then AdamW with a cosine schedule and
linear warm-up. Only LoRA, projections, FPD, fusion and decoder parameters are trainable.

Loss = task (KLD − CC − SIM, released form) + 0.4·prompt pull + 1.0·entailment, plus the
audio-gate sparsity on negative samples: with probability ``train.negative_p`` an
audio-visual sample's audio embeddings are replaced by Gaussian noise (the negative-sample
attack). Noise and masks come from a generator seeded by (seed, step), so a resumed run sees
exactly what the uninterrupted run saw.

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

from .config import apply_overrides, load_yaml, merge
from .session import INPUT_DEFAULTS

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
        "min_lr": 1e-5,
        "weight_decay": 5e-3,
        "warmup_steps": 0,
        "grad_accum": 1,
        "amp": "auto",            # auto: bf16 on Ascend, fp32 elsewhere | fp32 | bf16
        "loss": {"task_weight": 1.0, "pull_weight": 0.4, "entail_weight": 1.0,
                 "gate_weight": 0.1},
        "negative_p": 0.2,        # negative-sample attack probability (audio-visual samples)
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
    p.add_argument("overrides", nargs="*", help="key.sub=value config overrides")
    return p.parse_args(argv)


def build_config(args):
    import dataclasses
    from .data.pipeline import PipelineConfig
    pipe = {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(PipelineConfig()).items()
            if k not in ("size", "clip_len", "seed")}      # from input.size / input.clip_len / seed
    defaults = merge(merge({"input": INPUT_DEFAULTS}, DEFAULTS), {"data": {"pipeline": pipe}})
    cfg = merge(defaults, load_yaml(args.config))
    cfg = apply_overrides(cfg, args.overrides)
    if args.device:
        cfg["device"] = args.device
    if args.out:
        cfg["train"]["out_dir"] = args.out
    if not cfg["data"]["train"]:
        raise ValueError(f"{args.config}: data.train (a manifest or MindRecord prefix) is required")
    return cfg


class JsonlLog:
    """Append-only JSONL log, flushed per line; silent on non-main ranks."""

    def __init__(self, path, enabled):
        self.f = open(path, "a", encoding="utf-8") if enabled else None

    def write(self, **row):
        if self.f:
            self.f.write(json.dumps(row) + "\n")
            self.f.flush()


class Trainer:
    """Builds the training graph pieces once and runs steps; see the module docstring."""

    def __init__(self, cfg, rt, run_dir, quiet=False):
        import mindspore as ms
        from mindspore import nn

        from .data import pipeline as P
        from .encoders import build_encoders
        from .losses import AAMLoss
        from .models.registry import build_from_config
        from .data.prompts import RELEASED, get_prompt, register_corpus_prompts

        self.ms, self.cfg, self.rt, self.run_dir, self.quiet = ms, cfg, rt, run_dir, quiet
        tcfg, dcfg = cfg["train"], cfg["data"]
        self.P = P
        self.source = P.open_source(dcfg["train"], dcfg["root"])
        self.pcfg = P.PipelineConfig.of({"seed": cfg["seed"], "size": cfg["input"]["size"],
                                         "clip_len": cfg["input"]["clip_len"], **dcfg["pipeline"]})
        meta = self.source.meta
        self.prompt_keys = sorted({m["prompt_key"] for m in meta})
        self.dataset_names = sorted({m["dataset"] for m in meta})
        self.plan_shards = rt.group_size if rt.distributed else int(dcfg["plan_shards"] or 1)

        self.text_enc, self.audio_enc = build_encoders(cfg)
        if os.path.isfile(dcfg["train"]):             # a manifest (not a MindRecord prefix)
            register_corpus_prompts(dcfg["train"])
        texts = [get_prompt(k) for k in self.prompt_keys]
        self.prompt_table = self.text_enc.embed(texts).astype(np.float32)
        self.audio_cache = {}

        self.model = build_from_config(cfg["model"])
        self.model.set_none_prompt(self.text_enc.embed([RELEASED["None"]]))
        self._amp()
        self.params = self.model.trainable_params()
        self.loss_fn = AAMLoss(**tcfg["loss"])
        self.datasets = dcfg["datasets"]
        self.steps_per_epoch = len(P.plan_epoch(self.pcfg, self.source, 0, self.plan_shards,
                                                datasets=self.datasets, prompt_keys=self.prompt_keys,
                                                dataset_names=self.dataset_names))
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
        self.accum = None
        if int(tcfg["grad_accum"]) > 1:
            self.accum = ms.ParameterTuple(
                ms.Parameter(ms.Tensor(np.zeros(p.shape, np.float32)), name="accum." + p.name,
                             requires_grad=False) for p in self.params)
        self._compile_steps()

    # ----------------------------------------------------------------- set-up pieces
    def _amp(self):
        amp = self.cfg["train"]["amp"]
        if amp == "auto":
            amp = "bf16" if self.rt.device == "Ascend" else "fp32"
        if amp == "bf16":
            if self.rt.device == "CPU":
                raise ValueError("train.amp=bf16: CPU MindSpore has no bf16 matmul; use fp32")
            self.ms.amp.auto_mixed_precision(self.model, amp_level="O2", dtype=self.ms.bfloat16)
        elif amp != "fp32":
            raise ValueError(f"train.amp must be auto, fp32 or bf16, got {amp!r}")

    def _optimizer(self, tcfg):
        from mindformers.core.lr import CosineWithWarmUpLR
        from mindspore.nn import AdamWeightDecay as AdamW   # mindformers' AdamW breaks on 0-d params
        warm = int(tcfg["warmup_steps"])
        total = max(self.total_steps, warm + 1)
        lr = CosineWithWarmUpLR(learning_rate=float(tcfg["lr"]), warmup_steps=warm,
                                total_steps=total, lr_end=float(tcfg["min_lr"]))
        self.lr_schedule = lr
        return AdamW(self.params, learning_rate=lr, weight_decay=float(tcfg["weight_decay"]))

    def _compile_steps(self):
        ms = self.ms
        model, loss_fn = self.model, self.loss_fn

        def forward(x, text, gt, audio, negative):
            pred, z_img, z_txt, z_anc, curv, gate = model.forward_train(x, text, audio)
            n = gt.shape[0]
            pred = pred.reshape(n, 1, pred.shape[-2], pred.shape[-1])
            out = loss_fn(pred, gt, z_img, z_txt, z_anc, curv, gate, negative)
            return out[0], out[1:]

        grad_fn = ms.value_and_grad(forward, None, self.optimizer.parameters, has_aux=True)
        reducer, optimizer, accum = self.grad_reducer, self.optimizer, self.accum

        def step(x, text, gt, audio, negative):
            (loss, parts), grads = grad_fn(x, text, gt, audio, negative)
            if reducer is not None:
                grads = reducer(grads)
            if accum is None:
                optimizer(grads)
            else:
                for a, g in zip(accum, grads):
                    ms.ops.assign_add(a, g)
            return loss, parts

        def apply_accumulated(scale):
            grads = tuple(a * scale for a in accum)
            optimizer(grads)
            for a in accum:
                ms.ops.assign(a, ms.ops.zeros_like(a))
            return scale

        graph = self.cfg.get("_mode", "graph") == "graph"
        self.step_fn = ms.jit(step) if graph else step
        self.apply_fn = (ms.jit(apply_accumulated) if graph else apply_accumulated) if accum else None

    def anchor_warm_start(self):
        """Start the general-attention anchor at the encoding of the free-viewing ("None")
        prompt: tangent a₀ = W_t·e_None, so z_anc = z_txt(None) at step 0."""
        head = self.model.head
        e = self.model.none_prompt_emb
        head.none_anchor_tan.set_data(head.textual_proj(e))

    # ----------------------------------------------------------------- data
    def dataset(self, epoch, start=0):
        """This rank's batches of ``epoch`` from batch ``start`` on (resume position)."""
        P = self.P
        steps = P.plan_epoch(self.pcfg, self.source, epoch, self.plan_shards, datasets=self.datasets,
                             prompt_keys=self.prompt_keys, dataset_names=self.dataset_names)
        if self.rt.distributed:
            plan = [s[self.rt.rank] for s in steps]
        else:
            plan = [P.merge_batches(s) for s in steps]
        return plan[start:], P.dataset_from_plan(self.source, plan[start:], self.pcfg)

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

    def tensors(self, batch, global_step):
        """Model inputs of one batch; the negative-sample attack is drawn from (seed, step)."""
        ms = self.ms
        x = batch["image"]
        text = self.prompt_table[batch["prompt"]]
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
        accum = int(tcfg["grad_accum"])
        epoch, start, global_step = 0, 0, 0
        if resume_state:
            epoch, start = resume_state["epoch"], resume_state["next_batch"]
            global_step = resume_state["global_step"]
        elif tcfg["anchor_warm_start"]:
            self.anchor_warm_start()
        self.model.set_train(True)
        micro = 0
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
                loss, parts = self.step_fn(x, text, gt, audio, negative)
                micro += 1
                n_last += batch["image"].shape[0] * self.rt.group_size
                if self.accum is not None:
                    if micro % accum:
                        continue
                    self.apply_fn(ms.Tensor(1.0 / accum, ms.float32))
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
                              lr=float(self.lr_schedule(ms.Tensor(global_step, ms.int32)).asnumpy()),
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


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except (ValueError, OSError) as e:
        print(f"train: error: {e}", file=sys.stderr)
        return 2
    cfg["_mode"] = "pynative" if args.pynative else "graph"
    from . import runtime
    from .checkpoint import latest, load_into, save_checkpoint_atomic
    from .session import save_config

    rt = runtime.setup(cfg["device"], cfg["_mode"], cfg["seed"], args.distributed)
    run_dir = cfg["train"]["out_dir"]
    ckpt_dir = os.path.join(run_dir, "ckpt")
    info = latest(ckpt_dir) if args.resume else None
    if rt.is_main:
        os.makedirs(run_dir, exist_ok=True)
        if not args.resume and latest(ckpt_dir) is not None:
            print(f"train: error: {run_dir} already holds a run; pass --resume to continue it "
                  "or choose another --out", file=sys.stderr)
            return 2
        save_config({k: v for k, v in cfg.items() if not k.startswith("_")},
                    os.path.join(run_dir, "config.yaml"))
    log = JsonlLog(os.path.join(run_dir, "log.jsonl"), rt.is_main)
    trainer = Trainer(cfg, rt, run_dir, quiet=args.quiet)
    if info is not None:
        load_into(info["path"], trainer.model, trainer.optimizer)
        log.write(event="resume", step=info["step"], **info["state"])
        if rt.is_main:
            print(f"[train] resumed from {info['path']} (step {info['step']})", file=sys.stderr)
    elif args.resume and rt.is_main:
        print(f"[train] --resume: no checkpoint in {ckpt_dir}, starting fresh", file=sys.stderr)
    log.write(event="start", rank_size=rt.group_size, steps_per_epoch=trainer.steps_per_epoch,
              total_steps=trainer.total_steps,
              trainable=int(sum(p.size for p in trainer.params)))
    step, epoch = trainer.run(log, info["state"] if info else None)
    if cfg["train"]["save_rank_params"]:
        np.savez(os.path.join(run_dir, f"rank_{rt.rank}_trainable.npz"),
                 **{p.name: p.asnumpy() for p in trainer.params})
    if rt.is_main:
        save_checkpoint_atomic(os.path.join(run_dir, "model_final.ckpt"), trainer.model)
        log.write(event="done", step=step)
        print(f"[train] finished at step {step}; model: {os.path.join(run_dir, 'model_final.ckpt')}",
              file=sys.stderr)
    print(DONE_MARK, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
