"""The README's main job end to end: every artefact is written, the trained aam_tiny beats the
centre-bias baseline on CC and NSS (by ≥ 0.1 CC on the audio-visual task), and the prompt decides
where it looks (correct > generic > wrong on the search tasks, which share their images).

CI runs the demo with 3 of its 10 epochs (``test_demo_end_to_end``): the full schedule takes
16 min alone and more than 40 min beside the other CI worker. The audio rule (the clip's own
sound > no sound > the other pitch's sound on the audio-visual task) needs the full 590-step
schedule; ``test_demo_full_schedule_learns_the_audio_rule`` checks it with
``AAM_FULL_DEMO=1 bash scripts/test.sh -k full_schedule``."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_demo(tmp_path, *overrides, timeout):
    """Run scripts/demo.py into a new folder with these config overrides; → (its summary.json,
    the environment it ran in)."""
    out = tmp_path / "demo"
    env = {**os.environ, "GLOG_v": "3"}
    env.pop("PYTHONPATH", None)                  # the script finds the package itself
    sets = [a for o in overrides for a in ("--set", o)]
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--out", str(out), *sets],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    print(r.stdout[r.stdout.find("[demo] trained"):])
    return json.loads((out / "summary.json").read_text()), env


def _check_scores(s):
    """The model beats the centre bias and the prompt decides where it looks."""
    for metric in ("CC", "NSS"):
        o = s["overall"][metric]
        assert o["model"] > o["centre"], (metric, o)
    av = s["vs_centre_baseline"]["synth_av_pitch"]["CC"]
    assert av["model"] >= av["centre"] + 0.1, av
    for ds, cc in s["condition_swap"].items():
        assert cc["correct"] > cc["generic"] > cc["wrong"], (ds, cc)
    a = s["audio_swap"]["synth_av_pitch"]
    assert set(a) == {"correct", "none", "swapped"} and all(-1 <= v <= 1 for v in a.values()), a


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    s, env = _run_demo(tmp_path, "train.epochs=3", timeout=2400)
    _check_scores(s)

    outputs = s["outputs"]
    assert Path(outputs["checkpoint"]).is_file() and Path(outputs["mindir"]).is_file()
    assert "<html" in Path(outputs["report"]).read_text()[:2000].lower()
    assert Path(outputs["hyperbolic"]).is_file()
    pred = Path(outputs["predictions"])
    assert list((pred / "image").glob("*_overlay.*"))
    assert list((pred / "video").rglob("*.mp4")) or list((pred / "video").rglob("*.avi"))
    assert len(list((pred / "audio_visual").rglob("overlays/*.jpg"))) == 16     # one per frame

    # a second run into a folder the demo did not write is refused, and the folder kept
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--out", str(foreign)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "was not written by the demo" in r.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("AAM_FULL_DEMO") != "1",
                    reason="the demo's full 590-step schedule takes 16 min alone (more than 40 min "
                           "beside the other CI worker); run it with AAM_FULL_DEMO=1")
def test_demo_full_schedule_learns_the_audio_rule(tmp_path):
    s, _ = _run_demo(tmp_path, timeout=3600)
    _check_scores(s)
    a = s["audio_swap"]["synth_av_pitch"]
    assert a["correct"] >= a["none"] + 0.02 and a["none"] >= a["swapped"] + 0.02, a
