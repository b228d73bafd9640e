"""export: MindIR round trip (same and fresh process ≤ 1e-5, and = the inference engine), no
.so path, video + audio mode; --out DIR; refused outputs (exit 2 before any work, no change)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from aam_ms import export as X
from fixtures_datasets import tree_hash  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "aam_tiny.yaml")


def _env():
    return {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO)}


def _report(stdout):
    start = stdout.index("{\n")
    return json.loads(stdout[start:stdout.rindex("}") + 1])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import mindspore as ms
    from aam_ms.checkpoint import save_checkpoint_atomic
    from aam_ms.session import load_session
    ms.set_context(mode=ms.GRAPH_MODE)
    d = tmp_path_factory.mktemp("export")
    s = load_session(config=TINY, allow_random=True, encoders=False,
                     overrides=["input.size=[32,32]"])
    save_checkpoint_atomic(str(d / "tiny.ckpt"), s.model)
    return d, s


def _cli(d, *extra):
    cmd = [sys.executable, "-m", "aam_ms.export", "--config", TINY, "--checkpoint",
           str(d / "tiny.ckpt"), "--set", "input.size=[32,32]", *extra]
    return subprocess.run(cmd, cwd=d, env=_env(), capture_output=True, text=True, timeout=1200)


def test_so_path_search(tmp_path):
    p = tmp_path / "blob"
    p.write_bytes(b"\x00\x01abc/usr/lib/x86_64/libaam_kernels.so\x00 data.so.1 /x/y.so.2\x07.so")
    assert X.so_paths(str(p)) == ["/usr/lib/x86_64/libaam_kernels.so", "/x/y.so.2"]
    p.write_bytes(b"\x00 socket .sol /some/dir/solver \xff")
    assert X.so_paths(str(p)) == []


def test_image_export_round_trip(tiny):
    d, session = tiny
    (d / "out").mkdir()
    r = _cli(d, "--out", str(d / "out"), "--onnx")       # a folder: out/<model>_<mode>.mindir
    rep = _report(r.stdout)
    assert r.returncode in (0, 3), r.stderr[-2000:]
    mindir = d / "out" / "aam_tiny_image.mindir"
    assert rep["file"] == str(mindir) and mindir.is_file() and not (d / "out.mindir").exists()
    assert rep["ok"] and rep["kernels"] == "native" and rep["precision"] == "fp32"
    assert rep["max_abs_diff"] <= 1e-5 and rep["fresh_process"]["max_abs_diff"] <= 1e-5
    assert rep["engine_max_abs_diff"] <= 1e-5            # the MindIR = what predict computes
    assert rep["so_paths"] == [] and X.so_paths(str(mindir)) == []
    if r.returncode == 3:                      # ONNX blocked: the report names the operator
        assert rep["onnx_error"]["blocking_ops"], rep["onnx_error"]
    else:
        assert os.path.isfile(rep["onnx"])
    # independent fresh process: the test's own Python cell vs the MindIR in a new interpreter
    net = X.export_net(session.model)
    ins = X.example_inputs(session.model, (32, 32), "image", batch=1, seed=7)
    want = X.run_cell(net, ins)
    assert want[0].shape == (1, 1, 32, 32)
    chk = X.fresh_process_check(str(mindir), ins, want)
    assert chk["ok"] and chk["max_abs_diff"] <= 1e-5, chk
    # a perturbed expectation must fail the check
    bad = X.fresh_process_check(str(mindir), ins, [want[0] + 1e-3])
    assert not bad["ok"] and bad["max_abs_diff"] == pytest.approx(1e-3, rel=1e-2)


def test_video_audio_export(tiny):
    d, _ = tiny
    r = _cli(d, "--out", str(d / "av.mindir"), "--mode", "video", "--clip-len", "2", "--audio",
             "--with-z", "--dynamic", "--no-fresh-check")
    assert r.returncode == 0, r.stderr[-2000:]
    rep = _report(r.stdout)
    assert rep["ok"] and rep["clip_len"] == 2 and rep["max_abs_diff"] <= 1e-5
    if rep["dynamic"]:
        assert rep["dynamic_check_max_abs_diff"] <= 1e-5
    else:
        assert rep["dynamic_error"]            # the reason is reported, fixed shapes exported
    g = X.load_mindir(str(d / "av.mindir"))
    import mindspore as ms
    x = np.zeros((1, 2, 3, 32, 32), np.float32)
    outs = g(ms.Tensor(x), ms.Tensor(np.zeros((1, 768), np.float32)),
             ms.Tensor(np.zeros((1, 2, 512), np.float32)))
    assert len(outs) == 5 and tuple(outs[0].shape) == (1, 2, 1, 32, 32)
    p = outs[0].asnumpy()
    assert np.all((p > 0) & (p < 1))



def test_refused_outputs(tiny, tmp_path):
    """An existing file, a read-only place, --audio without video: exit 2, one line, before the
    network is built (seconds), nothing changed."""
    d, _ = tiny
    (tmp_path / "model.mindir").write_bytes(b"the user's file")
    if os.geteuid() == 0:       # root writes through permission bits: use a read-only mount
        read_only = "/sys/aam_export_test.mindir"
    else:
        (tmp_path / "ro").mkdir()
        os.chmod(tmp_path / "ro", 0o555)
        read_only = str(tmp_path / "ro" / "m.mindir")
    before = tree_hash(tmp_path)
    for extra, words in (
            (["--out", str(tmp_path / "model.mindir")], f"--out: {tmp_path / 'model.mindir'} "
                                                        "already exists"),
            (["--out", read_only], f"--out: cannot write {read_only}"),
            (["--out", str(tmp_path / "x.mindir"), "--audio"], "--audio needs --mode video")):
        t0 = time.time()
        r = _cli(d, *extra)
        took = time.time() - t0
        assert r.returncode == 2, r.stderr[-2000:]
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("aam-export: error: ") and words in last, last
        assert "Traceback" not in r.stderr and r.stdout == ""
        assert tree_hash(tmp_path) == before
        print(f"refused in {took:.1f} s: {last}")
    if os.geteuid() != 0:
        os.chmod(tmp_path / "ro", 0o755)
