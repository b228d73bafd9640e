"""Export AAM to MindIR (and ONNX where the graph allows), verified by running the export.

``python -m aam_ms.export [--run RUN | --config C --checkpoint K] --out model.mindir
[--mode image|video] [--batch B] [--clip-len T] [--audio] [--with-z] [--dynamic] [--onnx]
[--target cpu|ascend]``

The exported graph is :class:`ExportNet`: inputs ``x`` (B, 3, H, W) or (B, T, 3, H, W),
``text_emb`` (B, D_t) [, ``audio_emb`` (B, T, D_a)], output the saliency map (B, 1, H, W) /
(B, T, 1, H, W) [, z_img, z_txt, z_anc, curv]. Prompts and audio are encoded outside the graph.
Kernels are the pure-MindSpore ones (``native``) unless ``--target ascend``: a custom-op graph
stores the absolute path of its ``.so``, which other machines do not have.

``--out`` is a file name or an existing folder (then ``<folder>/<model>_<mode>.mindir``); an
existing file is not replaced unless ``--overwrite``, and an unwritable destination is refused
before the network is built. On Ascend the network runs under the mixed-precision policy of
:mod:`aam_ms.amp` (``--precision``), as in training and prediction.

Verification (non-zero exit on failure): the MindIR is loaded with ``ms.load`` +
``nn.GraphCell``, run on seeded random inputs and compared with the Python cell and with the
inference engine that ``predict`` uses (:class:`aam_ms.inference.Engine`; max |Δ| ≤ ``--tol``,
default 1e-5), again in a fresh Python process, and its bytes are searched for a
shared-library path. ``--dynamic`` tries a free batch (and T) axis
(``Tensor(shape=[None, ...])``); when MindSpore cannot trace the network that way, the reason
is printed and fixed shapes are exported.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from . import amp, kernels
from .cli import UserError, run
from .fileio import atomic_write, check_new_file
from .inference import Engine, add_model_args, open_session
from .session import resolve_config

SO_PATH = re.compile(rb"/[A-Za-z0-9_.+\-/]+\.so(?:\.[0-9]+)*(?![A-Za-z0-9_])")
TOL = 1e-5
ONNX_BLOCKER = re.compile(r"key (\w+) in convert map|Exporting (\w+) operator")


def _net_class():
    from mindspore import nn

    class ExportNet(nn.Cell):
        """(x, text_emb[, audio_emb]) → map [, z_img, z_txt, z_anc, curv]."""

        def __init__(self, model, with_z=False):
            super().__init__()
            self.model = model
            self.with_z = with_z

        def construct(self, x, text_emb, audio_emb=None):
            pred, z_img, z_txt, z_anc, curv = self.model(x, text_emb, audio_emb)
            if self.with_z:
                return pred, z_img, z_txt, z_anc, curv
            return pred
    return ExportNet


def export_net(model, with_z=False):
    """The wrapper cell that is exported (eval mode)."""
    net = _net_class()(model, with_z)
    net.set_train(False)
    return net


def example_inputs(model, size, mode="image", batch=1, clip_len=4, audio=False, seed=0):
    """Seeded random numpy inputs of the exported signature."""
    rng = np.random.default_rng(seed)
    h, w = size
    x_shape = (batch, 3, h, w) if mode == "image" else (batch, clip_len, 3, h, w)
    ins = [rng.standard_normal(x_shape).astype(np.float32),
           rng.standard_normal((batch, model.text_dim)).astype(np.float32)]
    if audio:
        if mode != "video":
            raise UserError("--audio needs --mode video")
        ins.append(rng.standard_normal((batch, clip_len, model.audio_dim)).astype(np.float32))
    return ins


def _outputs(res):
    res = res if isinstance(res, (tuple, list)) else (res,)
    return [np.asarray(r.asnumpy(), np.float32) for r in res]


def run_cell(cell, inputs):
    import mindspore as ms
    return _outputs(cell(*[ms.Tensor(a) for a in inputs]))


def max_abs_diff(a, b):
    if len(a) != len(b):
        raise ValueError(f"output count differs: {len(a)} vs {len(b)}")
    for x, y in zip(a, b):
        if x.shape != y.shape:
            raise ValueError(f"output shape differs: {x.shape} vs {y.shape}")
    return max(float(np.max(np.abs(x - y))) if x.size else 0.0 for x, y in zip(a, b))


def load_mindir(path):
    import mindspore as ms
    from mindspore import nn
    return nn.GraphCell(ms.load(path))


def so_paths(path):
    """Shared-library paths stored in a file (bytes search)."""
    with open(path, "rb") as f:
        return sorted({m.decode("latin-1") for m in SO_PATH.findall(f.read())})


def _spec(a, dynamic_axes):
    import mindspore as ms
    shape = [None if i in dynamic_axes else s for i, s in enumerate(a.shape)]
    return ms.Tensor(shape=shape, dtype=ms.float32)


def export_file(net, inputs, path, fmt, dynamic_axes=()):
    """``ms.export`` to ``path`` through a temp file in its folder + rename; returns the path."""
    import mindspore as ms
    ext = {"MINDIR": ".mindir", "ONNX": ".onnx"}[fmt]
    args = [_spec(a, dynamic_axes) if dynamic_axes else ms.Tensor(a) for a in inputs]
    with atomic_write(path, mode=None, suffix=ext) as tmp:
        ms.export(net, *args, file_name=tmp, file_format=fmt)
        if not os.path.getsize(tmp):
            raise RuntimeError(f"ms.export wrote no {fmt} file")
    return path


def output_paths(out, model_name, mode, onnx=False, overwrite=False):
    """(MindIR path, ONNX path or None) for ``--out``: a file name, or an existing folder →
    ``<folder>/<model>_<mode>.mindir``; each checked with :func:`aam_ms.fileio.check_new_file`
    (existing file unless ``overwrite``, unwritable folder) before any work is done."""
    if os.path.isdir(out):
        stem = os.path.join(out, f"{model_name}_{mode}")
    else:
        stem = out[:-len(".mindir")] if out.endswith(".mindir") else out
    mindir, onnx_path = stem + ".mindir", (stem + ".onnx" if onnx else None)
    for p in (mindir, onnx_path):
        if p:
            check_new_file(p, overwrite, "--out: ")
    return mindir, onnx_path


def fresh_process_check(path, inputs, expected, tol=TOL):
    """Load and run the MindIR in a new Python process; returns its report dict."""
    with tempfile.TemporaryDirectory() as d:
        io_path = os.path.join(d, "io.npz")
        np.savez(io_path, **{f"in{i}": a for i, a in enumerate(inputs)},
                 **{f"out{i}": a for i, a in enumerate(expected)})
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        r = subprocess.run([sys.executable, "-m", "aam_ms.export", "--check", path,
                            "--io", io_path, "--tol", str(tol)],
                           capture_output=True, text=True, env=env)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"ok": False, "error": (r.stderr.strip() or r.stdout.strip())[-800:]}
    return json.loads(lines[-1])


def check_main(path, io_path, tol):
    """``--check``: run a MindIR on stored inputs, compare with stored outputs, print JSON."""
    import mindspore as ms
    ms.set_context(mode=ms.GRAPH_MODE)
    data = np.load(io_path)
    ins = [data[f"in{i}"] for i in range(sum(k.startswith("in") for k in data.files))]
    exp = [data[f"out{i}"] for i in range(sum(k.startswith("out") for k in data.files))]
    diff = max_abs_diff(run_cell(load_mindir(path), ins), exp)
    print(json.dumps({"ok": diff <= tol, "max_abs_diff": diff}))
    return 0 if diff <= tol else 1


def engine_outputs(session, inputs, mode):
    """The saliency map of ``inputs`` through :class:`aam_ms.inference.Engine` (the path
    ``predict`` takes: cached backbone features, then the head)."""
    import mindspore as ms
    engine = Engine(session)
    x, text = ms.Tensor(inputs[0]), ms.Tensor(inputs[1])
    if mode == "video":
        audio = ms.Tensor(inputs[2]) if len(inputs) > 2 else None
        return np.asarray(engine.clip(x, text, audio).asnumpy(), np.float32)
    return np.asarray(engine.decode(engine.features(x), text).asnumpy(), np.float32)


def verify(net, path, inputs, tol=TOL, fresh=True, target="cpu", engine_map=None):
    """In-process GraphCell vs the Python cell (and the engine's map ``engine_map``), optional
    fresh process, and the ``.so`` search."""
    expected = run_cell(net, inputs)
    got = run_cell(load_mindir(path), inputs)
    report = {"file": path, "max_abs_diff": max_abs_diff(got, expected)}
    report["ok"] = report["max_abs_diff"] <= tol
    if engine_map is not None:
        report["engine_max_abs_diff"] = max_abs_diff(got[:1], [engine_map])
        report["ok"] &= report["engine_max_abs_diff"] <= tol
    if fresh:
        report["fresh_process"] = fresh_process_check(path, inputs, expected, tol)
        report["ok"] &= bool(report["fresh_process"].get("ok"))
    report["so_paths"] = so_paths(path)
    if report["so_paths"] and target != "ascend":
        report["ok"] = False
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m aam_ms.export", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", metavar="MINDIR", help=argparse.SUPPRESS)
    ap.add_argument("--io", help=argparse.SUPPRESS)
    add_model_args(ap)
    ap.add_argument("--out", help="output file (model.mindir) or an existing folder")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    ap.add_argument("--mode", choices=("image", "video"), default="image")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--clip-len", type=int, help="T of video mode (default: input.clip_len)")
    ap.add_argument("--audio", action="store_true", help="video mode with an audio_emb input")
    ap.add_argument("--with-z", action="store_true", help="also return z_img, z_txt, z_anc, curv")
    ap.add_argument("--dynamic", action="store_true", help="free batch (and T) axis if possible")
    ap.add_argument("--onnx", action="store_true", help="also try ONNX")
    ap.add_argument("--target", choices=("cpu", "ascend"), default="cpu")
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                    help="Ascend mixed precision (auto: bf16 on Ascend, fp32 elsewhere)")
    ap.add_argument("--tol", type=float, default=TOL)
    ap.add_argument("--no-fresh-check", action="store_true", help="skip the new-process check")
    a = ap.parse_args(argv)
    if a.check:
        return check_main(a.check, a.io, a.tol)
    if not a.out:
        raise UserError("--out FILE.mindir (or an existing folder) is required")
    if a.batch < 1:
        raise UserError(f"--batch must be ≥ 1, got {a.batch}")
    if a.clip_len is not None and a.clip_len < 1:
        raise UserError(f"--clip-len must be ≥ 1, got {a.clip_len}")
    if a.audio and a.mode != "video":
        raise UserError("--audio needs --mode video")
    name = "model"
    if os.path.isdir(a.out):                   # the file is named after the model (config only)
        name = resolve_config(a.run, a.config, a.overrides)["model"].get("name") or name
    mindir, onnx_path = output_paths(a.out, name, a.mode, a.onnx, a.overwrite)
    session = open_session(a, encoders=False)
    import mindspore as ms
    target = ms.get_context("device_target")
    try:
        precision = amp.resolve(a.precision, target)
    except ValueError as e:
        raise UserError(f"--precision: {e}") from None
    kernels.set_kernel_mode("auto" if a.target == "ascend" else "native")
    clip_len = a.clip_len or int(session.cfg["input"]["clip_len"])
    inputs = example_inputs(session.model, session.size, a.mode, a.batch, clip_len, a.audio)
    net = export_net(session.model, a.with_z)
    amp.apply_amp(net, precision, target)
    report = {"mode": a.mode, "batch": a.batch, "clip_len": clip_len if a.mode == "video" else None,
              "kernels": kernels.kernel_mode(), "precision": precision, "dynamic": False}
    if a.dynamic:
        axes = (0, 1) if a.mode == "video" else (0,)
        try:
            export_file(net, inputs, mindir, "MINDIR", axes)
            bigger = example_inputs(session.model, session.size, a.mode, a.batch + 1,
                                    clip_len + (a.mode == "video"), a.audio, seed=1)
            diff = max_abs_diff(run_cell(load_mindir(mindir), bigger), run_cell(net, bigger))
            report.update(dynamic=True, dynamic_check_max_abs_diff=diff)
        except Exception as e:  # MindSpore raises RuntimeError/TypeError/ValueError here
            report["dynamic_error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"
            print(f"--dynamic: not possible ({report['dynamic_error']}); exporting fixed shapes",
                  file=sys.stderr)
    if not report["dynamic"]:
        export_file(net, inputs, mindir, "MINDIR")
    report.update(verify(net, mindir, inputs, a.tol, not a.no_fresh_check, a.target,
                         engine_outputs(session, inputs, a.mode)))
    if report.get("dynamic") and report["dynamic_check_max_abs_diff"] > a.tol:
        report["ok"] = False
    status = 0 if report["ok"] else 1
    if a.onnx:
        try:
            # a new wrapper: ONNX tracing of the cell the engine check compiled fails
            report["onnx"] = export_file(export_net(session.model, a.with_z), inputs, onnx_path,
                                         "ONNX")
        except Exception as e:  # the message names the operator the ONNX exporter lacks
            msg = str(e).strip().splitlines()
            ops = sorted({x for pair in ONNX_BLOCKER.findall(str(e)) for x in pair if x})
            report["onnx_error"] = {"message": msg[0][:300] if msg else type(e).__name__,
                                    "blocking_ops": ops}
            status = status or 3
    print(json.dumps(report, indent=1))
    if report["so_paths"]:
        print(f"warning: the MindIR stores shared-library paths {report['so_paths']}",
              file=sys.stderr)
    return status


def cli_main():
    """Console script ``aam-export`` (pyproject.toml): exit codes from :func:`aam_ms.cli.run`."""
    sys.exit(run(main, prog="aam-export"))


if __name__ == "__main__":
    cli_main()
