"""Benchmarks: ``python -m aam_ms.bench {framewise,modes,fullsize,pipeline,streaming,threads,kernels,all}
[--quick] [--repeat N] [--jsonl FILE]``.

One JSON line per measurement on stdout (and appended to ``--jsonl``); the first line of a run
describes the machine. Alternatives are timed interleaved in one process (round r runs every
alternative once), after one warm-up call each (GRAPH compilation), ``--repeat`` rounds
(≥ 5 unless ``--quick``); lines carry the median and all times, and comparisons a ratio.
Machines are shared: read ratios, not absolute numbers.

* framewise: frame-wise AAM over a T-frame clip in one pass vs a fixed-window model that
  re-runs a W-frame window per output frame (cost = one W-window forward × T, measured once
  per round; ``method`` says so).
* modes: GRAPH (``ms.jit``) vs PYNATIVE forward and train step (forward + backward + AdamW on
  the trainable parameters, the released loss).
* fullsize: ``aam_vitl16`` at 448² (``--quick``: aam_tiny at 64²), one fresh subprocess per T:
  first-call (compile + run) and warm latency, peak RSS (``ru_maxrss``).
* pipeline: training-batch throughput from a manifest and from MindRecord of the synthetic
  corpus vs the samples/s the aam_tiny GRAPH train step consumes.
* streaming: cached-feature streaming vs recomputing the window from pixels per frame;
  compilations with and without bucketing.
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
BENCHES = ("framewise", "modes", "fullsize", "pipeline", "streaming", "threads", "kernels")


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
    from .runtime import use_device
    use_device("CPU")
    return ms


def _model(name, seed=0):
    ms = _ms()
    from .models.registry import create_model
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
        from .losses import AAMLoss
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


def _fullsize_one(name, t, size, warm, frame_batch, rss_limit_gib=20.0, graph=True):
    """(Subprocess body) saliency of one (1, T, 3, S, S) clip (T = 1: one image); prints one
    JSON object. ``frame_batch`` 0: one GRAPH pass ``model(x)``; k > 0: the backbone in GRAPH
    micro-batches of k frames, features cached, one head pass over all T frames
    (``streaming.chunked_predict`` with clip_len = T: equal to one pass, see the tests), in
    GRAPH or (``graph=False``) PYNATIVE, which frees intermediates as it goes."""
    from .streaming import chunked_predict, make_decoder
    _rss_watchdog(rss_limit_gib)
    m = _model(name)
    x, text = _inputs(1, t, size) if (t > 1 or frame_batch) else _inputs(1, 0, size)
    if frame_batch:
        dec = make_decoder(m, graph=graph)

        def run():
            chunked_predict(m, x, text, clip_len=t, frame_batch=frame_batch,
                            decoder=dec).asnumpy()
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


def _child(code_args, env=None):
    cmd = [sys.executable, "-m", "aam_ms.bench", "_child", *code_args]
    e = {**os.environ, "GLOG_v": "3", **(env or {})}
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    r = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=str(REPO))
    if r.returncode == 3 and "aborted_rss_gib" in r.stdout:
        return json.loads(r.stdout.strip().splitlines()[-1])
    if r.returncode != 0:
        raise RuntimeError(f"bench child {code_args} failed (rc {r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_fullsize(rep, quick, repeat, ts=None, frame_batch=1, warm_max_t=8, rss_limit_gib=20.0,
                   graph=True):
    """Latency per frame and peak RSS of one clip in a fresh process per T (GRAPH).

    T = 1 runs ``model(x)`` on one image; T > 1 runs the cached-feature path (backbone
    ``frame_batch`` frames at a time, one head pass over T frames), which equals one pass.
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
    from .data import synth, to_mindrecord
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
    from .data import pipeline
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
    """Per-frame streaming cost: cached backbone features vs recomputing the window."""
    from .streaming import StreamingPredictor, chunked_predict, make_decoder
    name, size = "aam_tiny", (32 if quick else 64)
    window = 4 if quick else 16
    m = _model(name)
    fwd = _forward(m, graph=True)
    x, text = _inputs(1, window, size)
    sp = StreamingPredictor(m, window, text)
    for i in range(window):          # fill the buffer (compiles the warm-up windows)
        sp.push(x[0, i])
    frame = x[0, -1]
    times = interleaved({"cached": lambda: sp.push(frame).asnumpy(),
                         "recompute": lambda: _sync(fwd(x, text))}, repeat)
    c, r = _med(times["cached"]), _med(times["recompute"])
    rep.emit("streaming", model=name, size=size, window=window, what="per_frame",
             cached_s=_r(c), recompute_s=_r(r), ratio_recompute_over_cached=_r(r / c, 2),
             repeat=repeat, note="cached: GRAPH backbone on the new frame + GRAPH head on "
                                 "the window; recompute: GRAPH model on the window's pixels")
    _chunk_errors(rep, size, quick)
    lengths = (1, 8, 16, 32)
    for buckets in (None, (16, 32)):
        dec = make_decoder(m)
        t0 = time.perf_counter()
        for t in lengths:
            xt, _ = _inputs(1, t, size)
            chunked_predict(m, xt, text, clip_len=t, decoder=dec, buckets=buckets).asnumpy()
        rep.emit("streaming", model=name, size=size, what="compilations", lengths=list(lengths),
                 buckets=list(buckets) if buckets else None, compilations=dec.compilations,
                 seconds=_r(time.perf_counter() - t0, 2))


def _strong_fpd(m):
    """Make the FPD coupling strong (a = 0.44, s₁ = s₂ = 0.5), as a trained model may have it."""
    from mindspore import Tensor
    for c in m.head.motion_modules:
        c.fp_alpha_logit.set_data(Tensor(np.float32(2.0)))
        c.temporal_attention_scale.set_data(Tensor(np.full((1,), 0.5, np.float32)))
        c.temporal_ffn_scale.set_data(Tensor(np.full((1,), 0.5, np.float32)))
    return m


def _chunk_errors(rep, size, quick):
    """max |Δ| of chunked / bucketed predictions against one pass (GRAPH), for the initial FPD
    scales and for a strong FPD coupling (fresh model each: graphs are built after the edit)."""
    from .streaming import chunked_predict, make_decoder
    t = 16 if quick else 32
    x, text = _inputs(1, t, size, seed=3)
    for fpd in ("init", "strong"):
        m = _model("aam_tiny")
        if fpd == "strong":
            _strong_fpd(m)
        fwd = _forward(m, graph=True)
        dec = make_decoder(m)
        ref = fwd(x, text)[0].asnumpy()
        for clip_len, overlap in ((t, 0), (t // 4, 0), (t // 4, t // 8), (t // 2, 0),
                                  (t // 2, t // 8), (t // 2, t // 4)):
            out = chunked_predict(m, x, text, clip_len, overlap, decoder=dec).asnumpy()
            d = np.abs(out - ref)
            rep.emit("streaming", what="chunk_error", model="aam_tiny", size=size, T=t,
                     fpd=fpd, clip_len=clip_len, overlap=overlap, max_abs=float(d.max()),
                     mean_abs=float(d.mean()))
        tb = t - t // 4
        ref = fwd(x[:, :tb], text)[0].asnumpy()
        out = chunked_predict(m, x[:, :tb], text, tb, decoder=dec, buckets=(t,)).asnumpy()
        d = np.abs(out - ref)
        rep.emit("streaming", what="bucket_error", model="aam_tiny", size=size, T=tb, bucket=t,
                 fpd=fpd, max_abs=float(d.max()), mean_abs=float(d.mean()))


def _threads_one(n, size, repeat):
    """(Subprocess body) median aam_tiny GRAPH forward with ``n`` CPU op threads (0 = default)."""
    ms = _ms()
    if n:
        ms.device_context.cpu.op_tuning.threads_num(n)
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
                 api="ms.device_context.cpu.op_tuning.threads_num(n) + OMP_NUM_THREADS=n")


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


RUNNERS = {"framewise": bench_framewise, "modes": bench_modes, "fullsize": bench_fullsize,
           "pipeline": bench_pipeline, "streaming": bench_streaming, "threads": bench_threads,
           "kernels": bench_kernels}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_child":
        kind, args = argv[1], argv[2:]
        if kind == "fullsize":
            _fullsize_one(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]),
                          float(args[5]), args[6] == "graph")
        else:
            _threads_one(int(args[0]), int(args[1]), int(args[2]))
        return
    ap = argparse.ArgumentParser(prog="python -m aam_ms.bench", description=__doc__.split("\n")[0])
    ap.add_argument("bench", choices=[*BENCHES, "all"])
    ap.add_argument("--quick", action="store_true", help="small sizes, few rounds (smoke run)")
    ap.add_argument("--repeat", type=int, default=None, help="timed rounds (default 5, quick 2)")
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
    rep = Reporter(a.jsonl, command="python -m aam_ms.bench " + " ".join(argv))
    _ms()
    rep.emit("machine", **machine_info())
    for name in (BENCHES if a.bench == "all" else (a.bench,)):
        if name == "fullsize":
            bench_fullsize(rep, a.quick, repeat, a.fullsize_t, a.frame_batch, a.warm_max_t,
                           a.rss_limit_gib, not a.pynative)
        else:
            RUNNERS[name](rep, a.quick, repeat)


if __name__ == "__main__":
    main()
