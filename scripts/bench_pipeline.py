"""Input-pipeline throughput on SynthAttention: one JSON line per (source, size) measurement.

    python scripts/bench_pipeline.py [--scale tiny] [--workers 2] [--sizes 64 448] [--repeats 3]

Image batches only (image:video ratio 1:0), batch 8; sources are the manifest
(GeneratorDataset over io.load_sample) and MindRecord shards of the same corpus, measured
interleaved; the median of ``--repeats`` epochs is reported.
"""
import argparse
import json
import tempfile
import time

import numpy as np

from aam_ms.data import pipeline as P
from aam_ms.data import synth
from aam_ms.data import to_mindrecord as tm


def _epoch(cfg, data):
    t0, n = time.perf_counter(), 0
    for b in P.iterate_numpy(P.build_train_dataset(cfg, data, datasets=list(synth.IMAGE_DATASETS))):
        n += len(b["index"])
    return n, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="tiny")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 448])
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        synth.generate(d, a.scale, seed=0)
        tm.convert(f"{d}/manifest.jsonl", f"{d}/mr", 2, log=lambda *_: None)
        sources = {"manifest": f"{d}/manifest.jsonl", "mindrecord": f"{d}/mr"}
        for s in a.sizes:
            cfg = dict(size=(s, s), batch_size=8, image_video_ratio=(1, 0),
                       num_parallel_workers=a.workers)
            rates = {k: [] for k in sources}
            for _ in range(a.repeats):
                for k, data in sources.items():
                    n, dt = _epoch(cfg, data)
                    rates[k].append(n / dt)
            for k, r in rates.items():
                print(json.dumps({"bench": "pipeline_images", "source": k, "size": s,
                                  "workers": a.workers, "scale": a.scale,
                                  "samples_per_s_median": round(float(np.median(r)), 1),
                                  "samples_per_s": [round(x, 1) for x in r]}))


if __name__ == "__main__":
    main()
