"""Custom (C++ twin / AscendC) vs native time of AAM's two kernels, forward and backward.

Sizes are AAM's: 128-d points, 32×32 pairwise and 32×3 anchors, paired and to-origin over
32 points; the FP stencil over L = 28·28 and 28·28·384 locations × T = 32 frames. Both
implementations run in one process, interleaved call by call, in GRAPH mode; one JSON line
per measurement with medians (ms) and the ratio custom/native (< 1: custom is faster).

    python scripts/bench_kernels.py [--reps 30] [--device CPU]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import mindspore as ms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aam_ms import kernels as K  # noqa: E402


def _cases(rng):
    def pts(n, d=128):
        return ms.Tensor((rng.normal(size=(n, d)) * 0.1).astype(np.float32))

    curv = ms.Tensor(1.0, ms.float32)
    yield "lorentz_pairwise", "32x32x128", K.lorentz_pairwise_dist, (pts(32), pts(32), curv)
    yield "lorentz_pairwise", "32x3x128", K.lorentz_pairwise_dist, (pts(32), pts(3), curv)
    yield "lorentz_paired", "32x128", K.lorentz_paired_dist, (pts(32), pts(32), curv)
    yield "lorentz_dist_to_origin", "32x128", K.lorentz_dist_to_origin, (pts(32), curv)
    for locs in (28 * 28, 28 * 28 * 384):
        rho = ms.Tensor(rng.random((locs, 32)).astype(np.float32))
        nu = ms.Tensor(rng.random((locs, 32)).astype(np.float32))

        def stencil(r, n):
            return K.fp_diffusion(r, n, 1.0, True)
        yield "fp_diffusion", f"{locs}x32", stencil, (rho, nu)


def _compiled(fn, args, kernels):
    """GRAPH-mode forward and backward of Σ fn(args) under ``kernels``."""
    K.set_kernel_mode(kernels)

    def fwd(*a):
        return fn(*a)

    def loss(*a):
        return fn(*a).sum()

    fwd = ms.jit(fwd)
    bwd = ms.jit(ms.grad(loss, grad_position=tuple(range(len(args)))))
    fwd(*args).asnumpy()          # compile and warm up
    for g in bwd(*args):
        g.asnumpy()
    return {"forward": fwd, "backward": bwd}


def _time(f, args):
    t0 = time.perf_counter()
    out = f(*args)
    for o in out if isinstance(out, tuple) else (out,):
        o.asnumpy()
    return (time.perf_counter() - t0) * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30, help="timed calls per implementation and pass")
    ap.add_argument("--device", default="CPU", help="MindSpore device target")
    args = ap.parse_args(argv)
    ms.set_device(args.device)
    ms.set_context(mode=ms.GRAPH_MODE)
    rng = np.random.default_rng(0)
    for op, shape, fn, inputs in _cases(rng):
        impl = {k: _compiled(fn, inputs, k) for k in ("native", "custom")}
        reps = max(3, args.reps // 10) if inputs[0].size > 1e6 else args.reps
        for pass_ in ("forward", "backward"):
            times = {"native": [], "custom": []}
            for _ in range(reps):
                for k in times:
                    times[k].append(_time(impl[k][pass_], inputs))
            med = {k: float(np.median(v)) for k, v in times.items()}
            print(json.dumps({"op": op, "shape": shape, "pass": pass_, "device": args.device, "reps": reps,
                              "native_ms": round(med["native"], 4), "custom_ms": round(med["custom"], 4),
                              "ratio": round(med["custom"] / med["native"], 3)}), flush=True)
    K.set_kernel_mode("native")


if __name__ == "__main__":
    main()
