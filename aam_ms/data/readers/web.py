"""Web-page, UI and e-commerce image datasets: U-EYE, FiWI, SalECI.

Their releases are flat folders of stimuli, density maps and (optionally) fixation maps
paired by file stem. Assumed layouts (each folder name matched case-insensitively; the
first existing candidate wins):

- U-EYE (Jiang et al. 2023, "UEyes"): ``images/``; density ``saliency_maps/heatmaps_7s/``
  (or ``heatmaps_7s/``, ``saliency_maps/``); fixations ``saliency_maps/fixmaps_7s/``
  (or ``fixmaps_7s/``). Split ``all``.
- FiWI (Shen & Zhao 2014): ``stimuli/``; density ``saliency/`` | ``fixationmaps/`` |
  ``groundtruth/``; fixations ``fixations/`` | ``fixation/``. Split ``all``.
- SalECI (Jiang et al. 2022): ``<split>/`` folders (train, val, test) each holding
  ``stimuli/`` | ``images/``, ``saliency/`` | ``maps/``, ``fixation/`` | ``fixations/``;
  a root without split folders is read as split ``all``.

``.mat`` fixation files are read with the variable ``I`` unless stated otherwise.
"""
from ._common import find_dir, pair_dir, want

LAYOUTS = {
    "U-EYE": (("images", "stimuli"),
              ("saliency_maps/heatmaps_7s", "heatmaps_7s", "saliency_maps", "saliency"),
              ("saliency_maps/fixmaps_7s", "fixmaps_7s", "fixations")),
    "FiWI": (("stimuli", "images"),
             ("saliency", "fixationmaps", "groundtruth", "maps"),
             ("fixations", "fixation")),
    "SalECI": (("stimuli", "images"),
               ("saliency", "maps"),
               ("fixation", "fixations")),
}


def _index(dataset, root, split, skipped):
    stim_c, map_c, fix_c = LAYOUTS[dataset]
    bases = [(s, find_dir(root, s)) for s in ("train", "val", "test")]
    bases = [(s, b) for s, b in bases if b is not None and find_dir(b, *stim_c)]
    if not bases:
        bases = [("all", root)]
    out = []
    for s, base in bases:
        stim = find_dir(base, *stim_c)
        if stim is None or not want(split, s):
            continue
        out += pair_dir(root, dataset, s, stim, find_dir(base, *map_c), find_dir(base, *fix_c),
                        skipped, fix_var="I", need_map=s != "test")
    return out


def index_ueye(root, split=None, skipped=None):
    return _index("U-EYE", root, split, skipped)


def index_fiwi(root, split=None, skipped=None):
    return _index("FiWI", root, split, skipped)


def index_saleci(root, split=None, skipped=None):
    return _index("SalECI", root, split, skipped)
