"""Shared helpers of the dataset readers: tolerant file discovery and skip reporting.

A reader skips an entry only for a *structural* problem found while indexing (a frame
without its map, a list naming a missing video); it records ``(path, reason)`` in the
``skipped`` list it was given. Undecodable files are found by :func:`validate` (or raise
:class:`aam_ms.data.io.SampleError` at load time), never silently dropped.
"""
import os

from ..io import SampleError, load_sample

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
MAP_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".mat", ".npy")


def find_dir(base, *candidates):
    """First existing directory among ``base/candidate`` (each matched case-insensitively)."""
    for cand in candidates:
        cur = base
        for part in cand.split("/"):
            if not os.path.isdir(cur):
                cur = None
                break
            match = [n for n in sorted(os.listdir(cur)) if n.lower() == part.lower()]
            cur = os.path.join(cur, match[0]) if match else None
            if cur is None:
                break
        if cur is not None and os.path.isdir(cur):
            return cur
    return None


def list_files(d, exts=IMAGE_EXTS):
    """Sorted file names in ``d`` with one of ``exts`` (case-insensitive); [] if ``d`` is None."""
    if d is None or not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d)
                  if not n.startswith(".") and os.path.splitext(n)[1].lower() in exts
                  and os.path.isfile(os.path.join(d, n)))


def list_dirs(d):
    if d is None or not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d) if not n.startswith(".") and os.path.isdir(os.path.join(d, n)))


def by_stem(d, exts=MAP_EXTS, suffix=""):
    """``{stem-without-suffix: file name}`` for files of ``d`` (first ext in ``exts`` order wins)."""
    out = {}
    rank = {e: i for i, e in enumerate(exts)}
    for n in sorted(list_files(d, exts), key=lambda n: rank[os.path.splitext(n)[1].lower()]):
        stem = os.path.splitext(n)[0]
        if suffix:
            if not stem.endswith(suffix):
                continue
            stem = stem[: -len(suffix)]
        out.setdefault(stem, n)
    return out


def rel(root, path):
    return None if path is None else os.path.relpath(path, root).replace(os.sep, "/")


def want(split, name):
    """True when ``split`` (None = all) selects ``name``."""
    return split is None or split == name


def skip(skipped, path, reason):
    if skipped is not None:
        skipped.append((str(path), reason))


def validate(records, root):
    """Decode every record; return ``[(index, path, reason)]`` of the records that fail."""
    bad = []
    for i, r in enumerate(records):
        try:
            load_sample(r, root)
        except SampleError as e:
            bad.append((i, e.path, e.reason))
    return bad


def image_record(dataset, split, root, stimulus, density=None, fixation=None, fixation_var=None,
                 **kw):
    """An image :class:`Record` with paths made relative to ``root``."""
    from ..manifest import Record
    from ..prompts import prompt_key
    if fixation_var is None and fixation is not None and fixation.lower().endswith(".mat"):
        fixation_var = kw.pop("default_var", None)
    kw.pop("default_var", None)
    return Record(dataset=dataset, modality=kw.pop("modality", "image"), split=split,
                  prompt_key=prompt_key(dataset), stimulus=rel(root, stimulus),
                  density=rel(root, density), fixation=rel(root, fixation),
                  fixation_var=fixation_var, **kw)


def pair_dir(root, dataset, split, stim_dir, map_dir, fix_dir, skipped, map_suffix="",
             fix_suffix="", fix_var=None, need_map=True):
    """Records for the images of ``stim_dir`` matched by file stem to maps and fixations.

    An image with no density map is skipped (reported) when ``need_map``; a missing fixation
    file only leaves ``fixation`` empty.
    """
    maps = by_stem(map_dir, suffix=map_suffix) if map_dir else {}
    fixs = by_stem(fix_dir, suffix=fix_suffix) if fix_dir else {}
    out = []
    for n in list_files(stim_dir):
        stem = os.path.splitext(n)[0]
        m = maps.get(stem)
        if m is None and need_map:
            skip(skipped, os.path.join(stim_dir, n), f"no density map in {map_dir}")
            continue
        f = fixs.get(stem)
        out.append(image_record(
            dataset, split, root, os.path.join(stim_dir, n),
            density=os.path.join(map_dir, m) if m else None,
            fixation=os.path.join(fix_dir, f) if f else None,
            fixation_var=fix_var if f and f.lower().endswith(".mat") else None))
    return out
