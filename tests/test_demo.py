"""The README's main job end to end, at the demo's own settings: the trained aam_tiny beats the
centre-bias baseline on CC and NSS, the prompt decides where it looks (correct > generic > wrong
on the search tasks, which share their images), and every artefact is written."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GLOG_v": "3"}
    r = subprocess.run([sys.executable, "-m", "aam_ms.demo", "--out", str(out)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    print(r.stdout[r.stdout.find("[demo] trained"):])
    s = json.loads((out / "summary.json").read_text())

    for metric in ("CC", "NSS"):
        o = s["overall"][metric]
        assert o["model"] > o["centre"], (metric, o)
    for ds, cc in s["condition_swap"].items():
        assert cc["correct"] > cc["generic"] > cc["wrong"], (ds, cc)

    outputs = s["outputs"]
    assert Path(outputs["checkpoint"]).is_file() and Path(outputs["mindir"]).is_file()
    pred = Path(outputs["predictions"])
    assert list((pred / "image").glob("*_overlay.*"))
    assert list((pred / "video").rglob("*.mp4")) or list((pred / "video").rglob("*.avi"))
    assert len(list((pred / "audio_visual").rglob("overlays/*.jpg"))) == 16     # one per frame
