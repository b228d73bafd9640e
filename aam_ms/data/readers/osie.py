"""OSIE (Xu et al. 2014) as published with the "Predicting human gaze beyond pixels" package.

    root/data/stimuli/<id>.jpg            (``root/stimuli`` also accepted)
    root/data/eye/fixations.mat           ``fixations``: one struct per image with ``img``
                                          (file name) and ``subjects`` (structs with
                                          ``fix_x``, ``fix_y`` in 1-based pixels)

Fixations are stored per record as 0-based ``[row, col]`` points (``fixation_points``); the
release has no density maps, so ``density`` is None unless ``root/data/maps/<stem>.*``
exists. No official split: split ``all``.
"""
import os

import numpy as np

from ..io import SampleError, _loadmat
from ._common import by_stem, find_dir, image_record, list_files, skip, want

DATASET = "OSIE"


def _points(mat_path):
    m = _loadmat(mat_path)
    if "fixations" not in m:
        raise SampleError(mat_path, "variable 'fixations' not found")
    out = {}
    for item in np.atleast_1d(m["fixations"]):
        pts = []
        for sub in np.atleast_1d(getattr(item, "subjects", [])):
            x = np.atleast_1d(np.asarray(getattr(sub, "fix_x", []), dtype=np.float64))
            y = np.atleast_1d(np.asarray(getattr(sub, "fix_y", []), dtype=np.float64))
            pts += [[float(r) - 1.0, float(c) - 1.0] for r, c in zip(y, x)]
        out[os.path.splitext(str(item.img))[0]] = pts
    return out


def index(root, split=None, skipped=None):
    if not want(split, "all"):
        return []
    stim = find_dir(root, "data/stimuli", "stimuli")
    if stim is None:
        return []
    mat = os.path.join(find_dir(root, "data/eye", "eye") or root, "fixations.mat")
    pts = _points(mat) if os.path.isfile(mat) else {}
    maps = by_stem(find_dir(root, "data/maps", "maps"))
    map_dir = find_dir(root, "data/maps", "maps")
    out = []
    for n in list_files(stim):
        stem = os.path.splitext(n)[0]
        if stem not in pts and stem not in maps:
            skip(skipped, os.path.join(stim, n), "no fixations in fixations.mat and no map")
            continue
        out.append(image_record(DATASET, "all", root, os.path.join(stim, n),
                                density=os.path.join(map_dir, maps[stem]) if stem in maps else None,
                                fixation_points=pts.get(stem)))
    return out
