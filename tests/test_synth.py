"""SynthAttention: determinism, formats and the ground-truth properties built into it."""
import hashlib
import os
import time

import cv2
import numpy as np
import pytest
import soundfile as sf
import yaml

from aam_ms.data import prompts, synth
from aam_ms.data.manifest import read_manifest


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    t0 = time.time()
    synth.generate(str(out), "tiny", seed=3)
    seconds = time.time() - t0
    header, recs = read_manifest(str(out / "manifest.jsonl"))
    return out, header["root"], recs, seconds


def _tree_digest(root):
    h = {}
    for dp, _, files in os.walk(root):
        for f in files:
            if f == "manifest.jsonl":
                continue
            p = os.path.join(dp, f)
            with open(p, "rb") as fh:
                h[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return h


def _cc(a, b):
    a = (a - a.mean()) / a.std()
    b = (b - b.mean()) / b.std()
    return float((a * b).mean())


def test_tiny_size_and_speed(corpus):
    _, _, recs, seconds = corpus
    images = [r for r in recs if r.modality == "image"]
    videos = {r.video for r in recs if r.video}
    assert 200 <= len(images) <= 400
    assert 10 <= len(videos) <= 24
    assert {r.num_frames for r in recs if r.video} == {16}
    assert seconds < 30
    assert {r.dataset for r in recs} == set(synth.PROMPTS)
    for ds in synth.PROMPTS:
        assert {r.split for r in recs if r.dataset == ds} == {"train", "val", "test"}


def test_deterministic_for_a_seed(corpus, tmp_path):
    out, _, recs, _ = corpus
    synth.generate(str(tmp_path / "a"), "tiny", seed=3)
    assert _tree_digest(str(tmp_path / "a")) == _tree_digest(str(out))
    assert [r for r in read_manifest(str(tmp_path / "a" / "manifest.jsonl"))[1]] == recs
    synth.generate(str(tmp_path / "b"), "tiny", seed=4)
    a = cv2.imread(str(out / "images" / "scene_0000.jpg"))
    b = cv2.imread(str(tmp_path / "b" / "images" / "scene_0000.jpg"))
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 5


def test_formats_and_prompts(corpus):
    out, root, recs, _ = corpus
    r = next(r for r in recs if r.modality == "audio_visual")
    assert r.stimulus.endswith("img_00001.jpg") and r.frame_index == 0
    assert r.audio_window == [-1.0, 1.0]
    wav, sr = sf.read(os.path.join(root, r.audio))
    assert sr == 16000 and len(wav) == int(16 / synth.FPS * 16000)
    assert cv2.imread(os.path.join(root, r.density), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    fix = cv2.imread(os.path.join(root, r.fixation), cv2.IMREAD_UNCHANGED)
    assert set(np.unique(fix)) <= {0, 255}
    with open(out / "prompts.yaml", encoding="utf-8") as f:
        entries = yaml.safe_load(f)
    assert {k: e["prompt"] for k, e in entries.items()} == synth.PROMPTS
    assert {k: tuple(e["slots"]) for k, e in entries.items()} == synth.SLOTS
    prompts.register_corpus_prompts(str(out / "manifest.jsonl"))
    for k, text in synth.PROMPTS.items():
        assert prompts.get_prompt(k) == text
        assert prompts.get_prompt(k, granularity="G4").startswith(synth.SLOTS[k][0])


def test_fixations_inside_true_support_and_maps_are_their_blur(corpus):
    _, root, recs, _ = corpus
    worst = 0.0
    for r in recs[::3]:
        true = np.load(os.path.join(root, r.extra["true_density"]))
        if r.video:
            true = true[r.extra["true_index"]]
        assert abs(true.sum() - 1.0) < 1e-4
        fix = cv2.imread(os.path.join(root, r.fixation), 0) > 0
        assert fix.sum() >= (4 if r.video else 16)   # ≥ 8 observers (coinciding ones merge)
        assert np.all(true[fix] > 0), r.fixation
        pts = np.argwhere(fix)
        # repeated fixations on one pixel are merged in the binary map, so compare where
        # every fixated pixel is unique: the blur of the binary map must be the density map
        if r.video:
            continue
        den = cv2.imread(os.path.join(root, r.density), 0) / 255.0
        ref = synth.density_from_fixations(pts, fix.shape)
        worst = max(worst, _cc(den, ref))
        assert _cc(den, ref) > 0.97
    assert worst > 0.999                      # at least one map has no repeated fixations


def test_prompt_changes_where_people_look(corpus):
    _, root, recs, _ = corpus
    scenes = {}
    for r in recs:
        if r.dataset in ("synth_search_red", "synth_search_blue", "synth_freeview"):
            scenes.setdefault(r.extra["scene"], {})[r.dataset] = r
    cc_rb, cc_rf = [], []
    for d in scenes.values():
        assert len({x.stimulus for x in d.values()}) == 1          # the SAME scene
        assert len({x.split for x in d.values()}) == 1
        m = {k: cv2.imread(os.path.join(root, v.density), 0).astype(np.float64) for k, v in d.items()}
        cc_rb.append(_cc(m["synth_search_red"], m["synth_search_blue"]))
        cc_rf.append(_cc(m["synth_search_red"], m["synth_freeview"]))
    assert len(cc_rb) == synth.SCALES["tiny"]["scenes"]
    assert max(cc_rb) < 0.5 and np.mean(cc_rb) < 0.1
    assert np.mean(cc_rf) < 0.3
    # fixations of the colour searches fall on pixels of that colour in the stimulus
    on_red, on_blue = [], []
    for d in list(scenes.values())[:10]:
        r = d["synth_search_red"]
        img = cv2.cvtColor(cv2.imread(os.path.join(root, r.stimulus)), cv2.COLOR_BGR2RGB).astype(int)
        red = (img[..., 0] > 150) & (img[..., 1] < 110) & (img[..., 2] < 110)
        blue = (img[..., 2] > 150) & (img[..., 0] < 110) & (img[..., 1] < 130)
        fr = cv2.imread(os.path.join(root, r.fixation), 0) > 0
        fb = cv2.imread(os.path.join(root, d["synth_search_blue"].fixation), 0) > 0
        on_red.append(red[fr].mean())
        on_blue.append(blue[fb].mean())
        assert red.mean() < 0.1 and blue.mean() < 0.1
    assert np.mean(on_red) > 0.8 and np.mean(on_blue) > 0.8


def test_reading_has_top_left_bias(corpus):
    _, root, recs, _ = corpus
    tops, lefts = [], []
    for r in recs:
        if r.dataset == "synth_reading":
            p = np.load(os.path.join(root, r.extra["true_density"]))
            h, w = p.shape
            tops.append(p[: h // 2].sum())
            lefts.append(p[:, : w // 2].sum())
    assert np.mean(tops) > 0.7 and np.mean(lefts) > 0.65


def _centroids(root, recs):
    pts = []
    for r in recs:
        fix = cv2.imread(os.path.join(root, r.fixation), 0) > 0
        pts.append(np.argwhere(fix).mean(axis=0))
    return np.array(pts)


def test_video_gaze_lags_the_moving_object(corpus):
    _, root, recs, _ = corpus
    videos = {}
    for r in recs:
        if r.dataset == "synth_video_track":
            videos.setdefault(r.video, []).append(r)
    lags = []
    for frames in videos.values():
        frames.sort(key=lambda r: r.frame_index)
        gaze = _centroids(root, frames)
        target = np.array([r.extra["target"] for r in frames])
        err = [np.linalg.norm(gaze[k:] - target[: len(target) - k], axis=1).mean() for k in range(7)]
        lags.append(int(np.argmin(err)))
    assert lags == [synth.TRACK_LAG] * len(videos)


def _pitch(wav, sr):
    """Frequency (Hz) of the strongest spectral peak."""
    spec = np.abs(np.fft.rfft(wav))
    return float(np.fft.rfftfreq(len(wav), 1.0 / sr)[np.argmax(spec)])


def test_av_gaze_disc_is_told_by_the_pitch_only(corpus):
    _, root, recs, _ = corpus
    videos = {}
    for r in recs:
        if r.dataset == "synth_av_pitch":
            videos.setdefault(r.video, []).append(r)
    sides = {}
    for frames in videos.values():
        frames.sort(key=lambda r: r.frame_index)
        info = frames[0].extra
        wav, sr = sf.read(os.path.join(root, frames[0].audio))
        pitch = _pitch(wav, sr)
        assert abs(pitch - synth.TONE_HZ[info["target"]]) < 2.0
        img = cv2.cvtColor(cv2.imread(os.path.join(root, frames[0].stimulus)), cv2.COLOR_BGR2RGB)
        colour = [img[int(y), int(x)].astype(int) for y, x in info["centres"]]
        assert colour[0][0] > colour[0][2] + 100 and colour[1][2] > colour[1][0] + 100  # red, blue
        # every frame is the first one: only the sound differs between the two kinds of clip
        for r in frames[1:]:
            im = cv2.cvtColor(cv2.imread(os.path.join(root, r.stimulus)), cv2.COLOR_BGR2RGB)
            assert np.abs(im.astype(int) - img).max() <= 2
        # people look at the red disc for the low tone, the blue disc for the high tone
        gaze = _centroids(root, frames).mean(axis=0)
        side = int(np.hypot(*(gaze - info["centres"][1])) < np.hypot(*(gaze - info["centres"][0])))
        assert side == info["target"] == int(pitch > 1000)
        sides.setdefault(frames[0].split, set()).add(side)
    assert sides == {"train": {0, 1}, "val": {0, 1}, "test": {0, 1}}   # both pitches in every split
