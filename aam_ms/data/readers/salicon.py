"""SALICON (2015 and 2017 editions; both ship the same layout, only the data differ).

    root/images/{train,val,test}/COCO_{split}2014_<id>.jpg
    root/maps/{train,val}/<stem>.png                      density maps
    root/fixations/{train,val}/<stem>.mat                 ``gaze`` struct array

Each ``gaze(k).fixations`` is an N×2 array ``[x y]`` = ``[col row]``, MATLAB 1-based (the
order pysaliency reads); ``resolution`` holds ``[480 640]``. Records keep the ``.mat`` with
``fixation_var="gaze.fixations"`` and :func:`aam_ms.data.io.load_fixations` rasterises it.
Test images have neither maps nor fixations. ``--split`` names: train, val, test.
"""
from ._common import find_dir, pair_dir, want

DATASET = "SALICON"
SPLITS = ("train", "val", "test")


def index(root, split=None, skipped=None):
    out = []
    for s in SPLITS:
        if not want(split, s):
            continue
        stim = find_dir(root, f"images/{s}", f"images/{s}2014")
        if stim is None:
            continue
        maps = find_dir(root, f"maps/{s}", f"maps/{s}2014")
        fixs = find_dir(root, f"fixations/{s}", f"fixations/{s}2014")
        out += pair_dir(root, DATASET, s, stim, maps, fixs, skipped,
                        fix_var="gaze.fixations", need_map=s != "test")
    return out
