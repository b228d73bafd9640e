"""Benchmarks: ``python scripts/bench.py {peer,framewise,modes,fullsize,pipeline,streaming,threads,
kernels,all} [--quick] [--repeat N] [--jsonl FILE]``.

One JSON line per measurement on stdout (and appended to ``--jsonl``); the first line of a run
describes the machine. Alternatives are timed interleaved in one process (round r runs every
alternative once), after one warm-up call each (GRAPH compilation), ``--repeat`` rounds
(≥ 5 unless ``--quick``); lines carry the median and all times, and comparisons a ratio.
Machines are shared: read ratios, not absolute numbers.

* peer: our DINOv3 backbone vs transformers' DINOv3ViTModel on the same random weights (ViT-L/16
  at 448²; ``--quick``: the tiny variant at 64²), each in a fresh process per round, rounds
  interleaved, 2 threads and 1 thread (that process pinned to one core); the outputs compared; our whole network per frame
  (image, T = 8, T = 32 through ``aam_ms.inference.Engine``) against that backbone; peak RSS of
  each process during inference (VmHWM reset after loading); the machine's fp32 GEMM rate
  measured in the same run and the fraction of it each backbone reaches.
* peer_train: a LoRA train step (forward, backward to the LoRA factors, AdamW) of our
  DINOv3 backbone vs the same step on transformers' DINOv3ViTModel with the same weights,
  LoRA factors, loss and optimizer (ViT-S/16 at 224², batch 4; ``--quick``: tiny at 64²),
  fresh processes, interleaved rounds, the step losses compared; our whole network's train
  step (aam_vits16) beside it.
* compile: first-call time of one image in fresh processes, without and with the compile
  cache (``aam_ms.runtime.enable_compile_cache``).
* framewise: frame-wise AAM over a T-frame clip in one pass vs a fixed-window model that
  re-runs a W-frame window per output frame (cost = one W-window forward × T, measured once
  per round; ``method`` says so).
* modes: GRAPH (``ms.jit``) vs PYNATIVE forward and train step (forward + backward + AdamW on
  the trainable parameters, the released loss).
* fullsize: ``aam_vitl16`` at 448² (``--quick``: aam_tiny at 64²), one fresh subprocess per T:
  first-call (compile + run) and warm latency, peak RSS (``ru_maxrss``).
* pipeline: training-batch throughput from a manifest and from MindRecord of the synthetic
  corpus vs the samples/s the aam_tiny GRAPH train step consumes.
* streaming: cached-feature streaming (``Engine.features`` + ``Engine.decode``) vs recomputing
  the window from pixels per frame.
* threads: CPU operator threads 1 / 2 / default, one subprocess per setting, interleaved.
* kernels: ``scripts/bench_kernels.py`` (its ``main(["--reps", n])``), when present.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:           # run from a checkout: python scripts/bench.py ...
    sys.path.insert(0, str(REPO))
BENCHES = ("peer", "peer_train", "compile", "framewise", "modes", "fullsize", "pipeline", "streaming", "threads",
           "kernels")


# ------------------------------------------------------------------ reporting
class Reporter:
    """Prints JSON lines (and appends them to a file); every line names its bench."""

    def __init__(self, jsonl=None, command=None):
        self.path = jsonl
        self.command = command

    def emit(self, bench, **fields):
        row = {"bench": bench, **fields}
        if self.command:
            row["command"] = self.command
        line = json.dumps(row, sort_keys=False)
        print(line, flush=True)
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        return row


def machine_info():
    """CPU model, logical cores, RAM, load, versions."""
    import mindspore as ms
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    ram = round(int(line.split()[1]) / 2 ** 20, 1)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": ram,
            "load_1m": round(os.getloadavg()[0], 2), "python": platform.python_version(),
            "mindspore": ms.__version__, "numpy": np.__version__}


def interleaved(fns, repeat, warmup=1):
    """{name: [seconds]}: each fn called ``warmup`` times, then once per round, in turn."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def _med(ts):
    return statistics.median(ts)


def _r(x, nd=4):
    return round(float(x), nd)


# ------------------------------------------------------------------ model helpers
def _ms():
    import mindspore as ms
    from aam_ms.runtime import use_device
    use_device("CPU")
    return ms


def _model(name, seed=0):
    ms = _ms()
    from aam_ms.models.registry import create_model
    ms.set_seed(seed)
    m = create_model(name)
    m.set_train(False)
    return m


def _inputs(b, t, size, seed=0):
    from mindspore import Tensor
    rng = np.random.default_rng(seed)
    shape = (b, 3, size, size) if t == 0 else (b, t, 3, size, size)
    return (Tensor(rng.standard_normal(shape).astype(np.float32)),
            Tensor(rng.standard_normal((1, 768)).astype(np.float32)))


def _sync(out):
    """Block until the outputs exist (asnumpy of the prediction)."""
    out[0].asnumpy()


def _forward(model, graph):
    ms = _ms()
    return ms.jit(model.construct) if graph else model.construct


class _TrainStep:
    """forward + backward + AdamWeightDecay on the trainable parameters (released loss)."""

    def __init__(self, model, graph):
        ms = _ms()
        from mindspore import nn
        from aam_ms.losses import AAMLoss
        model.set_train(True)
        self.model, self.loss = model, AAMLoss()
        params = model.trainable_params()
        self.opt = nn.AdamWeightDecay(params, learning_rate=1e-4, weight_decay=5e-3)

        def forward(x, text, gt):
            pred, z_img, z_txt, z_anc, curv = model(x, text)
            pred = pred.reshape(gt.shape)
            return self.loss(pred, gt, z_img, z_txt, z_anc, curv)[0]

        grad_fn = ms.value_and_grad(forward, None, self.opt.parameters)

        def step(x, text, gt):
            loss, grads = grad_fn(x, text, gt)
            self.opt(grads)
            return loss

        self.fn = ms.jit(step) if graph else step

    def __call__(self, x, text, gt):
        return self.fn(x, text, gt).asnumpy()


# ------------------------------------------------------------------ benches
def bench_framewise(rep, quick, repeat):
    """Frame-wise one pass over T frames vs a W-window model re-run for each output frame."""
    models = ["aam_tiny"] if quick else ["aam_tiny", "aam_vits16"]
    for name in models:
        size = 32 if quick else 64
        ts = (8, 16) if quick else ((32, 64, 128) if name == "aam_tiny" else (32, 64))
        ws = (4, 8) if quick else (16, 32)
        m = _model(name)
        fwd = _forward(m, graph=True)
        fns = {}
        for t in ts:
            x, text = _inputs(1, t, size)
            fns[f"framewise_T{t}"] = (lambda x=x, text=text: _sync(fwd(x, text)))
        for w in ws:
            x, text = _inputs(1, w, size)
            fns[f"window_W{w}"] = (lambda x=x, text=text: _sync(fwd(x, text)))
        times = interleaved(fns, repeat)
        for t in ts:
            tf = _med(times[f"framewise_T{t}"])
            for w in ws:
                tw = _med(times[f"window_W{w}"])
                fps_f, fps_w = t / tf, 1.0 / tw
                rep.emit("framewise", model=name, size=size, T=t, W=w, mode="GRAPH",
                         framewise_s=_r(tf), framewise_fps=_r(fps_f, 2),
                         window_s=_r(tw), window_fps=_r(fps_w, 2), ratio=_r(fps_f / fps_w, 2),
                         repeat=repeat, framewise_times=[_r(v) for v in times[f"framewise_T{t}"]],
                         window_times=[_r(v) for v in times[f"window_W{w}"]],
                         method="fixed-window cost = one W-frame forward x T output frames")
        del m, fwd


def bench_modes(rep, quick, repeat):
    """GRAPH (ms.jit) vs PYNATIVE for the forward pass and the train step."""
    from mindspore import Tensor
    cases = [("aam_tiny", 64)] if quick else [("aam_tiny", 64), ("aam_tiny", 128),
                                               ("aam_vits16", 64)]
    b = 2
    for name, size in cases:
        m = _model(name)
        x, text = _inputs(b, 0, size)
        gt = Tensor(np.random.default_rng(1).random((b, 1, size, size)).astype(np.float32))
        fg, fp = _forward(m, True), _forward(m, False)
        times = interleaved({"graph": lambda: _sync(fg(x, text)),
                             "pynative": lambda: _sync(fp(x, text))}, repeat)
        g, p = _med(times["graph"]), _med(times["pynative"])
        rep.emit("modes", model=name, size=size, batch=b, what="forward", graph_s=_r(g),
                 pynative_s=_r(p), ratio_pynative_over_graph=_r(p / g, 2), repeat=repeat,
                 graph_times=[_r(v) for v in times["graph"]],
                 pynative_times=[_r(v) for v in times["pynative"]])
        sg, sp = _TrainStep(m, True), _TrainStep(m, False)
        times = interleaved({"graph": lambda: sg(x, text, gt),
                             "pynative": lambda: sp(x, text, gt)}, repeat)
        g, p = _med(times["graph"]), _med(times["pynative"])
        rep.emit("modes", model=name, size=size, batch=b, what="train_step", graph_s=_r(g),
                 pynative_s=_r(p), ratio_pynative_over_graph=_r(p / g, 2),
                 graph_samples_per_s=_r(b / g, 2), pynative_samples_per_s=_r(b / p, 2),
                 repeat=repeat, graph_times=[_r(v) for v in times["graph"]],
                 pynative_times=[_r(v) for v in times["pynative"]])
        del m, sg, sp


def _rss_watchdog(limit_gib, period=0.5):
    """Exit this process (code 3) as soon as its resident set exceeds ``limit_gib``, so a
    measurement never pushes a shared machine into the OOM killer."""
    import threading
    page = os.sysconf("SC_PAGE_SIZE")

    def watch():
        while True:
            with open("/proc/self/statm", encoding="ascii") as f:
                rss = int(f.read().split()[1]) * page / 2 ** 30
            if rss > limit_gib:
                print(json.dumps({"aborted_rss_gib": rss}), flush=True)
                os._exit(3)
            time.sleep(period)

    threading.Thread(target=watch, daemon=True).start()


def _engine(model, size, frame_batch=None, graph=True):
    """``aam_ms.inference.Engine`` over a bare model (no prompt encoders: embeddings are given)."""
    from aam_ms.inference import Engine
    from aam_ms.session import Session
    return Engine(Session({"input": {"size": [size, size]}}, model), graph=graph,
                  frame_batch=frame_batch)


def _fullsize_one(name, t, size, warm, frame_batch, rss_limit_gib=20.0, graph=True):
    """(Subprocess body) saliency of one (1, T, 3, S, S) clip (T = 1: one image); prints one
    JSON object. ``frame_batch`` 0: one GRAPH pass ``model(x)``; k > 0: ``Engine.clip`` (the
    backbone in micro-batches of k frames, features cached, the head over all T frames: in
    GRAPH ``head.levels`` eagerly and the decoder one frame per graph call, which equals one
    pass), in GRAPH or (``graph=False``) PYNATIVE."""
    _rss_watchdog(rss_limit_gib)
    m = _model(name)
    x, text = _inputs(1, t, size) if (t > 1 or frame_batch) else _inputs(1, 0, size)
    if frame_batch:
        eng = _engine(m, size, frame_batch, graph)

        def run():
            eng.clip(x, text).asnumpy()
    else:
        fwd = _forward(m, graph=True)

        def run():
            _sync(fwd(x, text))
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    warm_s = []
    for _ in range(warm):
        t0 = time.perf_counter()
        run()
        warm_s.append(time.perf_counter() - t0)
    print(json.dumps({"first_call_s": first, "warm_s": warm_s,
                      "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}))


def _child(code_args, env=None, cpus=None):
    """Run ``bench.py _child code_args`` in a fresh process (``cpus``: pin it to these cores,
    so "1 thread" means one core for every thread of the process) and return its JSON line."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", *code_args]
    e = {**os.environ, "GLOG_v": "3", **(env or {})}
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    r = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=str(REPO), preexec_fn=pin)
    if r.returncode == 3 and "aborted_rss_gib" in r.stdout:
        return json.loads(r.stdout.strip().splitlines()[-1])
    if r.returncode != 0:
        raise RuntimeError(f"bench child {code_args} failed (rc {r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_fullsize(rep, quick, repeat, ts=None, frame_batch=1, warm_max_t=8, rss_limit_gib=20.0,
                   graph=True):
    """Latency per frame and peak RSS of one clip in a fresh process per T (GRAPH).

    T = 1 runs ``model(x)`` on one image; T > 1 runs the cached-feature path (backbone
    ``frame_batch`` frames at a time, the head over the T frames as ``Engine.decode``), which
    equals one pass.
    A warm second call is timed for T ≤ ``warm_max_t``; otherwise the single call includes
    graph compilation (``latency_includes_compile``). A child whose RSS passes
    ``rss_limit_gib`` stops itself and the line reports ``aborted_rss_gib``."""
    name, size = ("aam_tiny", 64) if quick else ("aam_vitl16", 448)
    ts = ts or ((1, 2) if quick else (1, 8, 16, 32))
    for t in ts:
        fb = frame_batch if t > 1 else 0
        warm = 1 if t <= warm_max_t else 0
        try:
            r = _child(["fullsize", name, str(t), str(size), str(warm), str(fb),
                        str(rss_limit_gib), "graph" if graph else "pynative"])
        except RuntimeError as e:
            rep.emit("fullsize", model=name, size=size, T=t, frame_batch=fb, failed=str(e)[:300])
            continue
        if "aborted_rss_gib" in r:
            rep.emit("fullsize", model=name, size=size, T=t, frame_batch=fb,
                     mode="GRAPH" if graph else "PYNATIVE", aborted_rss_gib=_r(r["aborted_rss_gib"], 2),
                     within_24gib=None, rss_limit_gib=rss_limit_gib)
            continue
        lat = _med(r["warm_s"]) if r["warm_s"] else r["first_call_s"]
        rep.emit("fullsize", model=name, size=size, T=t, mode="GRAPH" if graph else "PYNATIVE",
                 path="one pass model(x)" if not fb else f"cached features, backbone x{fb} frames",
                 frame_batch=fb, first_call_s=_r(r["first_call_s"], 2),
                 warm_s=[_r(v, 4) for v in r["warm_s"]],
                 latency_per_frame_s=_r(lat / t, 3),
                 latency_includes_compile=not r["warm_s"],
                 peak_rss_gib=_r(r["peak_rss_gib"], 2), within_24gib=r["peak_rss_gib"] < 24.0)


def _synth_corpus(tmp):
    from aam_ms.data import synth, to_mindrecord
    synth.generate(tmp, "tiny", 0)
    manifest = os.path.join(tmp, "manifest.jsonl")
    prefix = os.path.join(tmp, "mr", "synth")
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    to_mindrecord.convert(manifest, prefix, 1, log=lambda *a, **k: None)
    return manifest, prefix


def _drain(pipeline, cfg, data):
    """Frames per second of one training epoch of ``data`` (all planned batches)."""
    ds = pipeline.build_train_dataset(cfg, data)
    n, t0 = 0, time.perf_counter()
    for batch in ds.create_dict_iterator(num_epochs=1, output_numpy=True):
        img = batch["image"]
        n += img.shape[0] * (img.shape[1] if img.ndim == 5 else 1)
    return n, time.perf_counter() - t0


def bench_pipeline(rep, quick, repeat):
    """Data pipeline frames/s (manifest, MindRecord) vs aam_tiny train-step frames/s at 64²."""
    from mindspore import Tensor
    from aam_ms.data import pipeline
    size, b = 64, 4
    cfg = {"size": (size, size), "batch_size": b, "video_batch_size": 1, "clip_len": 8,
           "av_start_epoch": 0, "num_parallel_workers": 2}
    with tempfile.TemporaryDirectory() as tmp:
        manifest, prefix = _synth_corpus(tmp)
        res = {"manifest": [], "mindrecord": []}
        for _ in range(2 if quick else max(3, repeat // 2)):
            for k, data in (("manifest", manifest), ("mindrecord", prefix)):
                n, s = _drain(pipeline, cfg, data)
                res[k].append(n / s)
    m = _model("aam_tiny")
    x, text = _inputs(b, 0, size)
    gt = Tensor(np.random.default_rng(1).random((b, 1, size, size)).astype(np.float32))
    step = _TrainStep(m, True)
    times = interleaved({"step": lambda: step(x, text, gt)}, repeat)["step"]
    step_fps = b / _med(times)
    for k, v in res.items():
        rep.emit("pipeline", source=k, size=size, batch=b, frames_per_s=_r(_med(v), 1),
                 runs=[_r(u, 1) for u in v], train_step_frames_per_s=_r(step_fps, 2),
                 ratio_pipeline_over_step=_r(_med(v) / step_fps, 2), workers=2,
                 note="one epoch of the synthetic tiny corpus per run, image and video batches")


def bench_streaming(rep, quick, repeat):
    """Per-frame streaming cost: cached backbone features (the new frame's backbone + the head
    over the window, ``Engine.features`` / ``Engine.decode``) vs the model re-run on the
    window's pixels."""
    from mindspore import ops
    name, size = "aam_tiny", (32 if quick else 64)
    window = 4 if quick else 16
    m = _model(name)
    eng = _engine(m, size, frame_batch=1)
    fwd = _forward(m, graph=True)
    x, text = _inputs(1, window, size)
    frames = x[0]
    cache = [eng.features(frames[i:i + 1]) for i in range(window)]
    frame = frames[-1:]

    def cached():
        cache.append(eng.features(frame))
        del cache[0]
        feats = tuple(ops.concat([c[k] for c in cache], 0) for k in range(4))
        eng.decode(feats, text, None, window, (size, size)).asnumpy()

    times = interleaved({"cached": cached, "recompute": lambda: _sync(fwd(x, text))}, repeat)
    c, r = _med(times["cached"]), _med(times["recompute"])
    rep.emit("streaming", model=name, size=size, window=window, what="per_frame",
             cached_s=_r(c), recompute_s=_r(r), ratio_recompute_over_cached=_r(r / c, 2),
             repeat=repeat, note="cached: GRAPH backbone on the new frame + GRAPH head on "
                                 "the window; recompute: GRAPH model on the window's pixels")


def _threads_one(n, size, repeat):
    """(Subprocess body) median aam_tiny GRAPH forward with ``n`` CPU op threads (0 = default)."""
    from aam_ms.runtime import set_cpu_threads
    if n:
        set_cpu_threads(n)
    m = _model("aam_tiny")
    fwd = _forward(m, graph=True)
    x, text = _inputs(1, 8, size)
    ts = interleaved({"f": lambda: _sync(fwd(x, text))}, repeat)["f"]
    print(json.dumps({"times": ts}))


def bench_threads(rep, quick, repeat):
    size = 32 if quick else 64
    settings = (1, 2, 0)
    rounds = 1 if quick else 3
    res = {n: [] for n in settings}
    for _ in range(rounds):
        for n in settings:
            env = {"OMP_NUM_THREADS": str(n)} if n else {}
            res[n] += _child(["threads", str(n), str(size), str(2 if quick else 3)], env)["times"]
    base = _med(res[2])
    for n in settings:
        rep.emit("threads", model="aam_tiny", size=size, T=8, threads=n or "default",
                 median_s=_r(_med(res[n])), ratio_over_2_threads=_r(_med(res[n]) / base, 2),
                 times=[_r(v) for v in res[n]],
                 api="aam_ms.runtime.set_cpu_threads(n) + OMP_NUM_THREADS=n; default: the "
                     "library's (every core)")


def bench_kernels(rep, quick, repeat):
    """Runs ``scripts/bench_kernels.py`` (``main(["--reps", n])``) in-process when it exists and
    re-emits its JSON lines under ``"bench": "kernels"``."""
    import contextlib
    import importlib.util
    import io
    path = REPO / "scripts" / "bench_kernels.py"
    if not path.is_file():
        rep.emit("kernels", skipped=f"{path.relative_to(REPO)} not present")
        return
    spec = importlib.util.spec_from_file_location("bench_kernels", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_kernels"] = mod      # ms.jit resolves globals through the module name
    spec.loader.exec_module(mod)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mod.main(["--reps", "3" if quick else str(max(30, repeat))])
    ms = _ms()
    ms.set_context(mode=ms.PYNATIVE_MODE)      # the script switches the global mode to GRAPH
    for line in buf.getvalue().splitlines():
        if line.startswith("{"):
            rep.emit("kernels", **json.loads(line))


# ------------------------------------------------------------------ peer: torch side by side
PEER_CASES = {False: ("vitl16", "aam_vitl16", 448, (1, 8, 32)), True: ("tiny", "aam_tiny", 64, (1, 4))}


def _peer_weights(variant, wdir):
    """Deterministic random weights of the DINOv3 ``variant`` (no LoRA), one ``name.npy`` each:
    N(0, 0.02²) matrices and tokens, LN γ ~ 1 + N(0, 0.1²), LayerScale γ ~ N(0, 0.1²) (large
    enough that every block changes its input, so the output comparison means something)."""
    from aam_ms.fileio import atomic_write
    from aam_ms.models.backbones.dinov3 import k_bias_mask, make_config, param_shapes, rope_periods
    cfg = make_config(variant, lora_last_n=0)
    rng = np.random.default_rng(0)
    for name, shape in param_shapes(cfg).items():
        if name.endswith("bias_mask"):
            v = k_bias_mask(cfg.embed_dim)
        elif name == "rope_embed.periods":
            v = rope_periods(cfg)
        elif ".norm" in name or name.startswith("norm."):
            v = rng.standard_normal(shape, np.float32) * 0.1 + (1.0 if name.endswith("gamma") else 0.0)
        elif ".ls" in name:
            v = rng.standard_normal(shape, np.float32) * 0.1
        else:
            v = rng.standard_normal(shape, np.float32) * 0.02
        with atomic_write(os.path.join(wdir, name + ".npy"), "wb") as f:
            np.save(f, np.asarray(v, np.float32))
    return cfg


def _peer_image(size):
    return np.random.default_rng(1).standard_normal((1, 3, size, size)).astype(np.float32)


def _reset_peak_rss():
    """Reset the kernel's resident-set high-water mark (VmHWM) of this process."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def _rss_gib(field):
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 2 ** 20
    return float("nan")


def _timed(fn, reps):
    """First call (compile + run) and ``reps`` warm calls: wall and process-CPU seconds."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return first, wall, cpu


def _peer_child_report(first, wall, cpu, **extra):
    print(json.dumps({"first_call_s": first, "times": wall, "cpu_times": cpu,
                      "peak_rss_gib": _rss_gib("VmHWM"), **extra}))


def _measure(run, reps, out, result, **extra):
    """Time ``run`` (first call + ``reps`` warm calls) with the peak-RSS mark reset after
    loading, save ``result()`` to ``out`` and print the child's JSON line."""
    import gc
    gc.collect()
    _reset_peak_rss()
    first, wall, cpu = _timed(run, reps)
    np.save(out, result())
    _peer_child_report(first, wall, cpu, **extra)


def _peer_ms(variant, size, threads, reps, wdir, out):
    """(Subprocess) our DINOv3 backbone, GRAPH, the head's four levels of one image, as the
    CPU engine runs it (one compiled block graph called per block)."""
    from aam_ms.runtime import set_cpu_threads
    set_cpu_threads(threads or None)          # 0: every core (the library's default)
    _ms()
    from mindspore import Tensor
    from aam_ms import kernels
    from aam_ms.models.backbones.dinov3 import INTERMEDIATE_LAYERS, build_dinov3
    kernels.set_kernel_mode("auto")
    net = build_dinov3(variant, lora_last_n=0)
    net.set_train(False)
    for p in net.get_parameters():
        p.set_data(Tensor(np.load(os.path.join(wdir, p.name + ".npy"))))
    from aam_ms.models.backbones.blockwise import BlockwiseBackbone
    x = Tensor(_peer_image(size))
    fn = BlockwiseBackbone(net)
    idx = INTERMEDIATE_LAYERS[variant]
    res = {}

    def run():
        res["out"] = fn(x, idx)[-1].asnumpy()
    _measure(run, reps, out, lambda: res["out"], rss_weights_gib=None)


def _hf_state_dict(cfg, wdir):
    """Our parameter files under transformers' DINOv3ViTModel names (qkv split, no K bias)."""
    import torch
    c = cfg.embed_dim

    def t(name):
        return torch.from_numpy(np.load(os.path.join(wdir, name + ".npy")))
    sd = {"embeddings.cls_token": t("cls_token"), "embeddings.register_tokens": t("storage_tokens"),
          "embeddings.mask_token": t("mask_token").reshape(1, 1, c),
          "embeddings.patch_embeddings.weight": t("patch_embed.proj.weight"),
          "embeddings.patch_embeddings.bias": t("patch_embed.proj.bias"),
          "norm.weight": t("norm.gamma"), "norm.bias": t("norm.beta")}
    for i in range(cfg.depth):
        b, h = f"blocks.{i}.", f"layer.{i}."
        w, bias = t(b + "attn.qkv.weight"), t(b + "attn.qkv.bias")
        for j, n in enumerate(("q", "k", "v")):
            sd[h + f"attention.{n}_proj.weight"] = w[j * c:(j + 1) * c]
            if n != "k":
                sd[h + f"attention.{n}_proj.bias"] = bias[j * c:(j + 1) * c]
        for ours, hf in (("norm1.gamma", "norm1.weight"), ("norm1.beta", "norm1.bias"),
                         ("norm2.gamma", "norm2.weight"), ("norm2.beta", "norm2.bias"),
                         ("attn.proj.weight", "attention.o_proj.weight"),
                         ("attn.proj.bias", "attention.o_proj.bias"),
                         ("mlp.fc1.weight", "mlp.up_proj.weight"), ("mlp.fc1.bias", "mlp.up_proj.bias"),
                         ("mlp.fc2.weight", "mlp.down_proj.weight"),
                         ("mlp.fc2.bias", "mlp.down_proj.bias"),
                         ("ls1.gamma", "layer_scale1.lambda1"), ("ls2.gamma", "layer_scale2.lambda1")):
            sd[h + hf] = t(b + ours)
    return sd


def _hf_model(variant, size, wdir):
    """(cfg, transformers' DINOv3ViTModel of ``variant`` with SDPA attention) holding our
    parameter files of ``wdir``; RuntimeError if any weight does not map."""
    from transformers import DINOv3ViTConfig, DINOv3ViTModel
    from aam_ms.models.backbones.dinov3 import make_config
    cfg = make_config(variant, lora_last_n=0)
    hf = DINOv3ViTConfig(hidden_size=cfg.embed_dim, num_hidden_layers=cfg.depth,
                         num_attention_heads=cfg.num_heads, intermediate_size=cfg.hidden_dim,
                         patch_size=cfg.patch_size, num_register_tokens=cfg.n_storage_tokens,
                         image_size=size, layer_norm_eps=cfg.norm_eps, rope_theta=cfg.rope_base,
                         key_bias=False, attn_implementation="sdpa")
    model = DINOv3ViTModel(hf)
    missing, unexpected = model.load_state_dict(_hf_state_dict(cfg, wdir), strict=False)
    missing = [k for k in missing if "rope" not in k]
    if missing or unexpected:
        raise RuntimeError(f"HF weight mapping: missing {missing}, unexpected {unexpected}")
    return cfg, model


def _peer_torch(variant, size, threads, reps, wdir, out):
    """(Subprocess) transformers' DINOv3ViTModel (SDPA attention), same weights, one image."""
    import torch
    torch.set_num_threads(threads or os.cpu_count())
    torch.set_grad_enabled(False)
    cfg, model = _hf_model(variant, size, wdir)
    model.eval()
    x = torch.from_numpy(_peer_image(size))
    res = {}

    def run():
        res["out"] = model(pixel_values=x).last_hidden_state[:, 1 + cfg.n_storage_tokens:].numpy()
    _measure(run, reps, out, lambda: res["out"])


def _peer_full(name, size, t, reps):
    """(Subprocess) our whole network on one image (t = 1) or one t-frame clip, GRAPH, through
    ``aam_ms.inference.Engine``: the backbone frame by frame (features cached), then the head
    over the clip (``Engine.decode``). The backbone runs on min(t, reps + 1) frames (its cost is per
    frame); their features, repeated, fill the T-frame cache the head decodes (the shapes, hence
    time and memory, of a real clip). Reports the first pass (compile included; the frames not
    run are counted at the warm backbone time), the warm backbone per frame and the warm head
    over the clip; per frame = backbone + head / t."""
    from mindspore import ops
    m = _model(name)
    eng = _engine(m, size, frame_batch=1)
    x, text = _inputs(1, 0, size, seed=1)
    if t > 1:
        xt, _ = _inputs(1, t, size, seed=1)
        frames = xt[0]
    else:
        frames = x
    import gc
    gc.collect()
    _reset_peak_rss()
    t_start = time.perf_counter()
    bb, feats = [], []
    for i in range(min(t, 1 + reps)):   # the backbone is per frame: a few frames give its cost
        t0 = time.perf_counter()
        f = eng.features(frames[i:i + 1])
        f[-1].asnumpy()
        bb.append(time.perf_counter() - t0)
        feats.append(f)
    while len(bb) < reps + 1:           # warm backbone calls for one image
        t0 = time.perf_counter()
        eng.features(frames[:1])[-1].asnumpy()
        bb.append(time.perf_counter() - t0)
    feats = [feats[i % len(feats)] for i in range(t)]    # the clip's feature cache (T frames)
    feats = tuple(ops.concat([f[k] for f in feats], 0) if t > 1 else feats[0][k] for k in range(4))
    clip = t if t > 1 else 0
    head = []
    for _ in range(1 + reps):
        t0 = time.perf_counter()
        eng.decode(feats, text, None, clip, (size, size)).asnumpy()
        head.append(time.perf_counter() - t0)
    first_pass = bb[0] + (t - 1) * _med(bb[1:]) + head[0]
    print(json.dumps({"first_pass_s": first_pass, "backbone_first_s": bb[0],
                      "backbone_warm_s": bb[1:], "head_first_s": head[0], "head_warm_s": head[1:],
                      "wall_s": time.perf_counter() - t_start, "peak_rss_gib": _rss_gib("VmHWM")}))


PEER_TRAIN = ("vits16", 224, 4)        # the train-step peer: ViT-S/16, 224², batch 4
PEER_TRAIN_QUICK = ("tiny", 64, 2)
LORA_R, LORA_ALPHA = 32, 64             # aam_vits16's LoRA (configs/aam_vits16.yaml)


def _peer_lora(variant, wdir):
    """Deterministic LoRA factors of every block's qkv and proj, N(0, 0.02²) (B too, so
    the step changes the output and A gets a gradient), one ``name.npy`` each."""
    from aam_ms.fileio import atomic_write
    from aam_ms.models.backbones.dinov3 import make_config
    cfg = make_config(variant, lora_last_n=0)
    rng = np.random.default_rng(2)
    c = cfg.embed_dim
    for i in range(cfg.depth):
        for layer, out in (("qkv", 3 * c), ("proj", c)):
            for fac, shape in (("lora_A", (LORA_R, c)), ("lora_B", (out, LORA_R))):
                with atomic_write(os.path.join(wdir, f"blocks.{i}.attn.{layer}.{fac}.weight.npy"),
                                  "wb") as f:
                    np.save(f, (rng.standard_normal(shape) * 0.02).astype(np.float32))


def _peer_train_batch(size, batch):
    return np.random.default_rng(3).standard_normal((batch, 3, size, size)).astype(np.float32)


def _peer_train_ms(variant, size, batch, reps, wdir, out):
    """(Subprocess) one LoRA train step of our DINOv3 backbone, GRAPH: forward, loss =
    mean(last layer's patch tokens²), backward to the LoRA factors of every block, the
    torch-semantics AdamW (lr 1e-4, wd 5e-3) — what ``aam_ms.train`` runs for the backbone."""
    ms = _ms()
    from mindspore import Tensor, ops
    from aam_ms import kernels
    from aam_ms.models.backbones.dinov3 import build_dinov3
    from aam_ms.optim import AdamW
    kernels.set_kernel_mode("auto")
    net = build_dinov3(variant, lora_r=LORA_R, lora_alpha=LORA_ALPHA, lora_dropout=0.0,
                       lora_last_n=None, rope_rescale=0.0)
    for p in net.get_parameters():
        p.set_data(Tensor(np.load(os.path.join(wdir, p.name.replace(".base.", ".") + ".npy"))))
    net.set_train(True)
    params = net.trainable_params()
    opt = AdamW([("lora", params, 5e-3)], lr=1e-4)
    reached = Tensor(np.ones(len(params), np.bool_))

    def forward(x):
        return ops.mean(ops.square(net(x)[-1]))
    grad_fn = ms.value_and_grad(forward, None, opt.parameters)

    def step(x):
        loss, grads = grad_fn(x)
        return ops.depend(loss, opt(grads, reached))
    step = ms.jit(step)
    x = Tensor(_peer_train_batch(size, batch))
    losses = []

    def run():
        losses.append(float(step(x).asnumpy()))
    _measure(run, reps, out, lambda: np.array(losses), trainable=len(params))


def _torch_lora(base, a, b, scaling):
    """``base(x) + s · B(A(x))`` around a torch ``nn.Linear`` (``b``: the rows of our fused
    qkv LoRA B this q / k / v projection gets; ``a`` is shared, as in our fused qkv)."""
    import torch

    class LoRA(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.base, self.a, self.b = base, a, b

        def forward(self, x):
            return self.base(x) + (x @ self.a.t()) @ self.b.t() * scaling
    return LoRA()


def _peer_train_torch(variant, size, batch, reps, wdir, out):
    """(Subprocess) the same LoRA train step on transformers' DINOv3ViTModel (same weights,
    LoRA on q, k, v — one shared A, B split by rows as our fused qkv — and o_proj),
    ``torch.optim.AdamW`` (lr 1e-4, wd 5e-3), eager, SDPA attention."""
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
    cfg, model = _hf_model(variant, size, wdir)
    for p in model.parameters():
        p.requires_grad = False
    c, s = cfg.embed_dim, LORA_ALPHA / LORA_R
    params = []

    def t(name):
        return torch.nn.Parameter(torch.from_numpy(np.load(os.path.join(wdir, name + ".npy"))))
    for i, layer in enumerate(model.layer):
        a_qkv, b_qkv = t(f"blocks.{i}.attn.qkv.lora_A.weight"), t(f"blocks.{i}.attn.qkv.lora_B.weight")
        a_p, b_p = t(f"blocks.{i}.attn.proj.lora_A.weight"), t(f"blocks.{i}.attn.proj.lora_B.weight")
        params += [a_qkv, b_qkv, a_p, b_p]
        att = layer.attention
        for j, n in enumerate(("q_proj", "k_proj", "v_proj")):
            setattr(att, n, _torch_lora(getattr(att, n), a_qkv, b_qkv[j * c:(j + 1) * c], s))
        att.o_proj = _torch_lora(att.o_proj, a_p, b_p, s)
    model.train()
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=5e-3)
    x = torch.from_numpy(_peer_train_batch(size, batch))
    losses = []

    def run():
        opt.zero_grad(set_to_none=True)
        h = model(pixel_values=x).last_hidden_state[:, 1 + cfg.n_storage_tokens:]
        loss = (h ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    _measure(run, reps, out, lambda: np.array(losses), trainable=len(params))


def _peer_train_full(name, size, batch, reps):
    """(Subprocess) our whole network's train step (``_TrainStep``: the released loss,
    backward to every trainable tensor, AdamWeightDecay), GRAPH, one image batch."""
    from mindspore import Tensor
    m = _model(name)
    st = _TrainStep(m, graph=True)
    x, text = _inputs(batch, 0, size, seed=4)
    gt = Tensor(np.random.default_rng(5).random((batch, 1, size, size)).astype(np.float32))
    import gc
    gc.collect()
    _reset_peak_rss()
    first, wall, cpu = _timed(lambda: st(x, text, gt), reps)
    _peer_child_report(first, wall, cpu)


def bench_peer_train(rep, quick, repeat):
    """A LoRA train step of our backbone vs the same step on transformers' DINOv3ViTModel
    (same weights, same LoRA factors, same loss and optimizer; fresh processes, interleaved
    rounds; the step losses compared), and our whole network's train step beside them."""
    variant, size, batch = PEER_TRAIN_QUICK if quick else PEER_TRAIN
    model_name = "aam_tiny" if quick else "aam_vits16"
    reps = 2 if quick else 3
    rounds = 1 if quick else max(1, repeat // 2)
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        _peer_weights(variant, tmp)
        _peer_lora(variant, tmp)
        for r in range(rounds):
            for impl in ("ms", "torch"):
                out = os.path.join(tmp, f"train_{impl}.npy")
                row = _child([f"peer_train_{impl}", variant, str(size), str(batch), str(reps), tmp,
                              out], _peer_env(0))
                res.setdefault(impl, []).append(row)
                rep.emit("peer_train", what="process", impl=impl, round=r,
                         **{k: (_r(v, 4) if isinstance(v, float) else v) for k, v in row.items()
                            if k != "cpu_times"})
            if r == 0:
                a = np.load(os.path.join(tmp, "train_ms.npy"))
                b = np.load(os.path.join(tmp, "train_torch.npy"))
                rep.emit("peer_train", what="same_step", variant=variant, size=size, batch=batch,
                         losses_ours=[float(f"{v:.7g}") for v in a],
                         losses_torch=[float(f"{v:.7g}") for v in b],
                         max_rel_diff=float(np.max(np.abs(a - b) / np.abs(b))))
        full = _child(["peer_train_full", model_name, str(size), str(batch), str(reps)],
                      _peer_env(0))
    med = {impl: _med([v for row in rows for v in row["times"]]) for impl, rows in res.items()}
    for impl, rows in res.items():
        rep.emit("peer_train", what="train_step", impl={"ms": "aam-ms GRAPH",
                                                        "torch": "transformers + LoRA"}[impl],
                 variant=variant, size=size, batch=batch, s_per_step=_r(med[impl]),
                 times=[_r(v) for row in rows for v in row["times"]],
                 first_step_s=_r(_med([row["first_call_s"] for row in rows]), 2),
                 peak_rss_gib=_r(max(row["peak_rss_gib"] for row in rows), 2))
    rep.emit("peer_train", what="ratio_train_step", variant=variant, size=size, batch=batch,
             ours_over_torch=_r(med["ms"] / med["torch"], 3),
             full_network=model_name, full_s_per_step=_r(_med(full["times"])),
             full_first_step_s=_r(full["first_call_s"], 2),
             full_peak_rss_gib=_r(full["peak_rss_gib"], 2),
             full_over_torch_backbone=_r(_med(full["times"]) / med["torch"], 3),
             method="backbone LoRA step: same weights, LoRA factors, loss, AdamW on both sides; "
                    "full network: our released-loss step (the released head is not available "
                    "in torch here, so its ratio is against the backbone step only)")


def _gemm_peak(n=2048, reps=5):
    """This machine's fp32 GEMM rate now: best of ``reps`` n³ products, torch and MindSpore."""
    import torch
    ms = _ms()
    from mindspore import Tensor, ops
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    ta = torch.from_numpy(a)
    torch.set_num_threads(os.cpu_count())
    best = {"torch": float("inf"), "mindspore": float("inf")}
    ma = Tensor(a)
    mm = ms.jit(ops.matmul)
    mm(ma, ma).asnumpy()
    torch.mm(ta, ta)
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(ta, ta)
        best["torch"] = min(best["torch"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        mm(ma, ma).asnumpy()
        best["mindspore"] = min(best["mindspore"], time.perf_counter() - t0)
    return {k: 2 * n ** 3 / v / 1e9 for k, v in best.items()}


def backbone_flops(cfg, size):
    """Multiply-adds × 2 of one image through the DINOv3 blocks (matmuls only: patch embedding,
    qkv, Q·Kᵀ, A·V, proj, MLP)."""
    p = (size // cfg.patch_size) ** 2
    n = p + 1 + cfg.n_storage_tokens
    c, hid = cfg.embed_dim, cfg.hidden_dim
    block = 2 * n * c * 3 * c + 2 * 2 * n * n * c + 2 * n * c * c + 2 * 2 * n * c * hid
    return 2 * p * c * cfg.in_chans * cfg.patch_size ** 2 + cfg.depth * block


def _peer_env(threads):
    n = str(threads or os.cpu_count())
    return {"OMP_NUM_THREADS": n, "AAM_KERNEL_THREADS": n}


def bench_peer(rep, quick, repeat, peer_t=None):
    """Our DINOv3 backbone vs transformers' DINOv3ViTModel (same weights, fresh processes,
    interleaved rounds), our whole network per frame vs that backbone, 1 vs 2 threads, and the
    fraction of the machine's fp32 GEMM rate each reaches."""
    variant, model_name, size, ts = PEER_CASES[quick]
    ts = peer_t or ts
    reps = 1 if quick else max(1, min(3, repeat))
    rounds = 1 if quick else max(1, repeat // 2)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _peer_weights(variant, tmp)
        peak = _gemm_peak(1024 if quick else 2048)
        flops = backbone_flops(cfg, size)
        rep.emit("peer", what="gemm_peak", n=1024 if quick else 2048,
                 torch_gflops=_r(peak["torch"], 1), mindspore_gflops=_r(peak["mindspore"], 1),
                 backbone_gflop=_r(flops / 1e9, 2))
        peak_gflops = max(peak.values())
        res = {}

        def measure(impl, threads):
            out = os.path.join(tmp, f"{impl}.npy")
            cpus = sorted(os.sched_getaffinity(0))[:1] if threads == 1 else None
            row = _child([f"peer_{impl}", variant, str(size), str(threads), str(reps), tmp, out],
                         _peer_env(threads), cpus)
            res.setdefault((impl, threads), []).append(row)
            rep.emit("peer", what="process", impl=impl, threads=threads or os.cpu_count(),
                     cores=len(cpus) if cpus else len(os.sched_getaffinity(0)),
                     **{k: (_r(v, 4) if isinstance(v, float) else v) for k, v in row.items()
                        if k != "cpu_times"})

        for r in range(rounds):             # 2 threads (every core), interleaved rounds
            for impl in ("ms", "torch"):
                measure(impl, 0)
            if r == 0:
                a, b = np.load(os.path.join(tmp, "ms.npy")), np.load(os.path.join(tmp, "torch.npy"))
                rep.emit("peer", what="same_network", variant=variant, size=size,
                         max_abs_diff=float(np.abs(a - b).max()),
                         max_abs_value=float(np.abs(b).max()))
        torch_s = _med([v for row in res[("torch", 0)] for v in row["times"]])
        for t in ts:
            row = _child(["peer_full", model_name, str(size), str(t), str(reps)], _peer_env(0))
            per_frame = _med(row["backbone_warm_s"]) + _med(row["head_warm_s"]) / t
            rep.emit("peer", what="ratio_full_per_frame", model=model_name, size=size, T=t,
                     s_per_frame=_r(per_frame), backbone_s=_r(_med(row["backbone_warm_s"])),
                     head_s_per_clip=_r(_med(row["head_warm_s"])),
                     torch_backbone_s_per_image=_r(torch_s),
                     ours_over_torch_backbone=_r(per_frame / torch_s, 3),
                     first_pass_s=_r(row["first_pass_s"], 2),
                     peak_rss_gib=_r(row["peak_rss_gib"], 2),
                     method="GRAPH Engine: backbone per frame (cached; one block graph called "
                            "per block), head.levels over the clip (eager), decoder per frame; "
                            "per frame = warm backbone + warm head / T; torch = transformers "
                            "backbone only (the released head is not available here)")
        for impl in ("ms", "torch"):       # 1 thread pinned to one core: the 2-core speed-up
            measure(impl, 1)
        med = {}
        for (impl, threads), rows in res.items():
            wall = [v for row in rows for v in row["times"]]
            cpu = [v for row in rows for v in row["cpu_times"]]
            med[(impl, threads)] = _med(wall)
            rep.emit("peer", what="backbone", impl={"ms": "aam-ms GRAPH", "torch": "transformers"}[impl],
                     variant=variant, size=size, threads=threads or os.cpu_count(),
                     s_per_image=_r(_med(wall)), times=[_r(v) for v in wall],
                     cpu_over_wall=_r(sum(cpu) / sum(wall), 2),
                     first_call_s=_r(_med([row["first_call_s"] for row in rows]), 2),
                     peak_rss_gib=_r(max(row["peak_rss_gib"] for row in rows), 2),
                     gflops=_r(flops / _med(wall) / 1e9, 1),
                     fraction_of_gemm_peak=float(f"{flops / _med(wall) / 1e9 / peak_gflops:.3g}"),
                     processes=len(rows))
        rep.emit("peer", what="ratio_backbone", variant=variant, size=size,
                 ours_over_torch=_r(med[("ms", 0)] / torch_s, 3),
                 ours_2_over_1_threads=_r(med[("ms", 0)] / med[("ms", 1)], 3),
                 torch_2_over_1_threads=_r(torch_s / med[("torch", 1)], 3))


def _compile_one(name, size, cache):
    """(Subprocess) one image through ``Engine`` (backbone + ``AAM.decode``, GRAPH): first call
    (compile + run) and a warm call; ``cache`` 1 enables ``runtime.enable_compile_cache``."""
    from aam_ms.runtime import enable_compile_cache
    if cache:
        enable_compile_cache("bench.compile", name, size, "image", 1)
    m = _model(name)
    eng = _engine(m, size, frame_batch=1)
    x, text = _inputs(1, 0, size)

    def run():
        eng.decode(eng.features(x), text).asnumpy()
    first, wall, _ = _timed(run, 1)
    print(json.dumps({"first_call_s": first, "warm_s": wall[0]}))


def bench_compile(rep, quick, repeat):
    """First-call time of one image (aam_vitl16 448²; --quick: aam_tiny 64²) in fresh
    processes: without the compile cache, then twice with it (the first fills it)."""
    name, size = ("aam_tiny", 64) if quick else ("aam_vitl16", 448)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"AAM_COMPILE_CACHE": tmp}
        for label, cache in (("no cache", 0), ("cache: first run (fills it)", 1),
                             ("cache: second run", 1)):
            r = _child(["compile", name, str(size), str(cache)], env)
            rep.emit("compile", model=name, size=size, run=label,
                     first_call_s=_r(r["first_call_s"], 2), warm_s=_r(r["warm_s"], 3),
                     compile_s=_r(r["first_call_s"] - r["warm_s"], 2))


RUNNERS = {"framewise": bench_framewise, "modes": bench_modes, "fullsize": bench_fullsize,
           "pipeline": bench_pipeline, "streaming": bench_streaming, "threads": bench_threads,
           "kernels": bench_kernels, "peer": bench_peer, "peer_train": bench_peer_train,
           "compile": bench_compile}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_child":
        kind, args = argv[1], argv[2:]
        if kind == "fullsize":
            _fullsize_one(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]),
                          float(args[5]), args[6] == "graph")
        elif kind in ("peer_ms", "peer_torch"):
            (_peer_ms if kind == "peer_ms" else _peer_torch)(
                args[0], int(args[1]), int(args[2]), int(args[3]), args[4], args[5])
        elif kind in ("peer_train_ms", "peer_train_torch"):
            (_peer_train_ms if kind == "peer_train_ms" else _peer_train_torch)(
                args[0], int(args[1]), int(args[2]), int(args[3]), args[4], args[5])
        elif kind == "peer_train_full":
            _peer_train_full(args[0], int(args[1]), int(args[2]), int(args[3]))
        elif kind == "peer_full":
            _peer_full(args[0], int(args[1]), int(args[2]), int(args[3]))
        elif kind == "compile":
            _compile_one(args[0], int(args[1]), int(args[2]))
        else:
            _threads_one(int(args[0]), int(args[1]), int(args[2]))
        return
    ap = argparse.ArgumentParser(prog="python scripts/bench.py", description=__doc__.split("\n")[0])
    ap.add_argument("bench", choices=[*BENCHES, "all"])
    ap.add_argument("--quick", action="store_true", help="small sizes, few rounds (smoke run)")
    ap.add_argument("--repeat", type=int, default=None, help="timed rounds (default 5, quick 2)")
    ap.add_argument("--peer-t", type=int, nargs="+", default=None,
                    help="peer: clip lengths of the whole-network rows (default 1 8 32)")
    ap.add_argument("--fullsize-t", type=int, nargs="+", default=None,
                    help="clip lengths of the fullsize bench (default 1 8 16 32)")
    ap.add_argument("--frame-batch", type=int, default=1,
                    help="fullsize: backbone frames per GRAPH call for T > 1 (0: one pass)")
    ap.add_argument("--warm-max-t", type=int, default=8,
                    help="fullsize: time a warm second call for T up to this")
    ap.add_argument("--rss-limit-gib", type=float, default=20.0,
                    help="fullsize: a child stops itself above this resident set")
    ap.add_argument("--pynative", action="store_true",
                    help="fullsize: run the T > 1 path in PYNATIVE (frees intermediates)")
    ap.add_argument("--jsonl", default=None, help="also append the JSON lines to this file")
    a = ap.parse_args(argv)
    repeat = a.repeat or (2 if a.quick else 5)
    if repeat < 1:
        ap.error("--repeat must be ≥ 1")
    rep = Reporter(a.jsonl, command="python scripts/bench.py " + " ".join(argv))
    _ms()
    rep.emit("machine", **machine_info())
    for name in (BENCHES if a.bench == "all" else (a.bench,)):
        if name == "peer":
            bench_peer(rep, a.quick, repeat, a.peer_t)
        elif name == "fullsize":
            bench_fullsize(rep, a.quick, repeat, a.fullsize_t, a.frame_batch, a.warm_max_t,
                           a.rss_limit_gib, not a.pynative)
        else:
            RUNNERS[name](rep, a.quick, repeat)


if __name__ == "__main__":
    from aam_ms import cli
    sys.exit(cli.run(main, prog="bench.py"))
