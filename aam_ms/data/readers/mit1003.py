"""MIT1003 (Judd et al. 2009) as published.

    root/ALLSTIMULI/<stem>.jpeg
    root/ALLFIXATIONMAPS/<stem>_fixMap.jpg     density map
    root/ALLFIXATIONMAPS/<stem>_fixPts.jpg     binary fixation map

No official split: every record has split ``all``.
"""
import os

from ._common import by_stem, find_dir, image_record, list_files, skip, want

DATASET = "MIT1003"


def index(root, split=None, skipped=None):
    if not want(split, "all"):
        return []
    stim = find_dir(root, "ALLSTIMULI", "Stimuli")
    maps = find_dir(root, "ALLFIXATIONMAPS", "FixationMaps")
    if stim is None:
        return []
    dens, pts = by_stem(maps, suffix="_fixMap"), by_stem(maps, suffix="_fixPts")
    out = []
    for n in list_files(stim):
        stem = os.path.splitext(n)[0]
        if stem not in dens:
            skip(skipped, os.path.join(stim, n), "no <stem>_fixMap in ALLFIXATIONMAPS")
            continue
        f = pts.get(stem)
        out.append(image_record(DATASET, "all", root, os.path.join(stim, n),
                                density=os.path.join(maps, dens[stem]),
                                fixation=os.path.join(maps, f) if f else None))
    return out
