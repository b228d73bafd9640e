"""Training entry point: a short GRAPH-mode run, only trainable parameters move, and a run
killed with SIGKILL resumes to the same loss trajectory as an uninterrupted one."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "train_synth_tiny.yaml"
# Deterministic variant of the demo run: image batches only (one graph), no in-graph
# randomness (RoPE coordinate rescale and fusion dropout draw from MindSpore's RNG, whose state
# a checkpoint does not hold), one step logged per line.
DETERMINISTIC = ["input.size=[64,64]", "model.rope_rescale=0", "model.head.fusion_dropout=0",
                 "data.pipeline.image_video_ratio=[1,0]", "data.pipeline.batch_size=4",
                 "train.log_every=1", "train.ckpt_every=3", "train.warmup_steps=2"]
# Resumed losses equal the uninterrupted ones to float32 rounding of re-ordered CPU reductions.
RESUME_TOL = 1e-5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from aam_ms.data.synth import generate
    out = tmp_path_factory.mktemp("synth")
    generate(str(out), scale="tiny", seed=0)
    return out / "manifest.jsonl"


def _cmd(run, manifest, *extra):
    return [sys.executable, "-m", "aam_ms.train", "--config", str(CONFIG), "--out", str(run),
            "--quiet", f"data.train={manifest}", *DETERMINISTIC, *extra]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "GLOG_v": "3"}


def _losses(run):
    rows = [json.loads(ln) for ln in (run / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if "loss" in r}


@pytest.mark.slow
def test_sigkill_and_resume_matches_uninterrupted_run(tmp_path, corpus):
    steps = ["train.max_steps=12"]
    ref = tmp_path / "ref"
    r = subprocess.run(_cmd(ref, corpus, *steps), env=_env(), capture_output=True, text=True,
                       timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "AAM_TRAIN_DONE" in r.stdout
    ref_losses = _losses(ref)
    assert sorted(ref_losses) == list(range(1, 13))

    run = tmp_path / "killed"
    p = subprocess.Popen(_cmd(run, corpus, *steps), env=_env(), cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = run / "ckpt" / "latest.json"
    deadline = time.time() + 600
    while time.time() < deadline:
        if latest.exists() and json.loads(latest.read_text())["step"] >= 6:
            break
        if p.poll() is not None:
            pytest.fail("training ended before it could be killed")
        time.sleep(0.2)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)
    killed_at = json.loads(latest.read_text())["step"]
    assert 6 <= killed_at < 12
    assert not (run / "model_final.ckpt").exists()

    r = subprocess.run(_cmd(run, corpus, *steps, ) + ["--resume"], env=_env(),
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resumed from" in r.stderr
    resumed = _losses(run)
    after = [s for s in range(killed_at + 1, 13)]
    got = np.array([resumed[s] for s in after])
    want = np.array([ref_losses[s] for s in after])
    print(f"resumed at step {killed_at}; max |Δloss| over steps {after[0]}..12 = "
          f"{np.abs(got - want).max():.3g}")
    np.testing.assert_allclose(got, want, rtol=RESUME_TOL, atol=RESUME_TOL)


def test_only_trainable_parameters_change(tmp_path, corpus):
    """Three GRAPH-mode steps: LoRA/head parameters move, the frozen backbone stays bit-identical."""
    from aam_ms import runtime, train
    args = train.parse_args(["--config", str(CONFIG), "--out", str(tmp_path), f"data.train={corpus}",
                             *DETERMINISTIC, "train.max_steps=3", "train.ckpt_every=0"])
    cfg = train.build_config(args)
    rt = runtime.setup(cfg["device"], "graph", cfg["seed"])
    tr = train.Trainer(cfg, rt, str(tmp_path), quiet=True)
    tr.anchor_warm_start()
    before = {p.name: p.asnumpy().copy() for p in tr.model.get_parameters()}
    step, _ = tr.run(train.JsonlLog(str(tmp_path / "log.jsonl"), True),
                     {"epoch": 0, "next_batch": 0, "global_step": 0})
    assert step == 3
    frozen_changed, trainable_changed, trainable = [], 0, 0
    for p in tr.model.get_parameters():
        same = np.array_equal(before[p.name], p.asnumpy())
        if p.requires_grad:
            trainable += 1
            trainable_changed += not same
        elif not same:
            frozen_changed.append(p.name)
    assert frozen_changed == []
    assert trainable_changed >= 0.5 * trainable
    losses = list(_losses(tmp_path).values())
    assert len(losses) == 3 and all(np.isfinite(losses))


def test_bad_override_is_refused(corpus, capsys):
    from aam_ms.cli import run
    from aam_ms.train import main
    rc = run(main, ["--config", str(CONFIG), f"data.train={corpus}", "train.no_such_key=1"],
             prog="train")
    assert rc == 2
    err = capsys.readouterr().err
    assert "train: error:" in err and "no_such_key" in err and "Traceback" not in err


def test_gradient_accumulation_applies_one_update_per_k_micro_batches(tmp_path, corpus):
    from aam_ms import runtime, train
    args = train.parse_args(["--config", str(CONFIG), "--out", str(tmp_path), f"data.train={corpus}",
                             *DETERMINISTIC, "train.max_steps=2", "train.grad_accum=2",
                             "train.ckpt_every=0"])
    cfg = train.build_config(args)
    rt = runtime.setup(cfg["device"], "graph", cfg["seed"])
    tr = train.Trainer(cfg, rt, str(tmp_path), quiet=True)
    step, _ = tr.run(train.JsonlLog(str(tmp_path / "log.jsonl"), True),
                     {"epoch": 0, "next_batch": 0, "global_step": 0})
    assert step == 2
    assert tr.optimizer.step_count.asnumpy().max() == 2      # 4 micro-batches, 2 updates
    assert all(not a.asnumpy().any() for a in tr.step_fn.bufs)            # buffers cleared


def test_bf16_on_cpu_is_refused(corpus, capsys):
    from aam_ms import runtime, train
    args = train.parse_args(["--config", str(CONFIG), f"data.train={corpus}", "train.amp=bf16"])
    cfg = train.build_config(args)
    rt = runtime.setup("cpu", "graph", 0)
    with pytest.raises(ValueError, match="no bf16"):
        train.Trainer(cfg, rt, "unused", quiet=True)


def _tree_hash(root):
    import hashlib
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _tiny_state(ckpt_dir, steps):
    import mindspore as ms
    from mindspore import nn
    from aam_ms.checkpoint import save_train_state
    net = nn.Dense(64, 32)
    for s in steps:
        net.weight.set_data(ms.Tensor(np.full((32, 64), s, np.float32)))
        save_train_state(str(ckpt_dir), s, net, None, {"epoch": 0, "next_batch": s,
                                                       "global_step": s}, keep=3)
    return net


def test_checkpoints_carry_a_crc_and_resume_falls_back_to_the_newest_intact(tmp_path, capsys):
    from aam_ms.checkpoint import file_crc32, newest_intact
    from aam_ms.cli import UserError
    from aam_ms.train import resume_point
    ckpt = tmp_path / "ckpt"
    _tiny_state(ckpt, [10, 20, 30, 40])
    files = sorted(p.name for p in ckpt.iterdir())
    assert files == ["latest.json", "step_000020.ckpt", "step_000020.json", "step_000030.ckpt",
                     "step_000030.json", "step_000040.ckpt", "step_000040.json"]   # keep=3
    rec = json.loads((ckpt / "step_000040.json").read_text())
    assert rec["crc32"] == file_crc32(ckpt / "step_000040.ckpt")
    assert rec["size"] == (ckpt / "step_000040.ckpt").stat().st_size
    assert newest_intact(str(ckpt))[0]["step"] == 40
    # truncate the newest, flip one byte of the next (same size): both are skipped, by name
    data = (ckpt / "step_000040.ckpt").read_bytes()
    (ckpt / "step_000040.ckpt").write_bytes(data[: len(data) // 2])
    b = bytearray((ckpt / "step_000030.ckpt").read_bytes())
    b[len(b) // 2] ^= 0x01
    (ckpt / "step_000030.ckpt").write_bytes(bytes(b))
    info = resume_point(str(ckpt))
    assert info["step"] == 20 and info["state"]["next_batch"] == 20
    err = capsys.readouterr().err
    assert "skipping" in err and "step_000040.ckpt: size" in err and "truncated" in err
    assert "step_000030.ckpt: CRC-32 mismatch" in err
    (ckpt / "step_000020.ckpt").write_bytes(b"")
    with pytest.raises(UserError, match="no intact checkpoint"):
        resume_point(str(ckpt))


@pytest.mark.parametrize("marker", ["config.yaml", "log.jsonl", "model_final.ckpt",
                                    "ckpt/latest.json"])
def test_out_holding_a_run_is_refused_unless_resume(tmp_path, corpus, capsys, marker):
    from aam_ms.cli import run
    from aam_ms.train import main
    out = tmp_path / "run"
    (out / marker).parent.mkdir(parents=True, exist_ok=True)
    (out / marker).write_text("user data\n")
    (out / "notes.txt").write_text("keep me\n")
    before = _tree_hash(tmp_path)
    rc = run(main, ["--config", str(CONFIG), "--out", str(out), f"data.train={corpus}"],
             prog="train")
    err = capsys.readouterr().err
    assert rc == 2 and f"already holds a run ({marker})" in err and "--resume" in err
    assert "Traceback" not in err
    assert _tree_hash(tmp_path) == before


def test_granularity_sampling_draws_the_g1_to_g4_forms_reproducibly(tmp_path, corpus):
    """``train.granularity_p``: each sample's prompt row is its own or, with that probability,
    one of its G1..G4 forms (embedded like any prompt); the draw depends only on (seed, step)."""
    from aam_ms import runtime, train
    from aam_ms.data.prompts import GRANULARITIES, get_prompt
    args = train.parse_args(["--config", str(CONFIG), "--out", str(tmp_path), f"data.train={corpus}",
                             *DETERMINISTIC, "train.granularity_p=0.5", "train.ckpt_every=0"])
    cfg = train.build_config(args)
    rt = runtime.setup(cfg["device"], "graph", cfg["seed"])
    tr = train.Trainer(cfg, rt, str(tmp_path), quiet=True)
    keys = tr.prompt_keys
    assert set(tr.granular) == {i for i, k in enumerate(keys) if k.startswith("synth_")}
    own = np.arange(len(keys)).repeat(50)
    rows = tr.prompt_rows(own, 7)
    np.testing.assert_array_equal(rows, tr.prompt_rows(own, 7))
    assert not np.array_equal(rows, tr.prompt_rows(own, 8))
    swapped = rows != own
    assert 0.35 < swapped[np.isin(own, list(tr.granular))].mean() < 0.65
    assert not swapped[~np.isin(own, list(tr.granular))].any()
    seen = set()
    for i, r in zip(own[swapped], rows[swapped]):
        level = GRANULARITIES[tr.granular[int(i)].index(int(r))]
        seen.add(level)
    assert seen == set(GRANULARITIES)
    i = next(iter(tr.granular))
    for level, r in zip(GRANULARITIES, tr.granular[i]):
        np.testing.assert_allclose(tr.prompt_table[r],
                                   tr.text_enc.embed([get_prompt(keys[i], granularity=level)])[0],
                                   rtol=1e-6, atol=1e-6)
    tr.cfg["train"]["granularity_p"] = 0.0
    np.testing.assert_array_equal(tr.prompt_rows(own, 7), own)
