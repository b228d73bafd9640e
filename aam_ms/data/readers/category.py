"""Category-folder image datasets: CAT2000 and FIGRIM.

CAT2000 (Borji & Itti 2015)::

    root/trainSet/Stimuli/<Category>/<stem>.jpg
    root/trainSet/FIXATIONMAPS/<Category>/<stem>.jpg    density map
    root/trainSet/FIXATIONLOCS/<Category>/<stem>.mat    ``fixLocs``: binary map
    root/testSet/Stimuli/<Category>/<stem>.jpg          (no ground truth)

``root`` may also be the ``trainSet`` folder itself. Splits: train, test.

FIGRIM (Bylinskii et al. 2015): ``Targets`` and ``Fillers`` groups, each with category folders
of images and the same ``FIXATIONMAPS`` / ``FIXATIONLOCS`` (``fixLocs``) trees. Accepted:
``root/<Group>/<Category>/`` or ``root/<Group>/<Group>/<Category>/`` (the nesting the AAM
release uses) for images, and ``root/<Group>/FIXATIONMAPS/`` or ``root/FIXATIONMAPS/`` for maps.
All FIGRIM records are split ``train`` (``extra.group`` keeps Targets/Fillers).
"""
import os

from ._common import find_dir, list_dirs, pair_dir, want

_SKIP_DIRS = {"fixationmaps", "fixationlocs", "output"}


def _categories(root, dataset, split, stim, maps, locs, skipped, need_map, extra=None):
    out = []
    for cat in list_dirs(stim):
        if cat.lower() in _SKIP_DIRS:
            continue
        recs = pair_dir(root, dataset, split, os.path.join(stim, cat),
                        os.path.join(maps, cat) if maps else None,
                        os.path.join(locs, cat) if locs else None, skipped,
                        fix_var="fixLocs", need_map=need_map)
        for r in recs:
            r.extra.update(extra or {}, category=cat)
        out += recs
    return out


def index_cat2000(root, split=None, skipped=None):
    out = []
    for s, sub in (("train", "trainSet"), ("test", "testSet")):
        if not want(split, s):
            continue
        base = find_dir(root, sub) or (root if s == "train" and find_dir(root, "Stimuli") else None)
        if base is None:
            continue
        stim = find_dir(base, "Stimuli")
        out += _categories(root, "CAT2000", s, stim, find_dir(base, "FIXATIONMAPS"),
                           find_dir(base, "FIXATIONLOCS"), skipped, need_map=s == "train")
    return out


def index_figrim(root, split=None, skipped=None):
    if not want(split, "train"):
        return []
    out = []
    for g in ("Targets", "Fillers"):
        stim = find_dir(root, f"{g}/{g}", g)
        if stim is None:
            continue
        maps = find_dir(root, f"{g}/FIXATIONMAPS", "FIXATIONMAPS")
        locs = find_dir(root, f"{g}/FIXATIONLOCS", "FIXATIONLOCS")
        out += _categories(root, "FIGRIM", "train", stim, maps, locs, skipped, True, {"group": g})
    return out
