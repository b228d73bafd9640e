"""Data-parallel training on CPU through the real launcher (msrun, mccl backend)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "configs/train_synth_tiny.yaml"
# image batches only, no in-graph randomness, 4 samples per rank
COMMON = ["input.size=[64,64]", "model.rope_rescale=0", "model.head.fusion_dropout=0",
          "data.pipeline.image_video_ratio=[1,0]", "data.pipeline.batch_size=4",
          "data.pipeline.num_parallel_workers=1", "train.log_every=1", "train.ckpt_every=0",
          "train.save_rank_params=true", "--quiet"]
# 2 ranks × 4 samples with gradient mean vs one process on the merged 8-sample batches: the
# same arithmetic up to float32 summation order (mean of two means vs one mean, all-reduce).
DP_TOL = 2e-5
# Except where an element's gradient is near zero at some step: there the summation order can
# decide the sign of AdamW's normalised step m/(√v + eps), which is ±lr exactly at step 1 (the
# golden train-step test's "Adam bound"). Such elements are few and bounded by steps × lr.
LR, STEPS, NOISE_SHARE = 1e-3, 3, 1e-3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from aam_ms.data.synth import generate
    out = tmp_path_factory.mktemp("synth")
    generate(str(out), scale="tiny", seed=0)
    return out / "manifest.jsonl"


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "GLOG_v": "3",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}


def _launch(tmp, corpus, steps, port, **popen):
    cmd = ["bash", "scripts/run_distributed.sh", "--backend", "cpu", "--workers", "2",
           "--master_port", str(port), "--log_dir", str(tmp / "logs"), "--timeout", "20", CONFIG,
           f"data.train={corpus}", f"train.out_dir={tmp / 'run'}", f"train.max_steps={steps}",
           *COMMON]
    return subprocess.Popen(cmd, cwd=ROOT, env=_env(), **popen)


@pytest.mark.slow
def test_two_cpu_ranks_match_each_other_and_single_process(tmp_path, corpus):
    p = _launch(tmp_path, corpus, STEPS, 8131, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
    out, _ = p.communicate(timeout=900)
    assert p.returncode == 0, out[-3000:]
    r0 = np.load(tmp_path / "run" / "rank_0_trainable.npz")
    r1 = np.load(tmp_path / "run" / "rank_1_trainable.npz")
    assert sorted(r0.files) == sorted(r1.files) and len(r0.files) > 10
    for k in r0.files:
        assert np.array_equal(r0[k], r1[k]), f"ranks differ on {k}"

    single = tmp_path / "single"
    cmd = [sys.executable, "-m", "aam_ms.train", "--config", CONFIG, "--out", str(single),
           f"data.train={corpus}", f"train.max_steps={STEPS}", "data.plan_shards=2", *COMMON]
    r = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    s0 = np.load(single / "rank_0_trainable.npz")
    diff = {k: np.abs(s0[k] - r0[k]) for k in r0.files}
    worst = max(float(d.max()) for d in diff.values())
    total = sum(d.size for d in diff.values())
    noisy = {k: int((d > DP_TOL).sum()) for k, d in diff.items() if (d > DP_TOL).any()}
    print(f"2 ranks vs 1 process (global batch 8): max |Δparam| = {worst:.3g}; "
          f"{sum(noisy.values())} of {total} elements above {DP_TOL:g}: {noisy}")
    assert sum(noisy.values()) <= NOISE_SHARE * total, noisy
    assert worst <= STEPS * LR * 1.01
    assert max(float(np.abs(s0[k]).max()) for k in r0.files) > 0


@pytest.mark.slow
def test_killing_a_worker_stops_the_launcher_quickly(tmp_path, corpus):
    p = _launch(tmp_path, corpus, 400, 8133, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True)
    log = tmp_path / "run" / "log.jsonl"
    deadline = time.time() + 600
    while time.time() < deadline and not (log.exists() and '"step": 2,' in log.read_text()):
        assert p.poll() is None, "the job ended before a worker could be killed"
        time.sleep(0.5)
    pids = subprocess.run(["pgrep", "-f", f"train.out_dir={tmp_path / 'run'}"],
                          capture_output=True, text=True).stdout.split()
    workers = [int(x) for x in pids if "scripts/train.py" in
               Path(f"/proc/{x}/cmdline").read_bytes().decode(errors="ignore")]
    assert len(workers) >= 2, pids
    os.kill(workers[-1], signal.SIGKILL)
    t0 = time.time()
    try:
        _, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            p.kill()
    took = time.time() - t0
    print(f"launcher exited {took:.1f} s after the kill with status {p.returncode}")
    assert p.returncode != 0
    assert took < 60
    assert "did not finish" in err or "failed" in err.lower()
