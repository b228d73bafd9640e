"""viz hyperbolic: the disk radius encodes the exact Lorentz distance to the origin, the cones
are drawn with their half-apertures, and the CLI writes PNG / HTML / JSON (tiny model)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from aam_ms import viz

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "aam_tiny.yaml")


def _dist0(z, c):
    """Reference d_L(O, z) = acosh(√c·z₀)/√c, z₀ = sqrt(1/c + ‖z̃‖²), in float64."""
    z0 = np.sqrt(1.0 / c + (np.asarray(z, np.float64) ** 2).sum(-1))
    return np.arccosh(np.maximum(np.sqrt(c) * z0, 1.0)) / np.sqrt(c)


def test_radius_is_the_lorentz_distance():
    rng = np.random.default_rng(0)
    for c in (0.3, 1.0, 2.5):
        z = rng.normal(0, 1, (40, 32)) * rng.uniform(0.05, 1.2, (40, 1))
        m = viz.hyperbolic_map(z[:30].astype(np.float32), z[30].astype(np.float32),
                               z[31:].astype(np.float32), c)
        rho = np.hypot(m["xy"][:, 0], m["xy"][:, 1])
        assert np.allclose(rho, m["rho"], atol=1e-12)
        r_back = viz.distance_from_radius(rho, c)
        np.testing.assert_allclose(r_back, _dist0(z, c), rtol=2e-5, atol=1e-5)
        order = np.argsort(_dist0(z, c))
        assert np.all(np.diff(rho[order]) >= -1e-9)        # farther from O = nearer the rim


def test_geodesics_and_cones():
    p = 0.55 * np.exp(0.7j)
    for ang in (0.3, 1.2, 2.0):
        g = viz.geodesic(p, np.exp(1j * (0.7 + ang)), steps=400)
        assert abs(g[0] - p) < 1e-12 and abs(abs(g[-1]) - 1) < 5e-3       # ends on the rim
        start = np.angle(g[1] - g[0]) - 0.7                                 # leaves p at ang
        assert abs(np.angle(np.exp(1j * (start - ang)))) < 1e-2
        # a disk geodesic is a circle orthogonal to the rim: |centre|² = R² + 1
        a, b, c = g[50], g[200], g[350]
        A = np.array([[2 * (b - a).real, 2 * (b - a).imag], [2 * (c - a).real, 2 * (c - a).imag]])
        y = np.array([abs(b) ** 2 - abs(a) ** 2, abs(c) ** 2 - abs(a) ** 2])
        cx, cy = np.linalg.solve(A, y)
        centre = complex(cx, cy)
        assert abs(abs(centre) ** 2 - (abs(a - centre) ** 2 + 1)) < 1e-6
    cone = viz.cone_outline(p, 0.4)
    assert abs(cone[0] - p) < 1e-12 and np.all(np.abs(cone) < 1)
    # the cone opens outwards: its rim arc is centred on p's direction
    rim = cone[np.abs(np.abs(cone) - 0.999) < 1e-9]
    assert abs(np.angle(rim.mean() / p)) < 1e-2


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A 'run' of the tiny model (random weights) on a tiny SynthAttention corpus."""
    import mindspore as ms
    from aam_ms.checkpoint import save_checkpoint_atomic
    from aam_ms.data import synth
    from aam_ms.session import load_session
    ms.set_context(mode=ms.PYNATIVE_MODE)
    d = tmp_path_factory.mktemp("viz")
    synth.generate(str(d / "synth"), "tiny", seed=0)
    s = load_session(config=TINY, allow_random=True, encoders=False)
    save_checkpoint_atomic(str(d / "tiny.ckpt"), s.model)
    return d


def test_cli_writes_png_html_json(run_dir):
    out = run_dir / "out"
    manifest = run_dir / "synth" / "manifest.jsonl"
    cache = run_dir / "cache"
    cmd = [sys.executable, "-m", "aam_ms.viz", "hyperbolic", "--config", TINY, "--checkpoint",
           str(run_dir / "tiny.ckpt"), "--set", "input.size=[64,64]", "--set",
           f"text_encoder.cache_dir={cache}", "--manifest", str(manifest), "--images", "6",
           "--out", str(out)]
    env = {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(REPO)}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    js = json.loads((out / "hyperbolic.json").read_text())
    c = js["curvature"]
    pts = js["points"]
    kinds = {p["level"] for p in pts}
    assert kinds == {"G1", "G2", "G3", "G4", "released", "anchor", "image"}
    assert sum(p["level"] == "image" for p in pts) == 6
    assert sum(p["level"] == "G1" for p in pts) == 1
    assert {p["key"] for p in pts if p["level"] == "G4"} >= {"synth_search_red", "DHF1K"}
    for p in pts:
        rho = np.hypot(*p["xy"])
        assert viz.distance_from_radius(rho, c) == pytest.approx(p["r"], rel=1e-5, abs=1e-6)
        assert 0 < p["aperture"] <= np.pi / 2 + 1e-6
    for g in ("G1", "G4", "anchor", "image"):
        assert js["mean_r"][g] == pytest.approx(np.mean([p["r"] for p in pts if p["level"] == g]))
    png = cv2.imread(str(out / "hyperbolic.png"))
    assert png is not None and png.shape[0] > 500 and float(png.var()) > 100
    page = (out / "hyperbolic.html").read_text()
    assert "plotly" in page and "synth_search_red" in page and "cones anchor" in page
    assert len(page) > 1_000_000                        # plotly.js is inlined: works offline
    # a file of that name the tool did not write is refused (checked before the model loads)
    (out / "hyperbolic.json").write_text("{}")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 2 and "was not written by aam_ms.viz" in r.stderr
    assert (out / "hyperbolic.json").read_text() == "{}"
