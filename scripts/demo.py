#!/usr/bin/env python3
"""The built-in demo, end to end, with no download: ``python scripts/demo.py --out runs/demo``.

1. generate the SynthAttention corpus (``aam_ms.data.synth``),
2. train ``aam_tiny`` on it (``aam_ms.train``, configs/train_synth_tiny.yaml),
3. evaluate the trained model and a centre-bias baseline on the test split (``aam_ms.eval``,
   which also writes ``report.html``),
4. the condition-swap ablation: correct vs generic vs wrong prompt on the prompt-dependent
   datasets (same scenes, different task),
5. the audio-swap ablation: the clip's own sound vs no sound vs another clip's sound on the
   audio-visual task (a red and a blue disc; only the pitch tells which one is looked at),
6. predict maps and overlays for a sample image, a sample video and an audio-visual sample,
7. export MindIR (verified against the Python cell in a fresh process),
8. draw the prompts, the anchor and test images on the Lorentz manifold (``aam_ms.viz``),
then print a summary of the numbers and of where everything went (``summary.json`` too).
Each step is the public CLI, run as a subprocess, so the demo exercises exactly what users run.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from aam_ms import cli  # noqa: E402
from aam_ms.data.manifest import read_manifest  # noqa: E402
from aam_ms.fileio import write_text  # noqa: E402
from aam_ms.resources import config_path  # noqa: E402

PROMPT_DEPENDENT = ("synth_search_red", "synth_search_blue")
AUDIO_VISUAL = "synth_av_pitch"
CONFIG = str(config_path("train_synth_tiny.yaml"))
MARKER = ".aam-demo"          # written first into a demo folder: only such a folder is replaced


def _run(step, cmd, log_dir):
    """Run one CLI step, its output teed to ``log_dir/<step>.log``; stop the demo on failure."""
    print(f"[demo] {step}: {' '.join(cmd[2:] if cmd[0] == sys.executable else cmd)}", flush=True)
    t0 = time.time()
    path = os.path.join(log_dir, f"{step}.log")
    with open(path, "w", encoding="utf-8") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env={
            **os.environ, "GLOG_v": os.environ.get("GLOG_v", "3"),
            "PYTHONPATH": os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p])})
    if r.returncode != 0:
        with open(path, encoding="utf-8") as f:
            tail = f.read()[-2000:]
        raise cli.UserError(f"step '{step}' failed (exit {r.returncode}); log: {path}\n{tail}")
    print(f"[demo]   done in {time.time() - t0:.0f} s", flush=True)
    return time.time() - t0


def _metrics(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _rows(metrics, mode="prompt_mode"):
    """metrics.json → {(dataset, prompt_mode or audio_mode): row}."""
    rows = metrics["rows"] if isinstance(metrics, dict) and "rows" in metrics else metrics
    return {(r["dataset"], r[mode]): r for r in rows}


def summarise(out):
    """Numbers of a finished demo: model vs centre baseline, condition-swap and audio-swap
    orderings."""
    main = _rows(_metrics(os.path.join(out, "eval", "metrics.json")))
    swap = _rows(_metrics(os.path.join(out, "ablation", "metrics.json")))
    audio = _rows(_metrics(os.path.join(out, "audio_swap", "metrics.json")), "audio_mode")
    datasets = sorted({d for d, _ in main})
    vs_baseline = {}
    for d in datasets:
        m, b = main.get((d, "correct")), main.get((d, "centre_baseline"))
        if m and b:
            vs_baseline[d] = {k: {"model": m[k], "centre": b[k]} for k in ("CC", "NSS", "AUC_J", "SIM")}
    condition_swap = {}
    for d in PROMPT_DEPENDENT:
        condition_swap[d] = {mode: swap[(d, mode)]["CC"] for mode in ("correct", "generic", "wrong")
                             if (d, mode) in swap}
    mean = lambda xs: sum(xs) / max(len(xs), 1)  # noqa: E731
    overall = {k: {"model": mean([v[k]["model"] for v in vs_baseline.values()]),
                   "centre": mean([v[k]["centre"] for v in vs_baseline.values()])}
               for k in ("CC", "NSS")}
    audio_swap = {AUDIO_VISUAL: {mode: audio[(AUDIO_VISUAL, mode)]["CC"]
                                 for mode in ("correct", "none", "swapped")
                                 if (AUDIO_VISUAL, mode) in audio}}
    viz = _metrics(os.path.join(out, "viz", "hyperbolic.json"))
    hyperbolic = {"mean_r": viz["mean_r"], "curvature": viz["curvature"]}
    return {"vs_centre_baseline": vs_baseline, "overall": overall, "condition_swap": condition_swap,
            "audio_swap": audio_swap, "hyperbolic": hyperbolic}


def _prepare(out):
    """Create ``out``; a folder a previous demo wrote (it holds ``MARKER``) is replaced, any
    other non-empty folder is refused (the demo deletes nothing it did not create)."""
    if os.path.isdir(out) and os.listdir(out):
        if not os.path.isfile(os.path.join(out, MARKER)):
            raise cli.UserError(f"--out {out}: folder exists and was not written by the demo; "
                                "give a new or empty folder")
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    write_text(os.path.join(out, MARKER), "written by scripts/demo.py; replaced by its next run\n")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python scripts/demo.py", description=__doc__.split("\n")[1])
    p.add_argument("--out", default="runs/demo",
                   help="demo folder (new, empty, or a previous demo's, which is replaced)")
    p.add_argument("--config", default=CONFIG, help="training run config")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="training config override (repeatable), e.g. train.epochs=2")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    out = a.out
    _prepare(out)
    logs = os.path.join(out, "logs")
    py = [sys.executable, "-m"]
    synth = os.path.join(out, "synth")
    manifest = os.path.join(synth, "manifest.jsonl")
    run = os.path.join(out, "train")
    times = {}
    times["synth"] = _run("synth", py + ["aam_ms.data.synth", "--out", synth, "--scale", "tiny",
                                         "--seed", str(a.seed)], logs)
    times["train"] = _run("train", py + ["aam_ms.train", "--config", a.config, "--out", run,
                                         "--quiet", f"data.train={manifest}", f"seed={a.seed}",
                                         *a.set], logs)
    model = ["--run", run]
    times["eval"] = _run("eval", py + ["aam_ms.eval", "--manifest", manifest, "--split", "test",
                                       "--baseline", "centre", "--out", os.path.join(out, "eval"),
                                       *model], logs)
    times["ablation"] = _run("ablation", py + [
        "aam_ms.eval", "--manifest", manifest, "--split", "test",
        "--datasets", ",".join(PROMPT_DEPENDENT), "--prompt-mode", "correct,generic,wrong",
        "--out", os.path.join(out, "ablation"), *model], logs)
    times["audio_swap"] = _run("audio_swap", py + [
        "aam_ms.eval", "--manifest", manifest, "--split", "test", "--datasets", AUDIO_VISUAL,
        "--audio-mode", "correct,none,swapped", "--out", os.path.join(out, "audio_swap"),
        *model], logs)

    samples = _samples(manifest)
    pred = os.path.join(out, "predict")
    prompts = os.path.join(synth, "prompts.yaml")
    times["predict_image"] = _run("predict_image", py + [
        "aam_ms.predict", samples["image"], "--prompt", "synth_search_red", "--prompt-file",
        prompts, "--out", os.path.join(pred, "image"), "--no-progress", *model], logs)
    times["predict_video"] = _run("predict_video", py + [
        "aam_ms.predict", samples["video"], "--as-video", "--fps", "8", "--prompt",
        "synth_video_track", "--prompt-file", prompts, "--out", os.path.join(pred, "video"),
        "--no-progress", *model], logs)
    times["predict_av"] = _run("predict_av", py + [
        "aam_ms.predict", samples["av"], "--as-video", "--fps", "8", "--audio", samples["wav"],
        "--prompt", AUDIO_VISUAL, "--prompt-file", prompts, "--out",
        os.path.join(pred, "audio_visual"), "--no-progress", *model], logs)
    mindir = os.path.join(out, "export", "aam_tiny_image.mindir")
    times["export"] = _run("export", py + ["aam_ms.export", "--out", mindir, "--mode", "image",
                                           *model], logs)
    times["viz"] = _run("viz", py + ["aam_ms.viz", "hyperbolic", "--manifest", manifest,
                                     "--out", os.path.join(out, "viz"), *model], logs)

    summary = summarise(out)
    summary.update(times_s=times, outputs={
        "corpus": synth, "run": run, "checkpoint": os.path.join(run, "model_final.ckpt"),
        "train_log": os.path.join(run, "log.jsonl"), "eval": os.path.join(out, "eval", "metrics.md"),
        "report": os.path.join(out, "eval", "report.html"),
        "ablation": os.path.join(out, "ablation", "metrics.md"),
        "audio_swap": os.path.join(out, "audio_swap", "metrics.md"), "predictions": pred,
        "mindir": mindir, "hyperbolic": os.path.join(out, "viz", "hyperbolic.html"), "logs": logs})
    write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=1))
    _print(summary)
    return 0


def _samples(manifest):
    """A test image of the red-search task, a tracking video folder, an audio-visual folder."""
    header, records = read_manifest(manifest)
    root = header["root"]
    pick = {}
    for r in records:
        if r.split != "test":
            continue
        if r.dataset == "synth_search_red" and "image" not in pick:
            pick["image"] = os.path.join(root, r.stimulus)
        elif r.dataset == "synth_video_track" and "video" not in pick:
            pick["video"] = os.path.dirname(os.path.join(root, r.stimulus))
        elif r.dataset == AUDIO_VISUAL and "av" not in pick:
            pick["av"] = os.path.dirname(os.path.join(root, r.stimulus))
            pick["wav"] = os.path.join(root, r.audio)
    missing = {"image", "video", "av"} - set(pick)
    if missing:
        raise cli.UserError(f"{manifest}: the corpus has no test sample for {sorted(missing)}")
    return pick


def _print(s):
    print("\n[demo] trained aam_tiny vs centre-bias baseline (test split, mean over datasets):")
    for k, v in s["overall"].items():
        print(f"  {k:4s} model {v['model']:.3f}   centre {v['centre']:.3f}")
    print("[demo] per dataset, CC (model / centre):")
    for d, v in s["vs_centre_baseline"].items():
        print(f"  {d:20s} {v['CC']['model']:.3f} / {v['CC']['centre']:.3f}")
    print("[demo] condition swap, CC with the correct / generic / wrong prompt:")
    for d, v in s["condition_swap"].items():
        print(f"  {d:20s} " + "  ".join(f"{m} {c:.3f}" for m, c in v.items()))
    print("[demo] audio swap, CC with the clip's own / no / another clip's sound:")
    for d, v in s["audio_swap"].items():
        print(f"  {d:20s} " + "  ".join(f"{m} {c:.3f}" for m, c in v.items()))
    r = s["hyperbolic"]["mean_r"]
    print("[demo] Lorentz distance to the origin (mean): " + "  ".join(
        f"{k} {r[k]:.3f}" for k in ("anchor", "G1", "G2", "G3", "G4", "released", "image") if k in r))
    print(f"[demo] report (tables, charts, best and worst overlays): {s['outputs']['report']}")
    print("[demo] outputs:")
    for k, v in s["outputs"].items():
        print(f"  {k:12s} {v}")


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="demo"))
