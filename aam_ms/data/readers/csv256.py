"""The SUM / TranSalNet "256" CSV layout the AAM release trains its image datasets from.

    root/{train,val,test}_id(s).csv         rows: stimulus, saliency, fixation file names
    stimuli  : root/stimuli/<s>/ | root/<s>/<s>_stimuli/ | root/<s>/<s>_images/ | root/*_<s>/stimuli/
    saliency : root/saliency/<s>/ | root/<s>/<s>_saliency/ | root/*_<s>/saliency/
    fixation : root/fixations/<s>_edit/ | root/fixations/<s>/ | root/<s>/<s>_fixation/ |
               root/*_<s>/fixations/

A header row is recognised (its first cell is not an image file name); names may start
with ``/`` (the release concatenates folder and name without a separator). A row whose
stimulus or map file is missing is skipped and reported. Any dataset key can use it.
"""
import csv
import os

from ._common import IMAGE_EXTS, find_dir, image_record, list_dirs, skip, want

SPLITS = ("train", "val", "test")


def csv_path(root, s):
    names = {f"{s}_id.csv", f"{s}_ids.csv"}
    for f in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        if f.lower() in names:
            return os.path.join(root, f)
    return None


def has_layout(root):
    return os.path.isdir(root) and any(csv_path(root, s) for s in SPLITS)


def _dirs(root, s):
    extra = [d for d in list_dirs(root) if d.lower().endswith("_" + s)]
    stim = find_dir(root, f"stimuli/{s}", f"{s}/{s}_stimuli", f"{s}/{s}_images",
                    *[f"{d}/stimuli" for d in extra], f"{s}/stimuli", f"{s}/images")
    sal = find_dir(root, f"saliency/{s}", f"{s}/{s}_saliency", *[f"{d}/saliency" for d in extra],
                   f"{s}/saliency", f"{s}/maps")
    fix = find_dir(root, f"fixations/{s}_edit", f"fixations/{s}", f"{s}/{s}_fixation",
                   *[f"{d}/fixations" for d in extra], f"{s}/fixations", f"{s}/fixation")
    return stim, sal, fix


def index(dataset, root, split=None, skipped=None):
    out = []
    for s in SPLITS:
        path = csv_path(root, s)
        if path is None or not want(split, s):
            continue
        stim, sal, fix = _dirs(root, s)
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and r[0].strip()]
        if rows and os.path.splitext(rows[0][0].strip())[1].lower() not in IMAGE_EXTS:
            rows = rows[1:]
        for n, row in enumerate(rows, start=1):
            names = [c.strip().lstrip("/\\") for c in row[:3]] + [None] * (3 - len(row[:3]))
            paths = [os.path.join(d, x) if d and x else None for d, x in zip((stim, sal, fix), names)]
            if paths[0] is None or not os.path.isfile(paths[0]):
                skip(skipped, f"{path}:{n}", f"stimulus {names[0]!r} not found in {stim}")
                continue
            if s != "test" and (paths[1] is None or not os.path.isfile(paths[1])):
                skip(skipped, f"{path}:{n}", f"saliency map {names[1]!r} not found in {sal}")
                continue
            fx = paths[2] if paths[2] and os.path.isfile(paths[2]) else None
            den = paths[1] if paths[1] and os.path.isfile(paths[1]) else None
            out.append(image_record(dataset, s, root, paths[0], density=den, fixation=fx,
                                    fixation_var="I" if fx and fx.lower().endswith(".mat") else None))
    return out
