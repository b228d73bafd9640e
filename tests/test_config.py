"""Config validation: YAML keys checked like --set (did-you-mean hints), typed --set values,
binary files, relative data paths against the config's folder; one line, exit 2, no change."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aam_ms import train
from aam_ms.config import ConfigError, Open, apply_overrides, load_config
from aam_ms.session import resolve_config
from fixtures_datasets import tree_hash  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "aam_tiny.yaml"
TRAIN = REPO / "configs" / "train_synth_tiny.yaml"



@pytest.mark.parametrize("text,words", [
    ("inptu:\n  size: [64, 64]\n", "unknown key 'inptu'; did you mean 'input'?"),
    ("input:\n  clip_lenn: 4\n", "unknown key 'input.clip_lenn'; did you mean 'clip_len'?"),
    ("model:\n  head:\n    hyp_dimm: 8\n", "unknown key 'model.head.hyp_dimm'; did you mean "
                                           "'hyp_dim'?"),
    ("input:\n  size: big\n", "input.size: expected a list like [448, 448], got 'big'"),
    ("input: [1, 2]\n", "input must be a section (a mapping)"),
    ("model:\n  head:\n    hyp_dim: 2.5\n", "model.head.hyp_dim: expected an integer, got 2.5"),
    ("input:\n  size: [64, 64\n", "not valid YAML at line"),
])
def test_yaml_keys_checked(tmp_path, text, words):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"base: {TINY}\n{text}")
    with pytest.raises(ConfigError) as e:
        resolve_config(config=str(cfg))
    assert words in str(e.value) and str(cfg) in str(e.value)


def test_train_yaml_keys_checked(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"base: {TRAIN}\ntrain:\n  epochz: 3\n")
    with pytest.raises(ConfigError, match="unknown key 'train.epochz'; did you mean 'epochs'"):
        train.build_config(train.parse_args(["--config", str(cfg)]))
    cfg.write_text(f"base: {TRAIN}\ndata:\n  pipeline:\n    batch_sise: 2\n")
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        train.build_config(train.parse_args(["--config", str(cfg)]))


@pytest.mark.parametrize("override,words", [
    ("input.size=abc", "expected a list like [128, 128], got 'abc'"),
    ("input.size=[0,0]", "input.size [0, 0]: must be [H, W], two positive multiples of the "
                         "patch size 16"),
    ("input.size=[100,100]", "input.size [100, 100]: must be [H, W], two positive multiples"),
    ("input.size=[64]", "input.size [64]: must be [H, W]"),
    ("input.size=[64.5,64]", "element 64.5 — expected an integer"),
    ("input.clip_len=0", "input.clip_len 0: must be an integer ≥ 1"),
    ("model.head.hyp_dim=big", "override 'model.head.hyp_dim=big': expected an integer, got "
                               "'big'"),
    ("model.cfl=maybe", "expected true or false, got 'maybe'"),
    ("inptu.size=[64,64]", "no section 'inptu'; did you mean 'input'?"),
    ("input.clip_lenn=4", "unknown key 'clip_lenn'; did you mean 'clip_len'?"),
    ("input.size", "is not of the form key.sub=value"),
])
def test_set_values_checked(override, words):
    with pytest.raises(ConfigError) as e:
        resolve_config(config=str(TINY), overrides=[override])
    assert words in str(e.value) and "\n" not in str(e.value)


def test_train_set_values_checked(tmp_path):
    for override, words in (("train.lr=fast", "override 'train.lr=fast': expected a number, "
                                              "got 'fast'"),
                            ("train.epochs=1.5", "expected an integer, got 1.5"),
                            ("train.epochz=3", "unknown key 'epochz'; did you mean 'epochs'")):
        args = train.parse_args(["--config", str(TRAIN), override])
        with pytest.raises(ConfigError) as e:
            train.build_config(args)
        assert words in str(e.value)
    ok = train.build_config(train.parse_args(["--config", str(TRAIN), "train.lr=1e-4",
                                              "train.epochs=2", "input.size=[64,64]"]))
    assert ok["train"]["lr"] == 1e-4 and ok["train"]["epochs"] == 2
    assert ok["input"]["size"] == [64, 64]


def test_binary_config(tmp_path):
    cfg = tmp_path / "photo.yaml"
    cfg.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(ConfigError) as e:
        resolve_config(config=str(cfg))
    assert str(e.value) == f"{cfg}: not a YAML text file (not UTF-8; binary?)"


def test_relative_data_paths_follow_the_config(tmp_path, monkeypatch):
    """The shipped training config from another working directory: data.train lands in the
    checkout; a path given with --set stays relative to the working directory."""
    monkeypatch.chdir(tmp_path)
    cfg = train.build_config(train.parse_args(["--config", str(TRAIN)]))
    assert cfg["data"]["train"] == str(REPO / "runs" / "demo" / "synth" / "manifest.jsonl")
    sub = tmp_path / "exp"
    sub.mkdir()
    (sub / "run.yaml").write_text(f"base: {TRAIN}\ndata:\n  train: corpus/manifest.jsonl\n"
                                  "text_encoder:\n  tokenizer: ../tok.json\n")
    cfg = train.build_config(train.parse_args(["--config", str(sub / "run.yaml")]))
    assert cfg["data"]["train"] == str(sub / "corpus" / "manifest.jsonl")
    assert cfg["text_encoder"]["tokenizer"] == str(tmp_path / "tok.json")
    cfg = train.build_config(train.parse_args(["--config", str(sub / "run.yaml"),
                                               "data.train=here.jsonl"]))
    assert cfg["data"]["train"] == "here.jsonl"


def test_schema_mechanics():
    schema = {"a": {"n": 1, "x": 0.5, "s": "t", "free": None}, "open": Open()}
    cfg = apply_overrides({"a": {"n": 1, "x": 0.5}}, ["a.x=2", "a.s=u", "a.free=[1]",
                                                      "open.any.deep=3"], schema)
    assert cfg == {"a": {"n": 1, "x": 2, "s": "u", "free": [1]}, "open": {"any": {"deep": 3}}}
    with pytest.raises(ConfigError, match="expected an integer, got True"):
        apply_overrides(cfg, ["a.n=true"], schema)


def test_cli_one_line_and_nothing_written(tmp_path):
    """A real tool process (export) with a bad --set: exit 2, one line, the folder unchanged."""
    (tmp_path / "keep.txt").write_text("user data")
    before = tree_hash(tmp_path)
    env = {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-m", "aam_ms.export", "--config", str(TINY),
                        "--set", "input.size=[100,100]", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f"aam-export: error: input.size [100, 100]: must be [H, W], two positive multiples of "
        f"the patch size 16, e.g. [128, 128] (config {TINY})")
    assert "Traceback" not in r.stderr and tree_hash(tmp_path) == before


def test_load_config_defaults_and_schema(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("a:\n  n: 3\n")
    assert load_config(str(p), ["a.n=4"], {"a": {"n": 1, "m": 2}}) == {"a": {"n": 4, "m": 2}}
    with pytest.raises(ConfigError, match="unknown key 'b'"):
        p.write_text("b: 1\n")
        load_config(str(p), (), {"a": {"n": 1}})


def test_model_summary_cli(capsys):
    from aam_ms.cli import run
    from aam_ms.models import summary
    assert run(summary.main, ["aam_tiny"], prog="aam-summary") == 0
    assert capsys.readouterr().out.startswith("aam_tiny: total ")
    assert run(summary.main, ["aam_tyni"], prog="aam-summary") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aam-summary: error: unknown model 'aam_tyni'") and "\n" not in err
