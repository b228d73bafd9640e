"""aam_ms.weights and the convert CLI on bad files: one line, exit 2, nothing on disk changed.

Every bad-input class — absent, 0-byte, truncated, corrupt, a malicious pickle, NaN weights, a
wrong shape, another architecture, a partial load, an existing or misnamed output — is run
through ``python -m aam_ms.convert`` (in process, through ``cli.run``) and ``load_weights``;
the folder is hashed before and after. Also: ``convert aam --reverse`` on a trained-style
checkpoint (with optimizer state) round-trips exactly and keeps 0-d tensors 0-d.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mindspore as ms

from aam_ms import weights
from aam_ms.cli import UserError, run
from aam_ms.convert.__main__ import main as convert_main
from aam_ms.models.registry import create_model
from fixtures_datasets import tree_hash  # noqa: E402

REPO = Path(__file__).resolve().parents[1]



class _Evil:
    """A pickle payload that would create a folder if it were ever unpickled unsafely."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder with one good aam_tiny checkpoint (+ optimizer state) and every bad kind."""
    import torch
    from aam_ms.optim import AdamW, released_groups
    d = tmp_path_factory.mktemp("weights")
    net = create_model("aam_tiny")
    opt = AdamW(released_groups(net.trainable_params(), 5e-3), lr=1e-3)      # train's optimizer
    items = [{"name": p.name, "data": p} for p in net.get_parameters()]
    items += [{"name": p.name, "data": p} for p in opt.get_parameters()
              if p.name not in {i["name"] for i in items}]
    ms.save_checkpoint(items, str(d / "trained.ckpt"))          # what train's step ckpt holds
    good = (d / "trained.ckpt").read_bytes()
    (d / "empty.ckpt").write_bytes(b"")
    (d / "truncated.ckpt").write_bytes(good[:len(good) // 2])
    (d / "junk.ckpt").write_bytes(np.random.default_rng(0).bytes(4096))
    (d / "empty.pth").write_bytes(b"")
    torch.save({"w": torch.ones(3)}, str(d / "ok.pth"))
    (d / "truncated.pth").write_bytes((d / "ok.pth").read_bytes()[:100])
    (d / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    torch.save({"w": torch.ones(3), "x": _Evil(str(d / "PWNED"))}, str(d / "evil.pth"))
    nan = {p.name: p.asnumpy() for p in net.get_parameters()}
    nan["head.decoder_out.final_conv.bias"] = np.full_like(nan["head.decoder_out.final_conv.bias"],
                                                           np.nan)
    weights.save_ckpt(nan, str(d / "nan.ckpt"))
    wrong = {k: v for k, v in nan.items()}
    wrong["head.decoder_out.final_conv.bias"] = np.zeros(7, np.float32)
    weights.save_ckpt(wrong, str(d / "wrong_shape.ckpt"))
    weights.save_ckpt({"text_projection": np.zeros((4, 4), np.float32)}, str(d / "other.ckpt"))
    return d


BAD = {  # file → words its one-line message must hold
    "absent.ckpt": "checkpoint not found",
    "empty.ckpt": "empty file (0 bytes)",
    "truncated.ckpt": "not a readable MindSpore checkpoint",
    "junk.ckpt": "not a readable MindSpore checkpoint",
    "empty.pth": "empty file (0 bytes)",
    "truncated.pth": "not a readable PyTorch checkpoint",
    "junk.safetensors": "not a readable safetensors file",
    "evil.pth": "holds Python objects besides tensors",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_convert_refuses_bad_file(files, name, capsys):
    before = tree_hash(files)
    kind = ["aam", "--reverse"] if name.endswith(".ckpt") else ["aam"]
    out = "out.safetensors" if name.endswith(".ckpt") else "out.ckpt"
    argv = [kind[0], str(files / name), str(files / out), *kind[1:], "--model", "aam_tiny"]
    assert run(convert_main, argv, prog="aam-convert") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("aam-convert: error: ")
    assert BAD[name] in err and name in err
    assert "weights_only" not in err and "filter_prefix" not in err and "Traceback" not in err
    assert tree_hash(files) == before and not (files / "PWNED").exists()


@pytest.mark.parametrize("name", sorted(BAD))
def test_load_weights_refuses_bad_file(files, name):
    net = create_model("aam_tiny")
    before = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    with pytest.raises(UserError) as e:
        weights.load_weights(net, files / name)
    assert BAD[name] in str(e.value) and str(files / name) in str(e.value)
    assert all(np.array_equal(p.asnumpy(), before[p.name]) for p in net.get_parameters())
    assert not (files / "PWNED").exists()


@pytest.mark.parametrize("name,words", [
    ("nan.ckpt", "tensor head.decoder_out.final_conv.bias holds 1 non-finite value"),
    ("wrong_shape.ckpt", "does not fit the AAM: mapped 404, 1 shape mismatch (first: "
                         "head.decoder_out.final_conv.bias: checkpoint (7,) vs model (1,))"),
    ("other.ckpt", "not a checkpoint of this AAM (none of its"),
])
def test_load_weights_refuses_bad_weights(files, name, words):
    net = create_model("aam_tiny")
    before = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    with pytest.raises(UserError) as e:
        weights.load_weights(net, files / name)
    assert words in str(e.value) and str(files / name) in str(e.value)
    assert all(np.array_equal(p.asnumpy(), before[p.name]) for p in net.get_parameters())


def test_load_weights_training_checkpoint(files):
    """A step checkpoint loads into the model (optimizer state skipped), values exact."""
    net = create_model("aam_tiny")
    report = weights.load_weights(net, files / "trained.ckpt")
    assert report.ok and len(report.mapped) == len(list(net.get_parameters()))
    saved = ms.load_checkpoint(str(files / "trained.ckpt"))
    assert any(k.startswith("adamw_m.") for k in saved) and "adamw_step" in saved
    assert all(np.array_equal(p.asnumpy(), saved[p.name].asnumpy()) for p in net.get_parameters())


def test_reverse_round_trip_keeps_0d(files, tmp_path, capsys):
    """ours (.ckpt with optimizer state) → released .safetensors → ours: bit-identical;
    0-d parameters (curvatures, alphas) stay 0-d; the model is inferred from the width."""
    from safetensors.numpy import load_file
    rev, back = tmp_path / "released.safetensors", tmp_path / "back.ckpt"
    assert run(convert_main, ["aam", str(files / "trained.ckpt"), str(rev), "--reverse"]) == 0
    sd = load_file(str(rev))
    assert sd["head.curv"].shape == () and sd["backbone.blocks.0.attn.qkv.weight"].ndim == 2
    assert run(convert_main, ["aam", str(rev), str(back)]) == 0
    a, b = ms.load_checkpoint(str(files / "trained.ckpt")), ms.load_checkpoint(str(back))
    assert set(b) == {p.name for p in create_model("aam_tiny").get_parameters()}
    assert all(a[k].shape == b[k].shape and np.array_equal(a[k].asnumpy(), b[k].asnumpy())
               for k in b)
    net = create_model("aam_tiny")                  # the released file loads directly too
    assert weights.load_weights(net, rev).ok
    assert "mapped 421, unexpected 0, missing 0" in capsys.readouterr().out


def test_convert_never_overwrites_and_refuses_partial(files, tmp_path, capsys):
    from safetensors.numpy import load_file, save_file
    rev = tmp_path / "released.safetensors"
    assert run(convert_main, ["aam", str(files / "trained.ckpt"), str(rev), "--reverse"]) == 0
    user = tmp_path / "mine.ckpt"
    user.write_bytes(b"the user's own file")
    sd = load_file(str(rev))
    sd["head.extra"] = np.zeros(2, np.float32)
    save_file(sd, str(tmp_path / "partial.safetensors"))
    capsys.readouterr()
    before = tree_hash(tmp_path)
    cases = [
        (["aam", str(rev), str(user)], f"{user} already exists; choose another name or pass "
                                       "--overwrite"),
        (["aam", str(rev), str(tmp_path / "x.safetensors")], "output of this conversion is a "
                                                             ".ckpt file"),
        (["aam", str(tmp_path / "partial.safetensors"), str(tmp_path / "p.ckpt")],
         "partial aam load refused, nothing written (mapped 421, 1 unexpected (first: "
         "head.extra))"),
        (["aam", str(files / "nan.ckpt"), str(tmp_path / "n.safetensors"), "--reverse"],
         "non-finite"),
        (["aam", str(files / "other.ckpt"), str(tmp_path / "o.safetensors"), "--reverse"],
         "cannot infer the AAM variant"),
        (["clip", str(rev), str(tmp_path / "c.ckpt")], "not a CLIP text-tower state dict"),
        (["wav2clip", str(rev), str(tmp_path / "w.ckpt")], "not a Wav2CLIP checkpoint"),
        (["dinov3", str(files / "ok.pth"), str(tmp_path / "d.ckpt"), "--variant", "tiny"],
         "no DINOv3 backbone in this state dict"),
    ]
    for argv, words in cases:
        assert run(convert_main, argv, prog="aam-convert") == 2, argv
        err = capsys.readouterr().err.strip()
        assert words in err and err.count("\n") == 0, (argv, err)
        assert tree_hash(tmp_path) == before, argv
    assert run(convert_main, ["aam", str(rev), str(user), "--overwrite"]) == 0
    assert ms.load_checkpoint(str(user))


def test_convert_cli_process(files, tmp_path):
    """A real process: bad file → exit 2, one line on stderr, no traceback."""
    env = {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-m", "aam_ms.convert", "aam", str(files / "evil.pth"),
                        str(tmp_path / "x.ckpt")], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("aam-convert: error: ")
    assert "Traceback" not in r.stderr and "weights_only" not in r.stderr
    assert not list(tmp_path.iterdir()) and not (files / "PWNED").exists()


@pytest.mark.parametrize("name,words", [("nan.ckpt", "holds 1 non-finite value(s) (NaN/Inf)"),
                                        ("empty.ckpt", "empty file (0 bytes)"),
                                        ("wrong_shape.ckpt", "does not fit the AAM")])
def test_tool_refuses_bad_checkpoint(files, name, words, tmp_path):
    """A tool loading weights (export, as predict/eval do through the session): exit 2, one
    line naming the file, nothing written."""
    env = {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO)}
    before = tree_hash(files)
    r = subprocess.run([sys.executable, "-m", "aam_ms.export", "--config",
                        str(REPO / "configs" / "aam_tiny.yaml"), "--checkpoint",
                        str(files / name), "--out", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"aam-export: error: {files / name}") and words in last, last
    assert "Traceback" not in r.stderr and "filter_prefix" not in r.stderr
    assert not list(tmp_path.iterdir()) and tree_hash(files) == before
