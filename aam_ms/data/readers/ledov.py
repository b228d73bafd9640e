"""LEDOV (Jiang et al. 2018).

Published layout: ``root/<video>/<video>.mp4`` and ``root/<video>/Data.mat`` (struct ``Data``:
``VideoFrames``, ``VideoFrameRate``, ``VideoSize`` = [width height], ``fixdata`` N×5 rows
[subject, start ms, duration ms, x, y]). The AAM release re-layout is also accepted:
``root/image/<video>/*.png`` frames, ``root/mask/<video>/*.png`` density maps,
``root/fixation/<video>/Data.mat``. Split lists ``LEDOV_TrainValidVideoList`` and
``LEDOV_TestVideoList`` (``.xlsx`` first column or ``.txt``, one name per line) give
splits ``train`` / ``test``; without lists every video is ``all``.

Per-frame fixations follow the dataset's own ``demo.m``: at the start of each subject's
record (start time decreasing), fixations are dropped until one lies outside the centre
box in x **and** in y (``|x - w/2| > h/20 && |y - h/2| > h/20``); fixations outside the frame
are dropped; a fixation covers frames ceil(start/T)..ceil((start+dur)/T) (1-based, T the
frame duration, clipped to [1, VideoFrames]). (The AAM release uses ``or`` here; spec §10.)
Points are stored as 0-based ``[row, col]`` = ``[y - 1, x - 1]`` with ``size`` = [h, w].
"""
import math
import os
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np

from ..io import SampleError, _loadmat
from ..manifest import Record
from ..prompts import prompt_key
from ._common import IMAGE_EXTS, by_stem, find_dir, list_dirs, list_files, rel, skip, want

DATASET = "LEDOV"
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def read_name_list(path):
    """Names in the first column of an ``.xlsx`` sheet, or the lines of a text file."""
    if not path.lower().endswith(".xlsx"):
        with open(path, encoding="utf-8") as f:
            return [ln.split()[0] for ln in f if ln.strip()]
    try:
        with zipfile.ZipFile(path) as z:
            shared = []
            if "xl/sharedStrings.xml" in z.namelist():
                for si in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(_NS + "si"):
                    shared.append("".join(t.text or "" for t in si.iter(_NS + "t")))
            sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    except (zipfile.BadZipFile, KeyError, ET.ParseError) as e:
        raise SampleError(path, f"not a readable .xlsx name list ({e})") from None
    names = []
    for c in sheet.iter(_NS + "c"):
        if not re.fullmatch(r"A\d+", c.get("r", "")):
            continue
        v = c.find(_NS + "v")
        if c.get("t") == "s" and v is not None:
            names.append(shared[int(v.text)])
        elif c.get("t") == "inlineStr":
            names.append("".join(t.text or "" for t in c.iter(_NS + "t")))
        elif v is not None:
            names.append(v.text)
    return [n.strip() for n in names if n and n.strip()]


def _scalar(x):
    return float(np.ravel(np.asarray(x, dtype=np.float64))[0])


def read_data_mat(path):
    """``(fps, num_frames, (width, height), fixdata N×5)`` from a LEDOV ``Data.mat``."""
    m = _loadmat(path)
    if "Data" not in m:
        raise SampleError(path, "variable 'Data' not found")
    d = m["Data"]
    get = (lambda k: d[k]) if isinstance(d, dict) else (lambda k: getattr(d, k))
    try:
        size = np.ravel(np.asarray(get("VideoSize"), dtype=np.float64))
        fix = np.asarray(get("fixdata"), dtype=np.float64)
        if fix.ndim == 2 and fix.shape[0] == 5 and fix.shape[1] != 5:
            fix = fix.T
        return _scalar(get("VideoFrameRate")), int(_scalar(get("VideoFrames"))), \
            (int(size[0]), int(size[1])), fix.reshape(-1, 5)
    except (AttributeError, KeyError, ValueError) as e:
        raise SampleError(path, f"Data struct unusable ({e})") from None


def fixations_per_frame(fixdata, fps, num_frames, width, height):
    """List (one per frame) of 0-based ``[row, col]`` points, by ``demo.m``'s rule."""
    frames = [[] for _ in range(num_frames)]
    t = 1000.0 / fps
    cm = round(height / 20.0)
    begin = True
    for k in range(len(fixdata)):
        _, start, dur, x, y = fixdata[k]
        if k == 0 or start < fixdata[k - 1, 1]:
            begin = True
        inside = 0 < x < width and 0 < y < height
        if begin:
            off_x = x > width / 2 + cm or x < width / 2 - cm
            off_y = y > height / 2 + cm or y < height / 2 - cm
            if not (off_x and off_y and inside):
                continue
            begin = False
        if not inside:
            continue
        first = max(int(math.ceil(start / t)), 1)
        last = min(int(math.ceil((start + dur) / t)), num_frames)
        for f in range(first, last + 1):
            frames[f - 1].append([float(y) - 1.0, float(x) - 1.0])
    return frames


def _splits(root):
    out = {}
    for s, stem in (("train", "LEDOV_TrainValidVideoList"), ("test", "LEDOV_TestVideoList")):
        for ext in (".xlsx", ".txt"):
            p = os.path.join(root, stem + ext)
            if os.path.isfile(p):
                out.update({n: s for n in read_name_list(p)})
                break
    return out


def index(root, split=None, skipped=None):
    split_of = _splits(root)
    img_root, mask_root, fix_root = (find_dir(root, "image"), find_dir(root, "mask"),
                                     find_dir(root, "fixation"))
    videos = list_dirs(img_root) if img_root else \
        [v for v in list_dirs(root) if os.path.isfile(os.path.join(root, v, "Data.mat"))]
    out = []
    for v in videos:
        s = split_of.get(v, "all" if not split_of else None)
        if s is None:
            skip(skipped, os.path.join(root, v), "video is in no split list")
            continue
        if not want(split, s):
            continue
        mat = os.path.join(fix_root if img_root else os.path.join(root, v), v if img_root else "",
                           "Data.mat")
        if not os.path.isfile(mat):
            skip(skipped, mat, "missing Data.mat")
            continue
        fps, n, (w, h), fixdata = read_data_mat(mat)
        if img_root:
            frames = [os.path.join(img_root, v, f) for f in list_files(os.path.join(img_root, v))]
            maps = by_stem(os.path.join(mask_root, v), IMAGE_EXTS) if mask_root else {}
        else:
            vid = [f for f in list_files(os.path.join(root, v), (".mp4", ".avi"))]
            if not vid:
                skip(skipped, os.path.join(root, v), "no video file")
                continue
            frames, maps = [os.path.join(root, v, vid[0])] * n, {}
        pts = fixations_per_frame(fixdata, fps, max(n, len(frames)), w, h)
        for i, fp in enumerate(frames):
            stem = os.path.splitext(os.path.basename(fp))[0]
            m = maps.get(stem)
            out.append(Record(
                dataset=DATASET, modality="video", split=s, prompt_key=prompt_key(DATASET),
                stimulus=rel(root, fp),
                density=rel(root, os.path.join(mask_root, v, m)) if m else None,
                fixation_points=pts[i], video=v, frame_index=i, num_frames=len(frames),
                fps=fps, size=[h, w]))
    return out
