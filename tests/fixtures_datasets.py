"""Tiny on-disk fixtures of every dataset layout the readers accept (32×48 px).

Each ``make_<layout>(root)`` writes the layout under ``root`` and returns a dict with the
expected ``counts`` ({split: records}) and the relative path of the one deliberately
corrupted file (``bad``: a truncated JPEG or a zero-byte PNG), or None.
"""
import hashlib
import os

import cv2
import numpy as np
import scipy.io
import soundfile as sf

H, W = 32, 48
_rng = np.random.default_rng(0)


def _img(path, gray=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    a = _rng.integers(0, 255, (H, W) if gray else (H, W, 3), dtype=np.uint8)
    assert cv2.imwrite(path, a)


def _fixmap(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    a = np.zeros((H, W), np.uint8)
    a[5, 7] = a[20, 30] = 255
    assert cv2.imwrite(path, a)


def _mat(path, **vars_):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    scipy.io.savemat(path, vars_)


def _binmat(path, var):
    m = np.zeros((H, W), np.uint8)
    m[3, 4] = m[10, 40] = 1
    _mat(path, **{var: m})


def _truncate(path):
    b = open(path, "rb").read()
    open(path, "wb").write(b[: len(b) // 2])


def _empty(path):
    open(path, "wb").close()


def _wav(path, seconds=1.0, sr=22050):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, np.stack([np.sin(2 * np.pi * 440 * t)] * 2, 1).astype(np.float32), sr)


def make_salicon(root):
    for s, n in (("train", 2), ("val", 2), ("test", 1)):
        for i in range(n):
            stem = f"COCO_{s}2014_{i:012d}"
            _img(f"{root}/images/{s}/{stem}.jpg")
            if s != "test":
                _img(f"{root}/maps/{s}/{stem}.png", gray=True)
                gaze = np.zeros((2,), dtype=[("location", "O"), ("timestamp", "O"), ("fixations", "O")])
                for k in range(2):
                    gaze[k] = (np.array([[1, 1]]), np.array([0]), np.array([[8.0, 6.0], [31.0, 21.0]]))
                _mat(f"{root}/fixations/{s}/{stem}.mat", gaze=gaze, resolution=np.array([H, W]),
                     image=stem)
    _img(f"{root}/images/train/COCO_train2014_999999999999.jpg")     # no map: skipped
    _truncate(f"{root}/images/val/COCO_val2014_000000000001.jpg")
    return {"counts": {"train": 2, "val": 2, "test": 1}, "skipped": 1,
            "bad": "images/val/COCO_val2014_000000000001.jpg"}


def make_mit1003(root):
    for i in range(3):
        _img(f"{root}/ALLSTIMULI/i{i}.jpeg")
        _img(f"{root}/ALLFIXATIONMAPS/i{i}_fixMap.jpg", gray=True)
        _fixmap(f"{root}/ALLFIXATIONMAPS/i{i}_fixPts.png")
    _empty(f"{root}/ALLFIXATIONMAPS/i2_fixMap.jpg")
    return {"counts": {"all": 3}, "skipped": 0, "bad": "ALLFIXATIONMAPS/i2_fixMap.jpg"}


def make_cat2000(root):
    for cat in ("Action", "Art"):
        for i in range(2):
            _img(f"{root}/trainSet/Stimuli/{cat}/{i:03d}.jpg")
            _img(f"{root}/trainSet/FIXATIONMAPS/{cat}/{i:03d}.jpg", gray=True)
            _binmat(f"{root}/trainSet/FIXATIONLOCS/{cat}/{i:03d}.mat", "fixLocs")
    _img(f"{root}/testSet/Stimuli/Action/100.jpg")
    _truncate(f"{root}/trainSet/Stimuli/Art/001.jpg")
    return {"counts": {"train": 4, "test": 1}, "skipped": 0, "bad": "trainSet/Stimuli/Art/001.jpg"}


def make_figrim(root):
    for g in ("Targets", "Fillers"):
        _img(f"{root}/{g}/{g}/airport/{g[0]}1.jpg")
        _img(f"{root}/{g}/FIXATIONMAPS/airport/{g[0]}1.jpg", gray=True)
        _binmat(f"{root}/{g}/FIXATIONLOCS/airport/{g[0]}1.mat", "fixLocs")
    _empty(f"{root}/Fillers/FIXATIONMAPS/airport/F1.jpg")
    return {"counts": {"train": 2}, "skipped": 0, "bad": "Fillers/FIXATIONMAPS/airport/F1.jpg"}


def make_osie(root):
    names = ["1001", "1002", "1003"]
    for n in names:
        _img(f"{root}/data/stimuli/{n}.jpg")
    sub = np.zeros((2,), dtype=[("fix_x", "O"), ("fix_y", "O"), ("fix_duration", "O")])
    for k in range(2):
        sub[k] = (np.array([10.0, 40.0]), np.array([5.0, 30.0]), np.array([200.0, 300.0]))
    fx = np.zeros((3,), dtype=[("img", "O"), ("subjects", "O")])
    for i, n in enumerate(names):
        fx[i] = (f"{n}.jpg", sub)
    _mat(f"{root}/data/eye/fixations.mat", fixations=fx)
    _truncate(f"{root}/data/stimuli/1003.jpg")
    return {"counts": {"all": 3}, "skipped": 0, "bad": "data/stimuli/1003.jpg"}


def _flat(root, stim, dens, fix, n=2, ext=".png"):
    for i in range(n):
        _img(f"{root}/{stim}/p{i}{ext}")
        _img(f"{root}/{dens}/p{i}.png", gray=True)
        _fixmap(f"{root}/{fix}/p{i}.png")


def make_ueye(root):
    _flat(root, "images", "saliency_maps/heatmaps_7s", "saliency_maps/fixmaps_7s", n=3)
    _empty(f"{root}/saliency_maps/heatmaps_7s/p1.png")
    return {"counts": {"all": 3}, "skipped": 0, "bad": "saliency_maps/heatmaps_7s/p1.png"}


def make_fiwi(root):
    _flat(root, "stimuli", "saliency", "fixations", n=2)
    _truncate(f"{root}/stimuli/p0.png")
    return {"counts": {"all": 2}, "skipped": 0, "bad": "stimuli/p0.png"}


def make_saleci(root):
    _flat(f"{root}/train", "stimuli", "saliency", "fixation", n=2, ext=".jpg")
    _flat(f"{root}/test", "stimuli", "saliency", "fixation", n=1, ext=".jpg")
    _truncate(f"{root}/train/stimuli/p1.jpg")
    return {"counts": {"train": 2, "test": 1}, "skipped": 0, "bad": "train/stimuli/p1.jpg"}


def make_csv256(root):
    """OSIE_256-style: ``train_id.csv`` + ``train/train_{stimuli,saliency,fixation}``."""
    for s, n in (("train", 3), ("val", 2)):
        rows = ["stimuli,saliency,fixation"]
        for i in range(n):
            _img(f"{root}/{s}/{s}_stimuli/{s}{i}.jpg")
            _img(f"{root}/{s}/{s}_saliency/{s}{i}.png", gray=True)
            _fixmap(f"{root}/{s}/{s}_fixation/{s}{i}.png")
            rows.append(f"/{s}{i}.jpg,/{s}{i}.png,/{s}{i}.png")
        rows.append("/missing.jpg,/missing.png,/missing.png")
        open(f"{root}/{s}_id.csv", "w").write("\n".join(rows) + "\n")
    _empty(f"{root}/val/val_fixation/val1.png")
    return {"counts": {"train": 3, "val": 2}, "skipped": 2, "bad": "val/val_fixation/val1.png"}


def _frames(d, names, gray=False):
    for n in names:
        _img(os.path.join(d, n), gray)


def make_dhf1k_official(root):
    os.makedirs(f"{root}/video", exist_ok=True)
    for num, n in ((1, 4), (601, 3)):
        w = cv2.VideoWriter(f"{root}/video/{num:03d}.AVI", cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (W, H))
        for _ in range(n):
            w.write(_rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        w.release()
        names = [f"{i:04d}.png" for i in range(1, n + 1)]
        _frames(f"{root}/annotation/{num:04d}/maps", names, gray=True)
        for nm in names:
            _fixmap(f"{root}/annotation/{num:04d}/fixation/{nm}")
    _empty(f"{root}/annotation/0601/maps/0002.png")
    return {"counts": {"train": 4, "val": 3}, "skipped": 0, "bad": "annotation/0601/maps/0002.png"}


def make_dhf1k_frames(root):
    for s, vids in (("train", ("0001", "0002")), ("val", ("0601",))):
        for v in vids:
            names = [f"{i:04d}.png" for i in range(1, 4)]
            _frames(f"{root}/{s}/{v}/images", names)
            _frames(f"{root}/{s}/{v}/maps", names, gray=True)
            for nm in names:
                _binmat(f"{root}/{s}/{v}/fixation/maps/{nm[:-4]}.mat", "I")
    os.remove(f"{root}/train/0002/maps/0003.png")                  # frame without map
    _empty(f"{root}/val/0601/images/0001.png")
    return {"counts": {"train": 5, "val": 3}, "skipped": 1, "bad": "val/0601/images/0001.png"}


def make_actions(root, prefix="actionclip"):
    for s, dname in (("train", "training"), ("test", "testing")):
        v = f"{prefix}{s}00001"
        names = [f"{v}_{i:04d}.png" for i in range(1, 5)]
        _frames(f"{root}/{dname}/{v}/images", names)
        _frames(f"{root}/{dname}/{v}/maps", names, gray=True)
        for nm in names:
            _fixmap(f"{root}/{dname}/{v}/fixation/{nm}")
    _truncate(f"{root}/training/{prefix}train00001/images/{prefix}train00001_0002.png")
    return {"counts": {"train": 4, "test": 4}, "skipped": 0,
            "bad": f"training/{prefix}train00001/images/{prefix}train00001_0002.png"}


def make_ledov(root):
    """Published layout: ``<video>/<video>.mp4`` + ``Data.mat``; name lists as .txt."""
    fps, n = 25.0, 5
    for v in ("animal_a01", "sport_b02"):
        os.makedirs(f"{root}/{v}", exist_ok=True)
        w = cv2.VideoWriter(f"{root}/{v}/{v}.avi", cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
        for _ in range(n):
            w.write(_rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        w.release()
        # subject 1: centre fixation (dropped), then (10,5) frames 1..3; subject 2: (40,25) frames 4..5
        fix = np.array([[1, 0, 30, W / 2, H / 2], [1, 40, 60, 10, 5], [2, 130, 60, 40, 25]], float)
        data = {"VideoFrames": float(n), "VideoFrameRate": fps, "VideoSize": np.array([W, H], float),
                "fixdata": fix}
        _mat(f"{root}/{v}/Data.mat", Data=data)
    open(f"{root}/LEDOV_TrainValidVideoList.txt", "w").write("animal_a01\n")
    open(f"{root}/LEDOV_TestVideoList.txt", "w").write("sport_b02\n")
    _empty(f"{root}/sport_b02/sport_b02.avi")
    return {"counts": {"train": 5, "test": 5}, "skipped": 0, "bad": "sport_b02/sport_b02.avi"}


def make_stavis(root, folder="Coutrot_db1", fps=25.0, n=3):
    vids = ("clip_a", "clip_b")
    for v in vids:
        for i in range(1, n + 1):
            _img(f"{root}/video_frames/{folder}/{v}/img_{i:05d}.jpg")
            _img(f"{root}/annotations/{folder}/{v}/maps/eyeMap_{i:05d}.jpg", gray=True)
            _binmat(f"{root}/annotations/{folder}/{v}/fixMap_{i:05d}.mat", "eyeMap")
        _wav(f"{root}/video_audio/{folder}/{v}/{v}.wav")
    os.makedirs(f"{root}/fold_lists", exist_ok=True)
    tail = "_1" if folder != "DIEM" else ""
    open(f"{root}/fold_lists/{folder}_list_train{tail}_fps.txt", "w").write(f"clip_a {n} {fps}\n")
    open(f"{root}/fold_lists/{folder}_list_test{tail}_fps.txt", "w").write(f"clip_b {n} {fps}\nclip_gone 3 25\n")
    _empty(f"{root}/video_audio/{folder}/clip_b/clip_b.wav")
    tr, te = ("train_1", "test_1") if folder != "DIEM" else ("train", "test")
    return {"counts": {tr: n, te: n}, "skipped": 1, "bad": f"video_audio/{folder}/clip_b/clip_b.wav"}


FIXTURES = {
    "SALICON": make_salicon, "MIT1003": make_mit1003, "CAT2000": make_cat2000,
    "FIGRIM": make_figrim, "OSIE": make_osie, "U-EYE": make_ueye, "FiWI": make_fiwi,
    "SalECI": make_saleci, "DHF1K": make_dhf1k_frames, "Hollywood-2": make_actions,
    "UCF-Sports": lambda r: make_actions(r, "Diving-Side-"), "LEDOV": make_ledov,
    "DIEM": lambda r: make_stavis(r, "DIEM", 30.0), "Coutrot-1": make_stavis,
    "Coutrot-2": lambda r: make_stavis(r, "Coutrot_db2"), "AVAD": lambda r: make_stavis(r, "AVAD"),
    "ETMD": lambda r: make_stavis(r, "ETMD_av"), "SumMe": lambda r: make_stavis(r, "SumMe"),
}


def every_frame_plan(source, split, batch=4, clip_len=4):
    """A pipeline plan reading every frame of ``split`` once, in order: image batches of
    ``batch``, each video in consecutive clips of ``clip_len`` frames (the last may be shorter)."""
    from aam_ms.data import pipeline as P
    pidx, didx = P._tables(source, None, None)
    images, videos = P._groups(source, split, None)
    meta, out = source.meta, []

    def planned(kind, rows, audio):
        return P.PlannedBatch(kind, rows, [False] * len(rows), [False] * len(rows),
                              [pidx[meta[r[0]]["prompt_key"]] for r in rows],
                              [didx[meta[r[0]]["dataset"]] for r in rows], audio)

    for rows in images.values():
        out += [planned("image", [[r] for r in rows[i:i + batch]], False)
                for i in range(0, len(rows), batch)]
    for frames in videos.values():
        av = meta[frames[0]]["modality"] == "audio_visual"
        out += [planned("video", [frames[i:i + clip_len]], av)
                for i in range(0, len(frames), clip_len)]
    return out


def tree_hash(root):
    """{relative path: sha256} of every file under ``root``: equal before and after a tool run
    proves the tool changed nothing the user owns."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out
