"""The package installs with pip and runs outside the checkout: no PYTHONPATH, an unrelated
working directory, configs and CPU-kernel sources found as package data.

The slow test installs a copy of the sources into a fresh virtual environment that sees this
environment's packages through a ``.pth`` file (so nothing is downloaded), then trains the tiny
model for two steps with ``aam-train`` and predicts an image with ``aam-predict``.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# what `pip install .` needs of the checkout
SOURCES = ("pyproject.toml", "setup.py", "README.md", "aam_ms", "configs", "ascend_kernels/cpu")
PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
SCRIPTS = ("aam-predict", "aam-train", "aam-eval", "aam-export", "aam-convert")


def test_resources_in_the_checkout(tmp_path, monkeypatch):
    from aam_ms import resources
    monkeypatch.chdir(tmp_path)                    # shipped names resolve from any folder
    assert resources.config_dir() == ROOT / "configs"
    assert resources.kernel_source("lorentz_distance_cpu") == \
        ROOT / "ascend_kernels" / "cpu" / "lorentz_distance_cpu.cc"
    shipped = ROOT / "configs" / "aam_tiny.yaml"
    for name in ("aam_tiny", "aam_tiny.yaml", "configs/aam_tiny.yaml"):
        assert resources.config_path(name) == shipped, name
    assert resources.config_path("elsewhere/aam_tiny.yaml") == Path("elsewhere/aam_tiny.yaml")
    assert resources.config_path("no_such_config") == Path("no_such_config")
    (tmp_path / "aam_tiny.yaml").write_text("model: {}\n")
    assert resources.config_path("aam_tiny.yaml") == Path("aam_tiny.yaml")   # a file wins


def test_console_scripts_point_at_runners():
    """The five tools are console scripts; every console script of pyproject.toml names a
    zero-argument function that exists."""
    import importlib
    import tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(SCRIPTS) <= set(scripts), sorted(scripts)
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), target


def test_dependencies_match_requirements():
    """pyproject.toml's run-time dependencies are requirements.txt's pins (minus what the package
    never imports: the test tools and mindformers)."""
    import tomllib
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    text = (ROOT / "requirements.txt").read_text()
    lines = [ln.split("#")[0].strip() for ln in text.splitlines()]
    unused = ("pytest", "hypothesis", "mindformers")
    pinned = [ln for ln in lines if ln and ln.split("=")[0] not in unused]
    assert sorted(declared) == sorted(pinned)


def _fresh_venv(tmp):
    """A venv without pip whose site-packages also lists this environment's site-packages."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", PURELIB], check=True, capture_output=True,
                          text=True).stdout.strip()
    parent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "aam_parent_env.pth").write_text("".join(p + "\n" for p in sorted(parent)))
    return venv, Path(site)


def _run(cmd, cwd, env, timeout=900):
    t0, c0 = time.time(), os.times()
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    c1 = os.times()
    cpu = c1.children_user - c0.children_user + c1.children_system - c0.children_system
    print(f"{Path(str(cmd[0])).name} {cmd[1] if len(cmd) > 1 else ''}: {time.time() - t0:.1f} s "
          f"wall, {cpu:.1f} s CPU")
    assert r.returncode == 0, f"{cmd[0]} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r


@pytest.mark.slow
def test_pip_install_then_train_and_predict_outside_the_checkout(tmp_path):
    src = tmp_path / "src"
    for rel in SOURCES:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / rel).is_dir():
            shutil.copytree(ROOT / rel, src / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / rel, src / rel)
    venv, site = _fresh_venv(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(GLOG_v="3", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    py = venv / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
          src], work, env)
    for name in SCRIPTS:
        assert (venv / "bin" / name).is_file(), name

    # the installed copy is the one imported, with its package data beside it
    probe = ("import aam_ms, aam_ms.resources as r; print(aam_ms.__file__); "
             "print(r.config_path('aam_tiny')); print(r.kernel_source('lorentz_distance_cpu'))")
    where = _run([py, "-c", probe], work, env).stdout.split()
    assert all(Path(p).is_file() and Path(p).is_relative_to(site) for p in where), where

    _run([py, "-m", "aam_ms.data.synth", "--out", "synth", "--scale", "tiny"], work, env)
    _run(["aam-train", "--config", "train_synth_tiny", "--out", "run", "--quiet",
          f"data.train={work / 'synth' / 'manifest.jsonl'}", "input.size=[64,64]",
          "data.pipeline.image_video_ratio=[1,0]", "train.max_steps=2", "train.val_every=0",
          "train.ckpt_every=0"], work, env)
    assert (work / "run" / "model_final.ckpt").is_file()

    image = work / "scene.png"
    rgb = np.full((64, 96, 3), 60, np.uint8)
    cv2.circle(rgb, (70, 30), 10, (0, 0, 255), -1)
    assert cv2.imwrite(str(image), rgb)
    _run(["aam-predict", image.name, "--run", "run", "--out", "pred", "--npy", "--no-progress",
          "--prompt", "look for the red disc in the scene"], work, env)
    maps = sorted((work / "pred").rglob("*.npy"))
    assert len(maps) == 1, sorted(p.name for p in (work / "pred").rglob("*"))
    m = np.load(maps[0])
    assert m.shape[-2:] == (64, 96) and np.isfinite(m).all() and m.max() > m.min()
